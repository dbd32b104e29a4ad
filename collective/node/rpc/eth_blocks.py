"""The ``eth_*`` methods that read blocks: by number or hash, their transaction and uncle
counts, and their receipts (``eth_getBlockReceipts``).

Sealed blocks are served from the JSON the store rendered when they were sealed (a
:class:`~collective.node.rpc.context.Raw` answer), checked against the header first
(``verify_body`` / ``verify_receipts``: a damaged row is refused, never served); the pending
block is rendered from the pool. Unknown blocks answer ``null``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collective.node import render
from collective.node.render import hexbytes, hexint
from collective.node.rpc.context import Raw, block_number_of
from collective.node.rpc.objects import BlockRef

if TYPE_CHECKING:
    from collective.node.node import Node


def block_json(node: Node, number: int, full: bool) -> Any:
    """Sealed block ``number`` as JSON text, with its transactions' hashes or (``full``) the
    transactions themselves; None if there is no such block.

    Raises: :class:`~collective.node.store.DamagedError` when the stored body does not match
    its header.
    """
    store = node.chain.store
    stored = store.block_by_number(number)
    if stored is None:
        return None
    store.verify_body(number)
    if full:
        txs = ",".join(store.block_tx_json(number))
    else:
        txs = ",".join('"' + hexbytes(h) + '"' for h in store.block_tx_hashes(number))
    return Raw(stored.json[:-1] + ',"transactions":[' + txs + "]}")


def _pending_block(node: Node, full: bool) -> Any:
    chain = node.chain
    header = chain.pending_header()
    block = render.block(header, size=0)
    block["hash"] = block["nonce"] = block["miner"] = None
    block["number"] = hexint(header.block_number)
    txs = chain.pending.txs
    if full:
        block["transactions"] = [
            render.transaction(tx, block_hash=None, block_number=None, index=None, base_fee=None)
            for tx in txs
        ]
    else:
        block["transactions"] = [hexbytes(tx.hash) for tx in txs]
    return block


def eth_get_block_by_number(node: Node, ref: BlockRef, full: bool) -> Any:
    """``eth_getBlockByNumber``: the block (the pool's next one for ``pending``, without
    hash, nonce and miner), or null past the head."""
    if ref.tag == "pending":
        return _pending_block(node, full)
    return block_json(node, block_number_of(node, ref), full)


def eth_get_block_by_hash(node: Node, block_hash: bytes, full: bool) -> Any:
    """``eth_getBlockByHash``: the block, or null for an unknown hash."""
    stored = node.chain.store.block_by_hash(block_hash)
    return None if stored is None else block_json(node, stored.number, full)


def _tx_count(node: Node, number: int | None) -> Any:
    store = node.chain.store
    if number is None or store.block_by_number(number) is None:
        return None
    store.verify_body(number)
    return hexint(len(store.block_tx_hashes(number)))


def eth_get_block_tx_count_by_number(node: Node, ref: BlockRef) -> Any:
    """``eth_getBlockTransactionCountByNumber``: a hex count (the pool's for ``pending``), or
    null past the head."""
    if ref.tag == "pending":
        return hexint(len(node.chain.pending.txs))
    return _tx_count(node, block_number_of(node, ref))


def eth_get_block_tx_count_by_hash(node: Node, block_hash: bytes) -> Any:
    """``eth_getBlockTransactionCountByHash``: a hex count, or null for an unknown hash."""
    stored = node.chain.store.block_by_hash(block_hash)
    return _tx_count(node, stored.number if stored else None)


def eth_get_uncle_count_by_number(node: Node, ref: BlockRef) -> Any:
    """``eth_getUncleCountByBlockNumber``: ``0x0`` (a clique-style chain has no uncles), or
    null past the head."""
    if ref.tag == "pending":
        return "0x0"
    return None if node.chain.header_at(block_number_of(node, ref)) is None else "0x0"


def eth_get_uncle_count_by_hash(node: Node, block_hash: bytes) -> Any:
    """``eth_getUncleCountByBlockHash``: ``0x0``, or null for an unknown hash."""
    return None if node.chain.store.block_by_hash(block_hash) is None else "0x0"


def eth_get_block_receipts(node: Node, ref: BlockRef) -> Any:
    """``eth_getBlockReceipts``: the block's receipts in order, or null past the head."""
    store = node.chain.store
    number = block_number_of(node, ref)
    if store.block_by_number(number) is None:
        return None
    store.verify_receipts(number)
    return Raw("[" + ",".join(store.block_receipts(number)) + "]")


__all__ = [
    "block_json",
    "eth_get_block_by_hash",
    "eth_get_block_by_number",
    "eth_get_block_receipts",
    "eth_get_block_tx_count_by_hash",
    "eth_get_block_tx_count_by_number",
    "eth_get_uncle_count_by_hash",
    "eth_get_uncle_count_by_number",
]
