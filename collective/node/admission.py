"""Admission: whether a signed transaction may enter the pool, judged by the head state.

:func:`submit` (``eth_sendRawTransaction``) and, for a CometBFT validator, CheckTx
(:mod:`collective.node.consensus`) decode the transaction (canonical RLP only) and recover its
sender (:func:`decode`), then :func:`admit` judges it: its chain id (EIP-155), type, gas (block
limit, intrinsic), fee caps (the next block's base fee), nonce
(:meth:`Pending.check_nonce <collective.node.pool.Pending.check_nonce>`), funds, and
AccountRules' ``transactionAllowed`` (:mod:`collective.node.permissioning`); then the pool
takes it (:meth:`Pending.insert <collective.node.pool.Pending.insert>`). The rules a block
applies to every transaction whatever admitted it are :mod:`collective.node.building`'s.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from eth.abc import BlockHeaderAPI, SignedTransactionAPI, StateAPI
from eth_typing import Address

from collective.node.building import never_valid
from collective.node.errors import RpcError, rejected
from collective.node.pool import MAX_TX_SIZE, Pending
from collective.node.senders import TYPED

if TYPE_CHECKING:
    from collective.node.execution.engine import ExecutionEngine
    from collective.node.permissioning import Rules
    from collective.node.storage import Store

log = logging.getLogger("collective.node")


class Head(Protocol):
    """What admission reads of the chain (:class:`collective.node.core.NodeChain` is one):
    the head block and its state and rules, the next block's base fee, the pool."""

    chain_id: int
    head: BlockHeaderAPI
    storage_error: str | None
    evm: ExecutionEngine
    store: Store
    pending: Pending

    @property
    def head_state(self) -> StateAPI:
        """The state after the head block."""

    @property
    def head_rules(self) -> Rules:
        """The permissioning rules in the head state."""

    def next_base_fee(self) -> int:
        """The next block's base fee per gas, in wei."""


def submit(chain: Head, raw: bytes, sender: bytes | None = None) -> bytes:
    """Check a signed transaction and add it to the pool.

    Args: ``raw``, the transaction's bytes as signed (legacy RLP or EIP-2718 typed);
    ``sender``, when given, the 20-byte sender :func:`collective.node.senders.recover`
    recovered from these same bytes (in the helper process).
    Returns: the 32-byte transaction hash.
    Raises: :class:`~collective.node.errors.RpcError` -32602 when the bytes are not a
    signed transaction; -32000 (:func:`~collective.node.errors.rejected`, geth's words)
    when the node cannot store blocks now, the transaction is oversized, its signature
    does not recover, or :func:`admit` refuses it.
    """
    if chain.storage_error is not None:
        raise rejected(
            f"the node cannot store blocks now ({chain.storage_error}); it refuses new "
            "transactions until it can (reads go on; the pool is sealed once the disk "
            "has room)"
        )
    tx = decode(chain, raw, sender)
    admit(chain, tx, tx.sender, raw)
    return bytes(tx.hash)


def decode(chain: Head, raw: bytes, sender: bytes | None = None) -> SignedTransactionAPI:
    """The signed transaction ``raw`` encodes, its sender recovered (``tx.sender``); a
    typed one takes ``sender`` when given (recovered from the same bytes elsewhere).

    Raises: :class:`~collective.node.errors.RpcError` -32000 ``oversized data`` (over
    :data:`MAX_TX_SIZE` bytes) or ``invalid sender``; -32602 when the bytes are not a signed
    transaction (legacy RLP or EIP-2718 typed)."""
    if len(raw) > MAX_TX_SIZE:
        raise rejected("oversized data")
    try:
        tx = chain.evm.decode_transaction(raw)
    except Exception:  # rlp's and py-evm's decoding errors have no common root
        raise RpcError(
            -32602, "invalid params: transaction: not a valid RLP-encoded signed transaction"
        ) from None
    if sender is not None and tx.type_id in TYPED:
        vars(tx)["sender"] = Address(sender)  # the cached_property's slot
        return tx
    try:
        chain.evm.recover_sender(tx, raw)  # fills tx.sender
    except Exception:  # a signature off the curve, a bad recovery id, ...
        raise rejected("invalid sender") from None
    return tx


def admit(
    chain: Head, tx: SignedTransactionAPI, sender: Address, raw: bytes, *, gapless: bool = False
) -> None:
    """Judge ``tx`` (sent by ``sender``, encoded as ``raw``) by the head state and pool it:
    pending, or queued until its nonce gap fills; it may replace or evict one (logged).
    With ``gapless`` (a CometBFT validator's CheckTx: its mempool is first come, first
    served) the nonce must be the sender's next, with nothing queued or replaced.

    Raises: :class:`~collective.node.errors.RpcError` -32000 in geth's words: ``already
    known``, ``only replay-protected (EIP-155) transactions allowed over RPC``, ``invalid
    chain id for signer``, blob transactions, ``exceeds block gas limit``, what is in no
    block (:func:`collective.node.building.never_valid`: ``max initcode size exceeded``, an
    invalid set-code transaction), ``intrinsic gas too low``, ``max fee per gas less than
    block base fee``, ``max priority fee per gas higher than max fee per gas``, nonce too
    low / replacement
    underpriced / txpool is full (:meth:`Pending.check_nonce`), ``insufficient funds for
    gas * price + value``, and ``sender 0x… is not permitted`` (AccountRules).
    """
    pending = chain.pending
    tx_hash = bytes(tx.hash)
    if tx_hash in pending.raw or chain.store.has_tx(tx_hash):
        raise rejected("already known")
    chain_id = tx.chain_id
    if chain_id is None:  # a legacy transaction signed before EIP-155: valid on every chain
        raise rejected("only replay-protected (EIP-155) transactions allowed over RPC")
    if chain_id != chain.chain_id:
        raise rejected(f"invalid chain id for signer: have {chain_id} want {chain.chain_id}")
    if tx.type_id is not None and tx.type_id == 3:
        raise rejected("transaction type not supported: blob transactions need a beacon chain")
    if tx.gas > chain.head.gas_limit:
        raise rejected("exceeds block gas limit")
    malformed = never_valid(tx, chain.chain_id)  # init code size, set-code fields...
    if malformed is not None:
        raise rejected(malformed)
    intrinsic = int(tx.intrinsic_gas)
    if tx.gas < intrinsic:
        raise rejected(f"intrinsic gas too low: have {tx.gas}, want {intrinsic}")
    fee = chain.next_base_fee()
    if tx.max_fee_per_gas < fee:
        raise rejected(
            f"max fee per gas less than block base fee: address 0x{sender.hex()}, "
            f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {fee}"
        )
    if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise rejected("max priority fee per gas higher than max fee per gas")
    state = chain.head_state
    place = pending.check_nonce(tx, sender, int(state.get_nonce(sender)))
    if gapless and (place.queued or place.replaces is not None):
        expected = pending.next_nonce.get(sender, int(state.get_nonce(sender)))
        raise rejected(
            f"nonce {'too high' if place.queued else 'too low'}: next nonce {expected}, tx "
            f"nonce {int(tx.nonce)} (a validator's mempool takes each sender's nonces in "
            "order, without gaps or replacements)"
        )
    cost = tx.gas * tx.max_fee_per_gas + tx.value
    balance = int(state.get_balance(sender))
    if balance < cost:
        raise rejected(
            f"insufficient funds for gas * price + value: address 0x{sender.hex()} "
            f"have {balance} want {cost}"
        )
    if not chain.head_rules.allows_tx(tx, sender):
        raise rejected(f"sender 0x{sender.hex()} is not permitted")
    for gone in pending.insert(tx, sender, raw, place, chain.head.block_number + 1):
        log.info("%s", gone.message)


__all__ = ["Head", "admit", "decode", "submit"]
