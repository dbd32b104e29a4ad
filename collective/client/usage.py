"""Data uses: an organization records each use of a subject's data; the contract refuses any
use no valid consent covers.

Only a 32-byte reference to the data goes on chain (:func:`~collective.client.base.data_ref`
hashes a record locator), never the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web3.types import TxReceipt

from collective.client.base import (
    LogRef,
    Session,
    TxResult,
    address_of,
    data_ref,
    hex32,
    log_ref,
    term_code,
    tx_fields,
)
from collective.client.consent import Term, Who
from collective.codec import DecodedLog
from collective.errors import ConfigurationError
from collective.vocab import name_of


@dataclass(frozen=True)
class UsageRecord:
    """One recorded use, as the chain's DataUsed event has it."""

    identity: str
    organization: str
    purpose: str
    category: str
    data_ref: str
    policy_version: int
    where: LogRef
    timestamp: int


@dataclass(frozen=True)
class UseRecorded(TxResult):
    """A transaction that recorded one or more uses."""

    records: tuple[UsageRecord, ...]


@dataclass(frozen=True)
class UseItem:
    """One use in a batch."""

    identity: Who
    purpose: Term
    category: Term
    data_ref: bytes | str


class UsageClient:
    """Record uses (as an organization) and read a subject's data-use history."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def record(
        self, identity: Who, purpose: Term, category: Term, data: bytes | str
    ) -> UseRecorded:
        """Record one use by the sender's organization; raises ConsentError (e.g. NoConsent,
        ConsentExpired, StalePolicyVersion) when no valid consent covers it."""
        receipt = self._s.send(
            "recordUse",
            address_of(identity, "identity"),
            term_code(purpose, "purpose"),
            term_code(category, "category"),
            data_ref(data),
        )
        return self._result(receipt)

    def record_batch(self, items: Sequence[UseItem]) -> UseRecorded:
        """Record many uses in one transaction; all or nothing."""
        if not items:
            raise ConfigurationError("a batch of uses needs at least one item")
        rows = [
            (
                address_of(i.identity, "identity"),
                term_code(i.purpose, "purpose"),
                term_code(i.category, "category"),
                data_ref(i.data_ref),
            )
            for i in items
        ]
        return self._result(self._s.send("recordUseBatch", rows))

    def history(
        self, identity: Who | None = None, organization: Who | None = None
    ) -> list[UsageRecord]:
        """Every recorded use of ``identity``'s data (and/or by ``organization``), oldest first."""
        filters: dict[str, Any] = {}
        if identity is not None:
            filters["identity"] = address_of(identity, "identity")
        if organization is not None:
            filters["organization"] = address_of(organization, "organization")
        events = self._s.events(self._s.ledger.events.DataUsed(), filters)
        times: dict[int, int] = {}
        return [self._record(event, times) for event in events]

    def in_transaction(self, tx_hash: str) -> UseRecorded:
        """The uses a mined transaction recorded (none if it recorded none)."""
        chain = self._s.chain
        with chain.exclusive(), chain.reading("reading the transaction receipt", tx_hash=tx_hash):
            receipt = chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        return self._result(receipt)

    def _result(self, receipt: TxReceipt) -> UseRecorded:
        times: dict[int, int] = {}
        events = self._s.decoded(self._s.ledger.events.DataUsed(), receipt)
        records = tuple(self._record(event, times) for event in events)
        return UseRecorded(**tx_fields(receipt), records=records)

    def _record(self, event: DecodedLog, times: dict[int, int]) -> UsageRecord:
        a = event["args"]
        block = int(event["blockNumber"])
        if block not in times:
            with self._s.chain.exclusive():
                times[block] = int(self._s.chain.w3.eth.get_block(block)["timestamp"])
        return UsageRecord(
            identity=a["identity"],
            organization=a["organization"],
            purpose=name_of(a["purpose"]),
            category=name_of(a["category"]),
            data_ref=hex32(a["dataRef"]),
            policy_version=int(a["policyVersion"]),
            where=log_ref(event),
            timestamp=times[block],
        )


__all__ = ["UsageClient", "UsageRecord", "UseItem", "UseRecorded"]
