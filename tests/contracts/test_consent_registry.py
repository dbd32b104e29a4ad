"""ConsentRegistry: direct, batch and signed grants and withdrawals, and every way they fail."""

from __future__ import annotations

from eth_utils.abi import function_signature_to_4byte_selector as selector

from collective.errors import ConsentError, NotPermittedError
from collective.ledger.signing import code
from tests.helpers import (
    FAR_FUTURE,
    GENETIC,
    LAB_RESULTS,
    MARKETING,
    RESEARCH,
    SIG_AUTH,
    TREATMENT,
    World,
    expect_revert,
)


def covered(w: World, identity: str, org=None, purpose=RESEARCH, category=LAB_RESULTS) -> bool:
    org = org or w.lab
    return bool(w.ledger.functions.isCovered(identity, org.address, purpose, category).call())


def test_owner_grants_and_withdraws_directly(w: World) -> None:
    p = w.patient.address
    expiry = w.now() + 1000
    receipt = w.grant(w.patient, w.lab, expiry=expiry)
    (event,) = w.events(w.ledger, "ConsentGranted", receipt)
    assert event.args.identity == p and event.args.organization == w.lab.address
    assert (event.args.purpose, event.args.category) == (RESEARCH, LAB_RESULTS)
    assert (event.args.policyVersion, event.args.agent) == (1, p)
    block_time = w.chain.get_block(receipt.blockNumber)["timestamp"]
    # A direct grant moves the nonce to the block time in ms plus the allowed clock skew:
    # every request signed before it is void.
    skew = w.ledger.functions.NONCE_CLOCK_SKEW().call()
    assert skew == 600_000
    assert w.consent(p, w.lab) == (expiry, block_time, 1, block_time * 1000 + skew + 1, True)
    assert event.args.expiry == expiry
    assert covered(w, p)
    assert (
        w.ledger.functions.consentId(p, w.lab.address, RESEARCH, LAB_RESULTS).call() != b"\0" * 32
    )
    receipt = w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    (event,) = w.events(w.ledger, "ConsentWithdrawn", receipt)
    assert event.args.agent == p
    nonce, active = w.consent(p, w.lab)[3:]
    assert nonce > block_time * 1000 + skew and not active
    assert not covered(w, p)
    # With nothing active, a withdrawal still cancels pending signatures (no revert).
    receipt = w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    (event,) = w.events(w.ledger, "SignaturesCancelled", receipt)
    assert event.args.agent == p and event.args.nonce == w.consent(p, w.lab)[3] > nonce
    assert not w.events(w.ledger, "ConsentWithdrawn", receipt)


def test_only_the_identity_owner_acts_directly(w: World) -> None:
    p = w.patient.address
    with expect_revert("NotIdentityOwner", NotPermittedError):
        w.grant(w.stranger, w.lab, identity=p)
    w.grant(w.patient, w.lab)
    with expect_revert("NotIdentityOwner", NotPermittedError):
        w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.stranger)


def test_grant_checks_expiry_and_current_policy(w: World) -> None:
    with expect_revert("ExpiryInPast", ConsentError):
        w.grant(w.patient, w.lab, expiry=w.now())
    with expect_revert("PolicyNotCurrent", ConsentError):
        w.grant(w.patient, w.lab, version=2)  # not published yet
    with expect_revert("PolicyNotCurrent", ConsentError):
        w.grant(w.patient, w.lab, purpose=MARKETING)  # not a purpose of v1
    with expect_revert("PolicyNotCurrent", ConsentError):
        w.grant(w.patient, w.stranger, version=1)  # no policy at all
    with expect_revert("PolicyNotCurrent", ConsentError):
        w.grant(w.patient, w.lab, version=0)
    w.tx(w.ledger.functions.publishPolicy(code("v2"), "u", [RESEARCH]), w.lab)
    with expect_revert("PolicyNotCurrent", ConsentError):
        w.grant(w.patient, w.lab, version=1)  # superseded
    w.grant(w.patient, w.lab, version=2)


def test_regrant_renews_and_bumps_nonce(w: World) -> None:
    p = w.patient.address
    w.grant(w.patient, w.lab, expiry=w.now() + 100)
    first = w.consent(p, w.lab)[3]
    w.grant(w.patient, w.lab, expiry=FAR_FUTURE)
    expiry, _, _, nonce, active = w.consent(p, w.lab)
    assert (expiry, active) == (FAR_FUTURE, True) and nonce > first


def test_batch_grant_and_withdraw(w: World) -> None:
    p = w.patient.address
    items = [
        (w.lab.address, RESEARCH, LAB_RESULTS, FAR_FUTURE, 1),
        (w.lab.address, TREATMENT, GENETIC, FAR_FUTURE, 1),
        (w.hospital.address, TREATMENT, LAB_RESULTS, FAR_FUTURE, 1),
    ]
    receipt = w.tx(w.ledger.functions.grantBatch(p, items), w.patient)
    assert len(w.events(w.ledger, "ConsentGranted", receipt)) == 3
    assert covered(w, p) and covered(w, p, w.lab, TREATMENT, GENETIC)
    assert covered(w, p, w.hospital, TREATMENT)
    with expect_revert("NotIdentityOwner"):
        w.tx(w.ledger.functions.grantBatch(p, items), w.stranger)
    bad = [*items, (w.lab.address, MARKETING, LAB_RESULTS, FAR_FUTURE, 1)]
    with expect_revert("PolicyNotCurrent"):  # all or nothing
        w.tx(w.ledger.functions.grantBatch(p, bad), w.patient)
    withdrawals = [(org, purpose, category) for org, purpose, category, _, _ in items]
    receipt = w.tx(w.ledger.functions.withdrawBatch(p, withdrawals), w.patient)
    assert len(w.events(w.ledger, "ConsentWithdrawn", receipt)) == 3
    assert not covered(w, p) and not covered(w, p, w.hospital, TREATMENT)
    with expect_revert("NotIdentityOwner"):
        w.tx(w.ledger.functions.withdrawBatch(p, withdrawals), w.stranger)


def test_signed_grant_and_withdrawal_relayed_by_an_organization(w: World) -> None:
    p = w.patient.address
    signed = w.sign_grant(w.patient, p, w.lab)
    receipt = w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    (event,) = w.events(w.ledger, "ConsentGranted", receipt)
    assert event.args.agent == p
    assert covered(w, p)
    signed = w.sign_withdrawal(w.patient, p, w.lab)
    receipt = w.tx(w.ledger.functions.withdrawSigned(*signed.call_args()), w.hospital)
    assert w.events(w.ledger, "ConsentWithdrawn", receipt)[0].args.agent == p
    assert not covered(w, p)


def test_signed_request_survives_json_round_trip(w: World) -> None:
    from collective.ledger.signing import SignedRequest

    signed = w.sign_grant(w.patient, w.patient.address, w.lab)
    again = SignedRequest.from_json(signed.to_json())
    assert again == signed
    w.tx(w.ledger.functions.grantSigned(*again.call_args()), w.lab)
    assert covered(w, w.patient.address)


def test_replayed_signature_is_refused(w: World) -> None:
    signed = w.sign_grant(w.patient, w.patient.address, w.lab)
    w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    with expect_revert("InvalidNonce", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    # A withdrawal signed before the grant went through is stale as well.
    withdrawal = w.sign_withdrawal(w.patient, w.patient.address, w.lab, nonce=0)
    with expect_revert("InvalidNonce", ConsentError):
        w.tx(w.ledger.functions.withdrawSigned(*withdrawal.call_args()), w.lab)


def test_expired_signature_is_refused(w: World) -> None:
    signed = w.sign_grant(w.patient, w.patient.address, w.lab, deadline=w.now() + 10)
    w.chain.increase_time(60)
    with expect_revert("SignatureExpired", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    withdrawal = w.sign_withdrawal(w.patient, w.patient.address, w.lab, deadline=w.now() - 1)
    with expect_revert("SignatureExpired", ConsentError):
        w.tx(w.ledger.functions.withdrawSigned(*withdrawal.call_args()), w.lab)


def test_forged_and_tampered_signatures_are_refused(w: World) -> None:
    p = w.patient.address
    forged = w.sign_grant(w.stranger, p, w.lab)  # someone else signs for the patient
    with expect_revert("SignerNotAuthorized", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*forged.call_args()), w.lab)
    signed = w.sign_grant(w.patient, p, w.lab, expiry=w.now() + 100)
    request, v, r, s = signed.call_args()
    tampered = (*request[:4], FAR_FUTURE, *request[5:])  # relayer extends the expiry
    with expect_revert("SignerNotAuthorized", ConsentError):
        w.tx(w.ledger.functions.grantSigned(tampered, v, r, s), w.lab)
    with expect_revert("InvalidSignature", ConsentError):
        w.tx(w.ledger.functions.grantSigned(request, 30, r, s), w.lab)


def test_signature_for_another_chain_or_contract_is_refused(w: World) -> None:
    p = w.patient.address
    other_chain = w.sign_grant(w.patient, p, w.lab, chain_id=w.chain.chain_id + 1)
    with expect_revert("SignerNotAuthorized", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*other_chain.call_args()), w.lab)
    other_contract = w.sign_grant(w.patient, p, w.lab, contract=w.rules.address)
    with expect_revert("SignerNotAuthorized", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*other_contract.call_args()), w.lab)


def test_relayer_must_be_an_active_organization(w: World) -> None:
    signed = w.sign_grant(w.patient, w.patient.address, w.lab)
    with expect_revert("OrganizationNotAdmitted", NotPermittedError):
        w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.stranger)
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    with expect_revert("OrganizationSuspended", NotPermittedError):
        w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.hospital)


def test_guardian_acts_until_the_delegation_expires(w: World) -> None:
    p = w.patient.address
    w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, w.guardian.address, 600), w.patient)
    signed = w.sign_grant(w.guardian, p, w.lab)
    receipt = w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    assert w.events(w.ledger, "ConsentGranted", receipt)[0].args.agent == w.guardian.address
    withdrawal = w.sign_withdrawal(w.guardian, p, w.lab)
    w.tx(w.ledger.functions.withdrawSigned(*withdrawal.call_args()), w.lab)
    assert not covered(w, p)
    late = w.sign_grant(w.guardian, p, w.lab, deadline=w.now() + 7200)
    w.chain.increase_time(601)
    with expect_revert("SignerNotAuthorized", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*late.call_args()), w.lab)
    # A guardian is not an owner: it cannot act directly.
    with expect_revert("NotIdentityOwner"):
        w.grant(w.guardian, w.lab, identity=p)


def test_consents_follow_the_identity_across_key_rotation(w: World) -> None:
    p = w.patient.address
    new_key = w.guardian
    w.grant(w.patient, w.lab)
    w.tx(w.ledger.functions.changeOwner(p, new_key.address), w.patient)
    # The old key can do nothing any more, directly or by signature.
    with expect_revert("NotIdentityOwner"):
        w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    old_sig = w.sign_withdrawal(w.patient, p, w.lab)
    with expect_revert("SignerNotAuthorized"):
        w.tx(w.ledger.functions.withdrawSigned(*old_sig.call_args()), w.lab)
    # The new key withdraws the consent granted under the old one.
    w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), new_key)
    assert not covered(w, p)
    signed = w.sign_grant(new_key, p, w.lab)
    w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    assert covered(w, p)


def test_signed_batches(w: World) -> None:
    subjects = [w.patient, w.guardian, w.stranger]
    grants = [w.sign_grant(s, s.address, w.lab).batch_item() for s in subjects]
    receipt = w.tx(w.ledger.functions.grantSignedBatch(grants), w.lab)
    assert [e.args.identity for e in w.events(w.ledger, "ConsentGranted", receipt)] == [
        s.address for s in subjects
    ]
    # Relayed again, every item is consumed: each is skipped, none reverts the batch.
    receipt = w.tx(w.ledger.functions.grantSignedBatch(grants), w.lab)
    skipped = w.events(w.ledger, "SignedRequestSkipped", receipt)
    assert [e.args.index for e in skipped] == [0, 1, 2]
    assert {e.args.reason for e in skipped} == {selector("InvalidNonce(bytes32,uint64,uint64)")}
    withdrawals = [w.sign_withdrawal(s, s.address, w.lab).batch_item() for s in subjects]
    with expect_revert("OrganizationNotAdmitted"):
        w.tx(w.ledger.functions.withdrawSignedBatch(withdrawals), w.stranger)
    w.tx(w.ledger.functions.withdrawSignedBatch(withdrawals), w.hospital)
    assert not any(covered(w, s.address) for s in subjects)


def test_domain_separator_matches_eip712(w: World) -> None:
    from eth_account.messages import encode_typed_data

    from collective.ledger.signing import GrantRequest, typed_data

    request = GrantRequest(
        w.patient.address, w.lab.address, RESEARCH, LAB_RESULTS, 1, 1, b"\1" * 32, 0, 1
    )
    document = typed_data(request, chain_id=w.chain.chain_id, verifying_contract=w.ledger.address)
    signable = encode_typed_data(full_message=document)
    assert w.ledger.functions.DOMAIN_SEPARATOR().call() == signable.header
    fields = w.ledger.functions.eip712Domain().call()
    assert fields[1:5] == ["Collective", "2", w.chain.chain_id, w.ledger.address]


def test_deactivated_identity_is_final(w: World) -> None:
    p = w.patient.address
    w.grant(w.patient, w.lab)
    receipt = w.tx(w.ledger.functions.changeOwner(p, "0x" + "00" * 20), w.patient)
    (event,) = w.events(w.ledger, "DIDOwnerChanged", receipt)
    assert event.args.owner == "0x" + "00" * 20  # resolvers see the deactivation
    assert w.ledger.functions.identityOwner(p).call() == w.ledger.functions.DEACTIVATED().call()
    # Unlike plain ERC-1056, the original key does not get control back.
    with expect_revert("IdentityDeactivated"):
        w.grant(w.patient, w.lab, purpose=TREATMENT)
    with expect_revert("IdentityDeactivated"):
        w.tx(w.ledger.functions.changeOwner(p, w.patient.address), w.patient)
    signed = w.sign_withdrawal(w.patient, p, w.lab)
    with expect_revert("IdentityDeactivated"):
        w.tx(w.ledger.functions.withdrawSigned(*signed.call_args()), w.lab)


# --- issue 10: a signature binds the policy text; the subject's later intent wins ------------


def test_a_signed_grant_binds_the_policy_text_not_only_its_number(w: World) -> None:
    """Item 5: a grant signed for version 2 before it exists cannot be relayed once the
    organization publishes some other text as version 2."""
    p = w.patient.address
    read = code("the v2 text the patient read")
    early = w.sign_grant(w.patient, p, w.lab, version=2, policy_hash=read)
    w.tx(w.ledger.functions.publishPolicy(code("some other text"), "u", [RESEARCH]), w.lab)
    with expect_revert("PolicyHashMismatch", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*early.call_args()), w.lab)
    assert not covered(w, p)
    # Signed for the text actually published, it goes through.
    signed = w.sign_grant(w.patient, p, w.lab, version=2)
    assert signed.request.policy_hash == code("some other text")
    w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    assert covered(w, p)


def test_a_subject_cancels_a_pending_signed_grant_directly(w: World) -> None:
    """Item 6: a signed grant valid for 30 days used to be uncancellable (withdraw reverted
    ConsentNotActive) and was relayed on day 29."""
    p = w.patient.address
    pending = w.sign_grant(w.patient, p, w.lab, deadline=w.now() + 30 * 86400)
    w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    w.chain.increase_time(29 * 86400)
    with expect_revert("InvalidNonce", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*pending.call_args()), w.lab)
    assert not covered(w, p)


def test_a_subject_cancels_a_pending_signed_grant_gaslessly(w: World) -> None:
    p = w.patient.address
    pending = w.sign_grant(w.patient, p, w.lab, nonce=w.nonce(p, w.lab))
    cancel = w.sign_withdrawal(w.patient, p, w.lab, nonce=pending.request.nonce + 1)
    receipt = w.tx(w.ledger.functions.withdrawSigned(*cancel.call_args()), w.hospital)
    (event,) = w.events(w.ledger, "SignaturesCancelled", receipt)
    assert event.args.agent == p
    with expect_revert("InvalidNonce", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*pending.call_args()), w.lab)


def test_the_later_intent_wins_whatever_order_relayers_use(w: World) -> None:
    """Item 6: a relayer holding an older signed renewal must not front-run (or outlive) the
    subject's later signed withdrawal. Nonces are signing times in ms, so later is larger."""
    p = w.patient.address
    w.grant(w.patient, w.lab)
    base = w.nonce(p, w.lab)
    renewal = w.sign_grant(w.patient, p, w.lab, nonce=base + 10)  # signed first
    withdrawal = w.sign_withdrawal(w.patient, p, w.lab, nonce=base + 20)  # signed later
    snapshot = w.chain.snapshot()
    # The relayer front-runs the withdrawal with the older renewal: the withdrawal still wins.
    w.tx(w.ledger.functions.grantSigned(*renewal.call_args()), w.lab)
    w.tx(w.ledger.functions.withdrawSigned(*withdrawal.call_args()), w.hospital)
    assert not covered(w, p)
    w.chain.revert(snapshot)
    # In submission order, the older renewal is refused after the withdrawal.
    w.tx(w.ledger.functions.withdrawSigned(*withdrawal.call_args()), w.hospital)
    with expect_revert("InvalidNonce", ConsentError):
        w.tx(w.ledger.functions.grantSigned(*renewal.call_args()), w.lab)
    assert not covered(w, p)


def test_one_consumed_item_does_not_sink_a_signed_withdrawal_batch(w: World) -> None:
    """Item 7: front-running one item used to revert the whole batch."""
    subjects = [w.patient, w.guardian, w.stranger]
    for s in subjects:
        w.grant(s, w.lab)
    items = [w.sign_withdrawal(s, s.address, w.lab) for s in subjects]
    w.tx(w.ledger.functions.withdrawSigned(*items[1].call_args()), w.hospital)  # front-run
    expired = w.sign_withdrawal(w.patient, w.patient.address, w.lab, deadline=w.now() - 1)
    batch = [i.batch_item() for i in items] + [expired.batch_item()]
    receipt = w.tx(w.ledger.functions.withdrawSignedBatch(batch), w.lab)
    withdrawn = [e.args.identity for e in w.events(w.ledger, "ConsentWithdrawn", receipt)]
    assert withdrawn == [w.patient.address, w.stranger.address]
    skipped = [
        (e.args.index, e.args.reason) for e in w.events(w.ledger, "SignedRequestSkipped", receipt)
    ]
    assert skipped == [
        (1, selector("InvalidNonce(bytes32,uint64,uint64)")),
        (3, selector("SignatureExpired(uint64)")),
    ]
    assert not any(covered(w, s.address) for s in subjects)


def test_a_nonce_cannot_run_far_ahead_and_lock_a_consent(w: World) -> None:
    """Found by the forge suite: a delegate's grant with nonce 2^64-2 set the consent's nonce to
    2^64-1, after which the owner's withdraw overflowed and no signed withdrawal was accepted:
    a consent nobody could withdraw. Nonces may run at most NONCE_CLOCK_SKEW ahead."""
    p = w.patient.address
    latest = (w.now() + 1) * 1000 + 600_000
    with expect_revert("NonceInFuture", ConsentError):
        w.tx(
            w.ledger.functions.grantSigned(
                *w.sign_grant(w.patient, p, w.lab, nonce=2**64 - 2).call_args()
            ),
            w.lab,
        )
    with expect_revert("NonceInFuture", ConsentError):
        far = w.sign_grant(w.patient, p, w.lab, nonce=latest + 10_000)
        w.tx(w.ledger.functions.grantSigned(*far.call_args()), w.lab)
    ahead = w.sign_grant(w.patient, p, w.lab, nonce=w.now() * 1000 + 500_000)  # 8 min fast
    w.tx(w.ledger.functions.grantSigned(*ahead.call_args()), w.lab)
    # The owner's direct withdrawal still works and voids what was signed before it.
    w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    assert not covered(w, p)
