"""Receipts and their logs bloom, built once and directly.

Mirrors ``eth/vm/forks/byzantium/__init__.py`` (``ByzantiumVM.make_receipt``),
``eth/vm/forks/berlin/transactions.py`` (``TypedTransaction.make_receipt``),
``eth/rlp/receipts.py`` and ``eth/rlp/logs.py`` of py-evm 0.12.1b1, and eth-bloom's
``BloomFilter``. Receipts get their logs bloom computed once, without ``BloomFilter`` objects
(:func:`logs_bloom`, hashing with eth_hash's hasher minus its type check), and are not
re-validated against it a moment later. Their ``Log`` and ``Receipt`` objects are built as
rlp's ``BaseSerializable.__init__`` builds them (each field's attribute set to
``make_immutable(value)``) without its keyword merging, while those ``__init__``s are py-evm's
and rlp's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth.abc import ComputationAPI, ReceiptAPI, SignedTransactionAPI
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.forks.byzantium.constants import (
    EIP658_TRANSACTION_STATUS_CODE_FAILURE,
    EIP658_TRANSACTION_STATUS_CODE_SUCCESS,
)
from eth_hash.auto import keccak
from rlp.sedes.serializable import BaseSerializable, make_immutable


def make_receipt(
    transaction: SignedTransactionAPI, computation: ComputationAPI, gas_used: int
) -> ReceiptAPI:
    """The receipt of ``transaction`` (``ByzantiumVM.make_receipt`` ->
    ``transaction.make_receipt``): EIP-658 status from ``computation``'s error, the block's
    cumulative ``gas_used`` so far including this transaction, its logs and their bloom; typed
    (EIP-2718) when the transaction is. Raises nothing of its own."""
    status = (
        EIP658_TRANSACTION_STATUS_CODE_FAILURE
        if computation.is_error
        else EIP658_TRANSACTION_STATUS_CODE_SUCCESS
    )
    entries = computation.get_log_entries()
    if _SERIALIZABLE_INIT:
        logs = [_serializable(Log, _LOG_ATTRS, entry) for entry in entries]
        receipt: ReceiptAPI = _serializable(
            Receipt, _RECEIPT_ATTRS, (status, gas_used, logs_bloom(entries), logs)
        )
    else:
        logs = [Log(address, topics, data) for address, topics, data in entries]
        receipt = Receipt(
            state_root=status, gas_used=gas_used, logs=logs, bloom=logs_bloom(entries)
        )
    type_id = transaction.type_id
    if type_id is None:
        return receipt
    builder: Any = transaction.receipt_builder  # type: ignore[attr-defined]
    typed: ReceiptAPI = builder.typed_receipt_class(type_id, receipt)
    return typed


# Log(address, topics, data) and Receipt(state_root, gas_used, logs, bloom) as their __init__
# builds them (rlp's BaseSerializable: each field's attribute set to make_immutable(value)),
# without merging keyword arguments and checking the count per object; used while those
# __init__s are py-evm's and rlp's own
_LOG_ATTRS: tuple[str, ...] = Log._meta.field_attrs  # type: ignore[attr-defined]
_RECEIPT_ATTRS: tuple[str, ...] = Receipt._meta.field_attrs  # type: ignore[attr-defined]
_SERIALIZABLE_INIT = (
    _LOG_ATTRS == ("_address", "_topics", "_data")
    and _RECEIPT_ATTRS == ("_state_root", "_gas_used", "_bloom", "_logs")
    and Log.__init__.__qualname__ == "Log.__init__"  # super().__init__(address, topics, data)
    and Receipt.__init__.__qualname__ == "Receipt.__init__"  # given a bloom: super().__init__
    and all(
        base.__init__ is BaseSerializable.__init__ for base in (Log.__mro__[1], Receipt.__mro__[1])
    )
)


def _serializable(cls: type, attrs: tuple[str, ...], values: Iterable[Any]) -> Any:
    built: Any = object.__new__(cls)
    built.__dict__.update(zip(attrs, map(make_immutable, values), strict=True))
    return built


def _bloom_bits(value: bytes) -> int:
    digest = keccak.hasher(value)  # eth_hash's keccak minus its type check: this is bytes
    return (
        (1 << (((digest[0] << 8) | digest[1]) & 2047))
        | (1 << (((digest[2] << 8) | digest[3]) & 2047))
        | (1 << (((digest[4] << 8) | digest[5]) & 2047))
    )


def logs_bloom(entries: Iterable[tuple[bytes, Iterable[int], bytes]]) -> int:
    """The 2048-bit logs bloom (as an int) of ``(address, topics, data)`` entries, addresses
    20 bytes and topics ints, as eth-bloom computes it (yellow paper eq. 26-30): three bits
    from the keccak of the address and of each 32-byte topic."""
    bloom = 0
    for address, topics, _ in entries:
        bloom |= _bloom_bits(address if address.__class__ is bytes else bytes(address))
        for topic in topics:
            bloom |= _bloom_bits(topic.to_bytes(32, "big"))
    return bloom


__all__ = ["logs_bloom", "make_receipt"]
