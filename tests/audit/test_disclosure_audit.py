"""The auditor and onward disclosure (issue 13, part 1): disclosure consents replayed as use
consents, and every ``DataDisclosed`` checked against the contract's rules at its block.

The contract refuses every disclosure these rules flag, so on chain none can happen: each flag
is driven by a crafted sequence of the replay's own records; end to end the real chain's
disclosures verify clean, the report lists them, and a disclosure row forged into the index
after a withdrawal is caught.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from eth_utils.crypto import keccak

from collective.audit import report, sync, verify
from collective.audit.render import render
from collective.audit.replay import (
    AccountChange,
    Disclosure,
    DisclosureConsentChange,
    ErasureRequest,
    OwnerChange,
    PolicyChange,
    ReplayEvent,
    replay,
)
from collective.audit.replay.records import NULL
from collective.deploy import Deployment
from collective.errors import TransactionError
from collective.ledger.signing import code
from tests.helpers import FAR_FUTURE, LAB_RESULTS, RESEARCH, World, expect_revert

ADMIN, DISCLOSER, RECIPIENT, ID, OTHER = ("0x" + f"{n:040x}" for n in range(0xB1, 0xB6))
PURPOSE, CATEGORY = code("dpv:ResearchAndDevelopment"), code("dpv-pd:MedicalHealth")
MARKETING = code("dpv:Marketing")
REF = b"\x07" * 32


def tx(n: int) -> bytes:
    return n.to_bytes(32, "big")


def times(last: int) -> dict[int, int]:
    """Block n is 1,000,000 + 100 n seconds."""
    return {n: 1_000_000 + 100 * n for n in range(1, last + 1)}


def granted(block: int, expiry: int = FAR_FUTURE, version: int = 1, agent: str = ID) -> ReplayEvent:
    return DisclosureConsentChange(
        block, 0, tx(block), True, ID, DISCLOSER, RECIPIENT, PURPOSE, CATEGORY, expiry, version,
        True, agent,
    )  # fmt: skip


def withdrawn(block: int, agent: str = ID) -> ReplayEvent:
    return DisclosureConsentChange(
        block, 0, tx(block), False, ID, DISCLOSER, RECIPIENT, PURPOSE, CATEGORY, None, None,
        True, agent,
    )  # fmt: skip


def disclosed(block: int, version: int = 1, purpose: bytes = PURPOSE) -> ReplayEvent:
    return Disclosure(
        block, 1, tx(block), ID, DISCLOSER, RECIPIENT, purpose, CATEGORY, REF, version
    )


def admitted() -> list[ReplayEvent]:
    """Blocks 1-2: both organizations admitted, the recipient's policy v1 covers PURPOSE."""
    return [
        AccountChange(1, 0, tx(1), "AdminAdded", ADMIN, ADMIN),
        AccountChange(1, 1, tx(1), "AccountAdmitted", DISCLOSER, ADMIN),
        AccountChange(1, 2, tx(1), "AccountAdmitted", RECIPIENT, ADMIN),
        PolicyChange(2, 0, tx(2), RECIPIENT, 1, frozenset({PURPOSE})),
    ]


def found(events: list[ReplayEvent], last: int) -> list[tuple[str, int]]:
    outcome = replay(events, times(last))
    return [(v.rule, v.block or 0) for v in outcome.violations]


# --- crafted sequences -----------------------------------------------------------------------


def test_a_covered_disclosure_is_no_finding_and_is_counted() -> None:
    outcome = replay([*admitted(), granted(3), disclosed(4), disclosed(5)], times(5))
    assert outcome.violations == [] and outcome.disclosures == 2 and outcome.uses == 0


def test_disclosure_without_consent_never_granted_withdrawn_or_expired() -> None:
    assert found([*admitted(), disclosed(4)], 4) == [("disclosure-without-consent", 4)]
    events = [*admitted(), granted(3), disclosed(4), withdrawn(5), disclosed(6)]
    assert found(events, 6) == [("disclosure-without-consent", 6)]
    expires = times(5)[5]  # a disclosure at the expiry's second is no longer covered
    assert found([*admitted(), granted(3, expiry=expires), disclosed(4), disclosed(5)], 5) == [
        ("disclosure-without-consent", 5)
    ]
    (withdrawal,) = replay(events, times(6)).violations
    assert withdrawal.evidence["state"] == "withdrawn" and withdrawal.evidence["consent_block"] == 3
    assert withdrawal.evidence["recipient"] == RECIPIENT and "withdrawn" in withdrawal.message


def test_a_regrant_after_a_withdrawal_covers_again_and_nonces_play_no_part() -> None:
    events = [*admitted(), granted(3), withdrawn(4), granted(5), disclosed(6)]
    assert found(events, 6) == []


def test_disclosure_stale_policy() -> None:
    newer = PolicyChange(5, 0, tx(5), RECIPIENT, 2, frozenset({PURPOSE}))
    assert found([*admitted(), granted(3), disclosed(4), newer, disclosed(6)], 6) == [
        ("disclosure-stale-policy", 6)
    ]
    dropped = PolicyChange(5, 0, tx(5), RECIPIENT, 2, frozenset({MARKETING}))
    assert found([*admitted(), granted(3), dropped, disclosed(6)], 6) == [
        ("disclosure-stale-policy", 6)
    ]
    # the event naming another version than the consent's is stale too (a forged event)
    (other,) = replay([*admitted(), granted(3), disclosed(4, version=7)], times(4)).violations
    assert other.rule == "disclosure-stale-policy" and other.evidence["disclosed_version"] == 7


def test_disclosure_by_an_inactive_organization() -> None:
    suspended = AccountChange(4, 0, tx(4), "AccountSuspended", RECIPIENT, ADMIN)
    events = [*admitted(), granted(3), suspended, disclosed(5)]
    (finding,) = replay(events, times(5)).violations
    assert finding.rule == "disclosure-by-inactive-organization"
    assert finding.evidence["organization"] == RECIPIENT
    assert finding.evidence["standing"] == "suspended"
    removed = AccountChange(4, 0, tx(4), "AccountRemoved", DISCLOSER, ADMIN)
    (gone,) = replay([*admitted(), granted(3), removed, disclosed(5)], times(5)).violations
    assert (
        gone.evidence["organization"] == DISCLOSER and gone.evidence["standing"] == "not admitted"
    )


def test_disclosure_after_an_erasure_request_to_either_party() -> None:
    for party in (DISCLOSER, RECIPIENT):
        request = ErasureRequest(4, 0, tx(4), ID, party, times(4)[4] + 10_000, ID)
        events = [*admitted(), granted(3), request, disclosed(5)]
        (finding,) = replay(events, times(5)).violations
        assert finding.rule == "disclosure-after-erasure-request"
        assert (
            finding.evidence["organization"] == party and finding.evidence["requested_block"] == 4
        )
    elsewhere = ErasureRequest(4, 0, tx(4), ID, OTHER, times(4)[4] + 10_000, ID)
    assert found([*admitted(), granted(3), elsewhere, disclosed(5)], 5) == []


def test_disclosure_after_deactivation() -> None:
    gone = OwnerChange(4, 0, tx(4), ID, NULL)
    assert found([*admitted(), granted(3), gone, disclosed(5)], 5) == [
        ("disclosure-after-deactivation", 5)
    ]


def test_grants_and_withdrawals_need_an_agent_for_the_identity_and_a_current_policy() -> None:
    assert found([*admitted(), granted(3, agent=OTHER)], 3) == [("agent-not-authorized", 3)]
    assert found([*admitted(), granted(3), withdrawn(4, agent=OTHER)], 4) == [
        ("agent-not-authorized", 4)
    ]
    assert found([*admitted(), granted(3, version=2)], 3) == [("disclosure-grant-not-current", 3)]
    uncovered = DisclosureConsentChange(
        3, 0, tx(3), True, ID, DISCLOSER, RECIPIENT, MARKETING, CATEGORY, FAR_FUTURE, 1, True, ID
    )
    assert found([*admitted(), uncovered], 3) == [("disclosure-grant-not-current", 3)]


def test_a_disclosure_in_a_block_missing_from_the_index() -> None:
    assert found([*admitted(), granted(3), disclosed(9)], 5) == [("block-missing", 9)]


# --- end to end on the embedded chain ------------------------------------------------------------


def test_the_chain_verifies_the_report_lists_disclosures_and_a_forged_one_is_caught(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    patient, hospital, lab = w.patient.address, w.hospital, w.lab
    fn = w.ledger.functions
    w.tx(fn.grantDisclosure(patient, hospital.address, lab.address, RESEARCH, LAB_RESULTS,
                            FAR_FUTURE, 1), w.patient)  # fmt: skip
    done = w.tx(fn.recordDisclosure(patient, lab.address, RESEARCH, LAB_RESULTS, REF), hospital)
    w.tx(fn.withdrawDisclosure(patient, hospital.address, lab.address, RESEARCH, LAB_RESULTS),
         w.patient)  # fmt: skip
    with expect_revert("NoDisclosureConsent", TransactionError):
        w.tx(fn.recordDisclosure(patient, lab.address, RESEARCH, LAB_RESULTS, REF), hospital)

    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    verdict = verify(db, chain=w.chain, deployment=suite)
    assert verdict.ok, verdict.violations
    assert verdict.disclosures == 1

    found_report = report(db, subject=patient)
    (entry,) = found_report.disclosures
    assert (entry.discloser, entry.recipient) == (hospital.address, lab.address)
    assert entry.purpose == "dpv:ResearchAndDevelopment" and entry.policy_version == 1
    assert entry.block == done["blockNumber"] and entry.data_ref == "0x" + REF.hex()
    assert entry.consent is not None and entry.consent.policy_version == 1
    assert [e.action for e in found_report.disclosure_consents] == ["grant", "withdraw"]
    assert report(db, organization=lab.address).disclosures == (entry,)
    assert report(db, subject=w.stranger.address).disclosures == ()
    table = render(found_report, "table")
    assert "disclosures of" in table and "disclosure consents" in table
    assert json.loads(render(found_report, "json"))["disclosures"][0]["recipient"] == lab.address
    assert "disclose" in render(found_report, "csv") and "disclosures" in render(
        found_report, "html"
    )

    head = w.chain.block_number()
    args = {
        "identity": patient, "discloser": hospital.address, "recipient": lab.address,
        "purpose": "0x" + RESEARCH.hex(), "category": "0x" + LAB_RESULTS.hex(),
        "dataRef": "0x" + REF.hex(), "policyVersion": 1,
    }  # fmt: skip
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            (head, 9, keccak(b"forged"), "ConsentLedger", "DataDisclosed", json.dumps(args)),
        )
    rules = {v.rule for v in verify(db).violations}
    assert rules == {"disclosure-without-consent", "index-integrity"}
