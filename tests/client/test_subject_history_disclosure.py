"""The subject's "who used my data" history shows onward disclosures (issue 13, part 1), the
disclosure-consent changes and the erasure requests and confirmations, from the client and
from ``collective subject history`` (table and JSON), against an in-process dev node.

The transactions go through the ledger's functions directly (not the disclosure client), once
per module; the state is reverted after the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.cli import cli
from collective.client.subject_history import history, identity_history
from collective.client.subject_records import HistoryRow, Identity
from collective.client.subjects import Subject
from collective.ledger.signing import code
from collective.node.server import RpcServer
from tests.helpers import FAR_FUTURE, deploy_consortium

RESEARCH, HEALTH = "dpv:ResearchAndDevelopment", "dpv-pd:MedicalHealth"
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
REF, EVIDENCE = b"\x07" * 32, b"\xee" * 32
ACTIONS = [
    "grant", "disclosure-grant", "disclose", "disclosure-withdraw", "erasure-request",
    "erasure-confirm",
]  # fmt: skip


@dataclass
class Story:
    url: str
    manifest: Path
    admin: Collective
    hospital: Collective
    lab: Collective
    subject: Subject
    me: Identity  # the subject's identity for the hospital
    disclosed_block: int


@pytest.fixture(scope="module")
def story(dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    """Hospital and lab admitted (policy v1 covers research); the subject's identity for the
    hospital grants a use consent and a disclosure consent (hospital -> lab), the hospital
    discloses, the subject withdraws, asks the lab to erase, and the lab confirms."""
    chain: Chain = connect_rpc(dev_server.url, name="node")
    snapshot = chain.snapshot()
    manifest = tmp_path_factory.mktemp("history") / "node.json"
    suite = deploy_consortium(chain, manifest)
    admin = Collective(chain, suite, chain.dev_accounts[0])
    hospital, lab = (admin.as_account(chain.dev_accounts[i]) for i in (1, 2))
    for org in (hospital, lab):
        admin.orgs.admit(org.address)
        org.policies.publish(b"v1", "https://org.example/v1", [RESEARCH])
    subject = Subject.from_mnemonic(MNEMONIC, chain_id=chain.chain_id).in_consortium(admin)
    me = subject.identity_for(hospital.address)
    chain.wait(chain.send_data(me.address, b"", chain.dev_accounts[0], what="fund", value=10**18))
    fn, purpose, category = admin.session.ledger.functions, code(RESEARCH), code(HEALTH)
    parties = (me.address, hospital.address, lab.address, purpose, category)
    chain.transact(fn.grant(me.address, hospital.address, purpose, category, FAR_FUTURE, 1),
                   me.account)  # fmt: skip
    chain.transact(fn.grantDisclosure(*parties, FAR_FUTURE, 1), me.account)
    done = hospital.session.transact(
        fn.recordDisclosure(me.address, lab.address, purpose, category, REF)
    )
    chain.transact(fn.withdrawDisclosure(*parties), me.account)
    chain.transact(fn.requestErasure(me.address, lab.address), me.account)
    lab.session.transact(fn.confirmErasure(me.address, EVIDENCE))
    try:
        yield Story(dev_server.url, manifest, admin, hospital, lab, subject, me,
                    int(done["blockNumber"]))  # fmt: skip
    finally:
        chain.revert(snapshot)


def _by_action(rows: list[HistoryRow]) -> dict[str, HistoryRow]:
    return {row.action: row for row in rows}


def test_the_history_shows_who_disclosed_what_to_whom_when_and_why(story: Story) -> None:
    hospital, lab = story.hospital.address, story.lab.address
    names = {hospital.lower(): "St Mary's Hospital", lab: "Helix Research Lab"}
    orgs = [hospital, lab]
    rows = history(story.admin, story.subject.identities(orgs), names)
    assert [r.action for r in rows] == ACTIONS
    assert [(r.block, r.log_index) for r in rows] == sorted((r.block, r.log_index) for r in rows)
    row = _by_action(rows)
    disclosed = row["disclose"]
    assert (disclosed.organization, disclosed.recipient) == (hospital, lab)
    assert (disclosed.organization_name, disclosed.recipient_name) == (
        "St Mary's Hospital",
        "Helix Research Lab",
    )
    assert (disclosed.purpose, disclosed.category) == (RESEARCH, HEALTH)
    assert disclosed.policy_version == 1 and disclosed.data_ref == "0x" + REF.hex()
    assert disclosed.block == story.disclosed_block and disclosed.timestamp > 0
    assert disclosed.identity == story.me.address and disclosed.identity_for == hospital
    grant = row["disclosure-grant"]
    assert grant.recipient == lab and grant.expiry == FAR_FUTURE and grant.policy_version == 1
    assert row["disclosure-withdraw"].recipient == lab
    request, confirmation = row["erasure-request"], row["erasure-confirm"]
    assert request.organization == lab and request.recipient is None and request.purpose == ""
    assert request.due_at is not None and request.due_at > request.timestamp
    assert confirmation.evidence_hash == "0x" + EVIDENCE.hex()
    assert row["grant"].organization_name == "St Mary's Hospital"
    # the Subject's own report (every admitted organization, no names) holds the same rows
    plain = story.subject.history(story.admin)
    assert [r.action for r in plain] == ACTIONS and plain[2].recipient_name is None


def test_the_cli_history_lists_the_new_rows_as_a_table_and_as_json(story: Story) -> None:
    command = ["--rpc", story.url, "subject", "history", "--manifest", str(story.manifest)]
    env = {"COLLECTIVE_MNEMONIC": MNEMONIC}
    result = CliRunner().invoke(cli, [*command, "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["action"] for r in rows] == ACTIONS
    (disclosed,) = [r for r in rows if r["action"] == "disclose"]
    assert disclosed["recipient"] == story.lab.address and disclosed["policy_version"] == 1
    table = CliRunner().invoke(cli, command, env=env)
    assert table.exit_code == 0, table.output
    assert "who used my data" in table.stdout and "disclose" in table.stdout
    assert "erasure-confirm" in table.stdout and "0x" + EVIDENCE.hex() in table.stdout
    assert MNEMONIC not in table.output


def test_one_identity_that_is_not_pairwise_is_reported_alike(story: Story) -> None:
    rows = identity_history(story.admin, story.me.address, names={})
    assert [r.action for r in rows] == ACTIONS
    assert {r.identity_for for r in rows} == {None} and rows[2].recipient == story.lab.address
