"""The records the client and the audit both return: one consent event, one flag, one result.

:class:`TxResult` is what every write returns (derived results add their fields);
:class:`ConsentEvent` is a grant or a withdrawal as the chain's logs have it, and :class:`Flag`
a data use the oversight board flagged, whether read by a :class:`~collective.Collective`
(``consent.timeline()``, ``oversight.flags()``) or from an audit index
(:func:`collective.audit.report`). Where an event sits is a
:class:`~collective.types.LogPosition`. "No expiry" is ``None`` at this edge, in every record
(ConsentEvent, Consent, Granted); the on-chain ``2**64 - 1`` stays inside the codec, signed
requests and a receipt's evidence.

``collective.client.base.LogRef`` (0.1) is a deprecated alias of
:class:`~collective.types.LogPosition`; the 0.1 field names of the client's ``ConsentEvent``
(``kind``, ``key``, ``where``) and ``Flag`` (``reason``, ``where``) stay readable as
properties for one release. The consent results (:class:`Consent`, :class:`Granted`,
:class:`Withdrawn`, :class:`BatchResult`, ...) live here too and are re-exported by
:mod:`collective.client.consent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

from eth_account.signers.local import LocalAccount

from collective.types import NO_EXPIRY, Address, ConsentId, LogPosition, TxHash, tx_hash

if TYPE_CHECKING:
    from collective.ledger.consent_state import ConsentStatus

Term = str | bytes
"""A purpose or category: a DPV name (``"dpv:ResearchAndDevelopment"``) or its 32-byte code."""
Who = str | LocalAccount
"""An identity, organization or member: an address, a did:ethr DID or an account."""


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: its hash (``0x`` + 64 hex), block number and the gas it used."""

    tx_hash: TxHash
    block_number: int
    gas_used: int


def tx_fields(receipt: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`TxResult` fields of a transaction receipt (web3's ``TxReceipt`` shape), to
    build a derived result with ``**``: ``{"tx_hash", "block_number", "gas_used"}``."""
    return {
        "tx_hash": tx_hash(bytes(receipt["transactionHash"])),
        "block_number": int(receipt["blockNumber"]),
        "gas_used": int(receipt["gasUsed"]),
    }


def log_position(event: Mapping[str, Any] | Any) -> LogPosition:
    """Where ``event`` (a :class:`~collective.chain.codec.DecodedLog` or web3 ``EventData``, whose
    ``transactionHash`` is 32 bytes) was emitted."""
    return LogPosition(
        block=int(event["blockNumber"]),
        tx_hash=tx_hash(bytes(event["transactionHash"])),
        log_index=int(event["logIndex"]),
    )


def expiry_or_none(value: int | None) -> int | None:
    """The API-edge expiry (unix seconds, ``None`` for never) of an on-chain or indexed value:
    0, :data:`~collective.types.NO_EXPIRY` and the audit index's capped 2**63 - 1 are None."""
    if value is None or value in (0, NO_EXPIRY) or value >= 2**63 - 1:
        return None
    return int(value)


@dataclass(frozen=True)
class ConsentKey:
    """What a consent is about: (identity, organization, purpose, category); addresses
    checksummed, purpose and category DPV names where known, else ``0x`` codes."""

    identity: Address
    organization: Address
    purpose: str
    category: str


@dataclass(frozen=True)
class ChainEvent:
    """What every event record starts with: where the event was emitted (``block``,
    ``tx_hash``, ``log_index``) and its block's time (``timestamp``, unix seconds)."""

    block: int
    tx_hash: TxHash
    log_index: int
    timestamp: int

    derived: ClassVar[tuple[str, ...]] = ()
    """The properties :meth:`to_dict` adds to the fields (what a reader sees, such as a
    flag's reason as text)."""

    def to_dict(self) -> dict[str, Any]:
        """The record as a dict, for JSON: every field by name (values unconverted: a
        ``LogPosition`` stays one) and the readable properties named in :attr:`derived`
        (a ConsentEvent's ``kind``, a Flag's ``reason``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update((name, getattr(self, name)) for name in self.derived)
        return out

    @property
    def position(self) -> LogPosition:
        """Where the event sits on the chain."""
        return LogPosition(self.block, self.tx_hash, self.log_index)

    @property
    def where(self) -> LogPosition:
        """Deprecated (0.1): :attr:`position`."""
        return self.position


@dataclass(frozen=True)
class ConsentEvent(ChainEvent):
    """A grant or a withdrawal in a consent timeline (``ConsentGranted``/``ConsentWithdrawn``).

    ``block``, ``tx_hash``, ``log_index``: where it was emitted; ``timestamp``: its block's
    time (unix seconds); ``action``: ``"grant"`` or ``"withdraw"``; ``expiry``: unix seconds,
    None for a grant that never expires and for a withdrawal; ``policy_version``: the version
    granted under (None for a withdrawal); ``agent``: the owner or delegate who acted.
    """

    action: str  # "grant" | "withdraw"
    identity: Address
    organization: Address
    purpose: str
    category: str
    expiry: int | None
    policy_version: int | None
    agent: Address

    derived: ClassVar[tuple[str, ...]] = ("kind",)  # the 0.1 field scripts read

    @property
    def kind(self) -> str:
        """Deprecated (0.1): ``"granted"`` or ``"withdrawn"``; use :attr:`action`."""
        return "granted" if self.action == "grant" else "withdrawn"

    @property
    def key(self) -> ConsentKey:
        """The consent the event is about."""
        return ConsentKey(self.identity, self.organization, self.purpose, self.category)


@dataclass(frozen=True)
class Flag(ChainEvent):
    """A data use the oversight board flagged (``UseFlagged``).

    ``block``, ``tx_hash``, ``log_index``, ``timestamp`` (unix seconds): the flagging event;
    ``use_ref``: ``keccak256(abi.encode(useTxHash, useLogIndex))`` as ``0x`` hex;
    ``reason_hash``: the proposal's 32-byte reason as ``0x`` hex (:attr:`reason` is its text);
    ``use``: the flagged use's position when known (the audit resolves it from its index; the
    client leaves it None).
    """

    use_ref: str
    organization: Address
    reason_hash: str
    proposal_id: int
    use: LogPosition | None = None

    derived: ClassVar[tuple[str, ...]] = ("reason",)

    @property
    def reason(self) -> str:
        """The reason as text (its 32 bytes up to the first zero padding)."""
        raw = bytes.fromhex(self.reason_hash.removeprefix("0x"))
        return raw.rstrip(b"\0").decode(errors="replace")


@dataclass(frozen=True)
class Consent:
    """A consent's stored fields, its state at the block read and whether a use would be
    covered then (the contract's ``isCovered``) and, when not, why.

    ``expiry`` and ``granted_at`` are unix seconds (``expiry`` is None for never and for a
    consent never granted; ``granted_at`` 0 for the latter); ``state`` is one of ``none``,
    ``active``, ``withdrawn``, ``expired``, ``superseded``, ``deactivated``: the one notion of
    :mod:`collective.ledger.consent_state` that receipts and the audit use too."""

    consent_id: ConsentId
    identity: Address
    organization: Address
    purpose: str
    category: str
    expiry: int | None
    granted_at: int
    policy_version: int
    nonce: int
    active: bool
    covered: bool
    state: str = "none"
    reason: str | None = None


@dataclass(frozen=True)
class ConsentReading:
    """One read of a consent at one block: the :class:`Consent` record and the full
    :class:`~collective.ledger.consent_state.ConsentStatus` it was built from (the
    organization's standing, its current policy version, the block and its time), which
    :meth:`~collective.client.consent.ConsentClient.reading` returns together."""

    consent: Consent
    status: ConsentStatus


@dataclass(frozen=True)
class Granted(TxResult):
    """A consent was granted (or renewed): its id, key, expiry (unix seconds; None for never),
    the policy version agreed to, the owner or delegate
    who authorized it (``agent``) and the log's index in the block."""

    consent_id: ConsentId
    identity: Address
    organization: Address
    purpose: str
    category: str
    expiry: int | None
    policy_version: int
    agent: Address
    log_index: int


@dataclass(frozen=True)
class Withdrawn(TxResult):
    """A consent was withdrawn. ``was_active`` is False when nothing was active: the withdrawal
    then only cancelled the pending signed requests for the consent (``SignaturesCancelled``)."""

    consent_id: ConsentId
    identity: Address
    organization: Address
    purpose: str
    category: str
    agent: Address
    log_index: int
    was_active: bool = True


@dataclass(frozen=True)
class Skipped:
    """Item ``index`` of a relayed signed batch was not applied: ``reason`` names the contract
    error a single relay would have reverted with (e.g. ``"InvalidNonce"``)."""

    index: int
    consent_id: ConsentId
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


__all__ = [
    "BatchResult",
    "ChainEvent",
    "Consent",
    "ConsentEvent",
    "ConsentKey",
    "ConsentReading",
    "Flag",
    "GrantItem",
    "Granted",
    "Skipped",
    "Term",
    "TxResult",
    "Who",
    "Withdrawn",
    "expiry_or_none",
    "log_position",
    "tx_fields",
]
