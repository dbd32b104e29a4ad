"""Identities: did:ethr DIDs anchored in the suite's ERC-1056 registry.

Consents belong to the identity (the DID's address), not to a key: after
:meth:`DidClient.change_owner` the new key acts for the identity and the old one can do
nothing. A guardian is a ``sigAuth`` delegate (:meth:`DidClient.add_guardian`): it can sign
grants and withdrawals for the identity until the delegation expires. The gasless changes
(the identity's key signs, this client relays) come from
:class:`~collective.client.did_signed.SignedDidChanges`.

A DID given here must be anchored on the session's chain (its chain id in hex, a network name
hardhat.config.json gives that chain id, or no network part): one of another network is
refused with InvalidInputError, and :meth:`DidClient.resolution` answers ``unknownNetwork``
for it as ethr-did-resolver does.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from collective import did as _did
from collective.client.base import Session
from collective.client.consent import Who
from collective.client.did_signed import DidChange, SignedDidChanges, _kind
from collective.did import SIG_AUTH, VERI_KEY, Did, DidDocument, RegistryEvent
from collective.types import Address

GUARDIAN_VALIDITY = 365 * 24 * 3600  # a year, unless said otherwise


class DidClient(SignedDidChanges):
    """Parse, format and resolve did:ethr DIDs; manage delegates, owners and attributes."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def did_of(self, identity: Who) -> str:
        """The identity's DID on this chain: ``did:ethr:0x<chainId hex>:<checksummed address>``.

        Args:
            identity: an address, an account or a DID.

        Raises:
            InvalidInputError: not an address or a DID, or a DID of another network.
        """
        return _did.format_did(self._address(identity, "identity"), self._s.chain.chain_id)

    def parse(self, text: str) -> Did:
        """Parse a did:ethr DID anchored on this chain.

        Args:
            text: ``did:ethr:[network:]0x<40 hex or a 33-byte public key>``.

        Returns:
            The parsed :class:`~collective.did.Did`.

        Raises:
            InvalidInputError: ``text`` is malformed, or a DID of another network.
        """
        return self._s.did_networks.check(text)

    def resolve(self, did: str | Did | LocalAccount, *, block: int | None = None) -> DidDocument:
        """The W3C DID document, from the registry's change log.

        Args:
            did: a DID, or an address or account standing for its DID on this chain.
            block: resolve as of this block number (default: the latest).

        Returns:
            The :class:`~collective.did.DidDocument` (deactivated ones included).

        Raises:
            InvalidInputError: a DID of another network.
            ChainError: the node could not be reached.
        """
        return _did.resolve(
            self._s.chain,
            self._s.ledger,
            self._target(did),
            block=block,
            networks=self._s.did_networks,
        )

    def resolution(
        self, did: str | Did | LocalAccount, *, block: int | None = None
    ) -> dict[str, Any]:
        """The DID resolution result, as ethr-did-resolver returns it.

        Args:
            did: a DID, or an address or account standing for its DID on this chain.
            block: resolve as of this block number (default: the latest).

        Returns:
            ``{"didDocument", "didDocumentMetadata", "didResolutionMetadata"}``; for a DID of
            another network ``didResolutionMetadata.error == "unknownNetwork"``.

        Raises:
            ChainError: the node could not be reached.
        """
        return _did.resolution(
            self._s.chain,
            self._s.ledger,
            self._target(did),
            block=block,
            networks=self._s.did_networks,
        )

    def deactivated(self, identity: Who) -> bool:
        """Whether the identity was deactivated (its owner is the zero address).

        Raises:
            InvalidInputError: as :meth:`owner`.
            ChainError: the node could not be reached.
        """
        return self.owner(identity).lower() == _did.DEACTIVATED.lower()

    def _target(self, did: str | Did | LocalAccount) -> str | Did:
        if isinstance(did, LocalAccount):
            return self.did_of(did)
        if isinstance(did, str) and not did.strip().startswith("did:"):
            return self.did_of(did)
        return did.strip() if isinstance(did, str) else did

    def change_log(self, identity: Who) -> list[RegistryEvent]:
        """The identity's registry events (owner, delegate and attribute changes), oldest
        first, read by walking the registry's ``changed`` block links.

        Raises:
            InvalidInputError: as :meth:`owner`.
            ChainError: the node could not be reached.
        """
        return _did.change_log(self._s.chain, self._s.ledger, self._address(identity, "identity"))

    def add_delegate(
        self,
        delegate: Who,
        delegate_type: str | bytes,
        validity: int,
        *,
        identity: Who | None = None,
    ) -> DidChange:
        """Add a delegate, sent by the identity's owner.

        Args:
            delegate: the delegate's address, account or DID.
            delegate_type: ``"sigAuth"`` (may sign for the identity) or ``"veriKey"``, or its
                32 bytes.
            validity: seconds from the block's time.
            identity: whose delegate (default: the sender).

        Returns:
            The :class:`DidChange`.

        Raises:
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ConfigurationError: a read-only client.
            TransactionError: the registry refused it (e.g. the sender is not the owner).
            ChainError: the node could not be reached.
        """
        who = self._identity(identity)
        receipt = _did.add_delegate(
            self._s.chain, self._s.ledger, self._s.sender, who, delegate_type,
            self._address(delegate, "delegate"), validity,
        )  # fmt: skip
        return self._result(receipt, who, f"{_kind(delegate_type)} delegate added")

    def add_guardian(
        self, guardian: Who, validity: int = GUARDIAN_VALIDITY, *, identity: Who | None = None
    ) -> DidChange:
        """Let ``guardian`` sign consents for the identity (a ``sigAuth`` delegate).

        Args:
            guardian: the guardian's address, account or DID.
            validity: seconds from the block's time (default a year).
            identity: whose guardian (default: the sender).

        Raises:
            As :meth:`add_delegate`.
        """
        return self.add_delegate(guardian, SIG_AUTH, validity, identity=identity)

    def revoke_delegate(
        self, delegate: Who, delegate_type: str | bytes, *, identity: Who | None = None
    ) -> DidChange:
        """Revoke a delegate (its validity ends at this block), sent by the identity's owner.

        Args:
            delegate: the delegate's address, account or DID.
            delegate_type: ``"sigAuth"`` or ``"veriKey"``, or its 32 bytes.
            identity: whose delegate (default: the sender).

        Raises:
            As :meth:`add_delegate`.
        """
        who = self._identity(identity)
        receipt = _did.revoke_delegate(
            self._s.chain, self._s.ledger, self._s.sender, who, delegate_type,
            self._address(delegate, "delegate"),
        )  # fmt: skip
        return self._result(receipt, who, f"{_kind(delegate_type)} delegate revoked")

    def change_owner(self, new_owner: Who, *, identity: Who | None = None) -> DidChange:
        """Hand the identity to a new key (e.g. after the old one was lost); consents stay
        with the identity.

        Args:
            new_owner: the new key's address, account or DID.
            identity: which identity (default: the sender).

        Raises:
            As :meth:`add_delegate`.
        """
        who = self._identity(identity)
        receipt = _did.change_owner(
            self._s.chain,
            self._s.ledger,
            self._s.sender,
            who,
            self._address(new_owner, "new owner"),
        )
        return self._result(receipt, who, "owner changed")

    def deactivate(self, *, identity: Who | None = None) -> DidChange:
        """Deactivate the identity for good: no key can act for it again.

        Args:
            identity: which identity (default: the sender).

        Raises:
            As :meth:`add_delegate`.
        """
        who = self._identity(identity)
        receipt = _did.change_owner(
            self._s.chain, self._s.ledger, self._s.sender, who, "0x" + "00" * 20
        )
        return self._result(receipt, who, "deactivated")

    def set_attribute(
        self, name: str | bytes, value: str | bytes, validity: int, *, identity: Who | None = None
    ) -> DidChange:
        """Publish ``did/pub/...`` key material or a ``did/svc/...`` service endpoint.

        Args:
            name: the attribute name (e.g. ``"did/svc/HubService"``), or its 32 bytes.
            value: its value (text or bytes).
            validity: seconds from the block's time.
            identity: whose attribute (default: the sender).

        Raises:
            As :meth:`add_delegate`.
        """
        who = self._identity(identity)
        receipt = _did.set_attribute(
            self._s.chain, self._s.ledger, self._s.sender, who, name, value, validity
        )
        return self._result(receipt, who, "attribute set")

    def revoke_attribute(
        self, name: str | bytes, value: str | bytes, *, identity: Who | None = None
    ) -> DidChange:
        """Revoke an attribute set with :meth:`set_attribute` (same ``name`` and ``value``).

        Args:
            name: the attribute name, or its 32 bytes.
            value: its value.
            identity: whose attribute (default: the sender).

        Raises:
            As :meth:`add_delegate`.
        """
        who = self._identity(identity)
        receipt = _did.revoke_attribute(
            self._s.chain, self._s.ledger, self._s.sender, who, name, value
        )
        return self._result(receipt, who, "attribute revoked")

    def _identity(self, identity: Who | None) -> Address:
        return self._address(identity if identity is not None else self._s.sender, "identity")


__all__ = ["GUARDIAN_VALIDITY", "SIG_AUTH", "VERI_KEY", "DidChange", "DidClient"]
