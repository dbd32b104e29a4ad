"""DataUsageLog: a use is recorded only when a valid consent covers it."""

from __future__ import annotations

import pytest

from collective.errors import ConsentError, NotPermittedError
from collective.ledger.signing import code
from tests.helpers import (
    GENETIC,
    LAB_RESULTS,
    RESEARCH,
    TREATMENT,
    World,
    expect_revert,
)


@pytest.fixture
def w(w: World) -> World:
    """The shared world, plus the patient's consent for the lab (expires in 1000 s)."""
    w.grant(w.patient, w.lab, expiry=w.now() + 1000)
    return w


def test_covered_use_is_recorded_with_its_evidence(w: World) -> None:
    p = w.patient.address
    receipt = w.use(w.lab, p, ref=code("sample-42"))
    (event,) = w.events(w.ledger, "DataUsed", receipt)
    assert (event.args.identity, event.args.organization) == (p, w.lab.address)
    assert (event.args.purpose, event.args.category) == (RESEARCH, LAB_RESULTS)
    assert (event.args.dataRef, event.args.policyVersion) == (code("sample-42"), 1)


def test_use_without_consent_is_refused(w: World) -> None:
    with expect_revert("NoConsent", ConsentError) as caught:
        w.use(w.lab, w.guardian.address)
    assert caught.error is not None and w.guardian.address.lower() in str(caught.error).lower()
    with expect_revert("NoConsent"):  # other purpose
        w.use(w.lab, w.patient.address, purpose=TREATMENT)
    with expect_revert("NoConsent"):  # other category
        w.use(w.lab, w.patient.address, category=GENETIC)
    with expect_revert("NoConsent"):  # other organization
        w.use(w.hospital, w.patient.address)


def test_withdrawn_consent_stops_uses(w: World) -> None:
    w.use(w.lab, w.patient.address)
    w.tx(
        w.ledger.functions.withdraw(w.patient.address, w.lab.address, RESEARCH, LAB_RESULTS),
        w.patient,
    )
    with expect_revert("NoConsent", ConsentError):
        w.use(w.lab, w.patient.address)


def test_expired_consent_stops_uses(w: World) -> None:
    w.use(w.lab, w.patient.address)
    w.chain.increase_time(1001)
    with expect_revert("ConsentExpired", ConsentError):
        w.use(w.lab, w.patient.address)


def test_new_policy_version_makes_old_consents_stale(w: World) -> None:
    w.tx(w.ledger.functions.publishPolicy(code("v2"), "u", [RESEARCH]), w.lab)
    with expect_revert("StalePolicyVersion", ConsentError) as caught:
        w.use(w.lab, w.patient.address)
    assert caught.error is not None
    assert caught.error.error_args["consented"] == 1 and caught.error.error_args["current"] == 2
    w.grant(w.patient, w.lab, version=2)
    w.use(w.lab, w.patient.address)


def test_suspended_or_unknown_organizations_cannot_record(w: World) -> None:
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    with expect_revert("OrganizationSuspended", NotPermittedError):
        w.use(w.lab, w.patient.address)
    with expect_revert("OrganizationNotAdmitted", NotPermittedError):
        w.use(w.stranger, w.patient.address)
    w.tx(w.rules.functions.reinstate(w.lab.address), w.admin)
    w.use(w.lab, w.patient.address)


def test_batch_is_all_or_nothing(w: World) -> None:
    p = w.patient.address
    good = (p, RESEARCH, LAB_RESULTS, code("a"))
    receipt = w.tx(w.ledger.functions.recordUseBatch([good, good]), w.lab)
    assert len(w.events(w.ledger, "DataUsed", receipt)) == 2
    bad = (w.guardian.address, RESEARCH, LAB_RESULTS, code("b"))
    with expect_revert("NoConsent"):
        w.tx(w.ledger.functions.recordUseBatch([good, bad]), w.lab)
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    with expect_revert("OrganizationSuspended"):
        w.tx(w.ledger.functions.recordUseBatch([good]), w.lab)


def test_is_covered_view_agrees(w: World) -> None:
    args = (w.patient.address, w.lab.address, RESEARCH, LAB_RESULTS)
    assert w.ledger.functions.isCovered(*args).call()
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    assert not w.ledger.functions.isCovered(*args).call()
