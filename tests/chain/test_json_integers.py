"""Integers in every JSON the project writes survive JavaScript, and ethers.js signs a grant
"until withdrawn" (expiry 2^64 - 1) from the typed data the project writes.

A JSON number past 2^53 changes in JavaScript (2^64 - 1 is read as 18446744073709551616) and
ethers.js refuses to sign it, so the project writes such integers as decimal strings
(collective/jsonints.py). Here each document goes through node's ``JSON.parse`` /
``JSON.stringify`` and back into the project's readers with no integer changed: a signed
grant with NO_EXPIRY and a nonce past 2^63, its EIP-712 typed data, a consent receipt, the
audit report's JSON, the deployment manifest and several commands' ``--json`` output (click's
CliRunner against an in-process ``collective node``). Then ethers.js (npm, pinned in
package.json) signs a Grant from the typed-data JSON, and the ledger accepts the relayed
signature. The tests skip only when node itself is missing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.chain.jsonints import MAX_SAFE_INTEGER
from collective.cli import cli
from collective.deploy import LEDGER, Deployment, load_deployment
from collective.errors import ConfigurationError, ConsentError, SignatureError
from collective.ledger.signing import (
    NO_EXPIRY,
    GrantRequest,
    SignedRequest,
    code,
    sign,
    typed_data,
    typed_data_json,
)
from collective.receipts import ConsentReceipt, build_receipt, verify_receipt
from collective.testing import run_node_thread
from tests.helpers import deploy_consortium

REPO = Path(__file__).resolve().parents[2]
ETHERS_SIGN = REPO / "tests" / "interop" / "ethers_sign.mjs"
RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
TERMS = ["-p", RESEARCH, "-c", HEALTH]
BIG_NONCE = 2**64 - 2  # a uint64 far past 2^53 (a signer may pick any nonce)
ETHERS_NONCE = 2**63 + 12_345  # typed data round trip only: relayed nonces stay near chain time
JAVASCRIPT_ROUND_TRIP = (
    "let s = ''; process.stdin.on('data', (d) => { s += d }).on('end', () => "
    "process.stdout.write(JSON.stringify(JSON.parse(s).map((t) => "
    "JSON.stringify(JSON.parse(t))))))"
)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (Node.js) is not installed: these tests run JavaScript's JSON and ethers")
    return node


def through_javascript(texts: list[str]) -> list[str]:
    """Each text after node's JSON.parse and JSON.stringify (one node process for all)."""
    done = subprocess.run(
        [_node(), "-e", JAVASCRIPT_ROUND_TRIP],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    back: list[str] = json.loads(done.stdout)
    assert len(back) == len(texts)
    return back


def assert_same(before: Any, after: Any, where: str = "$") -> None:
    """Equal values of equal JSON types (Python's == would let 1 == 1.0 == True pass)."""
    assert type(before) is type(after), f"{where}: {before!r} became {after!r}"
    if isinstance(before, dict):
        assert before.keys() == after.keys(), where
        for key in before:
            assert_same(before[key], after[key], f"{where}.{key}")
    elif isinstance(before, list):
        assert len(before) == len(after), where
        for index, (a, b) in enumerate(zip(before, after, strict=True)):
            assert_same(a, b, f"{where}[{index}]")
    else:
        assert before == after, f"{where}: {before!r} became {after!r}"


def unsafe_numbers(value: Any, where: str = "$") -> list[str]:
    """Where ``value`` holds an integer JavaScript cannot hold exactly as a JSON number."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [f"{where} = {value}"] if abs(value) > MAX_SAFE_INTEGER else []
    if isinstance(value, dict):
        return [
            hit for key, item in value.items() for hit in unsafe_numbers(item, f"{where}.{key}")
        ]
    if isinstance(value, list):
        return [
            hit for i, item in enumerate(value) for hit in unsafe_numbers(item, f"{where}[{i}]")
        ]
    return []


def strings(value: Any) -> set[str]:
    """Every string in a parsed JSON value."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for item in value.values() for s in strings(item)}
    if isinstance(value, list):
        return {s for item in value for s in strings(item)}
    return set()


def signature_hex(signed: SignedRequest) -> str:
    return "0x" + signed.r.hex() + signed.s.hex() + bytes([signed.v]).hex()


@dataclass
class Ledger:
    """The suite on an in-process `collective node`: an admitted lab with policy v1, and one
    grant until withdrawn with a nonce past 2^63, signed by dev account 3 and relayed."""

    url: str
    chain: Chain
    suite: Deployment
    manifest: Path
    lab: Collective
    signed: SignedRequest
    tx_hash: str

    @property
    def dev(self) -> list[LocalAccount]:
        return self.chain.dev_accounts

    @property
    def ledger_address(self) -> str:
        return self.suite.addresses[LEDGER]

    def cli(self, *args: str, account: int | None = None) -> str:
        """A command's stdout; it must exit 0."""
        head = ["--rpc", self.url] + (["--account", str(account)] if account is not None else [])
        result = CliRunner().invoke(cli, [*head, *args])
        assert result.exit_code == 0, (args, result.output)
        return result.stdout

    def stored(self, who: str) -> tuple[int, int, int, int, bool, bool]:
        """(expiry, grantedAt, policyVersion, nonce, active) of who's consent, and isCovered."""
        fns = self.suite.bind(self.chain).contract(LEDGER).functions
        key = (who, self.lab.address, code(RESEARCH), code(HEALTH))
        expiry, granted_at, version, nonce, active = fns.getConsent(*key).call()
        return expiry, granted_at, version, nonce, active, fns.isCovered(*key).call()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    with run_node_thread(dev=True) as url:
        chain = connect_rpc(url, name="node")
        manifest = tmp_path_factory.mktemp("json-integers") / "node.json"
        suite = deploy_consortium(chain, manifest)
        dev = chain.dev_accounts
        admin = Collective(chain, suite, dev[0])
        lab = admin.as_account(dev[1])
        admin.orgs.admit(lab.address)
        lab.policies.publish(b"lab policy", "https://lab.example/v1", [RESEARCH])
        # Signed with a nonce far past 2^53 for the JSON round trips (not relayable: a nonce may
        # run at most 10 minutes ahead of the chain), and the same grant relayed with the
        # client's nonce for the receipt.
        signed = lab.signing.sign_grant(
            lab.address, RESEARCH, HEALTH, signer=dev[3], nonce=BIG_NONCE
        )
        relayable = lab.signing.sign_grant(lab.address, RESEARCH, HEALTH, signer=dev[3])
        granted = lab.signing.relay_grant(relayable)
        yield Ledger(url, chain, suite, manifest, lab, signed, granted.tx_hash)


def test_the_round_trip_catches_a_big_json_number() -> None:
    """The check below has teeth: the old way of writing an expiry does not survive it."""
    (back,) = through_javascript([json.dumps({"expiry": NO_EXPIRY})])
    assert back == '{"expiry":18446744073709552000}'  # 2^64, as JavaScript writes it


def test_every_json_the_project_writes_keeps_its_integers_through_javascript(
    ledger: Ledger, tmp_path: Path
) -> None:
    lab, signed = ledger.lab, ledger.signed
    assert (signed.request.expiry, signed.request.nonce) == (NO_EXPIRY, BIG_NONCE)
    docs: dict[str, str] = {
        "signed grant": signed.to_json(),
        "typed data": typed_data_json(
            signed.request, chain_id=signed.chain_id, verifying_contract=ledger.ledger_address
        ),
        "receipt": build_receipt(ledger.chain, ledger.suite, ledger.tx_hash).to_json(),
        "deployment manifest": ledger.manifest.read_text(),
    }

    # A second subject's grant, signed in Python, carried through JavaScript, relayed by the CLI.
    other = ledger.dev[5]
    carried = lab.signing.sign_grant(lab.address, RESEARCH, HEALTH, signer=other)
    (text,) = through_javascript([carried.to_json()])
    grant_file = tmp_path / "grant.json"
    grant_file.write_text(text)
    manifest = ["--manifest", str(ledger.manifest)]
    docs["consent relay --json"] = ledger.cli(
        "consent", "relay", str(grant_file), *manifest, "--json", account=1
    )
    tx_hash = json.loads(docs["consent relay --json"])["tx_hash"]
    docs["consent receipt"] = ledger.cli("consent", "receipt", tx_hash, *manifest)
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(docs["consent receipt"])
    docs["consent verify-receipt --json"] = ledger.cli(
        "consent", "verify-receipt", str(receipt_file), *manifest, "--json"
    )
    docs["consent status --json"] = ledger.cli(
        "consent", "status", other.address, lab.address, *TERMS, *manifest, "--json"
    )
    docs["consent list --json"] = ledger.cli(
        "consent", "list", "--org", lab.address, *manifest, "--json"
    )
    db = ["--db", str(tmp_path / "audit.sqlite"), *manifest]
    docs["audit sync --json"] = ledger.cli("audit", "sync", *db, "--json")
    docs["audit report --json"] = ledger.cli("audit", "report", "--all", *db, "--json")
    report_file = tmp_path / "report.json"
    ledger.cli("audit", "report", "--all", *db, "--format", "json", "--out", str(report_file))
    docs["audit report --format json --out"] = report_file.read_text()

    back = dict(zip(docs, through_javascript(list(docs.values())), strict=True))
    for name, text in docs.items():
        original = json.loads(text)
        assert unsafe_numbers(original) == [], name
        assert_same(original, json.loads(back[name]), name)

    # The big integers are there, as decimal strings.
    never, nonce = str(NO_EXPIRY), str(BIG_NONCE)
    parsed = {name: json.loads(text) for name, text in docs.items()}
    assert parsed["signed grant"]["request"]["expiry"] == never
    assert parsed["signed grant"]["request"]["nonce"] == nonce
    assert parsed["typed data"]["message"]["expiry"] == never
    assert parsed["typed data"]["message"]["nonce"] == nonce
    assert parsed["receipt"]["evidence"]["expiry"] == never
    assert parsed["consent receipt"]["evidence"]["expiry"] == never
    # "No expiry" is None at the API edge (null in the client's and the audit's documents); the
    # on-chain 2^64 - 1 stays in the signed request, its typed data and a receipt's evidence.
    assert parsed["consent relay --json"]["expiry"] is None
    assert parsed["consent status --json"]["expiry"] is None
    assert int(parsed["consent status --json"]["nonce"]) == carried.request.nonce + 1  # the next
    assert never not in strings(parsed["consent list --json"])
    assert int(parsed["consent receipt"]["evidence"]["expiry"]) > MAX_SAFE_INTEGER

    # And back: the project's readers take what JavaScript wrote.
    assert SignedRequest.from_json(back["signed grant"]) == signed
    assert SignedRequest.from_typed_data(back["typed data"], signature_hex(signed)) == signed
    for name in ("receipt", "consent receipt"):
        assert ConsentReceipt.from_json(back[name]) == ConsentReceipt.from_json(docs[name])
        assert verify_receipt(ledger.chain, ledger.suite, back[name]).ok
    manifest_back = tmp_path / "manifest-back.json"
    manifest_back.write_text(back["deployment manifest"])
    assert load_deployment(ledger.chain, manifest_back).addresses == ledger.suite.addresses
    expiry, _, _, stored_nonce, active, covered = ledger.stored(other.address)
    assert (expiry, stored_nonce, active, covered) == (
        NO_EXPIRY,
        carried.request.nonce + 1,
        True,
        True,
    )


def _jq_rounded(text: str, *path: str) -> str:
    """``text`` with the integer at ``path`` as jq 1.6 or JavaScript writes it back: a float."""
    data = json.loads(text)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = float(int(node[path[-1]]))
    return json.dumps(data)


def _as_json_integers(text: str, *paths: tuple[str, ...]) -> str:
    """``text`` with the integers at ``paths`` as exact JSON integers (the older files)."""
    data = json.loads(text)
    for path in paths:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = int(node[path[-1]])
    return json.dumps(data)


def test_readers_refuse_a_rounded_float_and_accept_exact_integers(ledger: Ledger) -> None:
    signed = ledger.signed
    text = signed.to_json()
    with pytest.raises(ConsentError, match=r"expiry is the number 1\.8446744073709552e\+19.*2\^53"):
        SignedRequest.from_json(_jq_rounded(text, "request", "expiry"))
    with pytest.raises(ConsentError, match="nonce is the number"):
        SignedRequest.from_json(_jq_rounded(text, "request", "nonce"))
    older = _as_json_integers(text, ("request", "expiry"), ("request", "nonce"), ("chainId",))
    assert SignedRequest.from_json(older) == signed

    document = typed_data_json(
        signed.request, chain_id=signed.chain_id, verifying_contract=ledger.ledger_address
    )
    with pytest.raises(ConsentError, match="expiry is the number"):
        SignedRequest.from_typed_data(
            _jq_rounded(document, "message", "expiry"), signature_hex(signed)
        )
    older = _as_json_integers(document, ("message", "expiry"), ("domain", "chainId"))
    assert SignedRequest.from_typed_data(older, signature_hex(signed)) == signed

    receipt = build_receipt(ledger.chain, ledger.suite, ledger.tx_hash).to_json()
    with pytest.raises(ConfigurationError, match=r"evidence\.expiry is not a non-negative integer"):
        ConsentReceipt.from_json(_jq_rounded(receipt, "evidence", "expiry"))
    older = _as_json_integers(receipt, ("evidence", "expiry"))
    assert ConsentReceipt.from_json(older) == ConsentReceipt.from_json(receipt)


def _ethers_sign(node: str, document: Path, key: LocalAccount) -> dict[str, Any]:
    """Sign the typed-data JSON in ``document`` with ethers.js under node; its report."""
    done = subprocess.run(
        [node, str(ETHERS_SIGN), str(document)],
        env={**os.environ, "COLLECTIVE_TEST_KEY": "0x" + bytes(key.key).hex()},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_ethers_signs_a_grant_until_withdrawn_from_the_typed_data_json(
    ledger: Ledger, tmp_path: Path
) -> None:
    node = _node()
    assert (REPO / "node_modules" / "ethers").is_dir(), "npm ethers is missing: run `npm ci`"
    lab, subject = ledger.lab, ledger.dev[4]
    request = GrantRequest(
        identity=subject.address,
        organization=lab.address,
        purpose=code(RESEARCH),
        category=code(HEALTH),
        expiry=NO_EXPIRY,
        policy_version=1,
        policy_hash=lab.signing.policy_hash(lab.address),
        nonce=ETHERS_NONCE,
        deadline=ledger.chain.latest_timestamp() + 3600,
    )
    domain = {"chain_id": ledger.chain.chain_id, "verifying_contract": ledger.ledger_address}
    document = tmp_path / "grant.typed.json"
    document.write_text(typed_data_json(request, **domain))
    out = _ethers_sign(node, document, subject)
    assert out["signer"] == out["recovered"] == subject.address
    assert out["message"]["expiry"] == str(NO_EXPIRY)  # as ethers read it
    assert out["message"]["nonce"] == str(ETHERS_NONCE)
    signable = encode_typed_data(full_message=typed_data(request, **domain))
    digest = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert out["digest"] == "0x" + digest.hex()
    # Both sign deterministically (RFC 6979): ethers' signature is the one eth_account makes.
    assert out["signature"] == signature_hex(sign(subject, request, **domain))

    signed = SignedRequest.from_typed_data(document.read_text(), out["signature"])
    assert signed.signer == subject.address and signed.request == request
    # Relayed, a nonce far past the chain's time is refused (it could lock the consent) ...
    with pytest.raises(SignatureError, match="clock runs fast"):
        lab.signing.relay_grant(signed)
    # ... so ethers signs again with the client's nonce, from the same kind of document.
    request = dataclasses.replace(
        request, nonce=lab.signing.next_nonce(subject.address, lab.address, RESEARCH, HEALTH)
    )
    document.write_text(typed_data_json(request, **domain))
    signed = SignedRequest.from_typed_data(
        document.read_text(), _ethers_sign(node, document, subject)["signature"]
    )
    granted = lab.signing.relay_grant(signed)
    assert granted.identity == subject.address and granted.expiry is None  # never, at the API
    expiry, _, version, nonce, active, covered = ledger.stored(subject.address)
    assert (expiry, version, active, covered) == (NO_EXPIRY, 1, True, True)
    assert nonce == request.nonce + 1  # the signature's nonce is used up
    assert lab.consent.is_covered(subject.address, lab.address, RESEARCH, HEALTH)


def test_ethers_refuses_typed_data_with_the_expiry_as_a_json_number(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Why the rule exists: the document as it used to be written cannot be signed."""
    node = _node()
    signed = ledger.signed
    document = typed_data(
        signed.request, chain_id=signed.chain_id, verifying_contract=ledger.ledger_address
    )
    document["message"]["expiry"] = NO_EXPIRY
    old = tmp_path / "old.typed.json"
    old.write_text(json.dumps(document))
    done = subprocess.run(
        [node, str(ETHERS_SIGN), str(old)],
        env={**os.environ, "COLLECTIVE_TEST_KEY": "0x" + "11" * 32},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and json.loads(done.stdout) == {"error": "overflow"}


def test_json_nested_past_the_limit_is_refused_before_parsing() -> None:
    """py_ecc (imported with py-evm) raises the recursion limit to 100,000, so json's C
    decoder would overflow the C stack on such a document (a segfault); the readers refuse it
    with a JSONDecodeError instead, whatever the process imported."""
    import sys

    from collective.chain import jsonints
    from collective.ledger.signing import SignedRequest

    assert sys.getrecursionlimit() >= 100_000  # py_ecc's doing, the reason for the check
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(json.JSONDecodeError, match="nested deeper than 256"):
        jsonints.loads(deep)
    with pytest.raises(ConsentError, match="nested deeper than 256"):
        SignedRequest.from_json(deep)
    with pytest.raises(ConfigurationError, match="nested deeper"):
        ConsentReceipt.from_json('{"a": ' + deep + "}")
    nested = "[" * 256 + "]" * 256  # at the limit, and brackets in strings do not count
    assert jsonints.loads(nested) == json.loads(nested)
    assert jsonints.loads('["' + "[" * 1000 + '", {"b": "\\"[["}]') == ["[" * 1000, {"b": '"[['}]
