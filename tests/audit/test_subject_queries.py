"""The audit index's subject queries (:mod:`collective.audit.subjects`) on an index written
by hand, row by row as a sync writes them: each consent's state at the latest indexed block
(the rules of :mod:`collective.ledger.consent_state`), the organization's standing, erasures,
the history in chain order, a reorg that drops blocks, and an index with nothing yet.
(The same answers against a real chain: tests/portal/test_index.py.)"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from collective.audit.store import AuditIndex, open_index
from collective.audit.subjects import SubjectReader
from collective.errors import AuditError
from collective.ledger.consent_state import ConsentState
from collective.ledger.signing import code

ORG, OTHER = "0x" + "aa" * 20, "0x" + "bb" * 20
ALICE, BOB, CAROL = "0x" + "01" * 20, "0x" + "02" * 20, "0x" + "03" * 20
P, C1, C2 = code("dpv:ResearchAndDevelopment"), code("dpv-pd:Age"), code("dpv-pd:Location")
NEVER = 2**63 - 1
TX = b"\x11" * 32
T0 = 1_000_000


def _blocks(index: AuditIndex, last: int) -> None:
    rows = [(n, n.to_bytes(32, "big"), max(n - 1, 0).to_bytes(32, "big"), T0 + 10 * n, 0)
            for n in range(1, last + 1)]  # fmt: skip
    index.insert_rows("blocks", rows)
    index.set_meta("synced_to", str(last))


_LOG = itertools.count()  # log indexes, unique in every block


def _grant(
    block: int, who: str, org: str, cat: bytes, expiry: int = NEVER, version: int = 1
) -> tuple[object, ...]:
    return (block, next(_LOG), TX, 1, who, org, P, cat, expiry, version, who)


def _withdraw(block: int, who: str, org: str, cat: bytes) -> tuple[object, ...]:
    return (block, next(_LOG), TX, 0, who, org, P, cat, None, None, who)


def _event(block: int, name: str, **args: object) -> tuple[object, ...]:
    return (block, next(_LOG), TX, "ConsentLedger", name, json.dumps(args))


@pytest.fixture
def index(tmp_path: Path) -> AuditIndex:
    """An index of 10 blocks: ORG admitted with policy v1 (block 1), v2 (block 8); OTHER
    admitted then suspended; Alice, Bob and Carol's consents, uses, erasures, a deactivation."""
    index = open_index(tmp_path / "index.sqlite")
    _blocks(index, 10)
    index.insert_rows("accounts", [
        (1, 0, "AccountAdmitted", ORG, "0x" + "99" * 20),
        (1, 1, "AccountAdmitted", OTHER, "0x" + "99" * 20),
        (6, 0, "AccountSuspended", OTHER, "0x" + "99" * 20),
    ])  # fmt: skip
    purposes = json.dumps(["0x" + P.hex()])
    index.insert_rows("policies", [
        (1, 2, ORG, 1, b"\x01" * 32, "https://org/v1", purposes),
        (1, 3, OTHER, 1, b"\x02" * 32, "https://other/v1", purposes),
        (9, 0, ORG, 2, b"\x03" * 32, "https://org/v2", purposes),
    ])  # fmt: skip
    index.insert_rows("consents", [
        _grant(2, ALICE, ORG, C1, version=1),  # superseded by v2 (block 9)
        _grant(2, BOB, ORG, C1, expiry=T0 + 50),  # expired at block 5
        _grant(3, ALICE, OTHER, C1),  # active; OTHER suspended
        _grant(3, CAROL, ORG, C2),
        _withdraw(4, CAROL, ORG, C2),
        _grant(10, CAROL, ORG, C2, version=2),  # granted again: active
        _grant(10, BOB, ORG, C2, version=2),  # Bob deactivated at block 7
        _grant(10, ALICE, ORG, C2, version=2),  # Alice asked ORG to erase at block 7
    ])  # fmt: skip
    index.insert_rows("uses", [(3, 10_000, TX, ALICE, ORG, P, C1, b"\x09" * 32, 1)])
    index.insert_rows("events", [
        _event(7, "DIDOwnerChanged", identity=BOB, owner="0x" + "00" * 20, previousChange=0),
        _event(7, "ErasureRequested", identity=ALICE, organization=ORG, dueAt=T0 + 500,
               agent=ALICE),
        _event(8, "ErasureConfirmed", identity=ALICE, organization=ORG,
               evidenceHash="0x" + "ee" * 32, late=False),
    ])  # fmt: skip
    return index


def test_states_at_the_latest_indexed_block(index: AuditIndex) -> None:
    reader = SubjectReader(index.path)
    found = reader.consents([CAROL, ALICE, BOB])
    assert (found.block, found.timestamp) == (10, T0 + 100)
    got = [(c.identity, c.organization, c.category, c.state, c.covered) for c in found.consents]
    assert got == [
        (CAROL, ORG, C2, ConsentState.ACTIVE, True),
        (ALICE, ORG, C1, ConsentState.SUPERSEDED, False),
        (ALICE, OTHER, C1, ConsentState.ACTIVE, False),  # its organization is suspended
        (ALICE, ORG, C2, ConsentState.ACTIVE, False),  # Alice asked ORG to erase
        (BOB, ORG, C1, ConsentState.DEACTIVATED, False),
        (BOB, ORG, C2, ConsentState.DEACTIVATED, False),
    ]
    carol = found.consents[0]
    assert carol.granted_at == T0 + 100 and carol.policy_version == 2 and carol.active
    assert found.consents[2].organization_status == "suspended"
    erasure = found.consents[3].erasure
    assert erasure is not None
    assert (erasure.requested_at, erasure.due_at, erasure.confirmed_at) == (
        T0 + 70, T0 + 500, T0 + 80,
    )  # fmt: skip
    assert found.policies[ORG].version == 2 and P in found.policies[ORG].purposes
    assert reader.consents(["0x" + "77" * 20]).consents == []
    reader.close()


def test_an_expired_consent_and_a_reorg(index: AuditIndex) -> None:
    index.drop_after(6)  # before Bob's deactivation, the erasure and policy v2
    reader = SubjectReader(index.path)
    found = reader.consents([BOB, ALICE, CAROL])
    states = [(c.identity, c.category, c.state) for c in found.consents]
    assert states == [
        (BOB, C1, ConsentState.EXPIRED),
        (ALICE, C1, ConsentState.ACTIVE),
        (ALICE, C1, ConsentState.ACTIVE),
        (CAROL, C2, ConsentState.WITHDRAWN),
    ]
    assert found.consents[0].expiry == T0 + 50 and found.consents[3].active is False
    assert [c.erasure for c in found.consents] == [None] * 4
    reader.close()


def test_history_in_chain_order(index: AuditIndex) -> None:
    reader = SubjectReader(index.path)
    rows = reader.history([ALICE])
    assert [(r.block, r.action) for r in rows] == [
        (2, "grant"), (3, "grant"), (3, "use"), (7, "erasure-request"), (8, "erasure-confirm"),
        (10, "grant"),
    ]  # fmt: skip
    use = rows[2]
    assert use.purpose == "dpv:ResearchAndDevelopment" and use.category == "dpv-pd:Age"
    assert use.data_ref == "0x" + "09" * 32 and use.timestamp == T0 + 30
    assert rows[3].due_at == T0 + 500 and rows[4].evidence_hash == "0x" + "ee" * 32
    reader.close()


def test_an_index_with_nothing_yet_says_so(tmp_path: Path) -> None:
    open_index(tmp_path / "empty.sqlite").close()
    reader = SubjectReader(tmp_path / "empty.sqlite")
    assert reader.synced_to() is None
    with pytest.raises(AuditError, match="holds no block yet"):
        reader.consents([ALICE])
    reader.close()


def test_the_split_modules_names_stay_importable_from_subjects() -> None:
    from collective.audit import subject_events, subjects

    assert subjects.IndexedErasure is subject_events.IndexedErasure
    assert subjects.NULL == subject_events.NULL == "0x" + "00" * 20
    assert set(subjects.__all__) >= {
        "IndexedConsent", "IndexedErasure", "IndexedPolicy", "SubjectConsents", "SubjectReader",
    }  # fmt: skip
