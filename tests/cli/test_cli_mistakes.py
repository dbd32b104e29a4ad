"""The CLI and the client refuse an operator's mistakes clearly (issue 15, items 9-13).

Each test is one kind of mistake, tried the way an operator or a new user makes it: a
mistyped checksummed address, a manifest whose contracts are gone, malformed input that used
to end in a traceback, a misspelled DPV term, errors under ``--json``, an interrupted write,
a read that asked for a keystore password. The CLI runs through click's CliRunner against
the session's anvil (one deployment for the module, reverted at the end); the client runs on
the embedded chain.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_utils.address import to_checksum_address

from collective.chain import Chain, connect_rpc
from collective.chain.addresses import parse_address
from collective.cli import cli
from collective.client import Collective
from collective.deploy import Deployment
from collective.errors import ChainError, ConfigurationError
from tests.cli.test_cli_commands import HEALTH, RESEARCH, TERMS, Story

REPO = Path(__file__).resolve().parents[2]

# Dev account 3 with its last digit mistyped (6 -> 7), its checksummed case kept: the
# example of the issue. Its own checksum is another one, so the case betrays the typo.
PATIENT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
TYPO = "0x90F79bf6EB2c4f870365E785982E1f101E93b907"


@pytest.fixture(scope="module")
def story(anvil: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    """The suite on anvil with the lab (dev 1) admitted, its policy v1 published, and the
    patient's (dev 3) consent granted."""
    chain = connect_rpc(anvil, name="anvil")
    snapshot = chain.snapshot()
    tmp = tmp_path_factory.mktemp("mistakes")
    dev: list[str] = [str(account.address) for account in chain.dev_accounts]
    told = Story(anvil, tmp / "anvil.json", tmp, dev)
    board = [arg for member in dev[7:10] for arg in ("--board-member", member)]
    told.ok("deploy", "--manifest", str(told.manifest), *board, "--threshold", "2")
    told.ok("org", "admit", told.lab, account=0)
    policy = tmp / "policy.md"
    policy.write_text("# Lab research policy\n")
    told.ok("policy", "publish", str(policy), "--uri", "https://lab.example/v1",
            "--purpose", RESEARCH, account=1)  # fmt: skip
    told.ok("consent", "grant", told.lab, *TERMS, account=3)
    try:
        yield told
    finally:
        chain.revert(snapshot)


def block_number(story: Story) -> int:
    return connect_rpc(story.url).block_number()


# --- 9. EIP-55 checksums ----------------------------------------------------------------------


def test_parse_address_checks_the_checksum_of_mixed_case_only() -> None:
    assert to_checksum_address(TYPO) != TYPO
    assert parse_address(PATIENT.lower()) == PATIENT
    assert parse_address("0x" + PATIENT[2:].upper()) == PATIENT
    assert parse_address(f"  {PATIENT} ") == PATIENT
    assert parse_address(TYPO.lower()) == to_checksum_address(TYPO)  # no checksum to check
    with pytest.raises(ConfigurationError) as caught:
        parse_address(TYPO, "organization")
    text = str(caught.value)
    assert f"organization {TYPO} has a wrong EIP-55 checksum" in text
    assert to_checksum_address(TYPO) in text
    for bad in ("nope", PATIENT[:-1], PATIENT + "0", "0x" + "g" * 40, PATIENT[2:]):
        with pytest.raises(ConfigurationError, match="is not an address"):
            parse_address(bad, "organization")


def test_cli_refuses_a_mistyped_checksummed_address_everywhere(story: Story) -> None:
    before = block_number(story)
    for args, account in [
        (("org", "admit", TYPO), 0),
        (("org", "show", TYPO), None),
        (("consent", "grant", TYPO, *TERMS), 3),
        (("consent", "status", TYPO, story.lab, *TERMS), None),
        (("consent", "status", f"did:ethr:0x7a69:{TYPO}", story.lab, *TERMS), None),
        (("use", "record", TYPO, *TERMS, "--ref", "lab/1"), 1),
        (("use", "history", "--subject", TYPO), None),
        (("did", "add-guardian", TYPO), 3),
        (("board", "propose", "suspend", TYPO), 7),
    ]:
        line = story.refused(*args, account=account)
        assert TYPO in line and "checksum" in line, (args, line)  # did.py words DIDs its way
        assert to_checksum_address(TYPO) in line, (args, line)
    # --account naming an address with a wrong checksum: refused, not looked up elsewhere
    result = CliRunner().invoke(cli, ["--rpc", story.url, "--account", TYPO, "org", "admit",
                                      story.dev[5], "--manifest", str(story.manifest)])  # fmt: skip
    assert result.exit_code == 1 and TYPO in result.stderr and "EIP-55" in result.stderr
    line = story.refused("deploy", "--manifest", str(story.tmp / "other.json"),
                         "--board-member", TYPO)  # fmt: skip
    assert TYPO in line and "EIP-55" in line
    assert block_number(story) == before, "a refused address must send nothing"
    shown = CliRunner().invoke(cli, ["did", "show-id", TYPO, "--chain-id", "31337"])
    assert shown.exit_code == 1 and TYPO in shown.stderr and "EIP-55" in shown.stderr
    genesis = CliRunner().invoke(
        cli, ["node", "init", "--bootstrap-admin", TYPO, "--out", str(story.tmp / "g.json")]
    )
    assert genesis.exit_code == 2 and "EIP-55 checksum" in genesis.output
    assert not (story.tmp / "g.json").exists()
    # a signed request whose addresses were retyped with a slip is no signed request
    signed = story.tmp / "typo.json"
    story.ok("consent", "sign", story.lab, *TERMS, "--out", str(signed), account=3)
    document = json.loads(signed.read_text())
    document["request"]["identity"] = TYPO
    signed.write_text(json.dumps(document))
    line = story.refused("consent", "relay", str(signed), account=1)
    assert "identity" in line and TYPO in line and "EIP-55" in line
    # one case only carries no checksum and is taken as written
    assert story.json("org", "show", story.lab.lower())["address"] == story.lab
    assert story.json("org", "show", "0x" + story.lab[2:].upper())["status"] == "active"
    assert [o["address"] for o in story.json("org", "list")] == [story.lab]


def test_client_refuses_a_mistyped_checksummed_address(chain: Chain, suite: Deployment) -> None:
    admin = Collective(chain, suite, chain.dev_accounts[0])
    before = chain.block_number()
    with pytest.raises(ConfigurationError, match="wrong EIP-55 checksum"):
        admin.orgs.admit(TYPO)
    with pytest.raises(ConfigurationError, match="wrong EIP-55 checksum"):
        admin.consent.grant(TYPO, RESEARCH, HEALTH)
    with pytest.raises(ConfigurationError, match="wrong checksum"):  # did.py's words
        admin.usage.history(identity=f"did:ethr:{TYPO}")
    assert chain.block_number() == before
    assert admin.orgs.admit(TYPO.lower()).organization == to_checksum_address(TYPO)


# --- 10. a manifest whose contracts are gone -----------------------------------------------------


def _orphaned_manifest(story: Story) -> Path:
    """The module's manifest with every address moved to where no contract is: what an anvil
    restarted under the manifest (same chain id, empty state) looks like to the CLI."""
    manifest = json.loads(story.manifest.read_text())
    for index, entry in enumerate(manifest["contracts"].values()):
        entry["address"] = to_checksum_address(f"0x{'00' * 19}{0xA0 + index:02x}")
    path = story.tmp / "orphaned.json"
    path.write_text(json.dumps(manifest))
    return path


def test_a_manifest_whose_contracts_are_gone_is_refused_before_acting(story: Story) -> None:
    orphaned = _orphaned_manifest(story)
    before = block_number(story)
    for args, account in [
        (("org", "admit", story.dev[5]), 0),
        (("org", "suspend", story.lab), 0),
        (("use", "record", story.patient, *TERMS, "--ref", "lab/1"), 1),
        (("consent", "withdraw", story.lab, *TERMS), 3),
        (("board", "propose", "suspend", story.lab), 7),
        (("policy", "current", story.lab), None),
        (("org", "list"), None),
        (("use", "history", "--subject", story.patient), None),
    ]:
        head = ["--rpc", story.url] + (["--account", str(account)] if account is not None else [])
        result = CliRunner().invoke(cli, [*head, *args, "--manifest", str(orphaned)])
        assert result.exit_code == 1, (args, result.output)
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: ") and str(orphaned) in line, (args, line)
        assert "there is no code for AccountRules at" in line, (args, line)
        assert "collective deploy --fresh" in line, (args, line)
    assert block_number(story) == before, "nothing may be sent to a deployment that is gone"
    with pytest.raises(ChainError, match="no code for AccountRules"):
        Collective.connect(rpc=story.url, account=0, deployment=orphaned)


# --- 12. DPV terms outside the vocabulary ---------------------------------------------------------

TYPO_TERM = "dpv:ResearchAndDevelopmnt"


def test_a_misspelled_dpv_term_is_refused_with_a_suggestion(story: Story) -> None:
    before = block_number(story)
    for args, account in [
        (("use", "record", story.patient, "-p", TYPO_TERM, "-c", HEALTH, "--ref", "lab/1"), 1),
        (("consent", "grant", story.lab, "-p", TYPO_TERM, "-c", HEALTH), 3),
        (("consent", "withdraw", story.lab, "-p", RESEARCH, "-c", "dpv-pd:MedicalHelth"), 3),
        (("consent", "sign", story.lab, "-p", TYPO_TERM, "-c", HEALTH), 3),
        (("consent", "status", story.patient, story.lab, "-p", TYPO_TERM, "-c", HEALTH), None),
        (("consent", "covered", story.patient, story.lab, "-p", TYPO_TERM, "-c", HEALTH), None),
        (("policy", "publish", str(story.tmp / "policy.md"), "--uri", "https://lab.example/v2",
          "-p", TYPO_TERM), 1),
    ]:  # fmt: skip
        line = story.refused(*args, account=account)
        assert "in Collective's DPV vocabulary; did you mean dpv" in line, (args, line)
        assert "--custom-term" in line, (args, line)
    line = story.refused("use", "record", story.patient, "-p", HEALTH, "-c", HEALTH,
                         "--ref", "lab/1", account=1)  # fmt: skip
    assert f"{HEALTH} is a personal-data category, not a purpose" in line
    assert block_number(story) == before, "a refused term must send nothing"
    # asked for on purpose, a custom term goes through to the contract, which judges it
    line = story.refused("use", "record", story.patient, "-p", TYPO_TERM, "-c", HEALTH,
                         "--ref", "lab/1", "--custom-term", account=1)  # fmt: skip
    assert "did you mean" not in line and "consent" in line.lower()
    covered = story.ok("consent", "covered", story.patient, story.lab, "-p", TYPO_TERM,
                       "-c", HEALTH, "--custom-term")  # fmt: skip
    assert covered.stdout.startswith("no")


def test_client_takes_custom_terms_only_when_asked(chain: Chain, suite: Deployment) -> None:
    admin = Collective(chain, suite, chain.dev_accounts[0])
    lab_account = chain.dev_accounts[1]
    admin.orgs.admit(lab_account.address)
    lab = admin.as_account(lab_account)
    with pytest.raises(ConfigurationError, match=f"did you mean {RESEARCH}") as caught:
        lab.policies.publish(b"policy", "https://lab.example/v1", [TYPO_TERM])
    assert "custom_terms=True" in str(caught.value)
    with pytest.raises(ConfigurationError, match="is a personal-data category, not a purpose"):
        lab.policies.covers(lab_account.address, HEALTH)
    with pytest.raises(ConfigurationError, match="did you mean dpv-pd:MedicalHealth"):
        lab.consent.status(PATIENT, lab_account.address, RESEARCH, "dpv-pd:medicalhealth")
    custom = Collective(chain, suite, lab_account, custom_terms=True)
    published = custom.policies.publish(b"policy", "https://lab.example/v1", [TYPO_TERM])
    assert published.policy.purposes == (TYPO_TERM,)  # named: this process hashed it
    assert custom.as_account(chain.dev_accounts[3]).session.custom_terms
    assert custom.policies.covers(lab_account.address, TYPO_TERM)
    assert custom.policies.covers(lab_account.address, "0x" + "00" * 32) is False  # a code


# --- 13. --json errors, interrupted writes, reads without a key -----------------------------------


def _error_object(result: Result, code: int) -> dict[str, Any]:
    """The one JSON document on stdout of a failed --json command, its error object checked
    against the one stderr line."""
    assert result.exit_code == code, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"error"}, document
    error: dict[str, Any] = document["error"]
    assert error["exit_code"] == code and error["message"]
    assert result.stderr.strip().splitlines()[-1].startswith(("error: ", "Error: "))
    return error


def test_errors_under_json_are_one_json_object_on_stdout(story: Story) -> None:
    error = _error_object(story.run("--json", "org", "admit", "nope", account=0), 1)
    assert error["type"] == "InvalidInputError"
    assert error["kinds"] == ["InvalidInputError", "ConfigurationError", "CollectiveError"]
    assert error["message"] == "organization 'nope' is not an address"
    assert error["hint"] == "give 0x and 40 hex digits, or a did:ethr DID"
    # the option after the command asks for JSON just as well
    assert _error_object(story.run("org", "admit", TYPO, "--json", account=0), 1)["hint"]
    # a contract's refusal: its class, the contract error and its arguments
    story.ok("consent", "withdraw", story.lab, *TERMS, account=3)
    refused = story.run("use", "record", story.patient, *TERMS, "--ref", "x", "--json", account=1)
    error = _error_object(refused, 1)
    assert error["type"] == "ConsentMissingError" and error["contract_error"] == "NoConsent"
    assert "ConsentError" in error["kinds"] and error["contract_error_args"]
    assert RESEARCH in error["message"]  # the codes named, as on the text line
    story.ok("consent", "grant", story.lab, *TERMS, account=3)
    # usage mistakes, in a command's options and in the global ones
    usage = CliRunner().invoke(
        cli, ["--json", "consent", "covered", PATIENT, story.lab, *TERMS, "--block", "soon"]
    )
    error = _error_object(usage, 2)
    assert error["type"] == "BadParameter" and "UsageError" in error["kinds"]
    assert "'soon' is not a valid integer" in error["message"] and "--help" in error["hint"]
    error = _error_object(CliRunner().invoke(cli, ["--json", "--bogus", "org", "list"]), 2)
    assert error["type"] == "NoSuchOption"
    # a command that wrote its JSON result before failing writes no second document
    forged = story.tmp / "not-a-receipt.json"
    forged.write_text("[]")
    result = story.run("--json", "consent", "verify-receipt", str(forged))
    error = _error_object(result, 1)
    assert "holds 0 receipts" in error["message"]
    # without --json, stdout stays empty
    plain = story.run("org", "admit", "nope", account=0)
    assert plain.exit_code == 1 and plain.stdout == ""


def test_bad_input_and_missing_things_exit_1_with_their_precise_kind(story: Story) -> None:
    """InvalidInputError and NotFoundError are library errors like the others (exit 1, one
    line); under --json their kind says which, below ConfigurationError for one release."""
    invalid = ["InvalidInputError", "ConfigurationError", "CollectiveError"]
    not_found = ["NotFoundError", "ConfigurationError", "CollectiveError"]
    listed = story.tmp / "two-receipts.json"
    listed.write_text("[{}, {}]")
    error = _error_object(story.run("consent", "verify-receipt", str(listed), "--json"), 1)
    assert error["kinds"] == invalid and "holds 2 receipts" in error["message"]
    missing = story.tmp / "no-such-request.json"
    error = _error_object(story.run("consent", "relay", str(missing), "--json", account=1), 1)
    assert error["kinds"] == invalid and "cannot read the signed request" in error["message"]
    no_use = "0x" + "ab" * 32
    refused = story.run("board", "propose", "flag-use", no_use, "--json", account=7)
    error = _error_object(refused, 1)
    assert error["kinds"] == not_found and "recorded no data use" in error["message"]
    error = _error_object(story.run("board", "propose", "flag-use", "0x12", "--json"), 1)
    assert error["kinds"] == invalid and "is not a transaction hash" in error["message"]
    no_index = ["--db", str(story.tmp / "no-index.sqlite")]
    error = _error_object(story.run("audit", "verify", *no_index, "--offline", "--json"), 1)
    assert error["kinds"] == not_found and error["hint"] == "run `collective audit sync` first"


def test_ctrl_c_during_a_write_prints_the_hash_of_the_transaction_in_flight(story: Story) -> None:
    chain = connect_rpc(story.url)
    newcomer = story.dev[6]
    command = [
        sys.executable, "-c", "from collective.cli import main; main()",
        "--rpc", story.url, "--account", "0", "org", "admit", newcomer,
        "--manifest", str(story.manifest),
    ]  # fmt: skip
    chain.request("evm_setAutomine", [False])
    try:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None
        line = process.stderr.readline()  # printed before the wait, whatever happens next
        assert "waiting for it to be mined" in line, line
        tx_hash = line.split("tx ")[1].split(",")[0]
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 130
    finally:
        chain.request("evm_setAutomine", [True])
    (error,) = [text for text in rest.splitlines() if text.startswith("error: ")]
    assert tx_hash in error and "may still be mined" in error
    chain.mine()
    receipt = chain.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 1, "the interrupted transaction was mined all the same"
    assert story.json("org", "show", newcomer)["status"] == "active"


READS = [
    ("org", "list"),
    ("org", "show", "{lab}"),
    ("policy", "current", "{lab}"),
    ("policy", "history", "{lab}"),
    ("policy", "show", "{lab}", "1"),
    ("consent", "status", "{patient}", "{lab}", *TERMS),
    ("consent", "covered", "{patient}", "{lab}", *TERMS),
    ("consent", "list", "--org", "{lab}"),
    ("consent", "timeline", "--subject", "{patient}"),
    ("use", "history", "--subject", "{patient}"),
    ("did", "resolve", "{patient}"),
    ("did", "log", "{patient}"),
    ("board", "members"),
    ("board", "proposals"),
    ("board", "flags"),
]


def test_read_only_commands_never_ask_for_or_decrypt_a_key(story: Story) -> None:
    env: dict[str, str | None] = {
        "COLLECTIVE_KEYSTORE": str(story.tmp / "keystore"),
        "COLLECTIVE_KDF_ITERATIONS": "1024",
        "COLLECTIVE_PASSWORD": None,
        "COLLECTIVE_PRIVATE_KEY": connect_rpc(story.url).dev_accounts[5].key.hex(),
    }
    imported = CliRunner().invoke(cli, ["account", "import", "reader"],
                                  env={**env, "COLLECTIVE_PASSWORD": "right"})  # fmt: skip
    assert imported.exit_code == 0, imported.output
    env["COLLECTIVE_PRIVATE_KEY"] = None
    names = {"lab": story.lab, "patient": story.patient}
    read_with = {"COLLECTIVE_PASSWORD": "wrong"}, {}  # a wrong password; none, and no terminal
    for args in READS:
        filled = [arg.format(**names) for arg in args]
        for extra in read_with:
            result = story.run("--account", "reader", *filled, env={**env, **extra}, input="")
            assert result.exit_code == 0, (filled, extra, result.output)
            assert "Password" not in result.stderr, (filled, result.stderr)
    # a write still needs the key, and says when its password is wrong
    write = story.run("--account", "reader", "consent", "grant", story.lab, *TERMS,
                      env={**env, "COLLECTIVE_PASSWORD": "wrong"})  # fmt: skip
    assert write.exit_code == 1 and "wrong password for keystore reader" in write.stderr
