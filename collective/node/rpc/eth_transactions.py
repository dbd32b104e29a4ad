"""The ``eth_*`` methods about transactions: reading them (by hash, by block and index, raw,
their receipts) and sending them (``eth_sendRawTransaction``; ``eth_sendTransaction`` from a
dev account on a ``--dev`` node).

A batch's raw transactions go to the sender-recovery helper (:mod:`collective.node.senders`)
before the batch is answered item by item: :func:`start_recovery` hands them over, and each
``eth_sendRawTransaction`` picks its sender up through :data:`RECOVERED`.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from collective.node import render
from collective.node.errors import TX_REJECTED, RpcError, rejected
from collective.node.execution import base_fee
from collective.node.render import hexbytes
from collective.node.rpc.context import PRIORITY_FEE, Raw, block_number_of
from collective.node.rpc.eth_calls import check_chain_id, run_call
from collective.node.rpc.objects import PENDING, BlockRef, CallArgs
from collective.node.rpc.scalars import ParamError
from collective.node.senders import MIN_BATCH, Recovered

if TYPE_CHECKING:
    from collective.node.node import Node

# the current batch's raw transactions (bytes -> position) and their recovered senders
RECOVERED: ContextVar[tuple[dict[bytes, int], Recovered] | None] = ContextVar(
    "recovered", default=None
)
# a validator's batch: each raw transaction already handed to CometBFT -> its hash or refusal
# (start_forwarding: the whole batch's before its first item is answered)
FORWARDED: ContextVar[dict[bytes, bytes | RpcError] | None] = ContextVar("forwarded", default=None)


def eth_get_transaction_by_hash(node: Node, tx_hash: bytes) -> Any:
    """``eth_getTransactionByHash``: the transaction, mined or pending; null if unknown.

    Raises: -32000 with the reason for one the pool admitted and later dropped (no longer
    permitted, or no longer applicable): ``transaction 0x… was dropped: sender 0x… is not
    permitted by AccountRules at block N``, and ``data`` = {hash, from, nonce, block,
    reason}; its receipt stays null.
    """
    view = node.view
    stored = view.transaction(tx_hash)
    if stored is not None:
        return Raw(stored.json)
    pooled = view.pooled(tx_hash)
    if pooled is not None:
        return render.transaction(
            pooled, block_hash=None, block_number=None, index=None, base_fee=None
        )
    dropped = view.dropped(tx_hash)
    if dropped is not None:
        raise RpcError(TX_REJECTED, dropped.message, dropped.to_json())
    return None


def _tx_by_block_index(node: Node, number: int | None, index: int) -> Any:
    rows = None if number is None else node.view.block_tx_json(number)
    if rows is None:
        return None
    return Raw(rows[index]) if 0 <= index < len(rows) else None


def eth_get_tx_by_block_number_and_index(node: Node, ref: BlockRef, index: int) -> Any:
    """``eth_getTransactionByBlockNumberAndIndex``: the transaction, or null (always for
    ``pending``)."""
    if ref.tag == "pending":
        return None
    return _tx_by_block_index(node, block_number_of(node, ref), index)


def eth_get_tx_by_block_hash_and_index(node: Node, block_hash: bytes, index: int) -> Any:
    """``eth_getTransactionByBlockHashAndIndex``: the transaction, or null."""
    return _tx_by_block_index(node, node.view.number_of(block_hash), index)


def eth_get_transaction_receipt(node: Node, tx_hash: bytes) -> Any:
    """``eth_getTransactionReceipt``: the sealed transaction's receipt, or null (pending or
    unknown)."""
    receipt = node.view.receipt_json(tx_hash)
    return None if receipt is None else Raw(receipt)


def eth_get_raw_transaction_by_hash(node: Node, tx_hash: bytes) -> Any:
    """``eth_getRawTransactionByHash``: the signed transaction's bytes, mined or pooled; null
    if unknown."""
    view = node.view
    stored = view.transaction(tx_hash)
    if stored is not None:
        return hexbytes(stored.raw)
    raw = view.pooled_raw(tx_hash)
    return None if raw is None else hexbytes(raw)


def eth_send_raw_transaction(node: Node, raw: bytes) -> Any:
    """``eth_sendRawTransaction``: the hash of the admitted transaction.

    Raises: :class:`ParamError` for empty bytes; -32000 for a transaction the pool refuses
    (see :mod:`collective.node.errors`).
    """
    if not raw:
        raise ParamError("transaction", "empty", index=0)
    forwarded = FORWARDED.get()
    if forwarded is not None and raw in forwarded:
        outcome = forwarded.pop(raw)  # the same bytes again in the batch are sent again
        if isinstance(outcome, RpcError):
            raise outcome
        return hexbytes(outcome)
    return hexbytes(node.submit(raw, _recovered_sender(raw)))


def start_recovery(node: Node, batch: list[Any]) -> tuple[dict[bytes, int], Recovered] | None:
    """Hand the raw transactions of ``batch`` (decoded request objects) to the node's
    sender-recovery helper.

    Returns: (raw bytes -> position, the pending recovery) to set in :data:`RECOVERED`, or
    None when there is no helper, it is not ready, or the batch is shorter than
    :data:`~collective.node.senders.MIN_BATCH`. The caller closes the recovery.
    """
    pool = node.senders
    if pool is None or not pool.ready or len(batch) < MIN_BATCH:
        return None
    positions: dict[bytes, int] = {}
    for raw in raw_transactions(batch):
        positions.setdefault(raw, len(positions))
    recovered = pool.recover(list(positions))
    return None if recovered is None else (positions, recovered)


def raw_transactions(batch: list[Any]) -> list[bytes]:
    """The bytes of each well-formed ``eth_sendRawTransaction`` of ``batch`` (decoded request
    objects), in order; the handler reports the malformed ones."""
    found = []
    for item in batch:
        if not isinstance(item, dict) or item.get("method") != "eth_sendRawTransaction":
            continue
        params = item.get("params")
        if not isinstance(params, list) or not params or not isinstance(params[0], str):
            continue
        text = params[0]
        try:
            found.append(bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text))
        except ValueError:
            continue
    return found


def start_forwarding(node: Node, batch: list[Any]) -> dict[bytes, bytes | RpcError] | None:
    """Hand every raw transaction of ``batch`` to the consensus engine's mempool in one go
    (:attr:`Sealer.forward_many <collective.node.sealer.Sealer.forward_many>`: one request to
    CometBFT instead of one per transaction).

    Returns: raw bytes -> its hash or its refusal, to set in :data:`FORWARDED`; None when
    the node pools transactions itself or the batch holds fewer than two."""
    forward_many = node.sealer.forward_many
    if forward_many is None:
        return None
    raws = list(dict.fromkeys(raw_transactions(batch)))
    if len(raws) < 2:
        return None
    return dict(zip(raws, forward_many(raws), strict=True))


def _recovered_sender(raw: bytes) -> bytes | None:
    found = RECOVERED.get()
    if found is None:
        return None
    index = found[0].get(raw)
    return None if index is None else found[1][index]


def eth_send_transaction(node: Node, call: CallArgs) -> Any:
    """``eth_sendTransaction`` (``--dev`` only): sign ``call`` with the dev account it names
    and submit it; nonce, gas (estimated on ``pending``) and fees (EIP-1559: twice the base
    fee plus the tip) filled in when absent.

    Returns: the transaction hash.
    Raises: :class:`ParamError` without ``from``; -32000 for an account that is not a dev
    account, or as ``eth_sendRawTransaction`` and ``eth_estimateGas``.
    """
    dev = node.dev
    assert dev is not None  # a dev-only method (see METHODS)
    if call.sender is None:
        raise ParamError("transaction.from", "missing (the sending dev account)", index=0)
    check_chain_id(node, call)
    if call.sender not in dev.keys:
        raise rejected(
            f"unknown account 0x{call.sender.hex()}: only the dev accounts can send "
            "unsigned transactions"
        )
    view = node.view
    nonce = call.nonce if call.nonce is not None else view.nonce(call.sender, pending=True)
    gas = call.gas
    if gas is None:
        gas = int(run_call(node, call, PENDING, estimate=True), 16)
    tx: dict[str, Any] = {
        "chainId": view.chain_id,
        "nonce": nonce,
        "gas": gas,
        "value": call.value,
        "data": call.data,
    }
    if call.to is not None:
        tx["to"] = call.to
    if call.gas_price is not None:
        tx["gasPrice"] = call.gas_price
    else:
        base = base_fee(view.pending_header())
        tip = call.max_priority_fee if call.max_priority_fee is not None else PRIORITY_FEE
        tx["maxPriorityFeePerGas"] = tip
        tx["maxFeePerGas"] = call.max_fee if call.max_fee is not None else 2 * base + tip
    return hexbytes(node.chain.submit(dev.sign(call.sender, tx)))


__all__ = [
    "RECOVERED",
    "eth_get_raw_transaction_by_hash",
    "eth_get_transaction_by_hash",
    "eth_get_transaction_receipt",
    "eth_get_tx_by_block_hash_and_index",
    "eth_get_tx_by_block_number_and_index",
    "eth_send_raw_transaction",
    "eth_send_transaction",
    "start_recovery",
]
