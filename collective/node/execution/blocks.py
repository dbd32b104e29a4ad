"""A block's header: made from its parent's in one step, finished with its state root.

py-evm builds a child header (``PragueVM.create_header_from_parent``) through every fork's
builder in turn (Prague on Cancun on Shanghai on Paris on Gray Glacier ... on London), each
making a header of its fork and copying its fields into the next: about 0.4 ms a block, a
tenth of the sealing of a one-transaction block. :func:`prague_child_header` makes the same
header once, with py-evm's own rules for the two fields that depend on the parent: the base
fee (EIP-1559, ``calculate_expected_base_fee_per_gas``) and the excess blob gas (EIP-4844 with
Prague's target, EIP-7691, ``calc_excess_blob_gas_prague``); everything else is a constant of
the merge (EIP-3675: difficulty 0, nonce and mix hash zero), of a fork's new field at its
empty value (withdrawals root EIP-4895, blob gas used and parent beacon block root EIP-4788 as
Cancun's builder sets them, requests hash EIP-7685), or a copy of the parent's (state root,
hash as parent hash, number + 1).

``tests/node/test_node_headers.py`` compares it with py-evm's builder field by field, and
:mod:`.upstream` pins every builder it stands in for.

:func:`finish_block` finishes a block as py-evm's ``VM.finalize_block`` does, without its two
copies of the block.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from eth.abc import BlockHeaderAPI
from eth.constants import (
    BLANK_ROOT_HASH,
    EMPTY_SHA256,
    EMPTY_UNCLE_HASH,
    POST_MERGE_DIFFICULTY,
    POST_MERGE_MIX_HASH,
    POST_MERGE_NONCE,
)
from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.blocks import PragueBlockHeader
from eth.vm.forks.prague.headers import calc_excess_blob_gas_prague
from eth_typing import Address, BlockNumber

from collective.node.execution.engine import BlockBuilder


def builds_prague_headers(vm_class: type[PragueVM]) -> bool:
    """Whether ``vm_class`` makes its child headers with Prague's stock builder (so
    :func:`prague_child_header` makes the same ones)."""
    return vm_class.create_header_from_parent is PragueVM.create_header_from_parent


def prague_child_header(
    parent: BlockHeaderAPI, *, coinbase: Address, timestamp: int, gas_limit: int
) -> BlockHeaderAPI:
    """The header ``PragueVM.create_header_from_parent(parent, coinbase=..., timestamp=...,
    gas_limit=...)`` returns, made in one step.

    Args: ``parent``, a London-or-later header (it has a base fee); ``coinbase``, 20 bytes;
    ``timestamp``, seconds (not checked against the parent's: the caller's rule);
    ``gas_limit``, gas.
    Returns: the child's header: no transactions, the parent's state root.
    Raises: nothing of its own (rlp's validation errors for an out-of-range field).
    """
    return PragueBlockHeader(
        difficulty=POST_MERGE_DIFFICULTY,
        block_number=BlockNumber(parent.block_number + 1),
        gas_limit=gas_limit,
        timestamp=timestamp,
        coinbase=coinbase,
        parent_hash=parent.hash,
        uncles_hash=EMPTY_UNCLE_HASH,
        state_root=parent.state_root,
        transaction_root=BLANK_ROOT_HASH,
        receipt_root=BLANK_ROOT_HASH,
        bloom=0,
        gas_used=0,
        extra_data=b"",
        mix_hash=POST_MERGE_MIX_HASH,
        nonce=POST_MERGE_NONCE,
        base_fee_per_gas=calculate_expected_base_fee_per_gas(parent),
        withdrawals_root=BLANK_ROOT_HASH,
        blob_gas_used=0,
        excess_blob_gas=calc_excess_blob_gas_prague(parent),
        parent_beacon_block_root=BLANK_ROOT_HASH,
        requests_hash=EMPTY_SHA256,
    )


@runtime_checkable
class _HoldsChanges(Protocol):
    """A block builder that keeps its transactions' changes apart from py-evm's state until
    :meth:`flush` writes them there (the revm engine's)."""

    def flush(self) -> None:
        """Write the changes held into py-evm's state."""

    def built(self, header: BlockHeaderAPI) -> None:
        """The block is finished as ``header``."""


def holds_changes(vm: BlockBuilder) -> bool:
    """Whether the builder ``vm`` keeps its transactions' changes apart from py-evm's state
    until it flushes them (the revm engine's: a refused transaction changes nothing there)."""
    return isinstance(vm, _HoldsChanges)


def finish_block(vm: BlockBuilder, header: BlockHeaderAPI, **fields: Any) -> BlockHeaderAPI:
    """What py-evm's ``VM.finalize_block`` does to a post-merge block, without its two copies
    of the block (~0.25 ms): no block or uncle rewards (``ParisVM`` assigns none, EIP-3675),
    the state persisted (a builder's held changes written into it first), the header given
    its state root.

    Args: ``vm``, the block's builder, after its last transaction; ``header``, the block's
    header as it started; ``fields``, the other header fields to set (``gas_used``,
    ``bloom``, ``transaction_root``...).
    Returns: the block's final header. A builder that holds changes is told it
    (``built``: its state cache may serve the child block).
    Raises: py-evm's errors for a state it cannot persist.
    """
    holds = holds_changes(vm)
    if holds:
        vm.flush()  # type: ignore[attr-defined]
    vm.state.persist()
    final = header.copy(state_root=vm.state.state_root, **fields)
    if holds:
        vm.built(final)  # type: ignore[attr-defined]
    return final


__all__ = ["builds_prague_headers", "finish_block", "holds_changes", "prague_child_header"]
