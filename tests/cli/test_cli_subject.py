"""``collective subject`` against an in-process dev node: the mnemonic is printed only by
``subject new``, read only from the environment or a hidden prompt; identities, the history
report, rotate-all and deactivate-all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.cli import cli
from collective.cli.subject_cmd import subject_group
from collective.client.subjects import Subject
from collective.node.server import RpcServer
from tests.helpers import deploy_consortium

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"


@dataclass
class Net:
    url: str
    manifest: Path
    chain: Chain
    hospital: Collective
    lab: Collective

    def run(self, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Result:
        command = ["--rpc", self.url, *args]
        if args[1] != "new":
            command += ["--manifest", str(self.manifest)]
        environment = {"COLLECTIVE_MNEMONIC": MNEMONIC} if env is None else env
        return CliRunner().invoke(cli, command, env=environment, **kwargs)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, (args, result.output)
        assert MNEMONIC not in result.output
        return json.loads(result.stdout)

    def subject(self) -> Subject:
        chain_id = self.chain.chain_id
        return Subject.from_mnemonic(MNEMONIC, chain_id=chain_id).in_consortium(self.hospital)


@pytest.fixture(scope="module")
def net(dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """The suite on the dev node; hospital and lab admitted with policy v1; reverted after."""
    chain = connect_rpc(dev_server.url, name="node")
    snapshot = chain.snapshot()
    manifest = tmp_path_factory.mktemp("subject") / "node.json"
    suite = deploy_consortium(chain, manifest)
    admin = Collective(chain, suite, chain.dev_accounts[0])
    orgs = []
    for index in (1, 2):
        org = admin.as_account(chain.dev_accounts[index])
        admin.orgs.admit(org.address)
        org.policies.publish(b"v1", "https://org.example/v1", [RESEARCH])
        orgs.append(org)
    try:
        yield Net(dev_server.url, manifest, chain, orgs[0], orgs[1])
    finally:
        chain.revert(snapshot)


def test_new_prints_a_fresh_mnemonic_once_with_a_warning() -> None:
    result = CliRunner().invoke(cli, ["subject", "new"])
    assert result.exit_code == 0, result.output
    words = result.stdout.strip()
    assert len(words.split()) == 24 and "warning" in result.stderr
    Subject.from_mnemonic(words, chain_id=1)  # a valid phrase
    again = CliRunner().invoke(cli, ["--json", "subject", "new", "--words", "12"])
    document = json.loads(again.stdout)
    assert len(document["mnemonic"].split()) == 12 and document["mnemonic"] != words


def test_no_subject_command_takes_the_mnemonic_as_an_argument() -> None:
    for command in subject_group.commands.values():
        for param in command.params:
            assert "mnemonic" not in (param.name or "")
            if isinstance(param, click.Argument):
                assert param.name in {"guardian", "organization"}


def test_identity_reads_the_mnemonic_from_the_environment_or_a_hidden_prompt(net: Net) -> None:
    expected = net.subject().identity_for(net.hospital.address)
    shown = net.json("subject", "identity", "-o", net.hospital.address)
    assert [row["address"] for row in shown] == [expected.address]
    assert shown[0]["did"] == expected.did and shown[0]["path"] == expected.path
    every = net.json("subject", "identity")
    assert {row["organization"] for row in every} == {net.hospital.address, net.lab.address}
    assert len({row["address"] for row in every}) == 2
    prompted = net.run("subject", "identity", "-o", net.lab.address, env={}, input=MNEMONIC + "\n")
    assert prompted.exit_code == 0, prompted.output
    assert MNEMONIC not in prompted.output and "Mnemonic" in prompted.stderr
    key = net.subject().identity_for(net.lab.address).account.key.hex()
    assert key.removeprefix("0x") not in prompted.output


def test_a_bad_or_missing_mnemonic_is_one_error_line(net: Net) -> None:
    bad = "legal winner thank year wave sausage worth useful legal winner thank thank"
    result = net.run("subject", "identity", env={"COLLECTIVE_MNEMONIC": bad})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "not a valid BIP-39" in result.stderr and "sausage" not in result.output
    missing = net.run("subject", "history", env={}, input="")
    assert missing.exit_code == 1 and "COLLECTIVE_MNEMONIC" in missing.stderr


def test_sign_history_rotate_all_and_deactivate_all(net: Net, tmp_path: Path) -> None:
    subject = net.subject()
    grant = tmp_path / "grant.json"
    signed = net.run("subject", "sign", net.hospital.address, "-p", RESEARCH, "-c", HEALTH,
                     "-o", str(grant))  # fmt: skip
    assert signed.exit_code == 0 and MNEMONIC not in signed.output, signed.output
    me = subject.identity_for(net.hospital.address)
    assert me.did in signed.stdout
    relayed = net.run("consent", "relay", str(grant), "--account", "1")
    assert relayed.exit_code == 0, relayed.output
    net.hospital.usage.record(me.address, RESEARCH, HEALTH, "hospital/1")
    at_lab = subject.identity_for(net.lab.address)
    net.lab.signing.relay(
        net.lab.signing.sign_grant(net.lab.address, RESEARCH, HEALTH, signer=at_lab.account)
    )
    net.lab.usage.record(at_lab.address, RESEARCH, HEALTH, "lab/1")
    rows = net.json("subject", "history")
    assert [(r["action"], r["organization"]) for r in rows] == [
        ("grant", net.hospital.address),
        ("use", net.hospital.address),
        ("grant", net.lab.address),
        ("use", net.lab.address),
    ]
    table = net.run("subject", "history", "-o", net.lab.address)
    assert "who used my data" in table.stdout and net.hospital.address not in table.stdout

    rotated = net.json("subject", "rotate-all", "--account", "1")
    assert [r["error"] for r in rotated] == [None, None]
    reader = net.hospital
    assert all(reader.did.owner(r["identity"]) != r["identity"] for r in rotated)

    refused = net.run("subject", "deactivate-all", "--account", "1")
    assert refused.exit_code == 2 and "--yes" in refused.output
    first = net.run("subject", "deactivate-all", "-o", net.lab.address, "--yes", "--account", "1")
    assert first.exit_code == 0, first.output
    both = net.run("subject", "deactivate-all", "--yes", "--account", "2")
    assert both.exit_code == 1 and "Traceback" not in both.output
    assert both.stderr.strip().splitlines()[-1].startswith("error: 1 of 2 identities")
    assert "was deactivated" in both.stdout and MNEMONIC not in both.output
    assert all(reader.did.deactivated(r["identity"]) for r in rotated)
