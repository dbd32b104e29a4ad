"""``collective disclosure ...`` through click against an in-process ``collective node --dev``
(the suite deployed once per module): grant, record, a disclosure refused after withdrawal,
a signed grant relayed by another organization, status, to-stop, and ``watch`` printing a
withdrawal mined after it started (in a thread with --until-block, and in a subprocess that
Ctrl-C stops cleanly); bad input gives one line and the usual exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.cli import cli
from collective.deploy import Deployment
from collective.node.server import RpcServer
from tests.helpers import deploy_consortium

REPO = Path(__file__).resolve().parents[2]
RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
GENETIC = "dpv-pd:Genetic"
TERMS = ["-p", RESEARCH, "-c", HEALTH]


@dataclass
class Net:
    url: str
    manifest: Path
    chain: Chain
    suite: Deployment
    hospital: str
    lab: str

    def run(self, account: str, *args: str) -> Result:
        command = ["--rpc", self.url, "--account", account, *args]
        return CliRunner().invoke(cli, [*command, "--manifest", str(self.manifest)])

    def ok(self, account: str, *args: str) -> Result:
        result = self.run(account, *args)
        assert result.exit_code == 0, (args, result.output)
        return result

    def json(self, account: str, *args: str) -> Any:
        return json.loads(self.ok(account, *args, "--json").stdout)

    def refused(self, account: str, *args: str, code: int = 1) -> str:
        result = self.run(account, *args)
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        return lines[0]

    def client(self, index: int) -> Collective:
        return Collective(self.chain, self.suite, self.chain.dev_accounts[index])

    def address(self, index: int) -> str:
        return str(self.chain.dev_accounts[index].address)


@pytest.fixture(scope="module")
def net(dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """dev account 1 admitted as the hospital (discloser), 2 as the lab (recipient, policy v1
    covering research), 3 as a relaying clinic; 4, 5 and 6 are patients."""
    chain = connect_rpc(dev_server.url, name="node")
    snapshot = chain.snapshot()
    manifest = tmp_path_factory.mktemp("disclosure") / "node.json"
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


def test_grant_record_withdraw_refused_and_to_stop(net: Net, tmp_path: Path) -> None:
    alice = net.address(4)
    granted = net.json("4", "disclosure", "grant", net.hospital, net.lab, *TERMS)
    assert (granted["identity"], granted["recipient"], granted["policy_version"]) == (
        alice,
        net.lab,
        1,
    )
    refs = tmp_path / "hospital-refs.db"
    recorded = net.json(
        "1",
        "disclosure",
        "record",
        alice,
        net.lab,
        *TERMS,
        "--ref",
        "ward/7",
        "--data-refs",
        str(refs),
    )
    assert [r["recipient"] for r in recorded["records"]] == [net.lab] and refs.exists()
    status = net.json("1", "disclosure", "status", alice, net.hospital, net.lab, *TERMS)
    assert status["active"] is True and status["covered"] is True
    text = net.ok("4", "disclosure", "withdraw", net.hospital, net.lab, *TERMS).stdout
    assert "withdrew the disclosure" in text
    line = net.refused("1", "disclosure", "record", alice, net.lab, *TERMS, "--ref", "ward/8")
    assert "no active disclosure consent" in line and "consent to this disclosure" in line
    assert len(net.client(2).disclosure.disclosures(identity=alice)) == 1
    rows = net.json("2", "disclosure", "to-stop")
    assert [(r["reason"], r["identity"], r["disclosures"]) for r in rows] == [
        ("withdrawn", alice, 1)
    ]
    assert alice in net.ok("0", "disclosure", "to-stop", net.lab).stdout
    assert (
        "not active"
        in net.ok("0", "disclosure", "status", alice, net.hospital, net.lab, *TERMS).stdout
    )


def test_a_signed_grant_is_relayed_by_another_organization(net: Net, tmp_path: Path) -> None:
    bob = net.address(5)
    signed = tmp_path / "grant.json"
    genetic = ["-p", RESEARCH, "-c", GENETIC]
    net.ok("5", "disclosure", "sign", net.hospital, net.lab, *genetic, "-o", str(signed))
    relayed = net.json("3", "disclosure", "relay", str(signed))
    assert (relayed["identity"], relayed["agent"], relayed["category"]) == (bob, bob, GENETIC)
    assert "superseded" in net.refused("3", "disclosure", "relay", str(signed))
    withdrawal = net.ok("5", "disclosure", "sign", net.hospital, net.lab, *genetic, "--withdraw")
    stdin = CliRunner().invoke(
        cli,
        [
            "--rpc",
            net.url,
            "--account",
            "3",
            "disclosure",
            "relay",
            "-",
            "--manifest",
            str(net.manifest),
        ],
        input=withdrawal.stdout,
    )
    assert stdin.exit_code == 0 and "withdrew" in stdin.stdout, stdin.output


def test_watch_prints_a_withdrawal_mined_after_it_started(net: Net) -> None:
    """Also an erasure request to the hospital by a subject whose data it disclosed."""
    carol, erin = net.client(6), net.client(9)
    for who in (carol, erin):
        who.disclosure.grant(net.hospital, net.lab, RESEARCH, HEALTH)
    net.client(1).disclosure.record(erin.address, net.lab, RESEARCH, HEALTH, "ward/9")
    start = net.chain.block_number() + 1
    until = start + 4
    result: list[Result] = []
    watcher = threading.Thread(
        target=lambda: result.append(
            net.run(
                "0",
                "disclosure",
                "watch",
                "--recipient",
                net.lab,
                "--from-block",
                str(start),
                "--until-block",
                str(until),
                "--interval",
                "0.05",
                "--json",
            )
        )
    )
    watcher.start()
    time.sleep(0.3)
    carol.disclosure.withdraw(net.hospital, net.lab, RESEARCH, HEALTH)
    erin.erasure.request(net.hospital)
    while net.chain.block_number() < until:
        net.chain.mine()
    watcher.join(timeout=60)
    assert not watcher.is_alive()
    (done,) = result
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["reason"], r["identity"], r["disclosures"]) for r in rows] == [
        ("withdrawn", carol.address, 0),
        ("erasure-requested", erin.address, 1),
    ]
    assert start <= rows[0]["block"] < rows[1]["block"] <= until


def test_watch_stops_cleanly_on_ctrl_c(net: Net) -> None:
    dave = net.client(8)
    dave.disclosure.grant(net.hospital, net.lab, RESEARCH, HEALTH)
    command = [
        sys.executable,
        "-c",
        "from collective.cli import main; main()",
        "--rpc",
        net.url,
        "disclosure",
        "watch",
        "--recipient",
        net.lab,
        "--from-block",
        str(net.chain.block_number() + 1),
        "--interval",
        "0.1",
        "--manifest",
        str(net.manifest),
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        dave.disclosure.withdraw(net.hospital, net.lab, RESEARCH, HEALTH)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert dave.address in line and "withdrew" in line, line
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None and "stopped watching" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_count_stops_and_mistakes_are_named(net: Net) -> None:
    empty = net.run(
        "0",
        "disclosure",
        "watch",
        "--recipient",
        net.lab,
        "--from-block",
        "0",
        "--count",
        "1",
        "--interval",
        "0.05",
    )
    assert empty.exit_code == 0 and len(empty.stdout.splitlines()) == 1, empty.output
    bad = net.refused("1", "disclosure", "record", "0x1234", net.lab, *TERMS, "--ref", "x")
    assert "identity '0x1234' is not an address" in bad
    term = net.refused(
        "4", "disclosure", "grant", net.hospital, net.lab, "-p", "dpv:Reserch", "-c", HEALTH
    )
    assert "is not a purpose" in term
    usage = net.run(
        "4", "disclosure", "sign", net.hospital, net.lab, *TERMS, "--withdraw", "--expiry", "1d"
    )
    assert usage.exit_code == 2 and "apply to grants" in usage.output
    order = net.run(
        "0",
        "disclosure",
        "watch",
        "--recipient",
        net.lab,
        "--from-block",
        "9",
        "--until-block",
        "3",
    )
    assert order.exit_code == 2 and "before the first block" in order.output
    garbage = net.refused("3", "disclosure", "relay", "-")
    assert "not a signed disclosure request" in garbage
    no_policy = net.refused("4", "disclosure", "grant", net.lab, net.hospital, *TERMS)
    assert "has not published a policy" in no_policy
