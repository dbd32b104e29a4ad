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
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils.address import to_checksum_address

from collective.addresses import parse_address
from collective.chain import Chain, connect_rpc
from collective.cli import cli
from collective.client import Collective
from collective.deploy import Deployment
from collective.errors import ChainError, ConfigurationError
from tests.test_cli_commands import HEALTH, RESEARCH, TERMS, Story

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
    return int(connect_rpc(story.url).w3.eth.block_number)


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
    before = chain.w3.eth.block_number
    with pytest.raises(ConfigurationError, match="wrong EIP-55 checksum"):
        admin.orgs.admit(TYPO)
    with pytest.raises(ConfigurationError, match="wrong EIP-55 checksum"):
        admin.consent.grant(TYPO, RESEARCH, HEALTH)
    with pytest.raises(ConfigurationError, match="wrong checksum"):  # did.py's words
        admin.usage.history(identity=f"did:ethr:{TYPO}")
    assert chain.w3.eth.block_number == before
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
