"""DIDRegistry: ERC-1056 owners, delegates, attributes, signed variants and changed links."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from tests.helpers import LAB_RESULTS, RESEARCH, SIG_AUTH, TREATMENT, VERI_KEY, World, expect_revert


def erc1056_sign(w: World, signer, identity: str, *parts: bytes) -> tuple[int, bytes, bytes]:
    """Sign ERC-1056's meta-transaction hash: 0x19 0x00 registry nonce identity parts..."""
    owner = w.ledger.functions.identityOwner(identity).call()
    nonce = w.ledger.functions.nonce(owner).call()
    payload = (
        b"\x19\x00"
        + bytes.fromhex(w.ledger.address[2:])
        + nonce.to_bytes(32, "big")
        + bytes.fromhex(identity[2:])
        + b"".join(parts)
    )
    sig = Account.unsafe_sign_hash(keccak(payload), signer.key)
    return sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big")


def test_identity_owns_itself_until_changed(w: World) -> None:
    p, g = w.patient.address, w.guardian.address
    assert w.ledger.functions.identityOwner(p).call() == p
    receipt = w.tx(w.ledger.functions.changeOwner(p, g), w.patient)
    (event,) = w.events(w.ledger, "DIDOwnerChanged", receipt)
    assert event.args.owner == g and event.args.previousChange == 0
    assert w.ledger.functions.identityOwner(p).call() == g
    assert w.ledger.functions.changed(p).call() == receipt.blockNumber
    with expect_revert("NotIdentityOwner"):
        w.tx(w.ledger.functions.changeOwner(p, w.patient.address), w.patient)


def test_delegates_expire_and_can_be_revoked(w: World) -> None:
    p, g = w.patient.address, w.guardian.address
    with expect_revert("NotIdentityOwner"):
        w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, g, 100), w.stranger)
    first = w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, g, 100), w.patient)
    assert w.ledger.functions.validDelegate(p, SIG_AUTH, g).call()
    assert not w.ledger.functions.validDelegate(p, VERI_KEY, g).call()
    (event,) = w.events(w.ledger, "DIDDelegateChanged", first)
    assert event.args.delegateType == SIG_AUTH and event.args.delegate == g
    w.chain.increase_time(200)
    w.chain.mine()
    assert not w.ledger.functions.validDelegate(p, SIG_AUTH, g).call()
    w.tx(w.ledger.functions.addDelegate(p, VERI_KEY, g, 1000), w.patient)
    revoke = w.tx(w.ledger.functions.revokeDelegate(p, VERI_KEY, g), w.patient)
    assert not w.ledger.functions.validDelegate(p, VERI_KEY, g).call()
    (event,) = w.events(w.ledger, "DIDDelegateChanged", revoke)
    assert event.args.previousChange > first.blockNumber - 1


def test_attributes_are_events_linked_by_changed(w: World) -> None:
    p = w.patient.address
    name = b"did/svc/ConsentInbox".ljust(32, b"\0")
    set_rx = w.tx(
        w.ledger.functions.setAttribute(p, name, b"https://inbox.example", 3600), w.patient
    )
    rev_rx = w.tx(w.ledger.functions.revokeAttribute(p, name, b"https://inbox.example"), w.patient)
    (set_ev,) = w.events(w.ledger, "DIDAttributeChanged", set_rx)
    (rev_ev,) = w.events(w.ledger, "DIDAttributeChanged", rev_rx)
    assert set_ev.args.value == b"https://inbox.example" and set_ev.args.validTo > w.now()
    assert rev_ev.args.validTo == 0 and rev_ev.args.previousChange == set_rx.blockNumber
    with expect_revert("NotIdentityOwner"):
        w.tx(w.ledger.functions.setAttribute(p, name, b"x", 1), w.stranger)


def test_signed_change_owner_is_relayable_once(w: World) -> None:
    p, g = w.patient.address, w.guardian.address
    v, r, s = erc1056_sign(w, w.patient, p, b"changeOwner", bytes.fromhex(g[2:]))
    w.tx(w.ledger.functions.changeOwnerSigned(p, v, r, s, g), w.stranger)
    assert w.ledger.functions.identityOwner(p).call() == g
    assert w.ledger.functions.nonce(p).call() == 1
    with expect_revert("NotIdentityOwner"):  # replay: nonce moved on, recovers someone else
        w.tx(w.ledger.functions.changeOwnerSigned(p, v, r, s, g), w.stranger)


def test_signed_delegate_and_attribute_variants(w: World) -> None:
    p, g = w.patient.address, w.guardian.address
    validity = (3600).to_bytes(32, "big")
    v, r, s = erc1056_sign(
        w, w.patient, p, b"addDelegate", SIG_AUTH, bytes.fromhex(g[2:]), validity
    )
    w.tx(w.ledger.functions.addDelegateSigned(p, v, r, s, SIG_AUTH, g, 3600), w.stranger)
    assert w.ledger.functions.validDelegate(p, SIG_AUTH, g).call()
    v, r, s = erc1056_sign(w, w.patient, p, b"revokeDelegate", SIG_AUTH, bytes.fromhex(g[2:]))
    w.tx(w.ledger.functions.revokeDelegateSigned(p, v, r, s, SIG_AUTH, g), w.stranger)
    assert not w.ledger.functions.validDelegate(p, SIG_AUTH, g).call()
    name = b"did/pub/Secp256k1/veriKey/hex".ljust(32, b"\0")
    v, r, s = erc1056_sign(w, w.patient, p, b"setAttribute", name, b"\x02" * 33, validity)
    w.tx(w.ledger.functions.setAttributeSigned(p, v, r, s, name, b"\x02" * 33, 3600), w.stranger)
    v, r, s = erc1056_sign(w, w.patient, p, b"revokeAttribute", name, b"\x02" * 33)
    w.tx(w.ledger.functions.revokeAttributeSigned(p, v, r, s, name, b"\x02" * 33), w.stranger)
    assert w.ledger.functions.nonce(p).call() == 4
    # A signature by anyone but the owner is refused.
    v, r, s = erc1056_sign(w, w.stranger, p, b"revokeAttribute", name, b"\x02" * 33)
    with expect_revert("NotIdentityOwner"):
        w.tx(w.ledger.functions.revokeAttributeSigned(p, v, r, s, name, b"\x02" * 33), w.stranger)


def test_high_s_signature_is_rejected(w: World) -> None:
    p, g = w.patient.address, w.guardian.address
    v, r, s = erc1056_sign(w, w.patient, p, b"changeOwner", bytes.fromhex(g[2:]))
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = (n - int.from_bytes(s, "big")).to_bytes(32, "big")
    with expect_revert("InvalidSignature"):
        w.tx(w.ledger.functions.changeOwnerSigned(p, 55 - v, r, high_s, g), w.stranger)


# --- issue 10: deactivation ends everything; rotation cuts off the old key's delegates --------


def test_deactivation_ends_every_key_delegate_and_use(w: World) -> None:
    """Item 1, the reported input: the patient adds a guardian for 1 h, deactivates; the guardian
    signs a grant, the lab relays it and records a use. All of it used to be accepted."""
    from collective.errors import IdentityDeactivatedError

    p, g = w.patient.address, w.guardian.address
    w.grant(w.patient, w.lab)  # granted before deactivation
    w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, g, 3600), w.patient)
    w.tx(w.ledger.functions.changeOwner(p, "0x" + "00" * 20), w.patient)
    assert w.ledger.functions.isDeactivated(p).call()
    assert not w.ledger.functions.validDelegate(p, SIG_AUTH, g).call()
    signed = w.sign_grant(w.guardian, p, w.lab, purpose=TREATMENT)
    with expect_revert("IdentityDeactivated", IdentityDeactivatedError):
        w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    withdrawal = w.sign_withdrawal(w.guardian, p, w.lab)
    with expect_revert("IdentityDeactivated", IdentityDeactivatedError):
        w.tx(w.ledger.functions.withdrawSigned(*withdrawal.call_args()), w.lab)
    # The consent granted before no longer covers anything.
    assert not w.ledger.functions.isCovered(p, w.lab.address, RESEARCH, LAB_RESULTS).call()
    with expect_revert("IdentityDeactivated", IdentityDeactivatedError):
        w.use(w.lab, p)
    with expect_revert("IdentityDeactivated", IdentityDeactivatedError):
        w.tx(w.ledger.functions.recordUseBatch([(p, RESEARCH, LAB_RESULTS, b"\1" * 32)]), w.lab)
    # No key manages the DID any more, directly or by an ERC-1056 signature.
    with expect_revert("IdentityDeactivated", IdentityDeactivatedError):
        w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, g, 3600), w.patient)


def test_key_rotation_cuts_off_the_delegates_the_old_key_appointed(w: World) -> None:
    """Item 2: a thief who delegated to himself kept granting after the owner rotated."""
    p = w.patient.address
    thief, new_key = w.stranger, w.guardian
    w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, thief.address, 86400), w.patient)
    assert w.ledger.functions.validDelegate(p, SIG_AUTH, thief.address).call()
    w.tx(w.ledger.functions.changeOwner(p, new_key.address), w.patient)  # the owner rotates
    assert w.ledger.functions.delegateEpoch(p).call() == 1
    assert not w.ledger.functions.validDelegate(p, SIG_AUTH, thief.address).call()
    assert w.ledger.functions.delegates(p, keccak(SIG_AUTH), thief.address).call() == 0
    signed = w.sign_grant(thief, p, w.lab)
    with expect_revert("SignerNotAuthorized"):
        w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    # A delegate the new owner appoints works, and so does the same address re-appointed.
    w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, thief.address, 600), new_key)
    assert w.ledger.functions.validDelegate(p, SIG_AUTH, thief.address).call()


def test_erc1056_getters_keep_their_shape(w: World) -> None:
    p, g = w.patient.address, w.guardian.address
    assert w.ledger.functions.owners(p).call() == "0x" + "00" * 20
    receipt = w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, g, 600), w.patient)
    (event,) = w.events(w.ledger, "DIDDelegateChanged", receipt)
    assert w.ledger.functions.delegates(p, keccak(SIG_AUTH), g).call() == event.args.validTo
    w.tx(w.ledger.functions.changeOwner(p, g), w.patient)
    assert w.ledger.functions.owners(p).call() == g


def test_a_signed_owner_change_does_not_replay_on_another_chain(tmp_path) -> None:
    """Item 3: the ERC-1056 digest has no chain id; two chains whose ledgers shared an address
    (same deployer, same nonces) accepted each other's changeOwnerSigned. Deployed through the
    chain-bound factory, the ledgers' addresses differ, so the signature recovers someone else."""
    from collective.chain import connect_embedded
    from tests.helpers import deploy_consortium

    a, b = connect_embedded(chain_id=1337), connect_embedded(chain_id=7331)
    suite_a = deploy_consortium(a, tmp_path / "a.json")
    suite_b = deploy_consortium(b, tmp_path / "b.json")
    assert suite_a.addresses["AccountRules"] == suite_b.addresses["AccountRules"]  # same nonces
    assert suite_a.addresses["ConsentLedger"] != suite_b.addresses["ConsentLedger"]
    ledger_a, ledger_b = suite_a.contract("ConsentLedger"), suite_b.contract("ConsentLedger")
    patient, new_owner, relayer = a.dev_accounts[3], a.dev_accounts[4], a.dev_accounts[5]
    p, n = patient.address, new_owner.address
    payload = (
        b"\x19\x00"
        + bytes.fromhex(ledger_a.address[2:])
        + (0).to_bytes(32, "big")
        + bytes.fromhex(p[2:])
        + b"changeOwner"
        + bytes.fromhex(n[2:])
    )
    sig = Account.unsafe_sign_hash(keccak(payload), patient.key)
    v, r, s = sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big")
    with expect_revert("NotIdentityOwner"):
        b.transact(ledger_b.functions.changeOwnerSigned(p, v, r, s, n), relayer)
    assert ledger_b.functions.identityOwner(p).call() == p
    a.transact(ledger_a.functions.changeOwnerSigned(p, v, r, s, n), relayer)
    assert ledger_a.functions.identityOwner(p).call() == n
