"""The ``web3_*`` and ``net_*`` namespaces: who the node is and which network it serves.

Each handler takes the :class:`~collective.node.node.Node` and the parsed params (see
:data:`collective.node.rpc.methods.METHODS`) and returns a JSON-able value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_utils.crypto import keccak

from collective.node.render import hexbytes

if TYPE_CHECKING:
    from collective.node.node import Node


def web3_client_version(node: Node) -> Any:
    """``web3_clientVersion``: ``collective/<version>/...`` (a string)."""
    return node.client_version


def web3_sha3(node: Node, payload: bytes) -> Any:
    """``web3_sha3``: the Keccak-256 of ``payload``, as 0x-hex."""
    return hexbytes(keccak(payload))


def net_version(node: Node) -> Any:
    """``net_version``: the chain id as a decimal string."""
    return str(node.view.chain_id)


__all__ = ["net_version", "web3_client_version", "web3_sha3"]
