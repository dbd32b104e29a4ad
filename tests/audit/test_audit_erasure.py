"""The auditor and erasure (issue 13, part 2): a use after an erasure request, a confirmation
late or missing.

The contract refuses a use after a request, so on chain it cannot happen: the replay is driven
with crafted sequences of its own event types, and end to end the real chain's request and
confirmation verify, an overdue one is reported, and a use row forged after a request is caught.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from collective.audit import sync, verify
from collective.audit.replay import (
    AccountChange,
    ConsentChange,
    DataUse,
    ErasureConfirmation,
    ErasureRequest,
    PolicyChange,
    ReplayEvent,
    replay,
)
from collective.deploy import Deployment
from collective.errors import ConsentError
from collective.ledger.signing import code
from tests.helpers import FAR_FUTURE, LAB_RESULTS, RESEARCH, World

ADMIN, ORG, ID, OTHER = ("0x" + f"{n:040x}" for n in range(0xA1, 0xA5))
PURPOSE, CATEGORY = code("dpv:ResearchAndDevelopment"), code("dpv-pd:MedicalHealth")
EVIDENCE = "0x" + "ee" * 32
DAY = 24 * 3600


def tx(n: int) -> bytes:
    return n.to_bytes(32, "big")


def times(last: int) -> dict[int, int]:
    """Block n is 1,000,000 + 100 n seconds."""
    return {n: 1_000_000 + 100 * n for n in range(1, last + 1)}


def consented() -> list[ReplayEvent]:
    """Blocks 1-3: the organization admitted, its policy v1, the identity's consent."""
    return [
        AccountChange(1, 0, tx(1), "AdminAdded", ADMIN, ADMIN),
        AccountChange(1, 1, tx(1), "AccountAdmitted", ORG, ADMIN),
        PolicyChange(2, 0, tx(2), ORG, 1, frozenset({PURPOSE})),
        ConsentChange(3, 0, tx(3), True, ID, ORG, PURPOSE, CATEGORY, FAR_FUTURE, 1, ID),
    ]


def request(block: int, due_in: int = 1000, agent: str = ID) -> ErasureRequest:
    return ErasureRequest(block, 0, tx(block), ID, ORG, times(block)[block] + due_in, agent)


def confirm(block: int, late: bool = False) -> ErasureConfirmation:
    return ErasureConfirmation(block, 0, tx(block), ID, ORG, EVIDENCE, late)


def use(block: int, log_index: int = 0) -> DataUse:
    return DataUse(block, log_index, tx(block), ID, ORG, PURPOSE, CATEGORY, 1)


def found(events: list[ReplayEvent], last: int) -> list[tuple[str, int, int]]:
    outcome = replay(events, times(last))
    return [(v.rule, v.block or 0, v.log_index or 0) for v in outcome.violations]


# --- crafted sequences -----------------------------------------------------------------------


def test_a_use_after_a_request_is_a_finding() -> None:
    events = [*consented(), use(4), request(5), use(5, 1), use(6), confirm(7), use(8)]
    assert found(events, 8) == [
        ("use-after-erasure-request", 5, 1),
        ("use-after-erasure-request", 6, 0),
        ("use-after-erasure-request", 8, 0),
    ]
    finding = replay(events, times(8)).violations[0]
    assert finding.evidence["requested_block"] == 5 and "erase" in finding.message
    other = DataUse(6, 0, tx(6), ID, OTHER, PURPOSE, CATEGORY, 1)  # another organization
    assert ("use-after-erasure-request", 6, 0) not in found([*consented(), request(5), other], 6)


def test_a_confirmation_in_time_is_no_finding() -> None:
    assert found([*consented(), request(4, due_in=1000), confirm(10)], 20) == []
    assert found([*consented(), request(4, due_in=10_000)], 20) == []  # pending, not yet due


def test_overdue_and_late_confirmations() -> None:
    assert found([*consented(), request(4, due_in=500)], 20) == [("erasure-overdue", 4, 0)]
    late = found([*consented(), request(4, due_in=500), confirm(10, late=True)], 20)
    assert late == [("erasure-confirmed-late", 10, 0)]


def test_a_confirmation_without_request_and_a_request_by_a_stranger() -> None:
    assert found([*consented(), confirm(5)], 5) == [("erasure-confirmation-without-request", 5, 0)]
    stranger = found([*consented(), request(4, agent=OTHER), confirm(5)], 5)
    assert stranger == [("agent-not-authorized", 4, 0)]


# --- end to end on the embedded chain ------------------------------------------------------------


def test_the_chain_verifies_an_overdue_request_is_reported_and_a_forged_use_caught(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    patient, lab = w.patient.address, w.lab
    w.grant(w.patient, lab)
    w.use(lab, patient)
    requested = w.tx(w.ledger.functions.requestErasure(patient, lab.address), w.patient)
    with pytest.raises(ConsentError):
        w.use(lab, patient)  # the contract refuses it
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    assert verify(db, chain=w.chain, deployment=suite).ok

    w.chain.increase_time(31 * DAY)
    w.chain.mine(1)
    sync(w.chain, suite, db)
    (overdue,) = verify(db).violations
    assert overdue.rule == "erasure-overdue" and overdue.block == requested["blockNumber"]
    assert overdue.evidence["identity"] == patient.lower()

    w.tx(w.ledger.functions.confirmErasure(patient, b"\xee" * 32), lab)
    sync(w.chain, suite, db)
    assert [v.rule for v in verify(db).violations] == ["erasure-confirmed-late"]

    head = w.chain.block_number()
    row = (head, 5, keccak(b"forged"), patient.lower(), lab.address.lower(), RESEARCH)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO uses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, LAB_RESULTS, b"\x09" * 32, 1),
        )
    rules = {v.rule for v in verify(db).violations}
    assert rules == {"erasure-confirmed-late", "use-after-erasure-request", "index-integrity"}
