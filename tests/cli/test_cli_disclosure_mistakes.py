"""``collective disclosure|erasure ...`` as their users get them wrong, against an in-process
``collective node --dev``: each mistake gets one ``error:`` line naming it (never a
traceback) and nothing is recorded; a signed request stays relayable for the time asked even
when the chain has been idle; `disclosure status` says why an active consent covers no
disclosure."""

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
from collective.client.disclosure import DisclosureItem
from collective.errors import ChainError
from collective.node.server import RpcServer
from tests.cli.test_disclosure_cmd import HEALTH, RESEARCH, TERMS, Net
from tests.helpers import deploy_consortium


@pytest.fixture(scope="module")
def net(dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """dev account 1 admitted as the hospital, 2 as the lab (policy v1 covering research),
    3 as a relaying clinic; 4, 5 and 6 are patients."""
    chain = connect_rpc(dev_server.url, name="node")
    snapshot = chain.snapshot()
    manifest = tmp_path_factory.mktemp("disclosure-mistakes") / "node.json"
    suite = deploy_consortium(chain, manifest)
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    for org in dev[1:4]:
        admin.orgs.admit(org.address)
    admin.as_account(dev[2]).policies.publish(b"v1", "https://lab.example/v1", [RESEARCH])
    try:
        yield Net(dev_server.url, manifest, chain, suite, dev[1].address, dev[2].address)
    finally:
        chain.revert(snapshot)


def _idle(net: Net, seconds: float) -> None:
    """Let the chain sit idle until its latest block is ``seconds`` old by the wall clock
    (instant sealing mines no empty blocks; a burst of blocks may run ahead of the clock)."""
    lag = net.chain.latest_timestamp() + seconds - time.time()
    assert lag < 60, lag
    time.sleep(max(lag, 0))


@pytest.mark.parametrize("command", ["disclosure", "erasure"])
def test_a_signed_request_is_relayable_for_the_time_asked(
    net: Net, tmp_path: Path, command: str
) -> None:
    _idle(net, 3)
    out = tmp_path / "signed.json"
    if command == "disclosure":
        args = ["disclosure", "sign", net.hospital, net.lab, *TERMS]
    else:
        args = ["erasure", "request", net.hospital, "--sign"]
    asked = int(time.time()) + 2
    net.ok("5", *args, "--valid-for", "2s", "-o", str(out))
    assert int(json.loads(out.read_text())["request"]["deadline"]) >= asked


def test_mistakes_are_named(net: Net) -> None:
    alice = net.address(4)
    net.ok("4", "disclosure", "grant", net.hospital, net.lab, *TERMS)
    own = net.refused("4", "disclosure", "grant", net.lab, net.lab, *TERMS)
    assert "the same organization" in own
    own = net.refused("2", "disclosure", "record", alice, net.lab, *TERMS, "--ref", "x/1")
    assert "the same organization" in own
    empty = net.refused("1", "disclosure", "record", alice, net.lab, *TERMS, "--ref", " ")
    assert "data reference is empty" in empty
    head = net.chain.block_number()
    later = net.refused("2", "disclosure", "to-stop", "--from-block", str(head + 100))
    assert f"is after the latest block ({head})" in later
    stranger = net.address(6)
    asked = net.refused("4", "erasure", "request", stranger)
    assert f"{stranger} has never been admitted" in asked
    no_policy = net.refused("4", "disclosure", "grant", net.hospital, net.address(3), *TERMS)
    assert "((" not in no_policy and "))" not in no_policy
    assert net.client(2).disclosure.disclosures() == []


def test_relaying_a_damaged_file_names_it(net: Net, tmp_path: Path) -> None:
    signed = tmp_path / "grant.json"
    net.ok("6", "disclosure", "sign", net.hospital, net.lab, *TERMS, "-o", str(signed))
    cut = tmp_path / "cut.json"
    cut.write_text(signed.read_text()[:120])
    assert "is not JSON" in net.refused("3", "disclosure", "relay", str(cut))


def test_status_says_why_no_disclosure_is_allowed(net: Net) -> None:
    bob = net.address(5)
    net.ok("5", "disclosure", "grant", net.hospital, net.lab, *TERMS)
    net.ok("5", "erasure", "request", net.lab)
    text = net.ok("0", "disclosure", "status", bob, net.hospital, net.lab, *TERMS).stdout
    assert f"asked organization {net.lab} to erase" in text
    data = net.json("0", "disclosure", "status", bob, net.hospital, net.lab, *TERMS)
    assert (data["covered"], f"asked organization {net.lab} to erase" in data["refusal"]) == (
        False,
        True,
    )
    line = net.refused("1", "disclosure", "record", bob, net.lab, *TERMS, "--ref", "w/1")
    assert f"asked organization {net.lab} to erase" in line
    # the hint speaks to the discloser, which was not asked to erase anything
    assert "erasure confirm" not in line and "disclose none of its data to" in line


def test_reads_as_a_keystore_account_ask_no_password(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """to-stop, watch and erasure list default to the sender's organization: its address is
    in the keystore file, so no password is asked (none is set, stdin is closed)."""
    lab_key = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
    monkeypatch.setenv("COLLECTIVE_KEYSTORE", str(tmp_path / "keys"))
    monkeypatch.setenv("COLLECTIVE_PRIVATE_KEY", lab_key)
    monkeypatch.setenv("COLLECTIVE_PASSWORD", "pw")
    assert CliRunner().invoke(cli, ["account", "import", "lab"]).exit_code == 0
    monkeypatch.delenv("COLLECTIVE_PRIVATE_KEY")
    monkeypatch.delenv("COLLECTIVE_PASSWORD")
    carol = net.address(6)
    net.ok("6", "disclosure", "grant", net.hospital, net.lab, *TERMS)
    net.ok("6", "disclosure", "withdraw", net.hospital, net.lab, *TERMS)
    rows = net.json("lab", "disclosure", "to-stop")
    assert [(r["reason"], r["identity"]) for r in rows] == [("withdrawn", carol)]
    head = str(net.chain.block_number())
    watched = net.ok("lab", "disclosure", "watch", "--from-block", "0", "--until-block", head)
    assert carol in watched.stdout
    net.ok("lab", "erasure", "list")
    wrong = net.refused("nobody", "disclosure", "to-stop")
    assert "no keystore account 'nobody'" in wrong


def test_status_of_a_consent_expired_on_an_idle_chain(net: Net) -> None:
    """No block was mined since the consent expired: status still says it is expired and
    covers no disclosure, as the next block (stamped when mined) would find."""
    dave = net.address(7)
    genetic = ["-p", RESEARCH, "-c", "dpv-pd:Genetic"]
    _idle(net, 0)
    net.ok("7", "disclosure", "grant", net.hospital, net.lab, *genetic, "--expiry", "2s")
    _idle(net, 3)
    data = net.json("0", "disclosure", "status", dave, net.hospital, net.lab, *genetic)
    assert (data["active"], data["expired"], data["covered"]) == (False, True, False)
    assert "expired" in data["refusal"]
    line = net.refused("1", "disclosure", "record", dave, net.lab, *genetic, "--ref", "g/1")
    assert "expired" in line


def test_a_batch_too_big_for_a_block_says_to_split_it(net: Net) -> None:
    """Through the node (the embedded chain raises eth's OutOfGas from its gas estimate)."""
    hospital, erin = net.client(1), net.client(8)
    erin.disclosure.grant(net.hospital, net.lab, RESEARCH, HEALTH)
    limit = int(net.chain.get_block("latest")["gasLimit"])
    count = limit // 8_000 + 1
    items = [
        DisclosureItem(erin.address, net.lab, RESEARCH, HEALTH, "0x" + f"{n:064x}")
        for n in range(count)
    ]
    with pytest.raises(ChainError, match=f"batch of {count} disclosures .* split it"):
        hospital.disclosure.record_batch(items)
