"""Erasure (issue 13, part 2) through the client on the embedded chain: a request (direct or
signed and relayed) refuses later uses and ends the consents; the organization lists and
confirms it, its data-reference secret destroyed first; an unconfirmed request becomes overdue."""

from __future__ import annotations

from pathlib import Path

import pytest

from collective import Collective
from collective.chain import Chain
from collective.client.erasure import evidence_hash
from collective.deploy import Deployment
from collective.errors import ConsentError, InvalidInputError, SignatureError
from collective.ledger.erasure_request import SignedErasure

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
DAY = 24 * 3600


@pytest.fixture
def actors(chain: Chain, suite: Deployment, tmp_path: Path) -> dict[str, Collective]:
    """Admin, an admitted lab (with a data-reference store) and hospital, and a patient who
    consented to the lab's research use; the lab recorded one use."""
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    lab = Collective(chain, suite, dev[2], data_refs=tmp_path / "lab-refs.db")
    hospital = admin.as_account(dev[1])
    for org in (lab, hospital):
        admin.orgs.admit(org.address)
    lab.policies.publish(b"lab policy v1", "https://lab.example/policy/v1", [RESEARCH])
    patient = admin.as_account(dev[3])
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    lab.usage.record(patient.address, RESEARCH, HEALTH, "lab/cohort-7/sample-1")
    return {"admin": admin, "lab": lab, "hospital": hospital, "patient": patient}


def test_a_request_refuses_uses_and_ends_the_consent(actors: dict[str, Collective]) -> None:
    lab, patient = actors["lab"], actors["patient"]
    assert patient.consent.is_covered(patient.address, lab.address, RESEARCH, HEALTH)
    done = patient.erasure.request(lab.address)
    now = patient.chain.latest_timestamp()
    assert (done.identity, done.organization, done.agent) == (
        patient.address,
        lab.address,
        patient.address,
    )
    assert done.due_at == now + 30 * DAY == now + patient.erasure.period()
    assert not patient.consent.is_covered(patient.address, lab.address, RESEARCH, HEALTH)
    with pytest.raises(ConsentError) as refused:
        lab.usage.record(patient.address, RESEARCH, HEALTH, "lab/cohort-7/sample-2")
    assert refused.value.error_name == "UseAfterErasureRequest"
    assert "asked organization" in str(refused.value)
    with pytest.raises(ConsentError) as again:
        patient.erasure.request(lab.address)
    assert again.value.error_name == "ErasureAlreadyRequested"


def test_a_signed_request_is_relayed_once(actors: dict[str, Collective]) -> None:
    lab, hospital, patient = actors["lab"], actors["hospital"], actors["patient"]
    signed = SignedErasure.from_json(patient.erasure.sign(lab.address).to_json())
    done = hospital.erasure.relay(signed)
    assert (done.identity, done.agent) == (patient.address, patient.address)
    assert patient.erasure.status(patient.address, lab.address).requested
    with pytest.raises(ConsentError) as replay:
        hospital.erasure.relay(signed)
    assert replay.value.error_name == "ErasureAlreadyRequested"


def test_a_stranger_signature_is_refused(actors: dict[str, Collective]) -> None:
    lab, hospital, patient = actors["lab"], actors["hospital"], actors["patient"]
    signed = hospital.erasure.sign(lab.address, identity=patient.address)
    with pytest.raises(SignatureError) as refused:
        hospital.erasure.relay(signed)
    assert refused.value.error_name == "SignerNotAuthorized"


def test_confirm_within_the_deadline_forgets_the_secret(actors: dict[str, Collective]) -> None:
    lab, patient = actors["lab"], actors["patient"]
    store = lab.usage.data_refs
    assert store is not None and store.has_secret(lab.address, patient.address)
    patient.erasure.request(lab.address)
    (pending,) = lab.erasure.pending()
    assert (pending.identity, pending.overdue) == (patient.address, False)
    lab.chain.increase_time(10 * DAY)
    lab.chain.mine()
    done = lab.erasure.confirm(patient.address, "deleted cohort-7 rows; backups rotated")
    assert done.secret_destroyed and not done.late
    assert (
        done.evidence_hash == "0x" + evidence_hash("deleted cohort-7 rows; backups rotated").hex()
    )
    assert not store.has_secret(lab.address, patient.address)
    assert lab.erasure.pending() == []
    assert lab.erasure.status(patient.address, lab.address).confirmed
    with pytest.raises(ConsentError) as twice:
        lab.erasure.confirm(patient.address, done.evidence_hash, hashed=True)
    assert twice.value.error_name == "ErasureAlreadyConfirmed"


def test_an_unconfirmed_request_becomes_overdue(actors: dict[str, Collective]) -> None:
    lab, patient = actors["lab"], actors["patient"]
    patient.erasure.request(lab.address)
    lab.chain.increase_time(31 * DAY)
    lab.chain.mine()
    (pending,) = lab.erasure.pending(lab.address)
    assert pending.overdue and pending.due_at < lab.chain.latest_timestamp()
    assert lab.erasure.confirm(patient.address, b"evidence").late


def test_bad_input_is_named(actors: dict[str, Collective]) -> None:
    lab, patient = actors["lab"], actors["patient"]
    with pytest.raises(ConsentError) as none:
        lab.erasure.confirm(patient.address, b"evidence")
    assert none.value.error_name == "NoErasureRequest"
    with pytest.raises(InvalidInputError, match="32 bytes"):
        lab.erasure.confirm(patient.address, "0x1234", hashed=True)
    with pytest.raises(InvalidInputError, match="already past"):
        patient.erasure.sign(lab.address, deadline=1)
