"""One consent state everywhere: the rule, read_status, receipts and the CLI agree.

On the embedded chain: a granted consent, then a newer policy, a withdrawal, expiry (time
travel) or the identity's deactivation, and every surface reports the same state. The CLI
(which needs a running node) is driven against anvil: `consent status` and `consent
verify-receipt`, as text and as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.cli import cli
from collective.deploy import Deployment, load_deployment
from collective.errors import ConsentError
from collective.ledger.consent_state import ConsentState, consent_state, read_status
from collective.ledger.vocab import code_of
from collective.receipts import build_receipt, verify_receipt

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
TERMS = ["-p", RESEARCH, "-c", HEALTH]
DAY = 86_400

# --- the rule -------------------------------------------------------------------------------------


def state(**changes: Any) -> ConsentState:
    """The state of a consent granted under v1 (current), unexpired, with ``changes``."""
    facts: dict[str, Any] = {
        "granted": True,
        "active": True,
        "expiry": 2_000,
        "policy_version": 1,
        "current_version": 1,
        "deactivated": False,
        "now": 1_000,
    }
    facts.update(changes)
    return consent_state(**facts)


def test_the_rule_and_its_precedence() -> None:
    assert state() == "active"
    assert state(granted=False, active=False, expiry=0, policy_version=0) == "none"
    assert state(active=False) == "withdrawn"
    assert state(now=2_000) == "expired"  # covers uses strictly before the expiry
    assert state(now=1_999) == "active"
    assert state(current_version=2) == "superseded"
    assert state(deactivated=True) == "deactivated"
    # deactivated > withdrawn > expired > superseded > active
    everything = {"active": False, "now": 5_000, "current_version": 2}
    assert state(**everything, deactivated=True) == "deactivated"
    assert state(**everything) == "withdrawn"
    assert state(now=5_000, current_version=2) == "expired"
    assert state(granted=False, active=False, deactivated=True) == "deactivated"
    assert {s.value for s in ConsentState} == {
        "none", "active", "withdrawn", "expired", "superseded", "deactivated",
    }  # fmt: skip


# --- every surface on the embedded chain ----------------------------------------------------------


@dataclass
class Story:
    admin: Collective
    lab: Collective
    patient: Collective
    receipt_tx: str

    def status(self) -> Any:
        p = self.patient
        return read_status(
            p.chain, p.deployment, p.address, self.lab.address, code_of(RESEARCH), code_of(HEALTH)
        )

    def verified(self) -> Any:
        receipt = build_receipt(self.lab.chain, self.lab.deployment, self.receipt_tx)
        result = verify_receipt(self.lab.chain, self.lab.deployment, receipt.to_json())
        assert result.ok, result.failures
        return result


def begin(chain: Chain, deployment: Deployment) -> Story:
    """The lab admitted with policy v1; the patient granted it a consent for a day."""
    dev = chain.dev_accounts
    admin = Collective(chain, deployment, dev[0])
    lab, patient = admin.as_account(dev[2]), admin.as_account(dev[3])
    admin.orgs.admit(lab.address)
    lab.policies.publish(b"lab policy v1", "https://lab.example/v1", [RESEARCH])
    granted = patient.consent.grant(
        lab.address, RESEARCH, HEALTH, expiry=chain.latest_timestamp() + DAY
    )
    return Story(admin, lab, patient, granted.tx_hash)


# What happens after the grant, and the state it leaves.
SCENARIOS: dict[str, Callable[[Story], object]] = {
    "superseded": lambda s: s.lab.policies.publish(b"v2", "https://lab.example/v2", [RESEARCH]),
    "withdrawn": lambda s: s.patient.consent.withdraw(s.lab.address, RESEARCH, HEALTH),
    "expired": lambda s: s.patient.chain.increase_time(2 * DAY),
    "deactivated": lambda s: s.patient.did.deactivate(),
}


@pytest.mark.parametrize("expected", list(SCENARIOS))
def test_every_surface_says_the_same_state(chain: Chain, suite: Deployment, expected: str) -> None:
    story = begin(chain, suite)
    before = story.status()
    assert before.state == "active" and before.covered and before.reason is None
    assert story.verified().status == "active"

    SCENARIOS[expected](story)

    status = story.status()
    assert status.state == expected
    assert not status.covered and status.describe().startswith(f"{expected}: covers no use")
    verified = story.verified()
    assert verified.status == expected and not verified.renewed
    assert verified.consent is not None and verified.consent.state == expected
    # The contract agrees: isCovered is false, and a use is refused.
    p = story.patient
    assert not p.consent.is_covered(p.address, story.lab.address, RESEARCH, HEALTH)
    with pytest.raises(ConsentError):
        story.lab.usage.record(p.address, RESEARCH, HEALTH, "lab/after")


def test_superseded_names_both_versions_and_a_regrant_is_active_again(
    chain: Chain, suite: Deployment
) -> None:
    story = begin(chain, suite)
    SCENARIOS["superseded"](story)
    status = story.status()
    assert (status.policy_version, status.current_version) == (1, 2)
    assert status.reason == "granted under policy v1, the organization's current policy is v2"
    story.patient.consent.grant(story.lab.address, RESEARCH, HEALTH)  # under v2
    verified = story.verified()
    assert verified.status == "active" and verified.renewed  # the receipt's v1 grant is replaced


def test_precedence_on_chain(chain: Chain, suite: Deployment) -> None:
    story = begin(chain, suite)
    SCENARIOS["superseded"](story)
    assert story.status().state == "superseded"
    SCENARIOS["expired"](story)
    assert story.status().state == "expired"  # expired > superseded
    SCENARIOS["withdrawn"](story)
    assert story.status().state == "withdrawn"  # withdrawn > expired
    SCENARIOS["deactivated"](story)
    assert story.status().state == "deactivated"  # deactivated > withdrawn
    assert story.verified().status == "deactivated"
    p = story.patient
    never = read_status(
        chain, suite, chain.dev_accounts[5].address, story.lab.address, code_of(RESEARCH),
        code_of(HEALTH),
    )  # fmt: skip
    assert never.state == "none" and never.reason == "never granted"
    assert p.did.deactivated(p.address)


def test_a_suspended_organization_is_said_apart_from_the_state(
    chain: Chain, suite: Deployment
) -> None:
    story = begin(chain, suite)
    story.admin.orgs.suspend(story.lab.address)
    status = story.status()
    assert status.state == "active" and status.organization_status == "suspended"
    assert not status.covered and status.reason == "organization suspended"
    assert status.describe() == "active, but covers no use: organization suspended"
    verified = story.verified()
    assert verified.status == "active"
    assert verified.consent is not None and not verified.consent.covered
    p = story.patient
    assert not p.consent.is_covered(p.address, story.lab.address, RESEARCH, HEALTH)


def test_status_reads_an_earlier_block(chain: Chain, suite: Deployment) -> None:
    story = begin(chain, suite)
    granted_in = chain.block_number()
    SCENARIOS["withdrawn"](story)
    p = story.patient
    then = read_status(
        chain, suite, p.address, story.lab.address, code_of(RESEARCH), code_of(HEALTH),
        block=granted_in,
    )  # fmt: skip
    assert then.state == "active" and then.block == granted_in
    assert story.status().state == "withdrawn"


# --- the CLI, against anvil -----------------------------------------------------------------------


@dataclass
class Node:
    url: str
    manifest: Path
    tmp: Path

    def run(self, *args: str, account: int | None = None) -> Result:
        head = ["--rpc", self.url] + (["--account", str(account)] if account is not None else [])
        return CliRunner().invoke(cli, [*head, *args, "--manifest", str(self.manifest)])

    def ok(self, *args: str, account: int | None = None) -> str:
        result = self.run(*args, account=account)
        assert result.exit_code == 0, (args, result.output)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def refused(self, *args: str, account: int | None = None) -> str:
        result = self.run(*args, account=account)
        assert result.exit_code == 1, (args, result.output)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "Traceback" not in result.output, result.output
        return errors[0]


@pytest.fixture(scope="module")
def deployed(anvil: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    chain = connect_rpc(anvil, name="anvil")
    snapshot = chain.snapshot()
    tmp = tmp_path_factory.mktemp("states")
    node = Node(anvil, tmp / "anvil.json", tmp)
    dev = [a.address for a in chain.dev_accounts]
    board = [arg for member in dev[7:10] for arg in ("--board-member", member)]
    result = CliRunner().invoke(
        cli,
        ["--rpc", anvil, "deploy", "--manifest", str(node.manifest), *board, "--threshold", "2"],
    )
    assert result.exit_code == 0, result.output
    try:
        yield node
    finally:
        chain.revert(snapshot)


@pytest.fixture
def node(deployed: Node) -> Iterator[tuple[Node, Story]]:
    """The anvil deployment with the story's grant; reverted after the test."""
    chain = connect_rpc(deployed.url, name="anvil")
    snapshot = chain.snapshot()
    try:
        yield deployed, begin(chain, load_deployment(chain, deployed.manifest))
    finally:
        chain.revert(snapshot)


@pytest.mark.parametrize("expected", list(SCENARIOS))
def test_cli_status_and_verify_receipt_say_the_same_state(
    node: tuple[Node, Story], expected: str
) -> None:
    cli_node, story = node
    patient, lab = story.patient.address, story.lab.address
    receipt = cli_node.tmp / f"receipt-{expected}.json"
    cli_node.ok("consent", "receipt", story.receipt_tx, "--out", str(receipt))
    assert "the consent now is active: covers the organization's use" in cli_node.ok(
        "consent", "verify-receipt", str(receipt)
    )

    SCENARIOS[expected](story)

    shown = cli_node.ok("consent", "status", patient, lab, *TERMS)
    rows = dict(line.split(None, 1) for line in shown.splitlines() if line.strip())
    assert rows["state"].strip() == expected
    assert "active" not in rows  # the stored flag is not shown as if it were the state
    data = cli_node.json("consent", "status", patient, lab, *TERMS)
    assert data["state"] == expected and data["covered"] is False and data["reason"]

    verified = cli_node.ok("consent", "verify-receipt", str(receipt))
    assert f"the consent now is {expected}: covers no use" in verified
    assert "is active now" not in verified
    data = cli_node.json("consent", "verify-receipt", str(receipt))
    assert data["ok"] is True and data["status"] == expected
    assert data["covered"] is False and data["renewed"] is False


def test_cli_says_a_suspension_apart(node: tuple[Node, Story]) -> None:
    cli_node, story = node
    story.admin.orgs.suspend(story.lab.address)
    args = ("consent", "status", story.patient.address, story.lab.address, *TERMS)
    data = cli_node.json(*args)
    assert data["state"] == "active" and data["covered"] is False
    assert data["reason"] == "organization suspended"
    assert data["organization_status"] == "suspended"
    assert "no: organization suspended" in cli_node.ok(*args)


def test_cli_did_deactivate_needs_yes_and_ends_the_consent(node: tuple[Node, Story]) -> None:
    cli_node, story = node
    patient, lab = story.patient.address, story.lab.address
    usage = cli_node.run("did", "deactivate", account=3)
    assert usage.exit_code == 2 and "--yes" in usage.output
    assert "deactivated" not in cli_node.json("did", "resolve", patient)["didDocumentMetadata"]
    done = cli_node.ok("did", "deactivate", "--yes", account=3)
    assert done.startswith(f"did:ethr:0x7a69:{patient}: deactivated (for good)")
    resolved = cli_node.json("did", "resolve", patient)
    assert resolved["didDocumentMetadata"]["deactivated"] is True
    assert cli_node.json("consent", "status", patient, lab, *TERMS)["state"] == "deactivated"


def test_cli_refuses_dids_of_other_networks(node: tuple[Node, Story]) -> None:
    cli_node, story = node
    patient, lab = story.patient.address, story.lab.address
    sepolia = f"did:ethr:sepolia:{patient}"
    line = cli_node.refused("did", "resolve", sepolia)
    assert sepolia in line and "network sepolia (chain 11155111)" in line
    assert "connected chain is 31337" in line and "unknownNetwork" in line
    result = cli_node.run("--json", "did", "resolve", sepolia)
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "didResolutionMetadata": {
            "error": "unknownNetwork",
            "message": "The DID resolver does not have a configuration for network: sepolia",
        },
        "didDocumentMetadata": {},
        "didDocument": None,
    }
    mainnet = f"did:ethr:0x1:{patient}"
    line = cli_node.refused("consent", "status", mainnet, lab, *TERMS)
    assert mainnet in line and "network 0x1 (chain 1)" in line
    unconfigured = f"did:ethr:development:{patient}"
    line = cli_node.refused("use", "record", unconfigured, *TERMS, "--ref", "x", account=2)
    assert unconfigured in line and "configured for no chain" in line
    assert cli_node.json("use", "history", "--subject", patient) == []
    line = cli_node.refused("consent", "sign", lab, *TERMS, "--identity", sepolia, account=3)
    assert sepolia in line
    line = cli_node.refused("did", "add-guardian", lab, "--identity", sepolia, account=3)
    assert sepolia in line
    line = cli_node.refused("consent", "list", "--subject", mainnet)
    assert mainnet in line
    # This chain's DIDs: its chain id in hex, a configured name for it, or no network part.
    for local in (f"did:ethr:0x7a69:{patient}", f"did:ethr:anvil:{patient}", f"did:ethr:{patient}"):
        assert cli_node.json("consent", "status", local, lab, *TERMS)["state"] == "active"
    assert cli_node.json("did", "resolve", f"did:ethr:anvil:{patient}")["didDocument"]["id"] == (
        f"did:ethr:anvil:{patient}"
    )
