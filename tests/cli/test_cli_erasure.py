"""``collective erasure request|relay|list|confirm`` through click against an in-process
``collective node --dev`` (the suite deployed once per module): a use refused after a request,
the consent ended, a confirmation within the deadline, an overdue request listed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.cli import cli
from collective.node.server import RpcServer
from tests.helpers import deploy_consortium

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
DAY = 24 * 3600


@dataclass
class Net:
    url: str
    manifest: Path
    chain: Chain
    lab: str
    patients: list[str]

    def run(self, account: str, *args: str) -> Result:
        command = ["--rpc", self.url, "--account", account, *args]
        return CliRunner().invoke(cli, [*command, "--manifest", str(self.manifest)])

    def ok(self, account: str, *args: str) -> Result:
        result = self.run(account, *args)
        assert result.exit_code == 0, (args, result.output)
        return result

    def json(self, account: str, *args: str) -> Any:
        return json.loads(self.ok(account, *args, "--json").stdout)

    def refused(self, account: str, *args: str) -> str:
        result = self.run(account, *args)
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert "Traceback" not in result.output
        return lines[0]


@pytest.fixture(scope="module")
def net(dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """dev account 1 admitted as a lab with policy v1, 2 as a relaying hospital; dev accounts
    3, 4 and 5 consented to the lab's research use of health data."""
    chain = connect_rpc(dev_server.url, name="node")
    snapshot = chain.snapshot()
    manifest = tmp_path_factory.mktemp("erasure") / "node.json"
    suite = deploy_consortium(chain, manifest)
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    for org in dev[1:3]:
        admin.orgs.admit(org.address)
    admin.as_account(dev[1]).policies.publish(b"v1", "https://lab.example/v1", [RESEARCH])
    for patient in dev[3:6]:
        admin.as_account(patient).consent.grant(dev[1].address, RESEARCH, HEALTH)
    try:
        yield Net(dev_server.url, manifest, chain, dev[1].address, [p.address for p in dev[3:6]])
    finally:
        chain.revert(snapshot)


def test_request_refuses_uses_and_confirm_in_time(net: Net, tmp_path: Path) -> None:
    alice = net.patients[0]
    terms = ["-p", RESEARCH, "-c", HEALTH]
    refs = tmp_path / "lab-refs.db"
    net.ok("1", "use", "record", alice, *terms, "--ref", "lab/1", "--data-refs", str(refs))
    done = net.json("3", "erasure", "request", net.lab)
    assert (done["identity"], done["organization"]) == (alice, net.lab)
    covered = net.json("3", "consent", "covered", alice, net.lab, *terms)
    assert covered["covered"] is False
    line = net.refused("1", "use", "record", alice, *terms, "--ref", "lab/2")
    assert "asked organization" in line and "erasure confirm" in line

    (pending,) = [p for p in net.json("1", "erasure", "list") if p["identity"] == alice]
    assert pending["due_at"] == done["due_at"] and pending["overdue"] is False
    evidence = tmp_path / "erased.txt"
    evidence.write_bytes(b"rows of lab/1 deleted\n")
    confirmed = net.json(
        "1", "erasure", "confirm", alice, "--evidence", str(evidence), "--data-refs", str(refs)
    )
    assert confirmed["evidence_hash"] == "0x" + hashlib.sha256(evidence.read_bytes()).hexdigest()
    assert confirmed["secret_destroyed"] is True and confirmed["late"] is False
    assert alice not in [p["identity"] for p in net.json("1", "erasure", "list", net.lab)]
    again = net.refused("1", "erasure", "confirm", alice, "--evidence", str(evidence))
    assert "already confirmed" in again


def test_signed_request_relayed_and_overdue_listed(net: Net, tmp_path: Path) -> None:
    bob = net.patients[1]
    signed = tmp_path / "erase.json"
    net.ok("4", "erasure", "request", net.lab, "--sign", "-o", str(signed))
    relayed = net.json("2", "erasure", "relay", str(signed))
    assert (relayed["identity"], relayed["agent"]) == (bob, bob)
    assert "already asked" in net.refused("2", "erasure", "relay", str(signed))
    net.chain.increase_time(31 * DAY)
    table = net.ok("1", "erasure", "list").stdout
    assert bob in table and "OVERDUE" in table


def test_mistakes_are_one_line(net: Net, tmp_path: Path) -> None:
    carol = net.patients[2]
    assert "has not asked" in net.refused(
        "1", "erasure", "confirm", carol, "--evidence-hash", "0x" + "ab" * 32
    )
    both = net.run("1", "erasure", "confirm", carol)
    assert both.exit_code == 2 and "exactly one" in both.output
    bad = net.refused("1", "erasure", "confirm", carol, "--evidence-hash", "0x12")
    assert "32 bytes" in bad
    missing = net.refused("1", "erasure", "confirm", carol, "--evidence", str(tmp_path / "none"))
    assert "cannot read the evidence" in missing
