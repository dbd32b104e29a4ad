"""DIDRegistry: ERC-1056 owners, delegates, attributes, signed variants and changed links."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from tests.helpers import SIG_AUTH, VERI_KEY, World, expect_revert


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
