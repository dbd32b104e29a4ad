"""The audit and the validator set: ValidatorPowerChanged is indexed, shown with the board's
actions in a report, and a change without its cause in the same transaction is flagged."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from eth_utils.crypto import keccak

from collective.audit import render, report, sync, verify
from collective.audit.replay import (
    AccountChange,
    BoardExecution,
    ReplayEvent,
    ValidatorChange,
    replay,
)
from collective.deploy import Deployment
from tests.helpers import World

KEY = bytes(range(1, 33))
SET_VALIDATOR = 7


def _set_validator(w: World, power: int) -> None:
    """An executed board proposal (threshold 2): the lab's validator at ``power``."""
    propose = w.board.functions.propose(SET_VALIDATOR, w.lab.address, KEY, power.to_bytes(32))
    w.tx(propose, w.members[0])
    proposal_id = w.board.functions.proposalCount().call() - 1
    w.tx(w.board.functions.approve(proposal_id), w.members[1])


def test_validator_changes_are_reported_and_verify(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    _set_validator(w, 10)
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    w.tx(w.rules.functions.reinstate(w.lab.address), w.admin)
    w.tx(w.rules.functions.remove(w.lab.address), w.admin)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    verdict = verify(db)
    assert verdict.ok, verdict.violations

    board = report(db, organization=w.lab.address).board
    changes = [b for b in board if b.event == "ValidatorPowerChanged"]
    assert [c.details["power"] for c in changes] == [10, 0, 10, 0]
    assert {c.details["pubKey"] for c in changes} == {"0x" + KEY.hex()}
    assert all((c.subject or "").lower() == w.lab.address.lower() for c in changes)
    executed = [b for b in board if b.event == "ProposalExecuted"]
    assert [e.details["action"] for e in executed] == ["SetValidator"]
    assert "AccountRules.ValidatorPowerChanged" in render(report(db), "table")


def test_a_change_without_its_cause_is_flagged(w: World, suite: Deployment, tmp_path: Path) -> None:
    _set_validator(w, 10)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    block = w.chain.block_number()
    args = {"organization": w.hospital.address, "pubKey": "0x" + "ab" * 32, "power": 99}
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO events VALUES (?, 30, ?, 'AccountRules', 'ValidatorPowerChanged', ?)",
            (block, keccak(b"forged"), json.dumps(args)),
        )
    found = {v.rule: v for v in verify(db).violations}
    assert set(found) == {"validator-unexplained", "index-integrity"}
    flagged = found["validator-unexplained"]
    assert (flagged.block, flagged.log_index) == (block, 30)
    assert flagged.evidence == {
        "organization": w.hospital.address.lower(),
        "pub_key": "0x" + "ab" * 32,
        "power": 99,
    }


ORG, OTHER = "0x" + "11" * 20, "0x" + "22" * 20
TX1, TX2 = b"\x01" * 32, b"\x02" * 32


def _change(log_index: int, tx: bytes, org: str = ORG) -> ValidatorChange:
    return ValidatorChange(1, log_index, tx, org, "0x" + "ab" * 32, 5)


def _rules(events: list[ReplayEvent]) -> list[tuple[str, int]]:
    return [(v.rule, v.log_index) for v in replay(events, {1: 1000}).violations]


def test_the_replay_matches_each_change_to_a_cause_in_its_transaction() -> None:
    admin = "0x" + "aa" * 20
    admitted = AccountChange(1, 0, TX1, "AdminAdded", admin, admin)
    suspended = AccountChange(1, 1, TX1, "AccountSuspended", ORG, admin)
    # A board execution comes after the change it caused; a suspension before.
    assert _rules([_change(1, TX1), BoardExecution(1, 2, TX1, SET_VALIDATOR, ORG)]) == []
    assert _rules([admitted, suspended, _change(2, TX1)]) == []
    # The cause must name the organization, be a SetValidator, and sit in the same transaction.
    wrong_org = [_change(1, TX1), BoardExecution(1, 2, TX1, SET_VALIDATOR, OTHER)]
    assert _rules(wrong_org) == [("validator-unexplained", 1)]
    wrong_action = [_change(1, TX1), BoardExecution(1, 2, TX1, 0, ORG)]
    assert _rules(wrong_action) == [("validator-unexplained", 1)]
    earlier_tx = [admitted, suspended, _change(2, TX2)]
    assert _rules(earlier_tx) == [("validator-unexplained", 2)]
    assert _rules([_change(0, TX1), _change(1, TX2)]) == [
        ("validator-unexplained", 0),
        ("validator-unexplained", 1),
    ]
