"""The ``eth_*`` methods about the chain itself: its id, head, accounts, coinbase and fees
(``eth_gasPrice``, ``eth_maxPriorityFeePerGas``, ``eth_feeHistory``).

Each handler takes the :class:`~collective.node.node.Node` and the parsed params (see
:data:`collective.node.rpc.methods.METHODS`) and returns a JSON-able value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collective.node.execution import VM_CLASS, base_fee
from collective.node.render import hexint
from collective.node.rpc.context import PRIORITY_FEE, block_number_of
from collective.node.rpc.objects import BlockRef
from collective.node.rpc.scalars import ParamError

if TYPE_CHECKING:
    from collective.node.node import Node

MAX_FEE_HISTORY = 1024  # blocks per eth_feeHistory, as geth's default


def eth_chain_id(node: Node) -> Any:
    """``eth_chainId``: the chain id (EIP-695), as a hex quantity."""
    return hexint(node.view.chain_id)


def eth_block_number(node: Node) -> Any:
    """``eth_blockNumber``: the head's number, as a hex quantity."""
    return hexint(node.view.head_number)


def eth_accounts(node: Node) -> Any:
    """``eth_accounts``: the dev accounts' addresses on a ``--dev`` node, else ``[]``."""
    if node.dev is None:
        return []
    return ["0x" + a.hex() for a in node.dev.addresses]


def eth_coinbase(node: Node) -> Any:
    """``eth_coinbase``: the sealing authority's address."""
    return "0x" + node.view.authority.hex()


def eth_gas_price(node: Node) -> Any:
    """``eth_gasPrice``: the next block's base fee (EIP-1559) plus :data:`PRIORITY_FEE`, in
    wei."""
    return hexint(base_fee(node.view.pending_header()) + PRIORITY_FEE)


def eth_max_priority_fee(node: Node) -> Any:
    """``eth_maxPriorityFeePerGas``: :data:`PRIORITY_FEE` (1 gwei, as anvil), in wei."""
    return hexint(PRIORITY_FEE)


def eth_fee_history(
    node: Node, count: int, newest_ref: BlockRef, percentiles: list[float] | None
) -> Any:
    """``eth_feeHistory``: base fees, gas-used ratios and (with ``percentiles``) rewards of
    ``count`` blocks (at most 1,024) ending at ``newest_ref``, and the base fee of the block
    after it.

    Returns: ``{oldestBlock, baseFeePerGas, gasUsedRatio[, reward]}``, quantities in hex.
    Raises: :class:`ParamError` (argument 1) when ``newest_ref`` is past the head, in geth's
    words (``request beyond head block``).
    """
    view = node.view
    head = view.head_number
    newest = block_number_of(node, newest_ref)
    if newest > head:
        raise ParamError(
            "newestBlock",
            f"request beyond head block: requested {newest}, head {head}",
            index=1,
        )
    count = max(0, min(count, MAX_FEE_HISTORY, newest + 1))
    oldest = newest - count + 1
    base_fees, ratios, rewards = [], [], []
    for number in range(oldest, newest + 1):
        header = view.header_at(number)
        assert header is not None
        base_fees.append(hexint(base_fee(header)))
        ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
        rewards.append([hexint(PRIORITY_FEE if header.gas_used else 0)] * len(percentiles or []))
    last = view.header_at(newest)
    assert last is not None
    following = VM_CLASS.create_header_from_parent(last, gas_limit=last.gas_limit)
    base_fees.append(hexint(base_fee(following)))
    result: dict[str, Any] = {
        "oldestBlock": hexint(max(oldest, 0)),
        "baseFeePerGas": base_fees if count else [],
        "gasUsedRatio": ratios,
    }
    if percentiles is not None:
        result["reward"] = rewards
    return result


__all__ = [
    "eth_accounts",
    "eth_block_number",
    "eth_chain_id",
    "eth_coinbase",
    "eth_fee_history",
    "eth_gas_price",
    "eth_max_priority_fee",
]
