"""The Python client against the embedded suite: every sub-client, results and errors."""

from __future__ import annotations

import dataclasses

import pytest

from collective import Collective
from collective.chain import Chain
from collective.client.consent import GrantItem
from collective.client.oversight import Action, use_ref
from collective.client.usage import UseItem
from collective.deploy import Deployment
from collective.errors import (
    ConfigurationError,
    ConsentError,
    ConsentMissingError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    OrganizationSuspendedError,
    SignatureError,
    StalePolicyError,
)
from collective.ledger.signing import SignedRequest, sign

RESEARCH = "dpv:ResearchAndDevelopment"
TREATMENT = "dpv:ServiceProvision"
MARKETING = "dpv:Marketing"
HEALTH = "dpv-pd:MedicalHealth"
GENETIC = "dpv-pd:Genetic"


@pytest.fixture
def admin(chain: Chain, suite: Deployment) -> Collective:
    return Collective(chain, suite, chain.dev_accounts[0])


@pytest.fixture
def actors(admin: Collective) -> dict[str, Collective]:
    """Admin, hospital and lab admitted; both organizations published policy v1."""
    dev = admin.chain.dev_accounts
    names = ["admin", "hospital", "lab", "patient", "guardian", "stranger", "newkey"]
    people = {name: admin.as_account(dev[i]) for i, name in enumerate(names)}
    for org in ("hospital", "lab"):
        admin.orgs.admit(people[org].address)
        people[org].policies.publish(
            f"{org} policy v1".encode(), f"https://{org}.example/policy/v1", [RESEARCH, TREATMENT]
        )
    return people


def test_orgs_admit_suspend_reinstate_and_list(admin: Collective) -> None:
    org = admin.chain.dev_accounts[1].address
    admitted = admin.orgs.admit(org)
    assert admitted.action == "admitted" and admitted.organization == org
    assert admitted.tx_hash.startswith("0x") and admitted.block_number > 0
    assert admitted.gas_used > 21_000
    assert admin.orgs.profile(org).status == "active"
    admin.orgs.suspend(org)
    assert admin.orgs.profile(org).status == "suspended"
    admin.orgs.reinstate(org)
    assert [o.address for o in admin.orgs.list()] == [org]
    assert admin.orgs.list()[0].active


def test_orgs_admin_role_enforced(admin: Collective) -> None:
    outsider = admin.as_account(admin.chain.dev_accounts[5])
    with pytest.raises(NotPermittedError) as caught:
        outsider.orgs.admit(admin.chain.dev_accounts[6].address)
    assert caught.value.error_name == "NotAdmin"


def test_policies_publish_hash_uri_and_history(actors: dict[str, Collective]) -> None:
    hospital = actors["hospital"]
    v2 = hospital.policies.publish(b"policy two", "https://h.example/v2", [TREATMENT])
    assert v2.policy.version == 2
    assert v2.policy.purposes == (TREATMENT,)
    import hashlib

    assert v2.policy.content_hash == "0x" + hashlib.sha256(b"policy two").hexdigest()
    assert hospital.policies.current(hospital.address).uri == "https://h.example/v2"
    assert [p.version for p in hospital.policies.history(hospital.address)] == [1, 2]
    assert hospital.policies.covers(hospital.address, TREATMENT)
    assert not hospital.policies.covers(hospital.address, RESEARCH)


def test_policy_publish_from_file_and_bad_path(actors: dict[str, Collective], tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "policy.md"
    doc.write_text("# Policy\n")
    published = actors["lab"].policies.publish(doc, "https://lab.example/v2", [RESEARCH])
    assert published.policy.version == 2
    with pytest.raises(InvalidInputError, match="cannot read the policy document"):
        actors["lab"].policies.publish(tmp_path / "missing.md", "u", [RESEARCH])


def test_consent_grant_status_use_and_withdraw(actors: dict[str, Collective]) -> None:
    patient, lab = actors["patient"], actors["lab"]
    granted = patient.consent.grant(lab.address, RESEARCH, HEALTH)
    assert (granted.identity, granted.organization) == (patient.address, lab.address)
    assert (granted.purpose, granted.category, granted.policy_version) == (RESEARCH, HEALTH, 1)
    assert granted.agent == patient.address
    status = patient.consent.status(patient.address, lab.address, RESEARCH, HEALTH)
    assert status.active and status.covered and status.consent_id == granted.consent_id

    used = lab.usage.record(patient.address, RESEARCH, HEALTH, "lab-report/0042")
    (record,) = used.records
    assert record.organization == lab.address and record.policy_version == 1
    assert record.data_ref != "0x" + b"lab-report/0042".hex()  # hashed, never the text

    withdrawn = patient.consent.withdraw(lab.address, RESEARCH, HEALTH)
    assert withdrawn.consent_id == granted.consent_id
    assert not patient.consent.is_covered(patient.address, lab.address, RESEARCH, HEALTH)
    assert patient.consent.is_covered(
        patient.address, lab.address, RESEARCH, HEALTH, block=used.block_number
    )
    with pytest.raises(ConsentMissingError) as caught:
        lab.usage.record(patient.address, RESEARCH, HEALTH, "lab-report/0043")
    assert caught.value.error_name == "NoConsent"
    assert "consent" in str(caught.value).lower()

    history = lab.usage.history(identity=patient.address)
    assert [r.data_ref for r in history] == [record.data_ref]
    assert history[0].timestamp > 0
    kinds = [e.kind for e in patient.consent.timeline(identity=patient.address)]
    assert kinds == ["granted", "withdrawn"]


def test_consent_lists_by_subject_and_organization(actors: dict[str, Collective]) -> None:
    patient, lab, hospital = actors["patient"], actors["lab"], actors["hospital"]
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    patient.consent.grant(hospital.address, TREATMENT, HEALTH)
    actors["guardian"].consent.grant(lab.address, RESEARCH, GENETIC)
    assert {c.organization for c in patient.consent.by_subject(patient.address)} == {
        lab.address,
        hospital.address,
    }
    by_lab = lab.consent.by_organization(lab.address)
    assert {(c.identity, c.category) for c in by_lab} == {
        (patient.address, HEALTH),
        (actors["guardian"].address, GENETIC),
    }


def test_batch_grant_and_batch_use(actors: dict[str, Collective]) -> None:
    patient, lab = actors["patient"], actors["lab"]
    batch = patient.consent.grant_batch(
        [GrantItem(lab.address, RESEARCH, HEALTH), GrantItem(lab.address, RESEARCH, GENETIC)]
    )
    assert [g.category for g in batch.items] == [HEALTH, GENETIC]  # type: ignore[union-attr]
    uses = lab.usage.record_batch(
        [UseItem(patient.address, RESEARCH, c, f"ref-{c}") for c in (HEALTH, GENETIC)]
    )
    assert len(uses.records) == 2
    with pytest.raises(ConsentError):  # all or nothing
        lab.usage.record_batch(
            [
                UseItem(patient.address, RESEARCH, HEALTH, "x"),
                UseItem(patient.address, MARKETING, HEALTH, "y"),
            ]
        )
    assert len(lab.usage.history(identity=patient.address)) == 2


def test_grant_before_any_policy_is_a_clear_error(admin: Collective) -> None:
    org = admin.chain.dev_accounts[1].address
    admin.orgs.admit(org)
    with pytest.raises(NotFoundError, match="has not published a policy"):
        admin.as_account(admin.chain.dev_accounts[3]).consent.grant(org, RESEARCH, HEALTH)


def test_stale_policy_and_suspension_refuse_uses(actors: dict[str, Collective]) -> None:
    patient, lab, admin = actors["patient"], actors["lab"], actors["admin"]
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    lab.policies.publish(b"v2", "https://lab.example/v2", [RESEARCH])
    with pytest.raises(StalePolicyError) as caught:
        lab.usage.record(patient.address, RESEARCH, HEALTH, "r")
    assert caught.value.error_name == "StalePolicyVersion"
    patient.consent.grant(lab.address, RESEARCH, HEALTH)  # re-consent under v2
    admin.orgs.suspend(lab.address)
    with pytest.raises(OrganizationSuspendedError) as suspended:
        lab.usage.record(patient.address, RESEARCH, HEALTH, "r")
    assert suspended.value.error_name == "OrganizationSuspended"


def test_signed_grant_travels_as_json_and_works_once(actors: dict[str, Collective]) -> None:
    patient, lab = actors["patient"], actors["lab"]
    signed = patient.signing.sign_grant(lab.address, RESEARCH, HEALTH)
    carried = SignedRequest.from_json(signed.to_json())
    relayed = lab.signing.relay(carried)
    assert relayed.identity == patient.address and relayed.agent == patient.address
    with pytest.raises(SignatureError) as replay:
        lab.signing.relay(carried)
    assert replay.value.error_name == "InvalidNonce"
    assert patient.consent.is_covered(patient.address, lab.address, RESEARCH, HEALTH)


def test_signed_requests_from_another_chain_are_refused_before_sending(
    actors: dict[str, Collective],
) -> None:
    patient, lab = actors["patient"], actors["lab"]
    signed = patient.signing.sign_grant(lab.address, RESEARCH, HEALTH)
    elsewhere = sign(
        patient.account, signed.request, chain_id=1, verifying_contract=lab.session.ledger.address
    )  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="signed for chain 1"):
        lab.signing.relay(SignedRequest.from_json(elsewhere.to_json()))
    other = sign(
        patient.account, signed.request, chain_id=signed.chain_id, verifying_contract=lab.address
    )  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="signed for ledger"):
        lab.signing.relay(other)


def test_relay_batch_of_signed_grants_and_withdrawals(actors: dict[str, Collective]) -> None:
    lab = actors["lab"]
    people = [actors["patient"], actors["guardian"], actors["stranger"]]
    grants = [p.signing.sign_grant(lab.address, RESEARCH, HEALTH) for p in people]
    batch = lab.signing.relay_batch(grants)
    assert [g.identity for g in batch.items] == [p.address for p in people]
    withdrawals = [p.signing.sign_withdrawal(lab.address, RESEARCH, HEALTH) for p in people]
    undone = lab.signing.relay_batch(withdrawals)
    assert len(undone.items) == 3
    assert not any(lab.consent.is_covered(p.address, lab.address, RESEARCH, HEALTH) for p in people)


def test_guardian_acts_until_the_delegation_expires(actors: dict[str, Collective]) -> None:
    patient, guardian, lab = actors["patient"], actors["guardian"], actors["lab"]
    change = patient.did.add_guardian(guardian.address, validity=3600)
    assert change.did == patient.did.did_of(patient.address)
    doc = patient.did.resolve(patient.address)
    assert any(guardian.address.lower() in str(m).lower() for m in doc.verification_methods)
    signed = guardian.signing.sign_grant(lab.address, RESEARCH, HEALTH, identity=patient.address)
    granted = lab.signing.relay(signed)
    assert granted.identity == patient.address and granted.agent == guardian.address
    withdrawal = guardian.signing.sign_withdrawal(
        lab.address, RESEARCH, HEALTH, identity=patient.address
    )
    assert lab.signing.relay(withdrawal).agent == guardian.address
    patient.chain.increase_time(3601)
    late = guardian.signing.sign_grant(lab.address, RESEARCH, HEALTH, identity=patient.address)
    with pytest.raises(ConsentError) as caught:
        lab.signing.relay(late)
    assert caught.value.error_name == "SignerNotAuthorized"


def test_consents_follow_the_identity_after_a_key_change(actors: dict[str, Collective]) -> None:
    patient, newkey, lab = actors["patient"], actors["newkey"], actors["lab"]
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    patient.did.change_owner(newkey.address)
    assert patient.did.owner(patient.address) == newkey.address
    with pytest.raises(NotPermittedError):  # the old key can do nothing
        patient.consent.withdraw(lab.address, RESEARCH, HEALTH)
    old_signature = patient.signing.sign_withdrawal(lab.address, RESEARCH, HEALTH)
    with pytest.raises(ConsentError):
        lab.signing.relay(old_signature)
    withdrawn = newkey.consent.withdraw(lab.address, RESEARCH, HEALTH, identity=patient.address)
    assert withdrawn.identity == patient.address and withdrawn.agent == newkey.address


def test_oversight_two_of_three_suspends(actors: dict[str, Collective]) -> None:
    admin, lab = actors["admin"], actors["lab"]
    m1, m2 = (admin.as_account(admin.chain.dev_accounts[i]) for i in (7, 8))
    proposed = m1.oversight.suspend(lab.address, "GDPR-Art5-breach")
    assert proposed.approvals == 1 and not proposed.executed
    approved = m2.oversight.approve(proposed.proposal_id)
    assert approved.executed and approved.approvals == 2
    assert admin.orgs.profile(lab.address).status == "suspended"
    (proposal,) = admin.oversight.proposals()
    assert proposal.action is Action.SUSPEND and proposal.reason == "GDPR-Art5-breach"
    assert proposal.executed
    with pytest.raises(NotPermittedError):
        lab.oversight.approve(proposed.proposal_id)


def test_oversight_flags_a_recorded_use(actors: dict[str, Collective]) -> None:
    patient, lab, admin = actors["patient"], actors["lab"], actors["admin"]
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    use = lab.usage.record(patient.address, RESEARCH, HEALTH, "r").records[0]
    m1, m2 = (admin.as_account(admin.chain.dev_accounts[i]) for i in (7, 9))
    vote = m1.oversight.flag_use(lab.address, use.where.tx_hash, use.where.log_index, "unusual")
    m2.oversight.approve(vote.proposal_id)
    (flag,) = admin.oversight.flags()
    assert flag.use_ref == "0x" + use_ref(use.where.tx_hash, use.where.log_index).hex()
    assert flag.reason == "unusual" and flag.organization == lab.address
    with pytest.raises(InvalidInputError, match="longer than 32 bytes"):
        m1.oversight.suspend(lab.address, "x" * 40)


def test_read_only_client_says_how_to_send(chain: Chain, suite: Deployment) -> None:
    reader = Collective(chain, suite, None)
    assert reader.orgs.list() == []
    with pytest.raises(ConfigurationError, match="no account"):
        reader.orgs.admit(chain.dev_accounts[1].address)


def test_bad_addresses_are_named(admin: Collective) -> None:
    with pytest.raises(InvalidInputError, match="organization 'nope' is not an address"):
        admin.orgs.admit("nope")


def test_gasless_guardian_appointment_and_key_rotation(actors: dict[str, Collective]) -> None:
    """A child's key with no ether signs ERC-1056 changes; the hospital relays and pays."""
    from eth_account import Account

    child = Account.create()
    hospital, guardian, lab = actors["hospital"], actors["guardian"], actors["lab"]
    appointed = hospital.did.add_delegate_signed(child, guardian.address, "sigAuth", 3600)
    assert appointed.did == hospital.did.did_of(child.address)
    signed = guardian.signing.sign_grant(lab.address, RESEARCH, HEALTH, identity=child.address)
    assert lab.signing.relay_grant(signed).agent == guardian.address
    hospital.did.revoke_delegate_signed(child, guardian.address, "sigAuth")
    late = guardian.signing.sign_withdrawal(lab.address, RESEARCH, HEALTH, identity=child.address)
    with pytest.raises(ConsentError):
        lab.signing.relay(late)
    successor = Account.create()
    hospital.did.change_owner_signed(child, successor.address)
    assert hospital.did.owner(child.address) == successor.address
    with pytest.raises(NotPermittedError):  # the old key's signature no longer counts
        hospital.did.add_delegate_signed(child, guardian.address, "sigAuth", 60)


def test_relay_grant_refuses_a_withdrawal_and_uses_are_found_by_transaction(
    actors: dict[str, Collective],
) -> None:
    patient, lab = actors["patient"], actors["lab"]
    lab.signing.relay_grant(patient.signing.sign_grant(lab.address, RESEARCH, HEALTH))
    withdrawal = patient.signing.sign_withdrawal(lab.address, RESEARCH, HEALTH)
    with pytest.raises(InvalidInputError, match="expected a signed grant"):
        lab.signing.relay_grant(withdrawal)
    patient.consent.grant(lab.address, RESEARCH, GENETIC)
    used = lab.usage.record(patient.address, RESEARCH, GENETIC, "x")
    assert lab.usage.in_transaction(used.tx_hash).records == used.records
    assert lab.usage.in_transaction(withdrawal_tx(lab, withdrawal)).records == ()


def withdrawal_tx(lab: Collective, withdrawal: SignedRequest) -> str:
    return lab.signing.relay_withdrawal(withdrawal).tx_hash


def test_connect_read_only_and_embedded_deploys_fresh() -> None:
    reader = Collective.connect("embedded", read_only=True)
    assert reader.account is None
    assert reader.orgs.list() == []
    writer = Collective.connect("embedded", account=1)
    assert writer.address == writer.chain.dev_accounts[1].address


def test_a_relayed_batch_reports_the_items_it_skipped(actors: dict[str, Collective]) -> None:
    """Issue 10 item 7: a front-run item is skipped and reported; the rest go through."""
    lab, hospital = actors["lab"], actors["hospital"]
    people = [actors["patient"], actors["guardian"], actors["stranger"]]
    for p in people:
        p.consent.grant(lab.address, RESEARCH, HEALTH)
    withdrawals = [p.signing.sign_withdrawal(lab.address, RESEARCH, HEALTH) for p in people]
    hospital.signing.relay(withdrawals[1])  # someone relays one item first
    result = lab.signing.relay_batch(withdrawals)
    assert [w.identity for w in result.items] == [people[0].address, people[2].address]
    (skipped,) = result.skipped
    assert (skipped.index, skipped.reason) == (1, "InvalidNonce")
    assert (
        skipped.consent_id
        == people[1].consent.status(people[1].address, lab.address, RESEARCH, HEALTH).consent_id
    )


def test_the_subject_cancels_a_pending_signature_and_the_later_intent_wins(
    actors: dict[str, Collective],
) -> None:
    """Issue 10 item 6, through the client: nonces are signing times, a withdrawal with nothing
    active cancels, and the policy text is read from the chain before signing."""
    patient, lab = actors["patient"], actors["lab"]
    pending = patient.signing.sign_grant(lab.address, RESEARCH, HEALTH)
    assert pending.request.policy_hash == patient.signing.policy_hash(lab.address)
    cancelled = patient.consent.withdraw(lab.address, RESEARCH, HEALTH)
    assert not cancelled.was_active
    with pytest.raises(SignatureError) as caught:
        lab.signing.relay(pending)
    assert caught.value.error_name == "InvalidNonce"
    renewal = patient.signing.sign_grant(lab.address, RESEARCH, HEALTH)
    withdrawal = patient.signing.sign_withdrawal(lab.address, RESEARCH, HEALTH)
    assert withdrawal.request.nonce > renewal.request.nonce  # signed later, larger nonce
    lab.signing.relay(renewal)  # the relayer front-runs with the older renewal
    assert lab.signing.relay(withdrawal).was_active  # the later withdrawal still applies
    assert not lab.consent.is_covered(patient.address, lab.address, RESEARCH, HEALTH)


def test_signing_for_an_unpublished_policy_version_is_refused(
    actors: dict[str, Collective],
) -> None:
    """Issue 10 item 5: a subject can no longer sign for version 2 before it exists."""
    patient, lab = actors["patient"], actors["lab"]
    with pytest.raises(ConsentError) as caught:
        patient.signing.sign_grant(lab.address, RESEARCH, HEALTH, policy_version=2)
    assert caught.value.error_name == "UnknownPolicyVersion"


def test_status_says_the_one_consent_state(actors: dict[str, Collective]) -> None:
    """Issue 10 item 15: the client's status names the same state receipts and the audit use."""
    patient, lab = actors["patient"], actors["lab"]
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    status = patient.consent.status(patient.address, lab.address, RESEARCH, HEALTH)
    assert (status.state, status.covered, status.reason) == ("active", True, None)
    lab.policies.publish(b"lab policy v2", "https://lab.example/policy/v2", [RESEARCH])
    status = patient.consent.status(patient.address, lab.address, RESEARCH, HEALTH)
    assert (status.state, status.covered) == ("superseded", False)
    assert status.reason is not None and "v2" in status.reason
    patient.did.deactivate()
    status = patient.consent.status(patient.address, lab.address, RESEARCH, HEALTH)
    assert (status.state, status.covered) == ("deactivated", False)


def test_the_client_and_the_audit_share_one_consent_event_and_flag(
    actors: dict[str, Collective],
) -> None:
    """Issue 11 item 4: one ConsentEvent, one Flag, one LogPosition; no expiry is None."""
    from collective.audit import ConsentEvent as AuditConsentEvent
    from collective.audit import Flag as AuditFlag
    from collective.audit import LogPosition as AuditLogPosition
    from collective.client.consent import ConsentEvent
    from collective.client.oversight import Flag
    from collective.types import LogPosition

    assert ConsentEvent is AuditConsentEvent and Flag is AuditFlag
    with pytest.deprecated_call():
        from collective.client.base import LogRef
    with pytest.deprecated_call():
        from collective.client.orgs import Action as OrgAction  # now OrgAction
    assert OrgAction is not Action
    assert LogRef is LogPosition is AuditLogPosition
    patient, lab = actors["patient"], actors["lab"]
    granted = patient.consent.grant(lab.address, RESEARCH, HEALTH)
    patient.consent.withdraw(lab.address, RESEARCH, HEALTH)
    grant, withdrawal = patient.consent.timeline(identity=patient.address)
    assert (grant.action, grant.kind, grant.expiry, grant.policy_version) == (
        "grant",
        "granted",
        None,
        1,
    )
    assert (withdrawal.action, withdrawal.kind, withdrawal.expiry) == (
        "withdraw",
        "withdrawn",
        None,
    )
    assert grant.position == LogPosition(granted.block_number, granted.tx_hash, granted.log_index)
    assert grant.where.block_number == granted.block_number
    chain = patient.chain
    for event in (grant, withdrawal):  # asked in one batch, the same as one by one
        assert event.timestamp == int(chain.get_block(event.block)["timestamp"]) > 0
    assert grant.key.identity == patient.address and grant.key.purpose == RESEARCH


def test_a_signature_reads_the_latest_block_once(
    actors: dict[str, Collective], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nonce and the deadline of one signature are taken from one read of the chain's time."""
    patient, lab = actors["patient"], actors["lab"]
    chain = patient.chain
    reads = []
    latest = chain.latest_timestamp

    def counted() -> int:
        reads.append(1)
        return latest()

    monkeypatch.setattr(chain, "latest_timestamp", counted)
    patient.signing.sign_grant(lab.address, RESEARCH, HEALTH)
    assert len(reads) == 1
    patient.signing.sign_withdrawal(lab.address, RESEARCH, HEALTH)
    assert len(reads) == 2


def test_no_expiry_is_none_and_one_reading_holds_the_whole_state(
    actors: dict[str, Collective],
) -> None:
    """Issue 11 item 4: Granted and Consent say "never" as None; ``reading`` reads the
    consent and the organization's standing at one block, in one call."""
    patient, lab = actors["patient"], actors["lab"]
    never = patient.consent.reading(patient.address, lab.address, RESEARCH, HEALTH)
    assert (never.consent.state, never.consent.expiry, never.consent.granted_at) == (
        "none",
        None,
        0,
    )
    granted = patient.consent.grant(lab.address, RESEARCH, HEALTH)
    assert granted.expiry is None
    reading = patient.consent.reading(patient.address, lab.address, RESEARCH, HEALTH)
    assert reading.consent == patient.consent.status(patient.address, lab.address, RESEARCH, HEALTH)
    assert reading.consent.expiry is None and reading.consent.state == "active"
    assert (reading.status.block, reading.status.current_version) == (granted.block_number, 1)
    assert reading.status.organization_status == "active" and reading.status.covered
    until = patient.chain.latest_timestamp() + 86_400
    renewed = patient.consent.grant(lab.address, RESEARCH, HEALTH, expiry=until)
    assert renewed.expiry == until
    assert patient.consent.status(patient.address, lab.address, RESEARCH, HEALTH).expiry == until


def test_a_policy_grant_agrees_to_the_text_the_subject_read(
    actors: dict[str, Collective],
) -> None:
    """``sign_policy_grant`` picks the current version (or the one given) and refuses to
    sign when the text the subject read is not the one published under it."""
    patient, lab = actors["patient"], actors["lab"]
    v1 = lab.policies.current(lab.address)
    v2 = lab.policies.publish(b"lab policy v2", "https://lab.example/v2", [RESEARCH]).policy
    agreed = patient.signing.sign_policy_grant(lab.address, RESEARCH, HEALTH)
    assert agreed.policy == v2 and agreed.signed.request.policy_version == 2
    assert "0x" + agreed.signed.request.policy_hash.hex() == v2.content_hash
    older = patient.signing.sign_policy_grant(
        lab.address, RESEARCH, HEALTH, policy_version=1, read_hash=v1.content_hash.upper()
    )
    assert older.policy == v1 and older.signed.request.policy_version == 1
    with pytest.raises(ConsentError, match=r"not the .* you read") as caught:
        patient.signing.sign_policy_grant(lab.address, RESEARCH, HEALTH, read_hash=v1.content_hash)
    assert caught.value.hint is not None and v2.uri in caught.value.hint
    with pytest.raises(NotFoundError, match="no policy version 7"):
        patient.signing.sign_policy_grant(lab.address, RESEARCH, HEALTH, policy_version=7)
    assert lab.signing.relay_grant(agreed.signed).policy_version == 2


def test_one_use_is_found_from_its_transaction(actors: dict[str, Collective]) -> None:
    """``usage.find`` reads one transaction's receipt, not the whole history."""
    patient, lab = actors["patient"], actors["lab"]
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    single = lab.usage.record(patient.address, RESEARCH, HEALTH, "record 1")
    assert lab.usage.find(single.tx_hash.upper().replace("0X", "0x")) == single.records[0]
    batch = lab.usage.record_batch(
        [UseItem(patient.address, RESEARCH, HEALTH, f"r{i}") for i in (2, 3)]
    )
    second = batch.records[1]
    assert lab.usage.find(batch.tx_hash, second.where.log_index) == second
    with pytest.raises(InvalidInputError, match="recorded 2 uses") as caught:
        lab.usage.find(batch.tx_hash)
    assert caught.value.hint is not None and "--log-index" in caught.value.hint
    with pytest.raises(NotFoundError, match="log 99 of transaction"):
        lab.usage.find(batch.tx_hash, 99)
    with pytest.raises(NotFoundError, match="recorded no data use"):
        lab.usage.find("0x" + "ab" * 32)
    for bad in ("0x12", "ab" * 32, "0x" + "zz" * 32):
        with pytest.raises(InvalidInputError, match="is not a transaction hash"):
            lab.usage.find(bad)


def test_a_proposal_says_its_state_and_the_threshold_it_sets(
    actors: dict[str, Collective],
) -> None:
    from collective.client.oversight import Proposal, threshold_ref

    admin = actors["admin"]
    m1, m2 = (admin.as_account(admin.chain.dev_accounts[i]) for i in (7, 8))
    member = admin.chain.dev_accounts[9].address
    removal = m1.oversight.remove_member(member, "lost-key", threshold=2)
    now = admin.chain.latest_timestamp()
    proposal = admin.oversight.proposal(removal.proposal_id)
    assert (proposal.state(now), proposal.threshold) == ("open", 2)
    assert proposal.state(proposal.expires_at + 1) == "expired"
    m2.oversight.approve(removal.proposal_id)
    assert admin.oversight.proposal(removal.proposal_id).state(now) == "executed"
    assert admin.oversight.threshold() == 2 and member not in admin.oversight.members()
    raised = m1.oversight.set_threshold(1)
    assert admin.oversight.proposal(raised.proposal_id).threshold == 1
    assert threshold_ref(None) == bytes(32) and threshold_ref(3) == (3).to_bytes(32, "big")
    with pytest.raises(InvalidInputError, match="not a uint256"):
        threshold_ref(-1)

    def made(action: Action, ref: int) -> Proposal:
        return dataclasses.replace(proposal, action=action, ref="0x" + ref.to_bytes(32).hex())

    assert made(Action.SET_THRESHOLD, 3).threshold == 3
    assert made(Action.REMOVE_MEMBER, 0).threshold is None  # the removal keeps the threshold
    assert made(Action.SUSPEND, 0).threshold is None
    assert made(Action.FLAG_USE, 5).threshold is None  # a use reference, not a threshold


def test_event_records_as_dicts_carry_what_a_reader_sees(actors: dict[str, Collective]) -> None:
    """``to_dict``: the fields, and a ConsentEvent's ``kind`` and a Flag's ``reason``."""
    import dataclasses as dc

    from collective.client.records import Flag
    from collective.types import TxHash

    patient, lab = actors["patient"], actors["lab"]
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    (grant,) = patient.consent.timeline(identity=patient.address)
    as_dict = grant.to_dict()
    assert as_dict == {
        **{f.name: getattr(grant, f.name) for f in dc.fields(grant)},
        "kind": "granted",
    }
    flag = Flag(
        1,
        TxHash("0x" + "11" * 32),
        0,
        5,
        "0x" + "22" * 32,
        lab.address,
        "0x" + b"odd".ljust(32, b"\0").hex(),
        3,
    )
    assert flag.to_dict()["reason"] == "odd" and flag.to_dict()["use"] is None
    assert set(flag.to_dict()) == {f.name for f in dc.fields(flag)} | {"reason"}
