"""The org, policy, consent, use, did and board commands, run through click against anvil.

One deployment per module (board of dev accounts 7, 8, 9 with threshold 2), then the consent
story in order: admit, publish, grant, sign + relay through files, use, a refused use,
withdraw, guardian, receipts, a 2-of-3 suspension. The anvil state is reverted at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from collective.chain import connect_rpc
from collective.cli import cli

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
TERMS = ["-p", RESEARCH, "-c", HEALTH]


@dataclass
class Story:
    url: str
    manifest: Path
    tmp: Path
    dev: list[str]
    facts: dict[str, Any] = field(default_factory=dict)

    def run(self, *args: str, account: int | None = None, **kwargs: Any) -> Result:
        head = ["--rpc", self.url]
        if account is not None:
            head += ["--account", str(account)]
        command = [*head, *args]
        if args[0] != "deploy":
            command += ["--manifest", str(self.manifest)]
        return CliRunner().invoke(cli, command, **kwargs)

    def ok(self, *args: str, account: int | None = None, **kwargs: Any) -> Result:
        result = self.run(*args, account=account, **kwargs)
        assert result.exit_code == 0, (args, result.output)
        return result

    def json(self, *args: str, account: int | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", account=account).stdout)

    def refused(self, *args: str, account: int | None = None) -> str:
        """The one error line of a command that must exit 1."""
        result = self.run(*args, account=account)
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert "Traceback" not in result.output
        return lines[0]

    @property
    def lab(self) -> str:
        return self.dev[1]

    @property
    def patient(self) -> str:
        return self.dev[3]

    @property
    def guardian(self) -> str:
        return self.dev[4]


@pytest.fixture(scope="module")
def story(anvil: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    chain = connect_rpc(anvil, name="anvil")
    snapshot = chain.snapshot()
    tmp = tmp_path_factory.mktemp("cli")
    dev: list[str] = [str(account.address) for account in chain.dev_accounts]
    told = Story(anvil, tmp / "anvil.json", tmp, dev)
    board = [arg for member in dev[7:10] for arg in ("--board-member", member)]
    told.ok("deploy", "--manifest", str(told.manifest), *board, "--threshold", "2")
    try:
        yield told
    finally:
        chain.revert(snapshot)


# --- help and usage, no chain needed -------------------------------------------------------------


def _commands(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            yield from _commands(sub, (*path, name))


GROUPS = ("org", "policy", "consent", "use", "did", "board")


def test_every_command_help_has_examples() -> None:
    paths = list(_commands(cli, ()))  # every command of the whole tree, the root included
    assert len(paths) > 50
    assert {path[0] for path in paths if path} >= {*GROUPS, "account", "compile", "deploy", "demo"}
    for path in paths:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Examples:" in result.output, path
        assert "  collective " in result.output.split("Examples:")[1], path


def test_state_commands_refuse_the_embedded_chain_with_a_hint() -> None:
    result = CliRunner().invoke(cli, ["--network", "embedded", "org", "list"])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "needs a running node" in line and "--rpc URL" in line


def test_show_id_works_alone() -> None:
    address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    result = CliRunner().invoke(cli, ["did", "show-id", address, "--chain-id", "31337"])
    assert result.stdout.strip() == f"did:ethr:0x7a69:{address}"
    back = CliRunner().invoke(cli, ["--json", "did", "show-id", f"did:ethr:0x7a69:{address}"])
    assert json.loads(back.stdout) == {
        "did": f"did:ethr:0x7a69:{address}",
        "address": address,
        "chain_id": 31337,
    }


def test_malformed_option_values_are_usage_errors() -> None:
    result = CliRunner().invoke(
        cli, ["consent", "covered", "0x1", "0x2", *TERMS, "--block", "soon"]
    )
    assert result.exit_code == 2 and "Invalid value for '--block'" in result.output
    result = CliRunner().invoke(cli, ["did", "add-guardian", "0x1", "--validity", "forever"])
    assert result.exit_code == 2 and "is not a duration" in result.output
    result = CliRunner().invoke(cli, ["consent", "grant", "0x1", *TERMS, "--expiry", "later"])
    assert result.exit_code == 2 and "is not an expiry" in result.output


# --- the story on anvil --------------------------------------------------------------------------


def test_admin_admits_and_lists_organizations(story: Story) -> None:
    admitted = story.ok("org", "admit", story.lab, account=0)
    assert f"admitted organization {story.lab}" in admitted.stdout and "gas" in admitted.stdout
    hospital = story.json("org", "admit", story.dev[2], account=0)
    assert hospital["action"] == "admitted" and hospital["tx_hash"].startswith("0x")
    listed = story.json("org", "list")
    assert [(o["address"], o["status"]) for o in listed] == [
        (story.lab, "active"),
        (story.dev[2], "active"),
    ]
    assert story.lab in story.ok("org", "list").stdout
    line = story.refused("org", "admit", story.dev[5], account=3)
    assert "not a consortium admin" in line
    assert "'nope' is not an address" in story.refused("org", "admit", "nope", account=0)


def test_organization_publishes_a_policy(story: Story) -> None:
    document = story.tmp / "policy.md"
    document.write_text("# Lab research policy\n")
    published = story.ok(
        "policy", "publish", str(document), "--uri", "https://lab.example/v1",
        "--purpose", RESEARCH, "--purpose", "dpv:ScientificResearch", account=1,
    )  # fmt: skip
    assert "published policy version 1" in published.stdout
    current = story.json("policy", "current", story.lab)
    assert current["version"] == 1 and current["uri"] == "https://lab.example/v1"
    assert current["purposes"] == [RESEARCH, "dpv:ScientificResearch"]
    assert [p["version"] for p in story.json("policy", "history", story.lab)] == [1]
    assert story.json("policy", "show", story.lab, "1") == current
    shown = story.json("org", "show", story.lab)
    assert shown["policy_version"] == 1 and shown["admin"] is False
    assert "no policy version 2" in story.refused("policy", "show", story.lab, "2")


def test_subject_grants_directly(story: Story) -> None:
    granted = story.json("consent", "grant", story.lab, *TERMS, account=3)
    assert (granted["identity"], granted["organization"]) == (story.patient, story.lab)
    assert (granted["purpose"], granted["category"]) == (RESEARCH, HEALTH)
    story.facts["grant_tx"] = granted["tx_hash"]
    status = story.json("consent", "status", f"did:ethr:0x7a69:{story.patient}", story.lab, *TERMS)
    assert status["active"] and status["covered"] and status["policy_version"] == 1
    covered = story.ok("consent", "covered", story.patient, story.lab, *TERMS)
    assert covered.stdout.startswith("yes")


def test_keystore_account_asks_for_its_password(story: Story) -> None:
    key = connect_rpc(story.url).dev_accounts[6].key.hex()
    env = {
        "COLLECTIVE_KEYSTORE": str(story.tmp / "keystore"),
        "COLLECTIVE_KDF_ITERATIONS": "1024",
        "COLLECTIVE_PASSWORD": None,
        "COLLECTIVE_PRIVATE_KEY": None,
    }
    imported = CliRunner().invoke(
        cli, ["account", "import", "ward"], env={**env, "COLLECTIVE_PRIVATE_KEY": key},
        input="s3cret\ns3cret\n",
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    granted = story.run(
        "--account", "ward", "consent", "grant", story.lab, "-p", RESEARCH, "-c",
        "dpv-pd:Genetic", "--json", env=env, input="s3cret\n",
    )  # fmt: skip
    assert granted.exit_code == 0, granted.output
    assert "Password for keystore account ward" in granted.stderr
    assert "s3cret" not in granted.output
    assert json.loads(granted.stdout)["identity"] == story.dev[6]
    wrong = story.run(
        "--account", "ward", "consent", "withdraw", story.lab, "-p", RESEARCH, "-c",
        "dpv-pd:Genetic", env=env, input="nope\n",
    )  # fmt: skip
    assert wrong.exit_code == 1 and "wrong password for keystore ward" in wrong.stderr
    # a read needs no key: it neither asks for the password nor minds a wrong one
    read = story.run("--account", "ward", "org", "list", env=env, input="nope\n")
    assert read.exit_code == 0 and "Password" not in read.stderr
    # an address names a dev account before a keystore entry (resolve_account's order), so
    # the dev key that is also in the keystore sends without a password
    by_address = story.run(
        "--account", story.dev[6], "consent", "grant", story.lab, "-p", RESEARCH, "-c",
        "dpv-pd:Genetic", env=env,
    )  # fmt: skip
    assert by_address.exit_code == 0, by_address.output
    assert "Password" not in by_address.stderr


def test_signed_consents_travel_as_files_and_relay_one_or_many(story: Story) -> None:
    files = []
    for index in (5, 6):
        path = story.tmp / f"grant-{index}.json"
        story.ok("consent", "sign", story.lab, *TERMS, "--out", str(path), account=index)
        files.append(str(path))
    stdout_signed = story.ok("consent", "sign", story.lab, *TERMS, account=2).stdout
    assert json.loads(stdout_signed)["kind"] == "grant"
    single = story.tmp / "grant-2.json"
    single.write_text(stdout_signed)
    one = story.json("consent", "relay", str(single), account=1)
    assert one["identity"] == story.dev[2] and one["agent"] == story.dev[2]
    batch = story.ok("consent", "relay", *files, account=1)
    assert "relayed 2 signed requests in one transaction" in batch.stdout
    line = story.refused("consent", "relay", files[0], account=1)
    assert "error:" in line and "nonce" in line.lower()
    by_lab = story.json("consent", "list", "--org", story.lab)
    assert {c["identity"] for c in by_lab} == {story.patient, story.dev[2], *story.dev[5:7]}
    bad = story.tmp / "bad.json"
    bad.write_text("{}")
    assert "not a signed consent request" in story.refused("consent", "relay", str(bad), account=1)


def test_lab_records_a_use_and_the_history_shows_it(story: Story) -> None:
    used = story.json("use", "record", story.patient, *TERMS, "--ref", "lab/2026/42", account=1)
    (record,) = used["records"]
    assert record["organization"] == story.lab and record["policy_version"] == 1
    story.facts["use_tx"] = record["where"]["tx_hash"]
    history = story.json("use", "history", "--subject", story.patient)
    assert [r["data_ref"] for r in history] == [record["data_ref"]]
    table = story.ok("use", "history", "--subject", story.patient).stdout
    assert story.facts["use_tx"] in table and RESEARCH in table


def test_receipt_is_written_and_verifies(story: Story) -> None:
    out = story.tmp / "receipt.json"
    written = story.ok(
        "consent", "receipt", story.facts["grant_tx"], "--out", str(out),
        "--controller-name", "City Lab",
    )  # fmt: skip
    assert "written to" in written.stdout
    receipt = json.loads(out.read_text())
    assert receipt["piiPrincipalId"].endswith(story.patient)
    verified = story.json("consent", "verify-receipt", str(out))
    assert verified["ok"] is True and verified["status"] == "active"
    receipt["evidence"]["expiry"] = 5
    forged = story.tmp / "forged.json"
    forged.write_text(json.dumps(receipt))
    line = story.refused("consent", "verify-receipt", str(forged))
    assert "does not verify" in line and "evidence.expiry" in line


def test_withdrawal_refuses_the_next_use_with_one_clear_line(story: Story) -> None:
    withdrawn = story.ok("consent", "withdraw", story.lab, *TERMS, account=3)
    assert withdrawn.stdout.startswith("withdrawn:")
    line = story.refused("use", "record", story.patient, *TERMS, "--ref", "lab/43", account=1)
    assert "no active consent" in line and RESEARCH in line and HEALTH in line
    assert story.ok("consent", "covered", story.patient, story.lab, *TERMS).stdout.startswith("no")
    kinds = [e["kind"] for e in story.json("consent", "timeline", "--subject", story.patient)]
    assert kinds == ["granted", "withdrawn"]


def test_guardian_signs_for_the_ward(story: Story) -> None:
    added = story.json("did", "add-guardian", story.guardian, "--validity", "1d", account=3)
    assert added["did"] == f"did:ethr:0x7a69:{story.patient}"
    resolved = story.json("did", "resolve", story.patient)
    document = resolved["didDocument"]
    assert document["id"] == f"did:ethr:0x7a69:{story.patient}"
    assert any(
        story.guardian in m.get("blockchainAccountId", "") for m in document["verificationMethod"]
    )
    assert story.guardian in story.ok("did", "resolve", story.patient).stdout
    signed = story.tmp / "ward.json"
    story.ok(
        "consent", "sign", story.lab, *TERMS, "--identity", f"did:ethr:0x7a69:{story.patient}",
        "--out", str(signed), account=4,
    )  # fmt: skip
    relayed = story.json("consent", "relay", str(signed), account=1)
    assert relayed["identity"] == story.patient and relayed["agent"] == story.guardian
    withdrawal = story.tmp / "ward-withdraw.json"
    story.ok(
        "consent", "sign", story.lab, *TERMS, "--withdraw", "--identity", story.patient,
        "--out", str(withdrawal), account=4,
    )  # fmt: skip
    assert story.ok("consent", "relay", str(withdrawal), account=1).stdout.startswith("withdrawn:")
    log = story.json("did", "log", story.patient)
    assert [e["name"] for e in log] == ["DIDDelegateChanged"] and log[0]["kind"] == "sigAuth"
    stranger = story.tmp / "stranger.json"
    story.ok(
        "consent", "sign", story.lab, *TERMS, "--identity", story.patient,
        "--out", str(stranger), account=5,
    )  # fmt: skip
    line = story.refused("consent", "relay", str(stranger), account=1)
    assert "nor a valid sigAuth delegate" in line


def test_board_suspends_by_two_of_three(story: Story) -> None:
    members = story.json("board", "members")
    assert members == {"members": story.dev[7:10], "threshold": 2}
    proposed = story.json("board", "propose", "suspend", story.lab, "-r", "GDPR-Art5", account=7)
    assert proposed["approvals"] == 1 and proposed["executed"] is False
    outsider = story.refused("board", "approve", str(proposed["proposal_id"]), account=1)
    assert "board member" in outsider
    approved = story.ok("board", "approve", str(proposed["proposal_id"]), account=8)
    assert "executed" in approved.stdout
    (proposal,) = story.json("board", "proposals")
    assert (
        proposal["action"] == "suspend"
        and proposal["executed"]
        and proposal["reason"] == "GDPR-Art5"
    )
    assert story.json("org", "show", story.lab)["status"] == "suspended"
    story.ok("consent", "grant", story.lab, *TERMS, account=3)
    line = story.refused("use", "record", story.patient, *TERMS, "--ref", "r", account=1)
    assert "suspended" in line
    flag = story.json("board", "propose", "flag-use", story.facts["use_tx"], "-r", "odd", account=9)
    story.ok("board", "approve", str(flag["proposal_id"]), account=7)
    (flagged,) = story.json("board", "flags")
    assert flagged["organization"] == story.lab and flagged["reason"] == "odd"
    threshold = story.json("board", "propose", "set-threshold", "3", account=7)
    story.ok("board", "approve", str(threshold["proposal_id"]), account=8)
    assert story.json("board", "members")["threshold"] == 3
    lost = story.dev[9]  # the threshold is the board's size: removing needs a lower one
    removal = story.json("board", "propose", "remove-member", lost, "--threshold", "2", account=7)
    assert f"{lost}, threshold 2" in story.ok("board", "proposals", "--open").stdout
    (listed,) = [p for p in story.json("board", "proposals") if p["id"] == removal["proposal_id"]]
    assert (listed["action"], listed["target"]) == ("remove-member", lost)
    assert int(listed["ref"], 16) == 2
