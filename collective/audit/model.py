"""The audit's records: frozen dataclasses returned by sync, verify and report.

:class:`ConsentEvent`, :class:`Flag` and :class:`LogPosition` are the client's own records
(:mod:`collective.client.records`, :mod:`collective.types`): one vocabulary for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collective.client.records import ChainEvent, ConsentEvent, Flag
from collective.types import Address, LogPosition, TxHash


@dataclass(frozen=True)
class ForeignLog:
    """A log with one of the suite's event signatures from an address not in the manifest:
    ignored by the index, reported so an auditor sees the look-alike."""

    block: int
    tx_hash: TxHash
    log_index: int
    address: str
    event: str


@dataclass(frozen=True)
class Reorg:
    """The chain changed under the index: blocks after ``fork_block`` were re-indexed."""

    fork_block: int
    dropped_blocks: int
    dropped_events: int


@dataclass(frozen=True)
class SyncResult:
    """One run of :func:`collective.audit.sync`: the index file, the chain id, the first
    block and the block synced to, the head seen, the blocks and events indexed in this run,
    look-alike logs and reorgs met, ``eth_getLogs`` ranges read, retries and wall seconds."""

    db: str
    chain_id: int
    first_block: int
    synced_to: int
    head: int
    blocks: int
    events: int
    foreign: tuple[ForeignLog, ...]
    reorgs: tuple[Reorg, ...]
    ranges: int
    retries: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        """Events indexed per wall second in this run (0 for an instant run)."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Violation:
    """One rule the record breaks (``rule``, e.g. ``"no-consent"``), a sentence saying how,
    where (block, transaction hash, log index; None for index-wide rules) and the evidence."""

    rule: str
    message: str
    block: int | None = None
    tx_hash: str | None = None
    log_index: int | None = None
    evidence: dict[str, str | int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyResult:
    """The verdict of :func:`collective.audit.verify`: ``ok`` when nothing is violated.
    ``uses`` and ``disclosures`` count the ``DataUsed`` and ``DataDisclosed`` events checked."""

    db: str
    synced_to: int | None
    events: int
    uses: int
    blocks: int
    code_checked: tuple[str, ...]
    violations: tuple[Violation, ...]
    foreign: int
    seconds: float
    disclosures: int = 0

    @property
    def ok(self) -> bool:
        """True when no rule is violated."""
        return not self.violations


@dataclass(frozen=True)
class ConsentRef(ChainEvent):
    """The grant a use relied on: where it sits, its block's time (unix seconds), its expiry
    (unix seconds, None for never), the policy version granted under and the agent."""

    expiry: int | None
    policy_version: int
    agent: Address


@dataclass(frozen=True)
class UseEntry(ChainEvent):
    """One data use in a report: where (block, transaction, log index) and when (unix
    seconds), whose data, which organization, what for (DPV purpose and category names, or
    ``0x`` codes), the data reference (``0x`` + 64 hex), the policy version with its content
    hash and URI, the consent it relied on (None when none was active) and whether the board
    flagged it."""

    identity: Address
    organization: Address
    purpose: str
    category: str
    data_ref: str
    policy_version: int
    policy_hash: str | None
    policy_uri: str | None
    consent: ConsentRef | None
    flagged: bool


@dataclass(frozen=True)
class DisclosureEntry(ChainEvent):
    """One onward disclosure in a report (``DataDisclosed``): where and when (unix seconds),
    whose data, which organization passed it (``discloser``) to which (``recipient``), what for
    (DPV purpose and category names, or ``0x`` codes), the data reference (``0x`` + 64 hex),
    the recipient's policy version with its content hash and URI, and the disclosure-consent
    grant it relied on (None when none was active)."""

    identity: Address
    discloser: Address
    recipient: Address
    purpose: str
    category: str
    data_ref: str
    policy_version: int
    policy_hash: str | None
    policy_uri: str | None
    consent: ConsentRef | None


@dataclass(frozen=True)
class DisclosureConsentEntry(ChainEvent):
    """A disclosure-consent grant or withdrawal in a report: where and when (unix seconds),
    ``action`` (``"grant"`` or ``"withdraw"``), whose consent, that ``discloser`` may pass its
    data to ``recipient``, what for (DPV names or ``0x`` codes), a grant's expiry (unix
    seconds, None for never and for a withdrawal) and the recipient's policy version agreed
    to (None for a withdrawal), ``was_active`` (False: a withdrawal that found nothing active
    and only voided pending signatures) and the agent who authorized it."""

    action: str
    identity: Address
    discloser: Address
    recipient: Address
    purpose: str
    category: str
    expiry: int | None
    policy_version: int | None
    was_active: bool
    agent: Address


@dataclass(frozen=True)
class BoardAction(ChainEvent):
    """An oversight or admission event about an organization (suspension, proposal, ...):
    where and when (unix seconds), the contract and event names, its subject (lowercase
    address or None) and its other arguments."""

    contract: str
    event: str
    subject: str | None
    details: dict[str, str | int | None]


@dataclass(frozen=True)
class Report:
    """What the index says about one subject, one organization, or everything: ``scope``
    (``"subject"``, ``"organization"`` or ``"all"``) and its ``target``, the index's chain and
    last synced block, and the uses, consent timeline, board actions, flags, look-alike logs,
    onward disclosures and disclosure-consent timeline in chain order (an organization's
    report holds the disclosures it made or received)."""

    scope: str  # "subject" | "organization" | "all"
    target: str | None
    chain_id: int | None
    synced_to: int | None
    uses: tuple[UseEntry, ...]
    consents: tuple[ConsentEvent, ...]
    board: tuple[BoardAction, ...]
    flags: tuple[Flag, ...]
    foreign: tuple[ForeignLog, ...]
    disclosures: tuple[DisclosureEntry, ...] = ()
    disclosure_consents: tuple[DisclosureConsentEntry, ...] = ()


__all__ = [
    "BoardAction",
    "ConsentEvent",
    "ConsentRef",
    "DisclosureConsentEntry",
    "DisclosureEntry",
    "Flag",
    "ForeignLog",
    "LogPosition",
    "Reorg",
    "Report",
    "SyncResult",
    "UseEntry",
    "VerifyResult",
    "Violation",
]
