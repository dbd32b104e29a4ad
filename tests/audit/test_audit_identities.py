"""The auditor and identities: uses after a deactivation, agents after a key rotation.

The contracts refuse both (a use of a deactivated identity, a grant signed by a delegate the
previous owner appointed), so on chain they cannot happen: the replay is driven with crafted
sequences of its own event types, and end to end the real chain's deactivation and rotation
verify, while rows forged into the index after them are caught.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from collective.audit import history, open_index, report, sync, verify
from collective.audit.replay import (
    AccountChange,
    ConsentChange,
    DataUse,
    DelegateChange,
    OwnerChange,
    PolicyChange,
    ReplayEvent,
    SignaturesCancelled,
    replay,
)
from collective.audit.verifier import replay_events
from collective.deploy import Deployment
from collective.errors import IdentityDeactivatedError, InvalidInputError, SignatureError
from collective.ledger.signing import code
from tests.helpers import FAR_FUTURE, LAB_RESULTS, RESEARCH, SIG_AUTH, World

NULL = "0x" + "00" * 20
ADMIN, ORG, ID, NEW_KEY, GUARDIAN, OLD_GUARDIAN, OTHER = (
    "0x" + f"{n:040x}" for n in range(0xA1, 0xA8)
)
PURPOSE, CATEGORY = code("dpv:ResearchAndDevelopment"), code("dpv-pd:MedicalHealth")
HOUR = 3600


def tx(n: int) -> bytes:
    return n.to_bytes(32, "big")


def times(last: int) -> dict[int, int]:
    """Block n is 1,000,000 + 100 n seconds."""
    return {n: 1_000_000 + 100 * n for n in range(1, last + 1)}


def admitted() -> list[ReplayEvent]:
    """Blocks 1-2: the admin admits the organization, which publishes policy v1."""
    return [
        AccountChange(1, 0, tx(1), "AdminAdded", ADMIN, ADMIN),
        AccountChange(1, 1, tx(1), "AccountAdmitted", ORG, ADMIN),
        PolicyChange(2, 0, tx(2), ORG, 1, frozenset({PURPOSE})),
    ]


def grant(block: int, log_index: int, agent: str, *, granted: bool = True) -> ConsentChange:
    expiry, version = (FAR_FUTURE, 1) if granted else (None, None)
    return ConsentChange(
        block, log_index, tx(block), granted, ID, ORG, PURPOSE, CATEGORY, expiry, version, agent
    )


def use(block: int, log_index: int = 0) -> DataUse:
    return DataUse(block, log_index, tx(block), ID, ORG, PURPOSE, CATEGORY, 1)


def found(events: list[ReplayEvent], last: int) -> list[tuple[str, int, int]]:
    outcome = replay(events, times(last))
    assert outcome.total == len(outcome.violations)
    return [(v.rule, v.block or 0, v.log_index or 0) for v in outcome.violations]


# --- crafted sequences -----------------------------------------------------------------------


def test_a_use_after_a_deactivation_is_a_finding() -> None:
    events = [
        *admitted(),
        grant(3, 0, ID),
        use(4),
        use(5, 0),  # the same block, before the deactivation: covered
        OwnerChange(5, 1, tx(5), ID, NULL),
        use(5, 2),  # the same block, after it
        use(6),
    ]
    assert found(events, 6) == [("identity-deactivated", 5, 2), ("identity-deactivated", 6, 0)]
    outcome = replay(events, times(6))
    assert outcome.uses == 4
    finding = outcome.violations[0]
    assert finding.evidence["state"] == "deactivated" and finding.evidence["identity"] == ID
    assert "deactivated before it" in finding.message
    # Without the deactivation every use is covered.
    assert found([e for e in events if not isinstance(e, OwnerChange)], 6) == []


def test_deactivation_outranks_the_other_states_and_each_state_has_its_rule() -> None:
    withdrawn_then_deactivated = [
        *admitted(),
        grant(3, 0, ID),
        grant(4, 0, ID, granted=False),
        OwnerChange(5, 0, tx(5), ID, NULL),
        use(6),
    ]
    assert found(withdrawn_then_deactivated, 6) == [("identity-deactivated", 6, 0)]
    assert found([*admitted(), grant(3, 0, ID), grant(4, 0, ID, granted=False), use(5)], 5) == [
        ("consent-withdrawn", 5, 0)
    ]
    assert found([*admitted(), use(3)], 3) == [("no-consent", 3, 0)]
    superseded = [*admitted(), grant(3, 0, ID), PolicyChange(4, 0, tx(4), ORG, 2, frozenset())]
    outcome = replay([*superseded, use(5)], times(5))
    assert [(v.rule, v.evidence["state"]) for v in outcome.violations] == [
        ("stale-policy", "superseded")
    ]
    expiring = ConsentChange(3, 0, tx(3), True, ID, ORG, PURPOSE, CATEGORY, 1_000_450, 1, ID)
    assert found([*admitted(), expiring, use(4), use(5)], 5) == [("consent-expired", 5, 0)]


def test_agents_after_a_key_rotation() -> None:
    t = times(20)
    events = [
        *admitted(),
        DelegateChange(3, 0, tx(3), ID, "sigAuth", OLD_GUARDIAN, t[3] + HOUR),
        grant(4, 0, OLD_GUARDIAN),  # a guardian the owner appointed: fine
        OwnerChange(5, 0, tx(5), ID, NEW_KEY),  # key rotation: a new delegate epoch
        grant(6, 0, OLD_GUARDIAN),  # still within its validity, but of the previous owner
        grant(6, 1, ID),  # the old key
        grant(6, 2, NEW_KEY),  # the new owner: fine
        DelegateChange(7, 0, tx(7), ID, "sigAuth", GUARDIAN, t[7] + HOUR),
        grant(8, 0, GUARDIAN),  # appointed after the rotation: fine
        DelegateChange(8, 1, tx(8), ID, "veriKey", OTHER, t[8] + HOUR),
        grant(9, 0, OTHER),  # a veriKey delegate does not sign consents
        DelegateChange(10, 0, tx(10), ID, "sigAuth", GUARDIAN, t[10]),  # revoked now
        grant(10, 1, GUARDIAN, granted=False),
        DelegateChange(11, 0, tx(11), ID, "sigAuth", OLD_GUARDIAN, t[11] + HOUR),
        grant(12, 0, OLD_GUARDIAN),  # appointed again, by the new owner: fine
        SignaturesCancelled(13, 0, tx(13), ID, OTHER),
        grant(14, 0, OLD_GUARDIAN, granted=False),
        OwnerChange(15, 0, tx(15), ID, NULL),
        grant(16, 0, NEW_KEY, granted=False),  # nothing acts for a deactivated identity
        DelegateChange(17, 0, tx(17), ID, "sigAuth", GUARDIAN, t[17] + 100 * HOUR),
        grant(18, 0, GUARDIAN),
    ]
    assert found(events, 18) == [
        ("stale-delegate", 6, 0),
        ("agent-not-authorized", 6, 1),
        ("agent-not-authorized", 9, 0),
        ("agent-not-authorized", 10, 1),
        ("agent-not-authorized", 13, 0),
        ("identity-deactivated", 16, 0),
        ("identity-deactivated", 18, 0),
    ]
    stale = replay(events, times(18)).violations[0]
    assert stale.evidence == {"identity": ID, "agent": OLD_GUARDIAN, "owner": NEW_KEY}
    assert "appointed before the identity's owner changed" in stale.message
    # An expired delegation speaks for no one either.
    late = [*admitted(), DelegateChange(3, 0, tx(3), ID, "sigAuth", GUARDIAN, t[3] + 50)]
    assert found([*late, grant(4, 0, GUARDIAN)], 4) == [("agent-not-authorized", 4, 0)]


def test_the_replay_takes_only_its_own_event_types() -> None:
    with pytest.raises(TypeError, match="not a replay event"):
        replay([(1, 0, tx(1))], times(1))  # type: ignore[list-item]


# --- end to end on the embedded chain ------------------------------------------------------------


def forge(db: Path, table: str, row: tuple[object, ...]) -> None:
    marks = ", ".join("?" * len(row))
    with sqlite3.connect(db) as conn:
        conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)


def test_a_deactivation_verifies_and_a_use_after_it_is_caught(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    patient = w.patient.address
    w.grant(w.patient, w.lab)
    w.use(w.lab, patient)
    deactivated = w.tx(w.ledger.functions.changeOwner(patient, NULL), w.patient)
    with pytest.raises(IdentityDeactivatedError):
        w.use(w.lab, patient)  # the contract refuses it
    w.chain.mine(1)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    verdict = verify(db, chain=w.chain, deployment=suite)
    assert verdict.ok, verdict.violations
    with open_index(db) as index:
        owners = [e for e in replay_events(index) if isinstance(e, OwnerChange)]
    assert owners == [
        OwnerChange(
            deactivated["blockNumber"],
            0,
            bytes(deactivated["transactionHash"]),
            patient.lower(),
            NULL,
        )
    ]

    head = w.chain.block_number()
    lab = w.lab.address.lower()
    row = (head, 5, keccak(b"forged"), patient.lower(), lab, RESEARCH, LAB_RESULTS, b"\x09" * 32)
    forge(db, "uses", (*row, 1))
    rules = {v.rule: v for v in verify(db).violations}
    assert set(rules) == {"identity-deactivated", "index-integrity"}
    caught = rules["identity-deactivated"]
    assert (caught.block, caught.log_index) == (head, 5)
    assert caught.evidence["identity"] == patient.lower()


def test_a_rotation_verifies_and_a_previous_owners_delegate_is_caught(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    patient, guardian, new_key = w.patient.address, w.guardian, w.chain.dev_accounts[6]
    ledger = w.ledger.functions
    w.tx(ledger.addDelegate(patient, SIG_AUTH, guardian.address, HOUR), w.patient)
    signed = w.sign_grant(guardian, patient, w.lab)
    w.tx(ledger.grantSigned(*signed.call_args()), w.lab)  # the guardian signs: fine
    rotated = w.tx(ledger.changeOwner(patient, new_key.address), w.patient)
    stale = w.sign_grant(guardian, patient, w.lab, purpose=code("dpv:ServiceProvision"))
    with pytest.raises(SignatureError):
        w.tx(ledger.grantSigned(*stale.call_args()), w.lab)  # the contract refuses it
    w.tx(ledger.addDelegate(patient, SIG_AUTH, guardian.address, HOUR), new_key)
    again = w.sign_grant(guardian, patient, w.lab, purpose=code("dpv:ServiceProvision"))
    w.tx(ledger.grantSigned(*again.call_args()), w.lab)  # appointed again by the new key: fine
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    verdict = verify(db, chain=w.chain, deployment=suite)
    assert verdict.ok, verdict.violations

    block = rotated["blockNumber"]
    lab, agent = w.lab.address.lower(), guardian.address.lower()
    row = (block, 7, keccak(b"forged"), 1, patient.lower(), lab, RESEARCH, LAB_RESULTS, FAR_FUTURE)
    forge(db, "consents", (*row, 1, agent))
    rules = {v.rule: v for v in verify(db).violations}
    assert set(rules) == {"stale-delegate", "index-integrity"}
    assert rules["stale-delegate"].evidence["owner"] == new_key.address.lower()


def test_report_filters_refuse_dids_of_other_networks(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    w.grant(w.patient, w.lab)
    w.use(w.lab, w.patient.address)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    patient = w.patient.address
    for network in ("sepolia", "0x1", "development"):
        did = f"did:ethr:{network}:{patient}"
        with pytest.raises(InvalidInputError, match=f"network {network} .*chain is 131277"):
            report(db, subject=did)
        with pytest.raises(InvalidInputError, match=f"network {network} "):
            history(db, did)
        with pytest.raises(InvalidInputError, match=f"network {network} "):
            report(db, organization=f"did:ethr:{network}:{w.lab.address}")
    for local in (f"did:ethr:0x200cd:{patient}", f"did:ethr:embedded:{patient}", patient):
        assert len(report(db, subject=local).uses) == 1
        assert len(history(db, local)) == 1
