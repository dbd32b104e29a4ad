"""Consents: a subject's identity grants and withdraws consent for an organization's use.

A consent is keyed by (identity, organization, purpose, category). Direct calls here are sent
by the identity's current owner; subjects who do not pay gas sign instead (see
:mod:`~collective.client.signing`) and an organization relays. Purposes and categories are
W3C DPV names (``"dpv:ResearchAndDevelopment"``, ``"dpv-pd:MedicalHealth"``) or 32-byte codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3.types import BlockIdentifier, TxReceipt

from collective.chain.codec import consent_id
from collective.client import consent_logs
from collective.client.base import Session, address_of, term_code
from collective.client.records import (
    BatchResult,
    Consent,
    ConsentEvent,
    ConsentKey,
    ConsentReading,
    Granted,
    GrantItem,
    Skipped,
    Term,
    Who,
    Withdrawn,
    expiry_or_none,
    tx_fields,
)
from collective.errors import InvalidInputError, NotFoundError
from collective.ledger.consent_state import ConsentState, read_status
from collective.ledger.vocab import name_of
from collective.types import NO_EXPIRY, Address, ConsentId


class ConsentClient:
    """Grant, withdraw and query consents."""

    def __init__(self, session: Session) -> None:
        self._s = session

    # --- writes --------------------------------------------------------------------------------

    def grant(
        self,
        organization: Who,
        purpose: Term,
        category: Term,
        *,
        identity: Who | None = None,
        expiry: int | None = None,
        policy_version: int | None = None,
    ) -> Granted:
        """Grant (or renew) a consent, sent by the identity's owner.

        Args:
            organization: the organization's address, account or DID.
            purpose: a DPV purpose name (``"dpv:ResearchAndDevelopment"``) or its 32-byte code.
            category: a DPV personal-data category name or its 32-byte code.
            identity: whose consent (address, account or DID; default: the sender).
            expiry: when it ends, unix seconds (default: never).
            policy_version: the policy version agreed to (default: the current one).

        Returns:
            The :class:`Granted` record of the transaction.

        Raises:
            NotFoundError: the organization has published no policy.
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ConfigurationError: a read-only client.
            TransactionError: the contract refused it (a typed subclass such as
                NotPermittedError or IdentityDeactivatedError names the contract error).
            ChainError: the node could not be reached.
        """
        org = self._s.address(organization, "organization")
        who = self._identity(identity)
        version = self._version(org, policy_version)
        receipt = self._s.send(
            "grant",
            who,
            org,
            self._s.term(purpose, "purpose"),
            self._s.term(category, "category"),
            _expiry(expiry),
            version,
        )
        return self.granted(receipt)[0]

    def withdraw(
        self, organization: Who, purpose: Term, category: Term, *, identity: Who | None = None
    ) -> Withdrawn:
        """Withdraw a consent, sent by the identity's owner.

        Also cancels every signed request for this consent made before this block; with nothing
        active it does only that (the result's ``was_active`` is False).

        Args:
            organization: the organization's address, account or DID.
            purpose: a DPV purpose name (``"dpv:ResearchAndDevelopment"``) or its 32-byte code.
            category: a DPV personal-data category name or its 32-byte code.
            identity: whose consent (default: the sender).

        Returns:
            The :class:`Withdrawn` record.

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ConfigurationError: a read-only client.
            TransactionError: the contract refused it (a typed subclass such as
                NotPermittedError or IdentityDeactivatedError names the contract error).
            ChainError: the node could not be reached.
        """
        key = consent_key(self._identity(identity), organization, purpose, category, self._s)
        receipt = self._s.send("withdraw", *key)
        return self.withdrawn(receipt)[0]

    def grant_batch(
        self, items: Sequence[GrantItem], *, identity: Who | None = None
    ) -> BatchResult:
        """Grant many consents of one identity in one transaction (all or nothing).

        Args:
            items: the consents (:class:`GrantItem`: organization, purpose, category, expiry
                in unix seconds or None for never, policy version or None for the current).
            identity: whose consents (default: the sender).

        Returns:
            A :class:`BatchResult` whose ``items`` are the :class:`Granted` records, in order.

        Raises:
            InvalidInputError: ``items`` is empty, an address or DID is not one, a DID of
                another network, or a term outside the DPV vocabulary (unless ``custom_terms``).
            NotFoundError: an organization has published no policy.
            ConfigurationError: a read-only client.
            TransactionError: the contract refused it (a typed subclass such as
                NotPermittedError or IdentityDeactivatedError names the contract error).
            ChainError: the node could not be reached.
        """
        if not items:
            raise InvalidInputError("a batch grant needs at least one item")
        rows = []
        for item in items:
            org = self._s.address(item.organization, "organization")
            rows.append(
                (
                    org,
                    self._s.term(item.purpose, "purpose"),
                    self._s.term(item.category, "category"),
                    _expiry(item.expiry),
                    self._version(org, item.policy_version),
                )
            )
        receipt = self._s.send("grantBatch", self._identity(identity), rows)
        return BatchResult(**tx_fields(receipt), items=tuple(self.granted(receipt)))

    def withdraw_batch(
        self, items: Sequence[tuple[Who, Term, Term]], *, identity: Who | None = None
    ) -> BatchResult:
        """Withdraw many consents of one identity in one transaction (all or nothing).

        Args:
            items: ``(organization, purpose, category)`` triples.
            identity: whose consents (default: the sender).

        Returns:
            A :class:`BatchResult` whose ``items`` are the :class:`Withdrawn` records.

        Raises:
            InvalidInputError: ``items`` is empty, an address or DID is not one, a DID of
                another network, or a term outside the DPV vocabulary (unless ``custom_terms``).
            ConfigurationError: a read-only client.
            TransactionError: the contract refused it (a typed subclass such as
                NotPermittedError or IdentityDeactivatedError names the contract error).
            ChainError: the node could not be reached.
        """
        if not items:
            raise InvalidInputError("a batch withdrawal needs at least one item")
        rows = [
            (
                self._s.address(o, "organization"),
                self._s.term(p, "purpose"),
                self._s.term(c, "category"),
            )
            for o, p, c in items
        ]
        receipt = self._s.send("withdrawBatch", self._identity(identity), rows)
        return BatchResult(**tx_fields(receipt), items=tuple(self.withdrawn(receipt)))

    # --- reads ---------------------------------------------------------------------------------

    def status(
        self,
        identity: Who,
        organization: Who,
        purpose: Term,
        category: Term,
        *,
        block: BlockIdentifier = "latest",
    ) -> Consent:
        """The consent's state at ``block`` and whether a use would be covered then (at
        ``"latest"``, expiry is judged by the later of the block's time and the wall clock:
        the next block is stamped when it is mined).

        Args:
            identity: the subject's address, account or DID.
            organization: the organization's address, account or DID.
            purpose: a DPV purpose name (``"dpv:ResearchAndDevelopment"``) or its 32-byte code.
            category: a DPV personal-data category name or its 32-byte code.
            block: a block number or tag (default ``"latest"``).

        Returns:
            The :class:`Consent` (state ``none`` for one never granted); :meth:`reading`
            gives the organization's standing and current policy version with it.

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ChainError: the node could not be reached.
        """
        return self.reading(identity, organization, purpose, category, block=block).consent

    def reading(
        self,
        identity: Who,
        organization: Who,
        purpose: Term,
        category: Term,
        *,
        block: BlockIdentifier = "latest",
    ) -> ConsentReading:
        """The consent at ``block`` with everything its state follows from, in one read.

        Args:
            identity: the subject's address, account or DID.
            organization: the organization's address, account or DID.
            purpose: a DPV purpose name (``"dpv:ResearchAndDevelopment"``) or its 32-byte code.
            category: a DPV personal-data category name or its 32-byte code.
            block: a block number or tag (default ``"latest"``).

        Returns:
            A :class:`ConsentReading`: the :class:`Consent` record and the
            :class:`~collective.ledger.consent_state.ConsentStatus` (organization standing,
            current policy version, block number and time) it was built from.

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ChainError: the node could not be reached.
        """
        who, org, p, c = consent_key(identity, organization, purpose, category, self._s)
        fns = self._s.ledger.functions
        status = read_status(self._s.chain, self._s.deployment, who, org, p, c, block=block)
        covered = self._s.call(fns.isCovered(who, org, p, c), block=status.block)
        # isCovered compares the expiry with the latest block's time; on an idle chain the
        # state (read_status) also counts the wall clock
        covered = bool(covered) and status.state is not ConsentState.EXPIRED
        consent = Consent(
            consent_id=ConsentId(consent_id(who, org, p, c)),
            identity=who,
            organization=org,
            purpose=name_of(p),
            category=name_of(c),
            expiry=expiry_or_none(status.expiry),
            granted_at=status.granted_at,
            policy_version=status.policy_version,
            nonce=status.nonce,
            active=status.active,
            covered=bool(covered),
            state=str(status.state),
            reason=status.reason,
        )
        return ConsentReading(consent, status)

    def is_covered(
        self,
        identity: Who,
        organization: Who,
        purpose: Term,
        category: Term,
        *,
        block: BlockIdentifier = "latest",
    ) -> bool:
        """Whether ``organization``'s use would be covered at ``block`` (``isCovered``; at
        ``"latest"``, a consent past its expiry by the wall clock is not, as :meth:`reading`
        says).

        Args:
            identity: the subject's address, account or DID.
            organization: the organization's address, account or DID.
            purpose: a DPV purpose name (``"dpv:ResearchAndDevelopment"``) or its 32-byte code.
            category: a DPV personal-data category name or its 32-byte code.
            block: a block number or tag (default ``"latest"``).

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ChainError: the node could not be reached.
        """
        if block == "latest":  # an expiry passed by the clock on an idle chain counts
            return self.reading(identity, organization, purpose, category).consent.covered
        fn = self._s.ledger.functions.isCovered(
            *consent_key(identity, organization, purpose, category, self._s)
        )
        return bool(self._s.call(fn, block=block))

    def by_subject(self, identity: Who) -> list[Consent]:
        """Every consent ever granted by ``identity``, in its current state (one
        :meth:`status` per consent, in order of first grant).

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ChainError: the node could not be reached.
        """
        return self._current({"identity": self._s.address(identity, "identity")})

    def by_organization(self, organization: Who) -> list[Consent]:
        """Every consent ever granted to ``organization``, in its current state.

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ChainError: the node could not be reached.
        """
        return self._current({"organization": self._s.address(organization, "organization")})

    def timeline(
        self, identity: Who | None = None, organization: Who | None = None
    ) -> list[ConsentEvent]:
        """Grants and withdrawals, in chain order, each with its block's time.

        Args:
            identity: only this subject's (address, account or DID; default: all).
            organization: only those for this organization (default: all).

        Returns:
            :class:`~collective.client.records.ConsentEvent` records (``expiry`` None for
            never and for withdrawals), the same records the audit's reports hold.

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ChainError: the node could not be reached.
        """
        filters = self._s.party_filters(identity, organization)
        events = self._s.events(self._s.ledger.events.ConsentGranted(), filters)
        events += self._s.events(self._s.ledger.events.ConsentWithdrawn(), filters)
        events.sort(key=lambda e: (e.block_number, e.log_index))
        times = self._s.block_times(e.block_number for e in events)
        return [consent_logs.timeline_entry(event, times[event.block_number]) for event in events]

    # --- decoding ------------------------------------------------------------------------------

    def granted(self, receipt: TxReceipt) -> list[Granted]:
        """The consents a transaction granted, in log order (see
        :func:`~collective.client.consent_logs.granted`)."""
        return consent_logs.granted(self._s, receipt)

    def withdrawn(self, receipt: TxReceipt) -> list[Withdrawn]:
        """The consents a transaction withdrew, and those where it only cancelled pending
        signatures (``was_active`` False), in log order."""
        return consent_logs.withdrawn(self._s, receipt)

    def skipped(self, receipt: TxReceipt) -> list[Skipped]:
        """The items of a relayed signed batch the contract skipped, with the reason."""
        return consent_logs.skipped(self._s, receipt)

    # --- helpers -------------------------------------------------------------------------------

    def _identity(self, identity: Who | None) -> Address:
        return self._s.address(identity if identity is not None else self._s.sender, "identity")

    def _version(self, organization: str, given: int | None) -> int:
        if given is not None:
            return given
        version = int(self._s.call(self._s.ledger.functions.currentPolicyVersion(organization)))
        if version == 0:
            raise NotFoundError(
                f"organization {organization} has not published a policy, so nothing can be "
                "consented to yet",
                hint="the organization must publish one first (`collective policy publish`)",
            )
        return version

    def _current(self, filters: dict[str, Any]) -> list[Consent]:
        events = self._s.events(self._s.ledger.events.ConsentGranted(), filters)
        keys = dict.fromkeys(
            (a["identity"], a["organization"], bytes(a["purpose"]), bytes(a["category"]))
            for a in (event["args"] for event in events)
        )
        return [self.status(*key) for key in keys]


def consent_key(
    identity: Who,
    organization: Who,
    purpose: Term,
    category: Term,
    session: Session | None = None,
) -> tuple[Address, Address, bytes, bytes]:
    """The contract's arguments for a consent.

    Args:
        identity, organization: addresses, accounts or did:ethr DIDs.
        purpose, category: DPV names or 32-byte codes.
        session: the session whose chain DIDs must name and whose ``custom_terms`` applies
            (see :func:`~collective.client.base.address_of`, :func:`term_code`).

    Returns:
        (checksummed identity, checksummed organization, purpose code, category code).

    Raises:
        InvalidInputError: an address or DID that is not one, a DID of another network, or a
            term outside the DPV vocabulary (unless ``session.custom_terms``).
    """
    return (
        address_of(identity, "identity", session),
        address_of(organization, "organization", session),
        term_code(purpose, "purpose", session),
        term_code(category, "category", session),
    )


def _expiry(expiry: int | None) -> int:
    return NO_EXPIRY if expiry is None else int(expiry)


__all__ = [
    "BatchResult",
    "Consent",
    "ConsentClient",
    "ConsentEvent",
    "ConsentKey",
    "ConsentReading",
    "GrantItem",
    "Granted",
    "Skipped",
    "Term",
    "Who",
    "Withdrawn",
    "consent_key",
]
