"""The records of onward disclosure (``DisclosureLog.sol``) the client returns, and their
decoding from the chain's logs: grants, withdrawals, ``DataDisclosed`` events, a stored
disclosure consent, and the rows a recipient must stop acting on (GDPR Art. 7(3), Art. 19).

Addresses are checksummed; purposes and categories are DPV names (``0x`` codes when unknown);
times are unix seconds; an expiry of never is None (as in :mod:`collective.client.records`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from collective.chain.codec import DecodedLog
from collective.client.base import hex32
from collective.client.records import Term, TxResult, Who, expiry_or_none, log_position, tx_fields
from collective.ledger.vocab import name_of
from collective.types import Address, LogPosition

Key = tuple[Address, Address, Address, bytes, bytes]
"""A disclosure consent: (identity, discloser, recipient, purpose code, category code)."""


class Parties(TypedDict):
    """The five fields every disclosure record starts with."""

    identity: Address
    discloser: Address
    recipient: Address
    purpose: str
    category: str


@dataclass(frozen=True)
class DisclosureGranted(TxResult):
    """A mined disclosure-consent grant: ``expiry`` unix seconds (None: never),
    ``policy_version`` the recipient's, ``agent`` the owner or delegate who authorized it."""

    identity: Address
    discloser: Address
    recipient: Address
    purpose: str
    category: str
    expiry: int | None
    policy_version: int
    agent: Address


@dataclass(frozen=True)
class DisclosureWithdrawn(TxResult):
    """A mined withdrawal; ``was_active`` False when nothing was active and it only voided
    the signed requests with a nonce below ``nonce``."""

    identity: Address
    discloser: Address
    recipient: Address
    purpose: str
    category: str
    was_active: bool
    nonce: int
    agent: Address


@dataclass(frozen=True)
class DisclosureRecord:
    """One ``DataDisclosed`` event: DPV names (``0x`` codes when unknown), ``data_ref``
    ``0x`` + 64 hex, the recipient's ``policy_version``, where it sits and its block's time
    (unix seconds)."""

    identity: Address
    discloser: Address
    recipient: Address
    purpose: str
    category: str
    data_ref: str
    policy_version: int
    where: LogPosition
    timestamp: int


@dataclass(frozen=True)
class DisclosuresRecorded(TxResult):
    """A transaction that recorded disclosures (its records in log order)."""

    records: tuple[DisclosureRecord, ...]


@dataclass(frozen=True)
class DisclosureItem:
    """One disclosure in a batch (the discloser is the sender): subject, recipient, DPV
    purpose and category (names or 32-byte codes), data reference (a record locator, keyed
    or hashed as :mod:`collective.client.usage` says, or 32 bytes)."""

    identity: Who
    recipient: Who
    purpose: Term
    category: Term
    data_ref: bytes | str


@dataclass(frozen=True)
class DisclosureConsent:
    """A disclosure consent's stored state read at a block of time ``read_at`` (unix s):
    ``expiry`` None for never (and for never granted), ``granted_at`` 0 if never granted,
    ``stored_active`` the contract's flag (granted and not withdrawn), ``covered`` whether
    ``recordDisclosure`` would pass (``isDisclosureCovered``) and, when it would not,
    ``refusal``: the contract's reason, as the error a disclosure would get says it."""

    identity: Address
    discloser: Address
    recipient: Address
    purpose: str
    category: str
    expiry: int | None
    granted_at: int
    policy_version: int
    nonce: int
    stored_active: bool
    covered: bool
    read_at: int
    refusal: str | None = None

    @property
    def expired(self) -> bool:
        """Granted and not withdrawn, but its expiry has passed."""
        return self.stored_active and self.expiry is not None and self.read_at >= self.expiry

    @property
    def active(self) -> bool:
        """Granted, not withdrawn, not expired."""
        return self.stored_active and not self.expired


@dataclass(frozen=True)
class ToStop:
    """A disclosure consent the recipient must stop acting on: ``reason`` "withdrawn" (the
    subject withdrew it, in ``block`` at ``timestamp``) or "erasure-requested" (the subject
    asked the discloser to erase, GDPR Art. 19; ``block`` and ``timestamp`` of the request).
    ``disclosures``: how many the recipient had received under it before then."""

    reason: str
    identity: Address
    discloser: Address
    recipient: Address
    purpose: str
    category: str
    block: int
    timestamp: int
    disclosures: int


def key_of(log: DecodedLog) -> Key:
    """The disclosure consent a ``DisclosureConsent*`` or ``DataDisclosed`` log is about."""
    a = log.args
    return (
        a["identity"],
        a["discloser"],
        a["recipient"],
        bytes(a["purpose"]),
        bytes(a["category"]),
    )


def parties(key: Key) -> Parties:
    """``key`` as record fields (DPV names for the codes)."""
    who, disc, rec, p, c = key
    return Parties(
        identity=who, discloser=disc, recipient=rec, purpose=name_of(p), category=name_of(c)
    )


def granted(log: DecodedLog, receipt: Mapping[str, Any]) -> DisclosureGranted:
    """The :class:`DisclosureGranted` of a ``DisclosureConsentGranted`` log in ``receipt``."""
    a = log.args
    return DisclosureGranted(
        **tx_fields(receipt),
        **parties(key_of(log)),
        expiry=expiry_or_none(int(a["expiry"])),
        policy_version=int(a["policyVersion"]),
        agent=a["agent"],
    )


def withdrawn(log: DecodedLog, receipt: Mapping[str, Any]) -> DisclosureWithdrawn:
    """The :class:`DisclosureWithdrawn` of a ``DisclosureConsentWithdrawn`` log."""
    a = log.args
    return DisclosureWithdrawn(
        **tx_fields(receipt),
        **parties(key_of(log)),
        was_active=bool(a["wasActive"]),
        nonce=int(a["nonce"]),
        agent=a["agent"],
    )


def record(log: DecodedLog, timestamp: int) -> DisclosureRecord:
    """The :class:`DisclosureRecord` of a ``DataDisclosed`` log whose block has ``timestamp``."""
    return DisclosureRecord(
        **parties(key_of(log)),
        data_ref=hex32(log.args["dataRef"]),
        policy_version=int(log.args["policyVersion"]),
        where=log_position(log),
        timestamp=timestamp,
    )


def stop_rows(
    found: Iterable[tuple[str, Key, DecodedLog]],
    received: list[DecodedLog],
    times: Mapping[int, int],
) -> list[ToStop]:
    """The :class:`ToStop` rows of ``(reason, key, log that ended it)`` triples, each with
    the number of ``received`` ``DataDisclosed`` logs under its key emitted before that log;
    ordered by block, then reason, then identity. ``times``: block -> unix seconds."""
    out = []
    for reason, key, log in found:
        mark = (log.block_number, log.log_index)
        before = Counter(key_of(r) for r in received if (r.block_number, r.log_index) < mark)
        out.append(
            ToStop(
                reason=reason,
                **parties(key),
                block=log.block_number,
                timestamp=times[log.block_number],
                disclosures=before[key],
            )
        )
    out.sort(key=lambda row: (row.block, row.reason, row.identity))
    return out


__all__ = [
    "DisclosureConsent",
    "DisclosureGranted",
    "DisclosureItem",
    "DisclosureRecord",
    "DisclosureWithdrawn",
    "DisclosuresRecorded",
    "Key",
    "Parties",
    "ToStop",
    "granted",
    "key_of",
    "parties",
    "record",
    "stop_rows",
    "withdrawn",
]
