"""The ``eth_*`` methods that read accounts: balance, nonce, code, storage and proofs
(EIP-1186), at any block the request names (EIP-1898).

Each handler takes the :class:`~collective.node.node.Node` and the parsed params (see
:data:`collective.node.rpc.methods.METHODS`) and returns a JSON-able value. A block past the
head or an unknown block hash answers -32000 (``header not found``; see
:mod:`collective.node.rpc.context`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_typing import Address

from collective.node import tracing
from collective.node.render import hexbytes, hexint
from collective.node.rpc.context import header_of, state_of
from collective.node.rpc.objects import BlockRef

if TYPE_CHECKING:
    from collective.node.node import Node


def eth_get_balance(node: Node, who: Address, ref: BlockRef) -> Any:
    """``eth_getBalance``: ``who``'s balance in wei after block ``ref``, as hex."""
    return hexint(state_of(node, ref).get_balance(who))


def eth_get_transaction_count(node: Node, who: Address, ref: BlockRef) -> Any:
    """``eth_getTransactionCount``: ``who``'s nonce after block ``ref``; for ``pending``, the
    next nonce counting the pool's transactions."""
    if ref.tag == "pending":
        return hexint(node.view.nonce(who, pending=True))
    return hexint(state_of(node, ref).get_nonce(who))


def eth_get_code(node: Node, who: Address, ref: BlockRef) -> Any:
    """``eth_getCode``: the code at ``who`` after block ``ref``, as 0x-hex."""
    return hexbytes(state_of(node, ref).get_code(who))


def eth_get_storage_at(node: Node, who: Address, slot: int, ref: BlockRef) -> Any:
    """``eth_getStorageAt``: the 32-byte word in ``who``'s storage ``slot``, as 0x-hex."""
    value = state_of(node, ref).get_storage(who, slot)
    return hexbytes(int(value).to_bytes(32, "big"))


def eth_get_proof(node: Node, who: Address, slots: list[int], ref: BlockRef) -> Any:
    """``eth_getProof`` (EIP-1186): the account and storage proofs of ``who`` and ``slots``
    against block ``ref``'s state root (the head's for ``pending``)."""
    header = node.view.head if ref.tag == "pending" else header_of(node, ref)
    return tracing.proof(node.chain.db, bytes(header.state_root), bytes(who), slots)


__all__ = [
    "eth_get_balance",
    "eth_get_code",
    "eth_get_proof",
    "eth_get_storage_at",
    "eth_get_transaction_count",
]
