"""Signed transactions: decoding and sender recovery with fewer recomputations.

Mirrors ``eth/vm/forks/prague/transactions.py`` (``PragueTypedTransaction``,
``PragueTransactionBuilder``), ``eth/vm/forks/berlin/transactions.py``
(``TypedTransaction.decode``, ``hash``, ``intrinsic_gas``), ``eth/vm/forks/london/
transactions.py`` (``DynamicFeeTransaction``'s fields) and ``eth/_utils/transactions.py``
(``validate_transaction_signature``, ``extract_transaction_sender``) of py-evm 0.12.1b1.

- A typed transaction's hash is the keccak of the bytes it was decoded from (py-evm re-encodes
  every field first; decoding is strict, so those bytes are the encoding), and its intrinsic
  gas is counted once (py-evm walks the calldata again on every read).
- A dynamic-fee (type 2) transaction without an access list is decoded the short way
  (:func:`_decode_dynamic_fee`); every other type (legacy, access list: type 1, blob: type 3,
  set code: type 4) takes py-evm's decoder.
- :func:`recover_sender` recovers the public key once where py-evm recovers it twice.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import rlp
from eth.abc import SignedTransactionAPI
from eth.constants import GAS_TX
from eth.vm.forks.london.transactions import DynamicFeeTransaction
from eth.vm.forks.prague.constants import STANDARD_TOKEN_COST, TOTAL_COST_FLOOR_PER_TOKEN
from eth.vm.forks.prague.transactions import PragueTransactionBuilder, PragueTypedTransaction
from eth_hash.auto import keccak as keccak256
from eth_keys.constants import SECPK1_N
from eth_typing import Address
from eth_utils.exceptions import ValidationError

from collective.node.senders import signer, signing_message


class NodeTypedTransaction(PragueTypedTransaction):
    """py-evm's typed transaction, minus two recomputations: its hash is the keccak of the
    bytes it was decoded from (py-evm re-encodes every field first; decoding is strict, so
    those bytes are the encoding), and its intrinsic gas is counted once (py-evm walks the
    calldata again on every read, and a transaction is read 3-4 times on its way in)."""

    @classmethod
    def decode(cls, encoded: bytes) -> SignedTransactionAPI:
        """Decode an EIP-2718 typed transaction (type byte, then the RLP payload). Raises
        py-evm's and rlp's decoding errors for anything else."""
        tx = _decode_dynamic_fee(cls, encoded) if encoded[:1] == b"\x02" else None
        if tx is None:
            tx = super().decode(encoded)
        vars(tx)["hash"] = keccak256(encoded)  # the cached_property's slot
        return tx

    @cached_property
    def intrinsic_gas(self) -> int:
        """The transaction's intrinsic gas (``get_intrinsic_gas``), counted once."""
        return int(self.get_intrinsic_gas())


_INT_FIELDS = (0, 1, 2, 3, 4, 6, 9, 10, 11)  # DynamicFeeTransaction's integer fields


def _decode_dynamic_fee(
    cls: type[PragueTypedTransaction], encoded: bytes
) -> SignedTransactionAPI | None:
    """A dynamic-fee (type 2) transaction without an access list, decoded the short way:
    strict RLP into a list, each field checked as its sedes would (integers minimal, at most 32
    bytes here; ``to`` empty or 20 bytes), then the transaction built from the values (py-evm
    builds it through each field's deserializer: ~45 us against ~18). Anything else -- an
    access list, an odd field -- gives None and py-evm's decoder decides."""
    try:
        fields = rlp.decode(encoded[1:], strict=True)
    except rlp.exceptions.DecodingError:
        return None
    if not isinstance(fields, list) or len(fields) != 12 or fields[8] != []:
        return None
    values: list[Any] = []
    for index, field in enumerate(fields):
        if index == 8:
            values.append([])
            continue
        if field.__class__ is not bytes:
            return None
        if index in _INT_FIELDS:
            if len(field) > 32 or field[:1] == b"\x00":
                return None
            values.append(int.from_bytes(field, "big"))
        elif index == 5 and len(field) not in (0, 20):
            return None
        else:
            values.append(field)
    return cls(2, DynamicFeeTransaction(*values))


class NodeTransactionBuilder(PragueTransactionBuilder):
    """Prague's transaction builder decoding typed transactions as :class:`NodeTypedTransaction`."""

    typed_transaction = NodeTypedTransaction


def calldata_floor(data: bytes) -> int:
    """EIP-7623's floor of a transaction's gas: 21,000 plus 10 gas per calldata token (a zero
    byte is one token, any other byte four), the least gas any transaction with ``data``
    may be given (its gas used is at least this): py-evm's ``calc_data_floor_gas`` with no gas
    used yet, for calldata alone (pinned in :mod:`.upstream`). Args: ``data``, the calldata
    (or init code). Returns: gas."""
    zeros = data.count(0)
    tokens = zeros + STANDARD_TOKEN_COST * (len(data) - zeros)
    return GAS_TX + TOTAL_COST_FLOOR_PER_TOKEN * tokens


def decode_transaction(raw: bytes) -> SignedTransactionAPI:
    """A signed transaction (legacy RLP or EIP-2718 typed: 1, 2, 3 or 4) from its encoding.

    Raises py-evm's or rlp's decoding errors (``ValidationError``, ``DecodingError``, ...) when
    ``raw`` is not one."""
    tx: SignedTransactionAPI = NodeTransactionBuilder.decode(raw)
    return tx


def recover_sender(tx: SignedTransactionAPI, raw: bytes | None = None) -> Address:
    """Check the signature and return the sender, recovering the public key once.

    py-evm's ``check_signature_validity`` recovers the key (and verifies the signature
    against it, which cannot fail), then ``tx.sender`` recovers it again. For typed
    transactions the node recovers once and fills ``tx.sender``'s cache; legacy ones take
    py-evm's path (their ``v`` carries the chain id).

    With the ``raw`` bytes ``tx`` was decoded from, the signed message is cut out of them
    (:func:`~collective.node.senders.signing_message`) instead of re-encoded field by field.

    Raises ``ValidationError`` (or eth-keys' ``BadSignature``) on a bad signature.
    """
    if tx.type_id is None:
        tx.check_signature_validity()
        return Address(bytes(tx.sender))
    y_parity, r, s = tx.y_parity, tx.r, tx.s
    if y_parity not in (0, 1) or not 0 <= r < SECPK1_N or not 0 <= s < SECPK1_N:
        raise ValidationError("invalid signature values")  # what eth-keys' checks refuse
    message = None if raw is None else signing_message(raw)
    if message is None:
        message = tx.get_message_for_signing()
    sender = Address(signer(message, y_parity, r, s))
    vars(tx)["sender"] = sender  # the cached_property's slot
    return sender


__all__ = [
    "NodeTransactionBuilder",
    "NodeTypedTransaction",
    "decode_transaction",
    "recover_sender",
]
