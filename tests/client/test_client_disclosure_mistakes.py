"""Onward disclosure and erasure as their users get them wrong, through the client on the
embedded chain: a discloser that is also the recipient, an empty data reference, an erasure
request to an address that never was an organization, a `to_stop` window past the head, a
signed request that is not JSON, and a disclosure consent that is active but covers no
disclosure (the reason is named). Each is refused with an error naming what was wrong, and
nothing is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from collective import Collective
from collective.chain import Chain
from collective.client.disclosure import DisclosureItem
from collective.deploy import Deployment
from collective.errors import ConsentError, InvalidInputError, SignatureError
from collective.ledger.disclosure_request import load_signed_disclosure

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"


@pytest.fixture
def actors(chain: Chain, suite: Deployment) -> dict[str, Collective]:
    """Admitted hospital (1, discloser) and lab (2, recipient, policy v1 covering research);
    patient 4 consented that the hospital disclose its health data to the lab."""
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    hospital, lab = admin.as_account(dev[1]), admin.as_account(dev[2])
    for org in (hospital, lab):
        admin.orgs.admit(org.address)
    lab.policies.publish(b"lab policy v1", "https://lab.example/policy/v1", [RESEARCH])
    patient = admin.as_account(dev[4])
    patient.disclosure.grant(hospital.address, lab.address, RESEARCH, HEALTH)
    return {"admin": admin, "hospital": hospital, "lab": lab, "patient": patient}


def test_a_discloser_cannot_be_its_own_recipient(actors: dict[str, Collective]) -> None:
    patient, lab = actors["patient"], actors["lab"]
    for attempt in (
        lambda: patient.disclosure.grant(lab.address, lab.address, RESEARCH, HEALTH),
        lambda: patient.disclosure.sign_grant(lab.address, lab.address.lower(), RESEARCH, HEALTH),
        lambda: lab.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "r/1"),
    ):
        with pytest.raises(InvalidInputError, match="the same organization"):
            attempt()
    assert lab.disclosure.disclosures() == []
    # one granted before (the contract takes it) can still be withdrawn
    patient.disclosure.withdraw(lab.address, lab.address, RESEARCH, HEALTH)


def test_an_empty_data_reference_is_refused(actors: dict[str, Collective]) -> None:
    hospital, patient, lab = actors["hospital"], actors["patient"], actors["lab"]
    items = [
        DisclosureItem(patient.address, lab.address, RESEARCH, HEALTH, "ward/1"),
        DisclosureItem(patient.address, lab.address, RESEARCH, HEALTH, "  "),
    ]
    with pytest.raises(InvalidInputError, match=r"item 2's data reference is empty"):
        hospital.disclosure.record_batch(items)
    with pytest.raises(InvalidInputError, match="data reference is empty"):
        hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, b"")
    assert hospital.disclosure.disclosures() == []


def test_erasure_is_asked_only_of_an_organization(actors: dict[str, Collective]) -> None:
    patient, lab = actors["patient"], actors["lab"]
    stranger = patient.chain.dev_accounts[6].address
    with pytest.raises(InvalidInputError, match=f"{stranger} has never been admitted"):
        patient.erasure.request(stranger)
    with pytest.raises(InvalidInputError, match="has never been admitted"):
        patient.erasure.sign(patient.address)
    assert not patient.erasure.status(patient.address, stranger).requested
    actors["admin"].orgs.remove(lab.address)
    assert patient.erasure.request(lab.address).organization == lab.address


def test_to_stop_from_a_block_not_mined_yet(actors: dict[str, Collective]) -> None:
    lab = actors["lab"]
    head = lab.chain.block_number()
    with pytest.raises(InvalidInputError, match=f"block {head + 5} is after the latest block"):
        lab.disclosure.to_stop(from_block=head + 5)
    assert lab.disclosure.to_stop(from_block=head) == []


def test_a_signed_request_that_is_not_json_is_named(actors: dict[str, Collective]) -> None:
    patient, hospital, lab = actors["patient"], actors["hospital"], actors["lab"]
    text = patient.disclosure.sign_grant(hospital.address, lab.address, RESEARCH, HEALTH).to_json()
    with pytest.raises(SignatureError, match="is not JSON"):
        load_signed_disclosure(text[:100])
    with pytest.raises(SignatureError, match="is not JSON"):
        load_signed_disclosure("")


def test_why_an_active_consent_covers_no_disclosure(actors: dict[str, Collective]) -> None:
    patient, hospital, lab = actors["patient"], actors["hospital"], actors["lab"]
    terms = (patient.address, hospital.address, lab.address, RESEARCH, HEALTH)
    assert hospital.disclosure.get(*terms).refusal is None
    patient.erasure.request(lab.address)
    consent = hospital.disclosure.get(*terms)
    assert consent.active and not consent.covered
    assert consent.refusal is not None
    assert f"asked organization {lab.address} to erase" in consent.refusal


def test_a_short_hex_reference_is_not_hashed_as_text(actors: dict[str, Collective]) -> None:
    """``0x1234`` looks like a 32-byte reference cut short: refused, not hashed as a locator."""
    hospital, patient, lab = actors["hospital"], actors["patient"], actors["lab"]
    with pytest.raises(InvalidInputError, match=r"'0x1234' is 2 bytes, not 32"):
        hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "0x1234")
    full = "0x" + "ab" * 32
    done = hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, full)
    assert done.records[0].data_ref == full


def test_the_erasure_hint_speaks_to_the_organization_asked(actors: dict[str, Collective]) -> None:
    patient, hospital, lab = actors["patient"], actors["hospital"], actors["lab"]
    patient.erasure.request(hospital.address)
    with pytest.raises(ConsentError) as asked:
        hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "w/1")
    assert asked.value.error_name == "UseAfterErasureRequest"
    assert "erasure confirm" in str(asked.value)


def test_a_discloser_that_never_was_an_organization_is_named(
    actors: dict[str, Collective],
) -> None:
    """A mistyped (all lower case, so unchecked) discloser address is refused before a
    consent nobody can use goes on chain."""
    patient, lab = actors["patient"], actors["lab"]
    typo = "0x70997970c51812dc3a010c7d01b50e0d17dc79c9"
    for attempt in (
        lambda: patient.disclosure.grant(typo, lab.address, RESEARCH, HEALTH),
        lambda: patient.disclosure.sign_grant(typo, lab.address, RESEARCH, HEALTH),
    ):
        with pytest.raises(InvalidInputError, match=r"discloser 0x7099.* has never been admitted"):
            attempt()


def test_signing_a_grant_the_recipients_policy_does_not_cover(
    actors: dict[str, Collective],
) -> None:
    """Refused when signed, as the direct grant is, not only when relayed."""
    patient, hospital, lab = actors["patient"], actors["hospital"], actors["lab"]
    with pytest.raises(ConsentError, match="dpv:Marketing"):
        patient.disclosure.grant(hospital.address, lab.address, "dpv:Marketing", HEALTH)
    with pytest.raises(InvalidInputError, match=r"does not cover purpose dpv:Marketing"):
        patient.disclosure.sign_grant(hospital.address, lab.address, "dpv:Marketing", HEALTH)
    lab.policies.publish(b"lab policy v2", "https://lab.example/policy/v2", [RESEARCH])
    with pytest.raises(InvalidInputError, match=r"version 1 is not .* current version \(2\)"):
        patient.disclosure.sign_grant(
            hospital.address, lab.address, RESEARCH, HEALTH, policy_version=1
        )
    assert patient.disclosure.sign_grant(hospital.address, lab.address, RESEARCH, HEALTH)


def test_a_refused_disclosure_leaves_no_secret_in_the_store(
    actors: dict[str, Collective], tmp_path: Path
) -> None:
    """After the discloser confirmed an erasure (destroying the subject's secret), a refused
    disclosure of that subject does not put a new secret for it back in the store."""
    patient, hospital, lab = actors["patient"], actors["hospital"], actors["lab"]
    store = tmp_path / "hospital-refs.db"
    keyed = Collective(hospital.chain, hospital.deployment, hospital.account, data_refs=store)
    keyed.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "ward/1")
    patient.erasure.request(hospital.address)
    assert keyed.erasure.confirm(patient.address, b"deleted").secret_destroyed
    with pytest.raises(ConsentError, match="asked organization"):
        keyed.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "ward/2")
    assert keyed.usage.data_refs is not None
    assert not keyed.usage.data_refs.has_secret(hospital.address, patient.address)
