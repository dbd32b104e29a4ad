"""Data uses: an organization records each use of a subject's data; the contract refuses any
use no valid consent covers.

Only a 32-byte reference to the data goes on chain, never the data. A record locator given as
text (or bytes other than 32) becomes that reference in one of two ways:

- with a :class:`~collective.client.datarefs.DataRefStore` (``Collective(...,
  data_refs=...)``, recommended): ``HMAC-SHA256`` under a secret kept off chain for the
  (organization, subject) pair, so nobody who guesses the locator can confirm it, the same
  locator of two subjects gives unrelated references, and forgetting the secret unlinks the
  subject's past references (erasure, issue 13 section 2);
- without one (the behaviour before keyed references): its keccak256
  (:func:`~collective.client.base.data_ref`), which anyone who guesses the locator can confirm.

A 32-byte reference (bytes, or ``0x`` + 64 hex) goes on chain as given either way.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from web3.types import TxReceipt

from collective.chain.codec import DecodedLog
from collective.client.base import Session, data_ref, hex32, raw_ref
from collective.client.consent import Term, Who
from collective.client.datarefs import DataRefStore
from collective.client.records import TxResult, log_position, tx_fields
from collective.errors import ChainError, InvalidInputError, NotFoundError, TransactionError
from collective.ledger.vocab import name_of
from collective.types import Address, LogPosition, TxHash, tx_hash


@dataclass(frozen=True)
class UsageRecord:
    """One recorded use, as the chain's DataUsed event has it: the subject's identity, the
    organization, DPV purpose and category names (``0x`` codes when unknown), the data
    reference (``0x`` + 64 hex), the policy version, where the event sits and its block's
    time (unix seconds)."""

    identity: Address
    organization: Address
    purpose: str
    category: str
    data_ref: str
    policy_version: int
    where: LogPosition
    timestamp: int


@dataclass(frozen=True)
class UseRecorded(TxResult):
    """A transaction that recorded one or more uses (its :class:`UsageRecord` s in log order)."""

    records: tuple[UsageRecord, ...]


@dataclass(frozen=True)
class UseItem:
    """One use in a batch: the subject, DPV purpose and category (names or 32-byte codes) and
    the data reference (a record locator, keyed or hashed as the module says, or 32 bytes)."""

    identity: Who
    purpose: Term
    category: Term
    data_ref: bytes | str


class UsageClient:
    """Record uses (as an organization) and read a subject's data-use history.

    Args:
        session: the shared session.
        data_refs: the organization's store of per-subject secrets; locators are then keyed
            (see the module docstring). None: hashed with keccak256 as before. The attribute
            of the same name may be set later.
    """

    def __init__(self, session: Session, data_refs: DataRefStore | None = None) -> None:
        self._s = session
        self.data_refs = data_refs

    def reference(self, identity: Who, data: bytes | str) -> bytes:
        """The 32-byte ``dataRef`` :meth:`record` would put on chain for ``identity`` and
        ``data``, as the sender's organization (with a store, making the pair's secret on
        first use).

        Args:
            identity: the subject's address, account or DID.
            data: a record locator, or a 32-byte reference (returned as is).

        Returns:
            32 bytes.

        Raises:
            InvalidInputError: ``identity`` is not an address or a DID of this chain.
            ConfigurationError: a store and a read-only client (keyed references are the
                sender's organization's), or the store's file cannot be used.
        """
        return self._ref(self._s.address(identity, "identity"), data)

    def forget_erased(self, error: TransactionError) -> None:
        """After a record refused with ``UseAfterErasureRequest`` naming the sender's
        organization: destroy the subject's secret in the data-reference store again (making
        the refused record's reference created it; no record of the organization may use it
        now, and it would bring an erased subject back into the store). Any other error, or
        no store: nothing.

        Args:
            error: the refusal, with the contract's decoded error arguments.

        Raises:
            ConfigurationError: the store's file cannot be written.
        """
        args = error.error_args
        if (
            error.error_name == "UseAfterErasureRequest"
            and self.data_refs is not None
            and args.get("organization") == self._s.sender.address
        ):
            self.data_refs.forget(self._s.sender.address, args.get("identity", ""))

    def _ref(self, subject: Address, data: bytes | str) -> bytes:
        raw = raw_ref(data)
        if raw is not None:
            return raw
        if self.data_refs is None:
            return data_ref(data)
        locator = data.strip() if isinstance(data, str) else data
        return self.data_refs.ref(self._s.sender.address, subject, locator)

    def record(
        self, identity: Who, purpose: Term, category: Term, data: bytes | str
    ) -> UseRecorded:
        """Record one use of ``identity``'s data by the sender's organization.

        Args:
            identity: the subject's address, account or DID.
            purpose: a DPV purpose name or its 32-byte code.
            category: a DPV personal-data category name or its 32-byte code.
            data: a record locator (only its keyed reference, or without a store its
                keccak256, goes on chain) or a 32-byte reference (see the module docstring).

        Returns:
            The :class:`UseRecorded` with one record.

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, a
                term outside the DPV vocabulary (unless ``custom_terms``), an empty batch, or
                a data reference that is empty or ``0x`` hex not 32 bytes long (naming the
                item).
            ConfigurationError: a read-only client, or the data-reference store's file
                cannot be used.
            ConsentError: no valid consent covers a use (ConsentMissingError,
                ConsentExpiredError, StalePolicyError, IdentityDeactivatedError), or the
                subject asked the organization to erase (UseAfterErasureRequest; the secret
                the attempt made for the subject is destroyed again, :meth:`forget_erased`).
            NotPermittedError: the sender is not an active organization.
            ChainError: the node could not be reached.
        """
        return self.record_batch([UseItem(identity, purpose, category, data)])

    def record_batch(self, items: Sequence[UseItem]) -> UseRecorded:
        """Record many uses in one transaction; all or nothing.

        Args:
            items: the uses (:class:`UseItem`).

        Returns:
            The :class:`UseRecorded`, one record per item, in order.

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, a
                term outside the DPV vocabulary (unless ``custom_terms``), an empty batch, or
                a data reference that is empty or ``0x`` hex not 32 bytes long (naming the
                item).
            ConfigurationError: a read-only client, or the data-reference store's file
                cannot be used.
            ConsentError: no valid consent covers a use (ConsentMissingError,
                ConsentExpiredError, StalePolicyError, IdentityDeactivatedError), or the
                subject asked the organization to erase (UseAfterErasureRequest; the secret
                the attempt made for the subject is destroyed again, :meth:`forget_erased`).
            NotPermittedError: the sender is not an active organization.
            ChainError: the node could not be reached, or the batch needs more gas than a
                block holds (the hint says to split it).
        """
        if not items:
            raise InvalidInputError("a batch of uses needs at least one item")
        rows = []
        for number, i in enumerate(items, 1):
            subject = self._s.address(i.identity, "identity")
            check_ref(i.data_ref, "the" if len(items) == 1 else f"item {number}'s")
            rows.append(
                (
                    subject,
                    self._s.term(i.purpose, "purpose"),
                    self._s.term(i.category, "category"),
                    self._ref(subject, i.data_ref),
                )
            )
        try:
            if len(rows) == 1:
                receipt = self._s.send("recordUse", *rows[0])
            else:
                receipt = self._s.send("recordUseBatch", rows)
        except ChainError as e:
            if isinstance(e, TransactionError):
                self.forget_erased(e)
            split_hint(e, len(rows), "uses")
            raise
        return self._result(receipt)

    def history(
        self, identity: Who | None = None, organization: Who | None = None
    ) -> list[UsageRecord]:
        """Every recorded use of ``identity``'s data (and/or by ``organization``), oldest first,
        each with its block's time.

        Args:
            identity: only this subject's (address, account or DID; default: all).
            organization: only this organization's (default: all).

        Raises:
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ChainError: the node could not be reached.
        """
        filters = self._s.party_filters(identity, organization)
        events = self._s.events(self._s.ledger.events.DataUsed(), filters)
        times = self._times(events)
        return [self._record(event, times[event.block_number]) for event in events]

    def in_transaction(self, tx_hash: TxHash | str) -> UseRecorded:
        """The uses a mined transaction recorded (none if it recorded none).

        Args:
            tx_hash: the transaction's hash, ``0x`` + 64 hex.

        Raises:
            NotFoundError: the chain has no such (mined) transaction.
            ChainError: the node could not be asked.
        """
        chain = self._s.chain
        with chain.exclusive():
            receipt = chain.get_transaction_receipt(tx_hash)
        return self._result(receipt)

    def find(self, transaction: TxHash | str, log_index: int | None = None) -> UsageRecord:
        """The one use a transaction recorded, read from its receipt (no history scan).

        Args:
            transaction: the transaction's hash, ``0x`` + 64 hex (any case).
            log_index: the use's log index in its block, needed when the transaction
                recorded several uses (a batch).

        Returns:
            The :class:`UsageRecord` (its ``where`` gives the organization's use position).

        Raises:
            InvalidInputError: ``transaction`` is not a transaction hash, or it recorded
                several uses and ``log_index`` does not choose one.
            NotFoundError: no such mined transaction, or it (or its log ``log_index``)
                recorded no data use on this deployment.
            ChainError: the node could not be asked.
        """
        text = transaction.strip()
        try:
            if not (text.lower().startswith("0x") and len(text) == 66):
                raise ValueError("not 0x + 64 hex digits")
            wanted = tx_hash(text)
        except ValueError:
            raise InvalidInputError(
                f"{transaction!r} is not a transaction hash", hint="0x followed by 64 hex digits"
            ) from None
        try:
            uses = list(self.in_transaction(wanted).records)
        except NotFoundError:
            uses = []
        if log_index is not None:
            uses = [r for r in uses if r.where.log_index == log_index]
        if not uses:
            where = f"log {log_index} of " if log_index is not None else ""
            raise NotFoundError(
                f"{where}transaction {transaction} recorded no data use on this deployment",
                hint="take the tx:log of a use from `collective use history`",
            )
        if len(uses) > 1:
            indexes = ", ".join(str(r.where.log_index) for r in uses)
            raise InvalidInputError(
                f"transaction {transaction} recorded {len(uses)} uses",
                hint=f"choose one with --log-index ({indexes})",
            )
        return uses[0]

    def _result(self, receipt: TxReceipt) -> UseRecorded:
        events = self._s.decoded(self._s.ledger.events.DataUsed(), receipt)
        times = self._times(events)
        records = tuple(self._record(event, times[event.block_number]) for event in events)
        return UseRecorded(**tx_fields(receipt), records=records)

    def _times(self, events: list[DecodedLog]) -> dict[int, int]:
        with self._s.chain.exclusive():
            return self._s.block_times(event.block_number for event in events)

    def _record(self, event: DecodedLog, timestamp: int) -> UsageRecord:
        a = event.args
        return UsageRecord(
            identity=a["identity"],
            organization=a["organization"],
            purpose=name_of(a["purpose"]),
            category=name_of(a["category"]),
            data_ref=hex32(a["dataRef"]),
            policy_version=int(a["policyVersion"]),
            where=log_position(event),
            timestamp=timestamp,
        )


def check_ref(data_ref: bytes | str, what: str) -> None:
    """Refuse a data reference that is empty, or ``0x`` hex of another length than 32 bytes
    (a reference cut short would otherwise be hashed as if it were a record locator).

    Args:
        data_ref: a record locator or a 32-byte reference, as given.
        what: how the error names the item ("the", "item 3's").

    Raises:
        InvalidInputError: the reference is empty or short (or long) hex.
    """
    if raw_ref(data_ref) is not None:
        return
    hint = "give the record's locator (e.g. ward/7/scan-3) or its 32-byte reference"
    text = data_ref.strip() if isinstance(data_ref, str) else ""
    if not data_ref.strip():
        raise InvalidInputError(f"{what} data reference is empty", hint=hint)
    if text.startswith("0x") and all(c in string.hexdigits for c in text[2:]):
        raise InvalidInputError(
            f"{what} data reference {text!r} is {(len(text) - 2) / 2:g} bytes, not 32", hint=hint
        )


def split_hint(error: ChainError, count: int, what: str) -> None:
    """When a batch of ``count`` ``what`` (e.g. "uses") was refused for needing more gas than
    a block holds (the node's ``gas required exceeds allowance``), set ``error``'s hint to
    say so and to split it; any other error, or a single item, is left as it is."""
    if count > 1 and "gas" in error.message:
        error.hint = (
            f"a batch of {count} {what} needs more gas than a block holds: split it into "
            "smaller batches"
        )


__all__ = ["UsageClient", "UsageRecord", "UseItem", "UseRecorded", "check_ref", "split_hint"]
