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
from collective.node.render import hexbytes, hexint, json_array
from collective.node.rpc.context import Raw, block_number_of
from collective.node.rpc.objects import BlockRef

if TYPE_CHECKING:
    from collective.node.node import Node


def block_json(node: Node, number: int, full: bool) -> Any:
    """Sealed block ``number`` as JSON text, with its transactions' hashes or (``full``) the
    transactions themselves; None if there is no such block.

    Raises: :class:`~collective.node.storage.DamagedError` when the stored body does not match
    its header.
    """
    text = node.view.block_json(number, full=full)
    return None if text is None else Raw(text)


def _pending_block(node: Node, full: bool) -> Any:
    view = node.view
    header = view.pending_header()
    block = render.block(header, size=0)
    block["hash"] = block["nonce"] = block["miner"] = None
    block["number"] = hexint(header.block_number)
    txs = view.pending_txs()
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
    number = node.view.number_of(block_hash)
    return None if number is None else block_json(node, number, full)


def _tx_count(node: Node, number: int | None) -> Any:
    hashes = None if number is None else node.view.block_tx_hashes(number)
    return None if hashes is None else hexint(len(hashes))


def eth_get_block_tx_count_by_number(node: Node, ref: BlockRef) -> Any:
    """``eth_getBlockTransactionCountByNumber``: a hex count (the pool's for ``pending``), or
    null past the head."""
    if ref.tag == "pending":
        return hexint(len(node.view.pending_txs()))
    return _tx_count(node, block_number_of(node, ref))


def eth_get_block_tx_count_by_hash(node: Node, block_hash: bytes) -> Any:
    """``eth_getBlockTransactionCountByHash``: a hex count, or null for an unknown hash."""
    return _tx_count(node, node.view.number_of(block_hash))


def eth_get_uncle_count_by_number(node: Node, ref: BlockRef) -> Any:
    """``eth_getUncleCountByBlockNumber``: ``0x0`` (a clique-style chain has no uncles), or
    null past the head."""
    if ref.tag == "pending":
        return "0x0"
    return None if node.view.header_at(block_number_of(node, ref)) is None else "0x0"


def eth_get_uncle_count_by_hash(node: Node, block_hash: bytes) -> Any:
    """``eth_getUncleCountByBlockHash``: ``0x0``, or null for an unknown hash."""
    return None if node.view.number_of(block_hash) is None else "0x0"


def eth_get_block_receipts(node: Node, ref: BlockRef) -> Any:
    """``eth_getBlockReceipts``: the block's receipts in order, or null past the head."""
    receipts = node.view.block_receipts_json(block_number_of(node, ref))
    return None if receipts is None else Raw(json_array(receipts))


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
