"""The ``evm_*`` dev namespace, as anvil and hardhat serve it (``--dev`` only): snapshots and
reverts, mining a block on demand, moving the clock.

Each handler takes the :class:`~collective.node.node.Node` and the parsed params (see
:data:`collective.node.rpc.methods.METHODS`) and returns a JSON-able value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collective.node.render import hexint

if TYPE_CHECKING:
    from collective.node.node import Node


def evm_snapshot(node: Node) -> Any:
    """``evm_snapshot``: seal what is pending, then a snapshot id (hex) of the head."""
    assert node.dev is not None
    node.chain.seal_all()
    return hexint(node.dev.snapshot(node.view.head_number))


def evm_revert(node: Node, snap: int) -> Any:
    """``evm_revert``: move the head back to snapshot ``snap`` (used up, as anvil's); false
    for an unknown snapshot. Filters never report the dropped blocks again."""
    assert node.dev is not None
    block = node.dev.take(snap)
    if block is None:
        return False
    node.chain.revert_to(block)
    node.filters.rewind(block)
    return True


def evm_mine(node: Node, timestamp: int | None) -> Any:
    """``evm_mine``: seal a block now, at ``timestamp`` (seconds; the clock moves forward to
    it) if given; ``0x0``."""
    if timestamp is not None:
        node.chain.time_offset += max(0, timestamp - node.chain.now())
    node.chain.seal(timestamp)
    return "0x0"


def evm_increase_time(node: Node, seconds: int) -> Any:
    """``evm_increaseTime``: move the clock ``seconds`` forward; the total offset (hex)."""
    node.chain.time_offset += seconds
    return hexint(node.chain.time_offset)


__all__ = ["evm_increase_time", "evm_mine", "evm_revert", "evm_snapshot"]
