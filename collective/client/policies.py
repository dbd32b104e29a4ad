"""Policies: each organization publishes numbered, hash-pinned versions of its policy.

The document itself stays off chain; its SHA-256 (``sha256sum policy.md``) and a URI where it
can be read go on chain with the purposes (W3C DPV terms, hashed) it covers. A consent names
the version it agreed to, and a use is covered only under the organization's current one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from collective.chain.codec import DecodedLog
from collective.client.base import (
    Session,
    TxResult,
    first,
    hex32,
    tx_fields,
)
from collective.errors import InvalidInputError, NotFoundError
from collective.ledger.vocab import name_of
from collective.types import Address, TxHash


@dataclass(frozen=True)
class Policy:
    """A published policy version: the organization, the version number, the document's
    SHA-256 (``0x`` + 64 hex), where to read it, the purposes it covers (DPV names where known,
    else ``0x`` codes), and the block and transaction that published it."""

    organization: Address
    version: int
    content_hash: str
    uri: str
    purposes: tuple[str, ...]
    block_number: int
    tx_hash: TxHash


@dataclass(frozen=True)
class PolicyPublished(TxResult):
    """A new policy version was published (the transaction and the :class:`Policy`)."""

    policy: Policy


def content_hash(content: bytes) -> bytes:
    """The policy document's hash as stored on chain: SHA-256 of its bytes (32 bytes)."""
    return hashlib.sha256(content).digest()


class Policies:
    """Publish and read organizations' policy versions."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def publish(
        self,
        document: bytes | str | Path,
        uri: str,
        purposes: Sequence[str | bytes],
    ) -> PolicyPublished:
        """Publish the sender's next policy version.

        Args:
            document: the policy's bytes or a path to it (hashed with SHA-256; only the hash
                goes on chain).
            uri: where people read it.
            purposes: the DPV purposes it covers (names or 32-byte codes).

        Returns:
            The :class:`PolicyPublished` record, with the new :class:`Policy`.

        Raises:
            InvalidInputError: no purposes, a purpose outside the DPV vocabulary (unless
                ``custom_terms``), or ``document`` is a path that cannot be read.
            ConfigurationError: a read-only client.
            NotPermittedError: the sender is not an active organization.
            ChainError: the node could not be reached.
        """
        content = _read(document)
        if not purposes:
            raise InvalidInputError(
                "a policy must cover at least one purpose", hint="e.g. dpv:ResearchAndDevelopment"
            )
        codes = [self._s.term(purpose, "purpose") for purpose in purposes]
        fn = self._s.ledger.functions.publishPolicy(content_hash(content), uri, codes)
        receipt = self._s.transact(fn)
        event = first(self._s.decoded(self._s.ledger.events.PolicyPublished(), receipt), "policy")
        return PolicyPublished(**tx_fields(receipt), policy=_policy(event))

    def current_version(self, organization: str | LocalAccount) -> int:
        """The organization's current policy version (0 if it never published one).

        Args:
            organization: the organization's address, account or DID.

        Raises:
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ChainError: the node could not be reached.
        """
        address = self._s.address(organization, "organization")
        return int(self._s.call(self._s.ledger.functions.currentPolicyVersion(address)))

    def current(self, organization: str | LocalAccount) -> Policy:
        """The organization's current policy.

        Args:
            organization: the organization's address, account or DID.

        Raises:
            NotFoundError: it never published one.
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ChainError: the node could not be reached.
        """
        address = self._s.address(organization, "organization")
        version = self.current_version(address)
        if version == 0:
            raise NotFoundError(
                f"organization {address} has not published a policy",
                hint="publish one with `collective policy publish`",
            )
        return self.get(address, version)

    def get(self, organization: str | LocalAccount, version: int) -> Policy:
        """One published version, with its URI (from its PolicyPublished event).

        Args:
            organization: the organization's address, account or DID.
            version: the version number (1, 2, ...).

        Raises:
            NotFoundError: the organization has no such version.
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ChainError: the node could not be reached.
        """
        address = self._s.address(organization, "organization")
        found = self._events(address, version)
        if not found:
            raise NotFoundError(f"organization {address} has no policy version {version}")
        return found[-1]

    def history(self, organization: str | LocalAccount) -> list[Policy]:
        """Every version the organization published, oldest first.

        Args:
            organization: the organization's address, account or DID.

        Raises:
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ChainError: the node could not be reached.
        """
        return self._events(self._s.address(organization, "organization"))

    def covers(self, organization: str | LocalAccount, purpose: str | bytes) -> bool:
        """Whether the organization's current policy covers ``purpose``.

        Args:
            organization: the organization's address, account or DID.
            purpose: a DPV purpose name or its 32-byte code.

        Raises:
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ChainError: the node could not be reached.
        """
        address = self._s.address(organization, "organization")
        fn = self._s.ledger.functions.currentPolicyCovers(address, self._s.term(purpose, "purpose"))
        return bool(self._s.call(fn))

    def _events(self, organization: str, version: int | None = None) -> list[Policy]:
        filters: dict[str, object] = {"organization": organization}
        if version is not None:
            filters["version"] = version
        events = self._s.events(self._s.ledger.events.PolicyPublished(), filters)
        return [_policy(event) for event in events]


def _policy(event: DecodedLog) -> Policy:
    args = event.args
    return Policy(
        organization=args["organization"],
        version=int(args["version"]),
        content_hash=hex32(args["contentHash"]),
        uri=args["uri"],
        purposes=tuple(name_of(code) for code in args["purposes"]),
        block_number=event.block_number,
        tx_hash=TxHash(event.tx_hash),
    )


def _read(document: bytes | str | Path) -> bytes:
    if isinstance(document, bytes):
        return document
    path = Path(document)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read the policy document {path}: {exc.strerror or exc}"
        ) from None


__all__ = ["Policies", "Policy", "PolicyPublished", "content_hash"]
