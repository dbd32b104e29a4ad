"""The disclosure and erasure mistakes' kin in the older commands, against an in-process
``collective node --dev``: a signed use consent (``consent sign``, ``subject sign``, the
client's default) stays relayable for the time asked on an idle chain; a use consent past
its expiry by the wall clock is expired though no block was mined since; a use refused
because of an erasure request keeps no secret for the erased subject; read commands that
default to the sender ask no keystore password."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from collective import Collective
from collective.chain import connect_rpc
from collective.cli import cli
from collective.node.server import RpcServer
from tests.cli.test_disclosure_cmd import RESEARCH, TERMS, Net
from tests.helpers import deploy_consortium

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"


@pytest.fixture(scope="module")
def net(dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """dev account 1 admitted as the hospital, 2 as the lab, both with policy v1 covering
    research; 4 and up are patients."""
    chain = connect_rpc(dev_server.url, name="node")
    snapshot = chain.snapshot()
    manifest = tmp_path_factory.mktemp("kin-mistakes") / "node.json"
    suite = deploy_consortium(chain, manifest)
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    for org in dev[1:3]:
        admin.orgs.admit(org.address)
        admin.as_account(org).policies.publish(b"v1", "https://org.example/v1", [RESEARCH])
    try:
        yield Net(dev_server.url, manifest, chain, suite, dev[1].address, dev[2].address)
    finally:
        chain.revert(snapshot)


def _idle(net: Net, seconds: float) -> None:
    """Let the chain sit idle until its latest block is ``seconds`` old by the wall clock."""
    lag = net.chain.latest_timestamp() + seconds - time.time()
    assert lag < 60, lag
    time.sleep(max(lag, 0))


def test_a_signed_use_consent_is_relayable_for_the_time_asked(net: Net, tmp_path: Path) -> None:
    _idle(net, 3)
    out = tmp_path / "signed.json"
    asked = int(time.time()) + 2
    net.ok("4", "consent", "sign", net.hospital, *TERMS, "--valid-for", "2s", "-o", str(out))
    assert int(json.loads(out.read_text())["request"]["deadline"]) >= asked
    asked = int(time.time()) + 2
    result = CliRunner().invoke(
        cli,
        ["--rpc", net.url, "subject", "sign", net.hospital, *TERMS, "--valid-for", "2s",
         "-o", str(out), "--manifest", str(net.manifest)],
        env={"COLLECTIVE_MNEMONIC": MNEMONIC},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert int(json.loads(out.read_text())["request"]["deadline"]) >= asked
    asked = int(time.time()) + 3600
    signed = net.client(5).signing.sign_grant(net.hospital, *TERMS[1::2])
    assert signed.request.deadline >= asked
    withdrawal = net.client(5).signing.sign_withdrawal(net.hospital, *TERMS[1::2])
    assert withdrawal.request.deadline >= asked


def test_status_of_a_use_consent_expired_on_an_idle_chain(net: Net) -> None:
    """No block was mined since the consent expired: `consent status` (and the client's
    status and is_covered) say it is expired and covers no use, as the next block would."""
    dave = net.address(7)
    _idle(net, 0)
    net.ok("7", "consent", "grant", net.hospital, *TERMS, "--expiry", "2s")
    _idle(net, 3)
    data = net.json("0", "consent", "status", dave, net.hospital, *TERMS)
    assert (data["state"], data["covered"]) == ("expired", False), data
    text = net.ok("0", "consent", "status", dave, net.hospital, *TERMS).stdout
    assert "expired" in text
    reader = net.client(0).consent
    assert not reader.is_covered(dave, net.hospital, *TERMS[1::2])
    assert reader.status(dave, net.hospital, *TERMS[1::2]).state == "expired"
    line = net.refused("1", "use", "record", dave, *TERMS, "--ref", "g/1")
    assert "expired" in line.lower()


def test_history_of_one_plain_address_needs_no_mnemonic(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`subject history --account` as an address, a keystore name (no password set, none
    asked) or a dev index, without COLLECTIVE_MNEMONIC: that address's own history."""
    monkeypatch.delenv("COLLECTIVE_MNEMONIC", raising=False)
    erin = net.chain.dev_accounts[8]
    net.ok("8", "consent", "grant", net.hospital, *TERMS)
    net.ok("8", "consent", "grant", net.lab, *TERMS)
    net.ok("1", "use", "record", erin.address, *TERMS, "--ref", "ward/8")
    monkeypatch.setenv("COLLECTIVE_KEYSTORE", str(tmp_path / "keys"))
    monkeypatch.setenv("COLLECTIVE_PRIVATE_KEY", "0x" + bytes(erin.key).hex())
    monkeypatch.setenv("COLLECTIVE_PASSWORD", "pw")
    assert CliRunner().invoke(cli, ["account", "import", "erin"]).exit_code == 0
    for name in ("COLLECTIVE_PRIVATE_KEY", "COLLECTIVE_PASSWORD"):
        monkeypatch.delenv(name)
    for account in (erin.address, "erin", "8"):
        rows = net.json(account, "subject", "history")
        assert [(r["action"], r["organization"]) for r in rows] == [
            ("grant", net.hospital),
            ("grant", net.lab),
            ("use", net.hospital),
        ], account
        assert {r["identity"] for r in rows} == {erin.address}
    only_lab = net.json("erin", "subject", "history", "-o", net.lab)
    assert [(r["action"], r["organization"]) for r in only_lab] == [("grant", net.lab)]
    missing = net.run("nobody", "subject", "history")
    assert missing.exit_code == 1 and "no keystore account 'nobody'" in missing.stderr


def test_use_record_mistakes_are_one_line(net: Net) -> None:
    frank = net.address(9)
    empty = net.refused("1", "use", "record", frank, *TERMS, "--ref", " ")
    assert "the data reference is empty" in empty
    short = net.refused("1", "use", "record", frank, *TERMS, "--ref", "0x1234")
    assert "'0x1234' is 2 bytes, not 32" in short
    none = net.refused("1", "use", "record", frank, *TERMS, "--ref", "ward/9")
    assert "no active consent" in none and "((" not in none and "))" not in none
    net.ok("9", "consent", "grant", net.hospital, *TERMS)
    net.ok("9", "erasure", "request", net.hospital)
    asked = net.refused("1", "use", "record", frank, *TERMS, "--ref", "ward/9")
    assert "erasure confirm" in asked
    assert net.client(1).usage.history(frank) == []
