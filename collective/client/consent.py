"""Consents: a subject's identity grants and withdraws consent for an organization's use.

A consent is keyed by (identity, organization, purpose, category). Direct calls here are sent
by the identity's current owner; subjects who do not pay gas sign instead (see
:mod:`~collective.client.signing`) and an organization relays. Purposes and categories are
W3C DPV names (``"dpv:ResearchAndDevelopment"``, ``"dpv-pd:MedicalHealth"``) or 32-byte codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.types import BlockIdentifier, TxReceipt

from collective.client.base import (
    LogRef,
    Session,
    TxResult,
    address_of,
    log_ref,
    term_code,
    tx_fields,
)
from collective.codec import DecodedLog, consent_id
from collective.consent_state import read_status
from collective.errors import ConfigurationError
from collective.revert import error_table
from collective.signing import NO_EXPIRY
from collective.vocab import name_of

Term = str | bytes
Who = str | LocalAccount


@dataclass(frozen=True)
class ConsentKey:
    """What a consent is about: (identity, organization, purpose, category)."""

    identity: str
    organization: str
    purpose: str
    category: str


@dataclass(frozen=True)
class Consent:
    """A consent's stored fields, its state at the block read (one of ``none``, ``active``,
    ``withdrawn``, ``expired``, ``superseded``, ``deactivated``: the one notion of
    :mod:`collective.consent_state` that receipts and the audit use too), whether a use would be
    covered then (the contract's ``isCovered``) and, when not, why."""

    consent_id: str
    identity: str
    organization: str
    purpose: str
    category: str
    expiry: int
    granted_at: int
    policy_version: int
    nonce: int
    active: bool
    covered: bool
    state: str = "none"
    reason: str | None = None


@dataclass(frozen=True)
class Granted(TxResult):
    """A consent was granted (or renewed). ``agent`` is the owner or delegate who authorized it."""

    consent_id: str
    identity: str
    organization: str
    purpose: str
    category: str
    expiry: int
    policy_version: int
    agent: str
    log_index: int


@dataclass(frozen=True)
class Withdrawn(TxResult):
    """A consent was withdrawn. ``was_active`` is False when nothing was active: the withdrawal
    then only cancelled the pending signed requests for the consent (``SignaturesCancelled``)."""

    consent_id: str
    identity: str
    organization: str
    purpose: str
    category: str
    agent: str
    log_index: int
    was_active: bool = True


@dataclass(frozen=True)
class Skipped:
    """Item ``index`` of a relayed signed batch was not applied: ``reason`` names the contract
    error a single relay would have reverted with (e.g. ``"InvalidNonce"``)."""

    index: int
    consent_id: str
    reason: str


@dataclass(frozen=True)
class BatchResult(TxResult):
    """One transaction that granted or withdrew several consents, in order; ``skipped`` lists
    the signed items the contract refused (consumed, expired, invalid) while the rest applied."""

    items: tuple[Granted, ...] | tuple[Withdrawn, ...]
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class GrantItem:
    """One consent of a batch grant by a single identity."""

    organization: Who
    purpose: Term
    category: Term
    expiry: int | None = None
    policy_version: int | None = None


@dataclass(frozen=True)
class ConsentEvent:
    """One entry in a consent timeline."""

    kind: str  # "granted" | "withdrawn"
    key: ConsentKey
    expiry: int | None
    policy_version: int | None
    agent: str
    where: LogRef


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
        """Grant (or renew) a consent, sent by the identity's owner (default: the sender).

        ``expiry`` is a Unix time (default: none); ``policy_version`` defaults to the
        organization's current one.
        """
        org = address_of(organization, "organization")
        who = self._identity(identity)
        version = self._version(org, policy_version)
        receipt = self._s.send(
            "grant",
            who,
            org,
            term_code(purpose, "purpose"),
            term_code(category, "category"),
            _expiry(expiry),
            version,
        )
        return self.granted(receipt)[0]

    def withdraw(
        self, organization: Who, purpose: Term, category: Term, *, identity: Who | None = None
    ) -> Withdrawn:
        """Withdraw a consent, sent by the identity's owner (default: the sender).

        Also cancels every signed request for this consent made before this block; with nothing
        active it does only that (the result's ``was_active`` is False)."""
        key = consent_key(self._identity(identity), organization, purpose, category)
        receipt = self._s.send("withdraw", *key)
        return self.withdrawn(receipt)[0]

    def grant_batch(
        self, items: Sequence[GrantItem], *, identity: Who | None = None
    ) -> BatchResult:
        """Grant many consents of one identity in one transaction (all or nothing)."""
        if not items:
            raise ConfigurationError("a batch grant needs at least one item")
        rows = []
        for item in items:
            org = address_of(item.organization, "organization")
            rows.append(
                (
                    org,
                    term_code(item.purpose, "purpose"),
                    term_code(item.category, "category"),
                    _expiry(item.expiry),
                    self._version(org, item.policy_version),
                )
            )
        receipt = self._s.send("grantBatch", self._identity(identity), rows)
        return BatchResult(**tx_fields(receipt), items=tuple(self.granted(receipt)))

    def withdraw_batch(
        self, items: Sequence[tuple[Who, Term, Term]], *, identity: Who | None = None
    ) -> BatchResult:
        """Withdraw many consents (organization, purpose, category) of one identity at once."""
        if not items:
            raise ConfigurationError("a batch withdrawal needs at least one item")
        rows = [
            (address_of(o, "organization"), term_code(p, "purpose"), term_code(c, "category"))
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
        """The consent's state at ``block`` (default: the latest) and whether a use would be
        covered then. Raises ConfigurationError for an identity DID of another network."""
        who, org, p, c = consent_key(identity, organization, purpose, category)
        fns = self._s.ledger.functions
        status = read_status(self._s.chain, self._s.deployment, who, org, p, c, block=block)
        covered = self._s.call(fns.isCovered(who, org, p, c), block=status.block)
        return Consent(
            consent_id=consent_id(who, org, p, c),
            identity=who,
            organization=org,
            purpose=name_of(p),
            category=name_of(c),
            expiry=status.expiry,
            granted_at=status.granted_at,
            policy_version=status.policy_version,
            nonce=status.nonce,
            active=status.active,
            covered=bool(covered),
            state=str(status.state),
            reason=status.reason,
        )

    def is_covered(
        self,
        identity: Who,
        organization: Who,
        purpose: Term,
        category: Term,
        *,
        block: BlockIdentifier = "latest",
    ) -> bool:
        """Would ``organization``'s use be covered at ``block`` (default: now)?"""
        fn = self._s.ledger.functions.isCovered(
            *consent_key(identity, organization, purpose, category)
        )
        return bool(self._s.call(fn, block=block))

    def by_subject(self, identity: Who) -> list[Consent]:
        """Every consent ever granted by ``identity``, in its current state."""
        return self._current({"identity": address_of(identity, "identity")})

    def by_organization(self, organization: Who) -> list[Consent]:
        """Every consent ever granted to ``organization``, in its current state."""
        return self._current({"organization": address_of(organization, "organization")})

    def timeline(
        self, identity: Who | None = None, organization: Who | None = None
    ) -> list[ConsentEvent]:
        """Grants and withdrawals, filtered by identity and/or organization, in chain order."""
        filters: dict[str, Any] = {}
        if identity is not None:
            filters["identity"] = address_of(identity, "identity")
        if organization is not None:
            filters["organization"] = address_of(organization, "organization")
        events = self._s.events(self._s.ledger.events.ConsentGranted(), filters)
        events += self._s.events(self._s.ledger.events.ConsentWithdrawn(), filters)
        events.sort(key=lambda e: (e["blockNumber"], e["logIndex"]))
        return [_timeline_entry(event) for event in events]

    # --- decoding ------------------------------------------------------------------------------

    def granted(self, receipt: TxReceipt) -> list[Granted]:
        """The consents a transaction granted (events from the suite's ledger only)."""
        fields = tx_fields(receipt)
        out = []
        for event in self._s.decoded(self._s.ledger.events.ConsentGranted(), receipt):
            a = event["args"]
            out.append(
                Granted(
                    **fields,
                    consent_id=self._consent_id(a),
                    identity=a["identity"],
                    organization=a["organization"],
                    purpose=name_of(a["purpose"]),
                    category=name_of(a["category"]),
                    expiry=int(a["expiry"]),
                    policy_version=int(a["policyVersion"]),
                    agent=a["agent"],
                    log_index=int(event["logIndex"]),
                )
            )
        return out

    def withdrawn(self, receipt: TxReceipt) -> list[Withdrawn]:
        """The consents a transaction withdrew, and those where it only cancelled pending
        signatures (``was_active`` False), in log order."""
        fields = tx_fields(receipt)
        events = self._s.decoded(self._s.ledger.events.ConsentWithdrawn(), receipt)
        events += self._s.decoded(self._s.ledger.events.SignaturesCancelled(), receipt)
        events.sort(key=lambda e: int(e["logIndex"]))
        return [
            Withdrawn(
                **fields,
                consent_id=self._consent_id(e["args"]),
                identity=e["args"]["identity"],
                organization=e["args"]["organization"],
                purpose=name_of(e["args"]["purpose"]),
                category=name_of(e["args"]["category"]),
                agent=e["args"]["agent"],
                log_index=int(e["logIndex"]),
                was_active=e["event"] == "ConsentWithdrawn",
            )
            for e in events
        ]

    def skipped(self, receipt: TxReceipt) -> list[Skipped]:
        """The items of a relayed signed batch that the contract skipped, with the reason."""
        table = error_table()
        out = []
        for e in self._s.decoded(self._s.ledger.events.SignedRequestSkipped(), receipt):
            selector = bytes(e["args"]["reason"])
            known = table.get(selector)
            out.append(
                Skipped(
                    index=int(e["args"]["index"]),
                    consent_id="0x" + bytes(e["args"]["consentId"]).hex(),
                    reason=known.name if known else "0x" + selector.hex(),
                )
            )
        return out

    # --- helpers -------------------------------------------------------------------------------

    def _identity(self, identity: Who | None) -> str:
        return address_of(identity if identity is not None else self._s.sender, "identity")

    def _version(self, organization: str, given: int | None) -> int:
        if given is not None:
            return given
        version = int(self._s.call(self._s.ledger.functions.currentPolicyVersion(organization)))
        if version == 0:
            raise ConfigurationError(
                f"organization {organization} has not published a policy, so nothing can be "
                "consented to yet",
                hint="the organization must publish one first (`collective policy publish`)",
            )
        return version

    def _consent_id(self, args: Any) -> str:
        return consent_id(args["identity"], args["organization"], args["purpose"], args["category"])

    def _current(self, filters: dict[str, Any]) -> list[Consent]:
        events = self._s.events(self._s.ledger.events.ConsentGranted(), filters)
        keys = dict.fromkeys(
            (a["identity"], a["organization"], bytes(a["purpose"]), bytes(a["category"]))
            for a in (event["args"] for event in events)
        )
        return [self.status(*key) for key in keys]


def consent_key(
    identity: Who, organization: Who, purpose: Term, category: Term
) -> tuple[str, str, bytes, bytes]:
    """The contract's arguments for a consent: checksummed identity and organization, purpose
    and category codes."""
    return (
        address_of(identity, "identity"),
        address_of(organization, "organization"),
        term_code(purpose, "purpose"),
        term_code(category, "category"),
    )


def _expiry(expiry: int | None) -> int:
    return NO_EXPIRY if expiry is None else int(expiry)


def _timeline_entry(event: DecodedLog) -> ConsentEvent:
    a = event["args"]
    granted = event["event"] == "ConsentGranted"
    return ConsentEvent(
        kind="granted" if granted else "withdrawn",
        key=ConsentKey(
            a["identity"], a["organization"], name_of(a["purpose"]), name_of(a["category"])
        ),
        expiry=int(a["expiry"]) if granted else None,
        policy_version=int(a["policyVersion"]) if granted else None,
        agent=a["agent"],
        where=log_ref(event),
    )


__all__ = [
    "BatchResult",
    "Consent",
    "ConsentClient",
    "ConsentEvent",
    "ConsentKey",
    "GrantItem",
    "Granted",
    "Skipped",
    "Withdrawn",
]
