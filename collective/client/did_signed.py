"""Gasless identity changes: the identity's owner signs an ERC-1056 change (a raw-hash
signature, :mod:`collective.did.signed`), anyone admitted relays it and pays.

:class:`SignedDidChanges` is the part of :class:`~collective.client.did.DidClient` that builds,
signs and relays these changes (``addDelegateSigned``, ``revokeDelegateSigned``,
``changeOwnerSigned``), checking a change someone else signed against the registry before any
gas is spent; with the registry reads it needs (``registry``, ``owner``) and
:class:`DidChange`, the result of every registry change.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from collective import did as _did
from collective.client.base import Session
from collective.client.consent import Who
from collective.client.records import TxResult, tx_fields
from collective.did.signed import (
    DelegateChange,
    SignedDelegateChange,
    change_digest,
    check_relayable,
    sign_digest,
)
from collective.types import Address


@dataclass(frozen=True)
class DidChange(TxResult):
    """A change to an identity in the registry: the identity's DID on this chain and what
    changed (``"sigAuth delegate added"``, ``"owner changed"``, ``"deactivated"``, ...)."""

    did: str
    change: str  # "delegate added", "owner changed", ...


class SignedDidChanges:
    """ERC-1056 signed changes relayed by this client's account (a base of
    :class:`~collective.client.did.DidClient`, which sets ``_s``, the session)."""

    _s: Session

    @property
    def registry(self) -> Address:
        """The ERC-1056 registry's address (the suite's ConsentLedger)."""
        return Address(str(self._s.ledger.address))

    def owner(self, identity: Who) -> Address:
        """The identity's current owner (the identity itself until it was changed).

        Args:
            identity: an address, an account or a DID.

        Raises:
            InvalidInputError: not an address or a DID, or a DID of another network.
            ChainError: the node could not be reached.
        """
        fn = self._s.ledger.functions.identityOwner(self._address(identity, "identity"))
        return Address(str(self._s.call(fn)))

    def registry_nonce(self, identity: Who) -> int:
        """The registry's meta-transaction nonce of the identity's current owner: the
        ``nonce`` an ERC-1056 signed change for ``identity`` must be signed with now.

        Raises:
            InvalidInputError: as :meth:`owner`.
            ChainError: the node could not be reached.
        """
        return int(self._s.call(self._s.ledger.functions.nonce(self.owner(identity))))

    def delegate_change(
        self, delegate: Who, delegate_type: str | bytes, validity: int | None, *, identity: Who
    ) -> DelegateChange:
        """An unsigned ERC-1056 delegate change of ``identity`` at the registry's nonce now,
        for its owner to sign (:meth:`~collective.did.signed.DelegateChange.sign`, or the
        portal's page) and anyone to relay (:meth:`relay_delegate_change`).

        Args:
            delegate: the delegate's address, account or DID.
            delegate_type: ``"sigAuth"`` (a guardian) or ``"veriKey"``, or its 32 bytes.
            validity: seconds from the relaying block's time (``addDelegate``), or None
                (``revokeDelegate``).
            identity: whose delegate.

        Raises:
            InvalidInputError: a malformed address, type or validity.
            ChainError: the node could not be reached.
        """
        who = self._address(identity, "identity")
        return DelegateChange(
            action="revokeDelegate" if validity is None else "addDelegate",
            chain_id=self._s.chain.chain_id,
            registry=self.registry,
            identity=who,
            delegate_type=_did._bytes32(delegate_type, "delegate type"),
            delegate=self._address(delegate, "delegate"),
            nonce=self.registry_nonce(who),
            validity=validity,
        )

    def relay_delegate_change(self, signed: SignedDelegateChange) -> DidChange:
        """Relay a delegate change its identity's owner signed (``addDelegateSigned`` or
        ``revokeDelegateSigned``); this client's account pays. Checked first against the
        registry now (:func:`~collective.did.signed.check_relayable`), so a change the
        registry would refuse costs no gas.

        Args:
            signed: the :class:`~collective.did.signed.SignedDelegateChange` (e.g. parsed
                from a browser's JSON by ``SignedDelegateChange.from_json``).

        Returns:
            The :class:`DidChange`.

        Raises:
            InvalidInputError: signed for another chain or registry.
            IdentityDeactivatedError: the identity was deactivated.
            NotPermittedError: the signer is not the identity's owner (NotIdentityOwner).
            SignatureError: the change was signed at another nonce than the owner's now
                (relayed already, or overtaken).
            ConfigurationError: a read-only client.
            TransactionError: the registry refused it; ChainError: no node.
        """
        change = signed.change
        who = self._address(change.identity, "identity")
        owner = self.owner(who)
        nonce = int(self._s.call(self._s.ledger.functions.nonce(owner)))
        chain_id = self._s.chain.chain_id
        check_relayable(signed, chain_id=chain_id, registry=self.registry, owner=owner, nonce=nonce)
        v, r, s, kind, delegate = (
            signed.v,
            signed.r,
            signed.s,
            change.delegate_type,
            change.delegate,
        )
        if change.validity is None:
            fn = self._s.ledger.functions.revokeDelegateSigned(who, v, r, s, kind, delegate)
            done = f"{_kind(kind)} delegate revoked"
        else:
            fn = self._s.ledger.functions.addDelegateSigned(
                who, v, r, s, kind, delegate, change.validity
            )
            done = f"{_kind(kind)} delegate added"
        return self._result(self._s.transact(fn), who, done)

    def add_delegate_signed(
        self,
        owner: LocalAccount,
        delegate: Who,
        delegate_type: str | bytes,
        validity: int,
        *,
        identity: Who | None = None,
    ) -> DidChange:
        """Gasless :meth:`add_delegate`: ``owner`` (the identity's key, e.g. a child's phone
        with no ether) signs the delegation (ERC-1056's signed-change digest); this client's
        account relays ``addDelegateSigned`` and pays.

        Args:
            owner: the identity owner's key.
            delegate, delegate_type, validity: as :meth:`add_delegate`.
            identity: which identity (default: ``owner``'s address).

        Raises:
            As :meth:`add_delegate` and :meth:`relay_delegate_change`.
        """
        who = identity if identity is not None else owner
        change = self.delegate_change(delegate, delegate_type, validity, identity=who)
        return self.relay_delegate_change(change.sign(owner))

    def revoke_delegate_signed(
        self,
        owner: LocalAccount,
        delegate: Who,
        delegate_type: str | bytes,
        *,
        identity: Who | None = None,
    ) -> DidChange:
        """Gasless :meth:`revoke_delegate`: ``owner`` signs, this client relays.

        Args:
            owner: the identity owner's key.
            delegate, delegate_type: as :meth:`revoke_delegate`.
            identity: which identity (default: ``owner``'s address).

        Raises:
            As :meth:`add_delegate` and :meth:`relay_delegate_change`.
        """
        who = identity if identity is not None else owner
        change = self.delegate_change(delegate, delegate_type, None, identity=who)
        return self.relay_delegate_change(change.sign(owner))

    def change_owner_signed(
        self, owner: LocalAccount, new_owner: Who, *, identity: Who | None = None
    ) -> DidChange:
        """Gasless :meth:`change_owner`: ``owner`` signs, this client relays.

        Args:
            owner: the identity owner's key.
            new_owner: the new key's address, account or DID.
            identity: which identity (default: ``owner``'s address).

        Raises:
            As :meth:`add_delegate`.
        """
        who = self._address(identity if identity is not None else owner, "identity")
        target = self._address(new_owner, "new owner")
        nonce = int(self._s.call(self._s.ledger.functions.nonce(owner.address)))
        digest = change_digest(self.registry, nonce, who, "changeOwner", [("address", target)])
        v, r, s = sign_digest(owner, digest)
        fn = self._s.ledger.functions.changeOwnerSigned(who, v, r, s, target)
        return self._result(self._s.transact(fn), who, "owner changed")

    def _address(self, value: Who, what: str) -> Address:
        return self._s.address(value, what)

    def _result(self, receipt: TxReceipt, identity: str, change: str) -> DidChange:
        did = _did.format_did(self._address(identity, "identity"), self._s.chain.chain_id)
        return DidChange(**tx_fields(receipt), did=did, change=change)


def _kind(delegate_type: str | bytes) -> str:
    raw = delegate_type.encode() if isinstance(delegate_type, str) else bytes(delegate_type)
    return raw.rstrip(b"\0").decode(errors="replace")


__all__ = ["DidChange", "SignedDidChanges"]
