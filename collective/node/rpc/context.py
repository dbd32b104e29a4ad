"""What every handler module shares: the :class:`Raw` answer, the suggested priority fee, and
how a block named in a request (:class:`~collective.node.rpc.objects.BlockRef`) becomes a
number, a header or a state of the chain.

Handlers read the chain through ``node.view``, a read-only
:class:`~collective.node.view.ChainView` (head, headers, states, rendered blocks, transactions,
receipts and logs), as reth's RPC crates read through its ``provider``; writes go to the pool
(``node.chain.submit``). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from eth.abc import BlockHeaderAPI, StateAPI

from collective.node.errors import rejected
from collective.node.rpc.objects import BlockRef

if TYPE_CHECKING:
    from collective.node.execution import ExecutionEngine
    from collective.node.node import Node

PRIORITY_FEE = 1_000_000_000  # 1 gwei, as anvil suggests
Handler = Callable[..., Any]  # (node, *parsed params) -> result
HEADISH = ("latest", "safe", "finalized")  # one authority, instant finality: all the head


class Raw(str):
    """JSON text to splice into a response as is (a stored block, receipt or log list)."""


def block_number_of(node: Node, ref: BlockRef) -> int:
    """The number of the block ``ref`` names.

    Args: ``ref``, a tag (``earliest`` is 0, every other tag the head), a number (returned
    as is, even past the head) or a hash.
    Returns: the block number.
    Raises: :class:`~collective.node.errors.RpcError` -32000 ``header for hash … not
    found`` for an unknown hash.
    """
    if ref.hash is not None:
        number = node.view.number_of(ref.hash)
        if number is None:
            raise rejected(f"header for hash 0x{ref.hash.hex()} not found")
        return number
    if ref.tag is not None:
        return 0 if ref.tag == "earliest" else node.view.head_number
    assert ref.number is not None
    return ref.number


def header_of(node: Node, ref: BlockRef) -> BlockHeaderAPI:
    """The sealed header ``ref`` names.

    Raises: :class:`~collective.node.errors.RpcError` -32000 ``header not found`` for a
    block past the head (or an unknown hash, as :func:`block_number_of`).
    """
    header = node.view.header_at(block_number_of(node, ref))
    if header is None:
        raise rejected("header not found")
    return header


def state_of(node: Node, ref: BlockRef) -> StateAPI:
    """The state after the block ``ref`` names (the head's own for a head tag or number).

    Raises: as :func:`header_of`.
    """
    view = node.view
    if ref.tag in ("latest", "pending", "safe", "finalized") or (
        ref.number is not None and ref.number == view.head_number
    ):
        return view.head_state
    return view.state_at(header_of(node, ref))


def call_header(node: Node, ref: BlockRef) -> BlockHeaderAPI:
    """The header of the block a call on ``ref`` runs in: the next block's for "pending",
    else the sealed block's (with its own base fee: :func:`call_state` zeroes it).

    A head tag reads the head once and takes no lock; another block is looked up under the
    chain lock. Raises: as :func:`header_of`.
    """
    tag = ref.tag
    if tag in HEADISH:
        return node.view.head
    with node.lock:  # re-entrant: free when the caller holds it already
        return node.view.pending_header() if tag == "pending" else header_of(node, ref)


def call_state(node: Node, ref: BlockRef, evm: ExecutionEngine) -> StateAPI:
    """A throwaway state for a call: the block's context (the next block's for "pending"),
    with base fee zero so calls without a gas price run, as geth does.

    Args: ``evm``, the execution layer to build it on (``node.view.reading()``'s: on a
    file-backed chain, a read-only view of the committed blocks).
    Raises: as :func:`header_of`.
    """
    return evm.state(_without_base_fee(call_header(node, ref)))


class CallState:
    """What one call runs on, each part made when first needed: ``header`` (the call's
    block, :func:`call_header`, now), :attr:`evm` (``node.view.reading()``'s execution
    layer, entered into ``stack``: it stays open until the caller closes the stack) and
    :meth:`get` (the py-evm state, as :func:`call_state` builds it). A call that revm
    answers from its cache needs neither of the last two
    (:func:`~collective.node.execution.revm_calls.call_at`).

    Raises: as :func:`header_of` (constructing it).
    """

    __slots__ = ("_evm", "_node", "_stack", "_state", "header")

    def __init__(self, node: Node, ref: BlockRef, stack: ExitStack) -> None:
        """For a call on block ``ref`` of ``node``; the reader is entered into ``stack``."""
        self.header = call_header(node, ref)
        self._node = node
        self._stack = stack
        self._evm: ExecutionEngine | None = None
        self._state: StateAPI | None = None

    @property
    def evm(self) -> ExecutionEngine:
        """The execution layer to run the call on (opened at the first use)."""
        if self._evm is None:
            self._evm = self._stack.enter_context(self._node.view.reading())
        return self._evm

    def get(self) -> StateAPI:
        """The state at ``header``'s state root in that block's context, base fee zero (as
        :func:`call_state` gives it); the same object at every call."""
        if self._state is None:
            self._state = self.evm.state(_without_base_fee(self.header))
        return self._state


# the last header a call ran on and its copy with base fee zero: rlp's copy() costs more than
# building the state (~170 us of an isCovered call's ~1 ms), and calls mostly run on the head
_zero_fee: tuple[BlockHeaderAPI | None, BlockHeaderAPI | None] = (None, None)


def _without_base_fee(header: BlockHeaderAPI) -> BlockHeaderAPI:
    global _zero_fee
    source, copy = _zero_fee  # one tuple: threads see a matching pair
    if source is not header or copy is None:
        copy = header.copy(base_fee_per_gas=0)
        _zero_fee = (header, copy)
    return copy


__all__ = [
    "HEADISH",
    "PRIORITY_FEE",
    "CallState",
    "Handler",
    "Raw",
    "block_number_of",
    "call_header",
    "call_state",
    "header_of",
    "state_of",
]
