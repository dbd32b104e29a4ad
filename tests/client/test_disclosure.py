"""Onward disclosure (issue 13, part 1) through the client on the embedded chain: a disclosure
under the subject's consent, refused after its withdrawal (and nothing recorded), a signed
grant relayed by another organization, all-or-nothing batches, and what a recipient must stop
(withdrawn consents, erasure requests to the discloser; a re-granted consent dropped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from collective import Collective
from collective.chain import Chain
from collective.client.disclosure import DisclosureItem
from collective.deploy import Deployment
from collective.errors import (
    ConsentError,
    InvalidInputError,
    NotPermittedError,
    SignatureError,
)
from collective.ledger.disclosure_request import (
    SignedDisclosureGrant,
    SignedDisclosureWithdrawal,
    load_signed_disclosure,
)

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
GENETIC = "dpv-pd:Genetic"


@pytest.fixture
def actors(chain: Chain, suite: Deployment, tmp_path: Path) -> dict[str, Collective]:
    """An admitted hospital (the discloser, with a data-reference store), lab (the recipient,
    policy v1 covering research) and clinic (a relayer); patients 4 and 5 consented to the
    hospital disclosing their health data to the lab for research."""
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    hospital = Collective(chain, suite, dev[1], data_refs=tmp_path / "hospital-refs.db")
    lab, clinic = admin.as_account(dev[2]), admin.as_account(dev[3])
    for org in (hospital, lab, clinic):
        admin.orgs.admit(org.address)
    lab.policies.publish(b"lab policy v1", "https://lab.example/policy/v1", [RESEARCH])
    patient, other = admin.as_account(dev[4]), admin.as_account(dev[5])
    for who in (patient, other):
        who.disclosure.grant(hospital.address, lab.address, RESEARCH, HEALTH)
    return {
        "admin": admin,
        "hospital": hospital,
        "lab": lab,
        "clinic": clinic,
        "patient": patient,
        "other": other,
    }


def _disclosed(c: Collective) -> int:
    return len(c.disclosure.disclosures())


def test_a_disclosure_is_refused_after_withdrawal(actors: dict[str, Collective]) -> None:
    hospital, lab, patient = actors["hospital"], actors["lab"], actors["patient"]
    state = patient.disclosure.get(patient.address, hospital.address, lab.address, RESEARCH, HEALTH)
    assert state.active and state.covered and not state.expired and state.policy_version == 1
    done = hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "ward/7/3")
    (rec,) = done.records
    assert (rec.identity, rec.discloser, rec.recipient) == (
        patient.address,
        hospital.address,
        lab.address,
    )
    assert (rec.purpose, rec.category, rec.policy_version) == (RESEARCH, HEALTH, 1)
    store = hospital.usage.data_refs
    assert store is not None and store.has_secret(hospital.address, patient.address)
    assert rec.data_ref == "0x" + hospital.usage.reference(patient.address, "ward/7/3").hex()

    out = patient.disclosure.withdraw(hospital.address, lab.address, RESEARCH, HEALTH)
    assert out.was_active and out.agent == patient.address
    assert not patient.disclosure.is_covered(
        patient.address, hospital.address, lab.address, RESEARCH, HEALTH
    )
    before = _disclosed(hospital)
    with pytest.raises(ConsentError) as refused:
        hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "ward/7/4")
    assert refused.value.error_name == "NoDisclosureConsent"
    assert _disclosed(hospital) == before == 1


def test_a_disclosure_needs_the_exact_consent_and_admitted_parties(
    actors: dict[str, Collective],
) -> None:
    admin, hospital, lab, clinic = (actors[k] for k in ("admin", "hospital", "lab", "clinic"))
    patient = actors["patient"]
    with pytest.raises(ConsentError) as other_category:
        hospital.disclosure.record(patient.address, lab.address, RESEARCH, GENETIC, "x")
    assert other_category.value.error_name == "NoDisclosureConsent"
    with pytest.raises(ConsentError):  # the clinic is not the discloser consented to
        clinic.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "x")
    admin.orgs.suspend(lab.address)
    with pytest.raises(NotPermittedError) as suspended:
        hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "x")
    assert suspended.value.error_name == "OrganizationSuspended"
    assert _disclosed(hospital) == 0


def test_an_erasure_request_to_the_discloser_stops_disclosures(
    actors: dict[str, Collective],
) -> None:
    hospital, lab, patient = actors["hospital"], actors["lab"], actors["patient"]
    hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "ward/7/3")
    patient.erasure.request(hospital.address)
    with pytest.raises(ConsentError) as refused:
        hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "ward/7/4")
    assert refused.value.error_name == "UseAfterErasureRequest"
    (row,) = lab.disclosure.to_stop()
    assert (row.reason, row.identity, row.discloser, row.disclosures) == (
        "erasure-requested",
        patient.address,
        hospital.address,
        1,
    )


def test_to_stop_lists_the_withdrawn_and_drops_a_regrant(actors: dict[str, Collective]) -> None:
    hospital, lab, patient, other = (actors[k] for k in ("hospital", "lab", "patient", "other"))
    for who in (patient, other, patient):
        hospital.disclosure.record(who.address, lab.address, RESEARCH, HEALTH, "ward/1")
    assert lab.disclosure.to_stop() == []
    patient.disclosure.withdraw(hospital.address, lab.address, RESEARCH, HEALTH)
    other.disclosure.withdraw(hospital.address, lab.address, RESEARCH, HEALTH)
    other.disclosure.withdraw(hospital.address, lab.address, RESEARCH, HEALTH)  # not active
    rows = lab.disclosure.to_stop(lab.address)
    assert [(r.reason, r.identity, r.disclosures) for r in rows] == [
        ("withdrawn", patient.address, 2),
        ("withdrawn", other.address, 1),
    ]
    first = rows[0]
    assert (first.discloser, first.recipient, first.purpose, first.category) == (
        hospital.address,
        lab.address,
        RESEARCH,
        HEALTH,
    )
    assert first.timestamp > 0 and first.block > 0
    other.disclosure.grant(hospital.address, lab.address, RESEARCH, HEALTH)
    assert [r.identity for r in lab.disclosure.to_stop()] == [patient.address]
    assert lab.disclosure.to_stop(from_block=rows[1].block) == []
    assert hospital.disclosure.to_stop() == []  # nothing names the hospital as recipient


def test_a_signed_grant_is_relayed_by_another_organization(
    actors: dict[str, Collective],
) -> None:
    hospital, lab, clinic = actors["hospital"], actors["lab"], actors["clinic"]
    patient = actors["patient"]
    signed = patient.disclosure.sign_grant(hospital.address, lab.address, RESEARCH, GENETIC)
    parsed = load_signed_disclosure(signed.to_json())
    assert isinstance(parsed, SignedDisclosureGrant) and parsed == signed
    published = lab.policies.current(lab.address).content_hash
    assert parsed.request.policy_hash == bytes.fromhex(published[2:])
    done = clinic.disclosure.relay(parsed)
    assert (done.identity, done.agent, done.category) == (patient.address, patient.address, GENETIC)
    hospital.disclosure.record(patient.address, lab.address, RESEARCH, GENETIC, "genome/1")
    with pytest.raises(SignatureError):  # used once
        clinic.disclosure.relay(parsed)

    withdrawal = patient.disclosure.sign_withdrawal(
        hospital.address, lab.address, RESEARCH, GENETIC
    )
    parsed_w = load_signed_disclosure(withdrawal.to_json())
    assert isinstance(parsed_w, SignedDisclosureWithdrawal)
    out = clinic.disclosure.relay(parsed_w)
    assert out.was_active and out.agent == patient.address
    assert [r.category for r in lab.disclosure.to_stop()] == [GENETIC]


def test_a_stranger_signature_is_refused(actors: dict[str, Collective]) -> None:
    hospital, lab, clinic, patient = (actors[k] for k in ("hospital", "lab", "clinic", "patient"))
    signed = clinic.disclosure.sign_grant(
        hospital.address, lab.address, RESEARCH, GENETIC, identity=patient.address
    )
    with pytest.raises(SignatureError) as refused:
        hospital.disclosure.relay(signed)
    assert refused.value.error_name == "SignerNotAuthorized"


def test_record_batch_is_all_or_nothing(actors: dict[str, Collective]) -> None:
    hospital, lab, patient, other = (actors[k] for k in ("hospital", "lab", "patient", "other"))
    stranger = actors["clinic"].address  # never consented
    good = [
        DisclosureItem(w.address, lab.address, RESEARCH, HEALTH, f"r/{i}")
        for i, w in enumerate((patient, other))
    ]
    with pytest.raises(ConsentError) as refused:
        hospital.disclosure.record_batch(
            [*good, DisclosureItem(stranger, lab.address, RESEARCH, HEALTH, "r/9")]
        )
    assert refused.value.error_name == "NoDisclosureConsent"
    assert _disclosed(hospital) == 0
    done = hospital.disclosure.record_batch(good)
    assert [r.identity for r in done.records] == [patient.address, other.address]
    assert _disclosed(hospital) == 2
    with pytest.raises(InvalidInputError, match="at least one"):
        hospital.disclosure.record_batch([])


def test_bad_input_is_named(actors: dict[str, Collective]) -> None:
    hospital, lab, patient = actors["hospital"], actors["lab"], actors["patient"]
    with pytest.raises(InvalidInputError, match="recipient"):
        hospital.disclosure.record(patient.address, "0x1234", RESEARCH, HEALTH, "x")
    with pytest.raises(InvalidInputError, match="already past"):
        patient.disclosure.sign_withdrawal(
            hospital.address, lab.address, RESEARCH, HEALTH, deadline=1
        )
    signed = patient.disclosure.sign_grant(hospital.address, lab.address, RESEARCH, HEALTH)
    tampered = signed.to_json().replace(RESEARCH, RESEARCH)  # unchanged text parses
    assert SignedDisclosureGrant.from_json(tampered) == signed
    with pytest.raises(SignatureError, match="disclosure"):
        SignedDisclosureWithdrawal.from_json(signed.to_json())
    with pytest.raises(SignatureError, match="kind"):
        load_signed_disclosure("{}")
