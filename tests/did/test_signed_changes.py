"""ERC-1056 signed delegate changes (collective.did.signed) relayed by someone else
(DidClient.relay_delegate_change) on the embedded chain: the owner holds no ether, the relayer
pays; a wrong nonce, a wrong signer, another chain and a deactivated identity are refused with
a plain sentence before any gas is spent."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from collective import Collective
from collective.chain import Chain
from collective.deploy import Deployment
from collective.did import SIG_AUTH
from collective.did.signed import DelegateChange, SignedDelegateChange, change_digest
from collective.errors import (
    IdentityDeactivatedError,
    InvalidInputError,
    NotPermittedError,
    SignatureError,
)

DAY = 24 * 3600


@pytest.fixture
def relayer(chain: Chain, suite: Deployment) -> Collective:
    """An admitted organization (dev account 1) that relays and pays."""
    admin = Collective(chain, suite, chain.dev_accounts[0])
    admin.orgs.admit(chain.dev_accounts[1].address)
    return admin.as_account(chain.dev_accounts[1])


def _valid(relayer: Collective, identity: str, delegate: str) -> bool:
    fn = relayer.session.ledger.functions.validDelegate(identity, SIG_AUTH, delegate)
    return bool(relayer.session.call(fn))


def test_digest_is_the_registrys_packing(relayer: Collective) -> None:
    registry, identity, delegate = relayer.did.registry, Account.create(), Account.create()
    change = relayer.did.delegate_change(delegate.address, "sigAuth", DAY, identity=identity)
    packed = (
        b"\x19\x00"
        + bytes.fromhex(registry[2:])
        + (0).to_bytes(32, "big")
        + bytes.fromhex(identity.address[2:])
        + b"addDelegate"
        + SIG_AUTH
        + bytes.fromhex(delegate.address[2:])
        + DAY.to_bytes(32, "big")
    )
    assert change.digest() == keccak(packed)
    assert change.digest() == change_digest(
        registry, 0, identity.address, "addDelegate", change.fields()
    )


def test_an_owner_without_ether_appoints_and_revokes_through_a_relayer(
    chain: Chain, relayer: Collective
) -> None:
    child, guardian = Account.create(), Account.create()
    assert int(chain.request("eth_getBalance", [child.address, "latest"]), 16) == 0
    change = relayer.did.delegate_change(guardian.address, "sigAuth", DAY, identity=child)
    wire = change.sign(child).to_json()  # what a browser sends
    assert json.loads(wire)["delegateType"] == "sigAuth"
    appointed = relayer.did.relay_delegate_change(SignedDelegateChange.from_json(wire))
    assert appointed.change == "sigAuth delegate added"
    assert appointed.did == relayer.did.did_of(child.address)
    assert _valid(relayer, child.address, guardian.address)
    assert relayer.did.registry_nonce(child.address) == 1

    revoke = relayer.did.delegate_change(guardian.address, "sigAuth", None, identity=child)
    revoked = relayer.did.relay_delegate_change(
        SignedDelegateChange.from_json(revoke.sign(child).to_json())
    )
    assert revoked.change == "sigAuth delegate revoked"
    assert not _valid(relayer, child.address, guardian.address)
    assert (
        int(chain.request("eth_getBalance", [child.address, "latest"]), 16) == 0
    )  # the relayer paid


def test_a_replayed_or_wrongly_numbered_change_is_refused_without_gas(
    chain: Chain, relayer: Collective
) -> None:
    child, guardian = Account.create(), Account.create()
    change = relayer.did.delegate_change(guardian.address, "sigAuth", DAY, identity=child)
    signed = change.sign(child)
    relayer.did.relay_delegate_change(signed)
    block = chain.block_number()
    with pytest.raises(
        SignatureError, match="signed at registry nonce 0, but the owner's nonce is 1"
    ):
        relayer.did.relay_delegate_change(signed)  # replayed
    ahead = DelegateChange(**{**change.__dict__, "nonce": 5})
    with pytest.raises(SignatureError, match="relayed already, or another signed change"):
        relayer.did.relay_delegate_change(ahead.sign(child))
    assert chain.block_number() == block  # nothing was sent


def test_a_change_signed_by_someone_else_than_the_owner_is_refused(
    chain: Chain, relayer: Collective
) -> None:
    child, stranger = Account.create(), Account.create()
    change = relayer.did.delegate_change(stranger.address, "sigAuth", DAY, identity=child)
    block = chain.block_number()
    with pytest.raises(NotPermittedError) as refused:
        relayer.did.relay_delegate_change(change.sign(stranger))
    assert refused.value.error_name == "NotIdentityOwner"
    assert f"identity {child.address} is owned by {child.address}" in refused.value.message
    assert refused.value.hint == "sign with the key that owns the identity now"
    assert chain.block_number() == block
    assert not _valid(relayer, child.address, stranger.address)


def test_after_a_key_rotation_the_new_key_signs_at_its_own_nonce(relayer: Collective) -> None:
    child, successor, guardian = Account.create(), Account.create(), Account.create()
    relayer.did.change_owner_signed(child, successor.address)
    change = relayer.did.delegate_change(guardian.address, "sigAuth", DAY, identity=child)
    assert change.nonce == 0  # the successor's nonce, not the old key's (now 1)
    with pytest.raises(NotPermittedError, match="only the owner's key"):
        relayer.did.relay_delegate_change(change.sign(child))
    relayer.did.relay_delegate_change(change.sign(successor))
    assert _valid(relayer, child.address, guardian.address)


def test_another_chain_a_deactivated_identity_and_bad_json_are_named(
    relayer: Collective,
) -> None:
    child, guardian = Account.create(), Account.create()
    change = relayer.did.delegate_change(guardian.address, "sigAuth", DAY, identity=child)
    elsewhere = DelegateChange(**{**change.__dict__, "chain_id": 1})
    with pytest.raises(InvalidInputError, match="on chain 1, not this ledger's registry"):
        relayer.did.relay_delegate_change(elsewhere.sign(child))

    wire = json.loads(change.sign(child).to_json())
    for broken, complaint in [
        ({**wire, "validity": None}, "addDelegate needs a validity"),
        ({**wire, "delegate": "0x1234"}, "delegate"),
        ({k: v for k, v in wire.items() if k != "nonce"}, "it has no field nonce"),
        ({**wire, "kind": "grant"}, '"kind" must be "delegateChange"'),
    ]:
        with pytest.raises(InvalidInputError, match=complaint):
            SignedDelegateChange.from_json(json.dumps(broken))
    with pytest.raises(SignatureError, match="not made by"):
        SignedDelegateChange.from_json(json.dumps({**wire, "validity": str(2 * DAY)}))

    relayer.did.change_owner_signed(child, "0x" + "00" * 20)  # deactivation
    with pytest.raises(IdentityDeactivatedError, match="is deactivated"):
        relayer.did.relay_delegate_change(change.sign(child))
