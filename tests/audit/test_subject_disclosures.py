"""Disclosure consents on the audit index (:mod:`collective.audit.subject_disclosures`, read by
:meth:`SubjectReader.consents <collective.audit.subjects.SubjectReader.consents>`) on an index
written by hand: the state against the *recipient's* policy, a withdrawal of nothing active
that changes nothing, a grant again after a withdrawal keeping its place, the standing of both
organizations, and an erasure request to either one. (Against a real chain, every state:
tests/portal/test_disclosures.py.)"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from collective.audit.store import AuditIndex, open_index
from collective.audit.subjects import SubjectReader
from collective.ledger.consent_state import ConsentState
from collective.ledger.signing import code

DISC, REC, OTHER = "0x" + "aa" * 20, "0x" + "cc" * 20, "0x" + "bb" * 20
ALICE, BOB, CAROL = "0x" + "01" * 20, "0x" + "02" * 20, "0x" + "03" * 20
P, C = code("dpv:ResearchAndDevelopment"), code("dpv-pd:Age")
NEVER = 2**64 - 1
TX = b"\x11" * 32
T0 = 1_000_000
_LOG = itertools.count()


def _event(block: int, name: str, **args: object) -> tuple[object, ...]:
    return (block, next(_LOG), TX, "ConsentLedger", name, json.dumps(args))


def _granted(block: int, who: str, recipient: str, version: int = 1) -> tuple[object, ...]:
    return _event(block, "DisclosureConsentGranted", identity=who, discloser=DISC,
                  recipient=recipient, purpose="0x" + P.hex(), category="0x" + C.hex(),
                  expiry=NEVER, policyVersion=version, agent=who)  # fmt: skip


def _withdrawn(block: int, who: str, recipient: str, was_active: bool) -> tuple[object, ...]:
    return _event(block, "DisclosureConsentWithdrawn", identity=who, discloser=DISC,
                  recipient=recipient, purpose="0x" + P.hex(), category="0x" + C.hex(),
                  wasActive=was_active, nonce=5, agent=who)  # fmt: skip


@pytest.fixture
def index(tmp_path: Path) -> AuditIndex:
    """10 blocks: DISC, REC, OTHER admitted (block 1), OTHER suspended (6); REC's policy v1
    (1) and v2 (9); the disclosure consents of Alice, Bob and Carol."""
    index = open_index(tmp_path / "index.sqlite")
    index.insert_rows("blocks", [(n, n.to_bytes(32, "big"), max(n - 1, 0).to_bytes(32, "big"),
                                  T0 + 10 * n, 0) for n in range(1, 11)])  # fmt: skip
    index.set_meta("synced_to", "10")
    admin = "0x" + "99" * 20
    index.insert_rows("accounts", [
        (1, 0, "AccountAdmitted", DISC, admin), (1, 1, "AccountAdmitted", REC, admin),
        (1, 2, "AccountAdmitted", OTHER, admin), (6, 0, "AccountSuspended", OTHER, admin),
    ])  # fmt: skip
    purposes = json.dumps(["0x" + P.hex()])
    index.insert_rows("policies", [
        (1, 3, REC, 1, b"\x01" * 32, "https://rec/v1", purposes),
        (1, 4, OTHER, 1, b"\x02" * 32, "https://other/v1", purposes),
        (9, 0, REC, 2, b"\x03" * 32, "https://rec/v2", purposes),
    ])  # fmt: skip
    index.insert_rows("events", [
        _granted(2, ALICE, OTHER),  # active, but OTHER is suspended at block 6
        _granted(2, BOB, REC),
        _withdrawn(3, BOB, REC, was_active=False),  # only voids signed requests
        _granted(2, CAROL, REC),  # superseded by REC's v2; Carol asks REC to erase
        _withdrawn(4, ALICE, REC, was_active=True),  # nothing granted: no consent appears
        _withdrawn(5, BOB, REC, was_active=True),
        _granted(10, BOB, REC, version=2),  # granted again: active, first place kept
        _event(7, "ErasureRequested", identity=CAROL, organization=REC, dueAt=T0 + 500,
               agent=CAROL),
    ])  # fmt: skip
    return index


def test_disclosure_consent_states(index: AuditIndex) -> None:
    reader = SubjectReader(index.path)
    found = reader.consents([BOB, ALICE, CAROL])
    assert found.consents == []
    got = [(d.identity, d.recipient, d.state, d.covered) for d in found.disclosures]
    assert got == [
        (BOB, REC, ConsentState.ACTIVE, True),
        (ALICE, OTHER, ConsentState.ACTIVE, False),  # the recipient is suspended
        (CAROL, REC, ConsentState.SUPERSEDED, False),
    ]
    bob, alice, carol = found.disclosures
    assert (bob.policy_version, bob.current_version, bob.granted_at) == (2, 2, T0 + 100)
    assert (alice.discloser_status, alice.recipient_status) == ("active", "suspended")
    assert carol.erasure is not None and carol.erasure_organization == REC
    assert carol.erasure.due_at == T0 + 500
    assert found.policies[REC].version == 2  # the recipients' policies come along
    reader.close()


def test_a_withdrawal_of_nothing_active_changes_nothing(index: AuditIndex) -> None:
    index.drop_after(4)  # Bob's real withdrawal (block 5) and regrant (10) are gone
    reader = SubjectReader(index.path)
    (bob,) = reader.consents([BOB]).disclosures
    assert bob.state is ConsentState.ACTIVE and bob.active and bob.policy_version == 1
    reader.close()
