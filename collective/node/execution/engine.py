"""The execution engine interface: what the rest of the node asks of the VM.

The node's chain (sealing, admission, reads), its RPC handlers, tracing and permissioning
talk to one :class:`ExecutionEngine` object per database; :class:`~.pyevm.Evm` (py-evm's
Prague, trimmed by this package) is its one implementation today. A faster engine can be
measured beside it by implementing this protocol and registering it in
:data:`collective.node.execution.ENGINES`; nothing else in the node needs to change.

The shapes are py-evm's (``eth.abc``): headers, states, signed transactions, receipts and
computations. That is what the node consumes today; an engine written in another language
would wrap its results in those interfaces (as eth-tester's backends wrap theirs).

The sealer's use of an engine, per block::

    vm = engine.vm(header)
    vm.block_preprocessing(vm.get_block())
    for tx in txs:
        receipt, computation = vm.apply_transaction(header_so_far, tx)
    final = vm.finalize_block(block).block.header
    engine.store_header(final)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from eth.abc import (
    AtomicDatabaseAPI,
    BlockAndMetaWitness,
    BlockAPI,
    BlockHeaderAPI,
    ComputationAPI,
    ReceiptAPI,
    SignedTransactionAPI,
    StateAPI,
)
from eth.exceptions import Revert
from eth_typing import Address

from collective.node.genesis import Genesis

#: an EIP-2930 access list: (address, storage slots) pairs
AccessList = tuple[tuple[bytes, tuple[int, ...]], ...]


@dataclass
class CallResult:
    """What a call or a dry run produced.

    ``output``: the return data (the revert data when it reverted; empty on any other error);
    ``gas_used``: gas in units of gas, intrinsic gas included for transaction-shaped calls;
    ``error``: the py-evm exception the execution ended with, or None."""

    output: bytes
    gas_used: int
    error: Exception | None

    @property
    def reverted(self) -> bool:
        """Whether the execution ended with REVERT (``eth.exceptions.Revert``)."""
        return isinstance(self.error, Revert)


def revert_data(error: Exception | None) -> bytes:
    """The data a REVERT returned (``error.args[0]``), or b"" for any other error or None."""
    if isinstance(error, Revert) and error.args:
        return bytes(error.args[0])
    return b""


@runtime_checkable
class BlockBuilder(Protocol):
    """The VM of one block being sealed (py-evm's ``VirtualMachineAPI``, the part the sealer
    calls)."""

    @property
    def state(self) -> StateAPI:
        """The state the block executes on (after finalizing: the new head's state)."""

    def get_block(self) -> BlockAPI:
        """The block being built (header and transactions so far)."""

    def block_preprocessing(self, block: BlockAPI) -> None:
        """System work before the first transaction (EIP-4788 beacon root, EIP-2935 block
        hashes); raises py-evm's errors."""

    def apply_transaction(
        self, header: BlockHeaderAPI, transaction: SignedTransactionAPI
    ) -> tuple[ReceiptAPI, ComputationAPI]:
        """Apply ``transaction`` on top of ``header`` (its ``gas_used`` is the block's so
        far): its receipt (cumulative gas) and computation. Raises ``ValidationError`` when it
        does not apply (nonce, funds, gas limit)."""

    def finalize_block(self, block: BlockAPI) -> BlockAndMetaWitness:
        """Persist the state and give ``block`` its final header (state root)."""


@runtime_checkable
class ExecutionEngine(Protocol):
    """One chain's execution over one database: headers, states, transactions, calls."""

    chain_id: int

    @property
    def db(self) -> AtomicDatabaseAPI:
        """The key-value database its states read (trie nodes and code by hash, headers)."""

    def genesis_header(self, genesis: Genesis) -> BlockHeaderAPI:
        """Write ``genesis``'s state; block 0's header (also stored by hash)."""

    def store_header(self, header: BlockHeaderAPI) -> None:
        """Keep ``header`` by its hash (where ``BLOCKHASH`` looks)."""

    def header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI:
        """The stored header of the 32-byte ``block_hash``; raises ``HeaderNotFound``."""

    def decode_header(self, encoded: bytes) -> BlockHeaderAPI:
        """A header from its RLP; raises rlp's ``DeserializationError``."""

    def child_header(
        self,
        parent: BlockHeaderAPI,
        *,
        coinbase: Address,
        timestamp: int,
        strictly_later: bool = True,
    ) -> BlockHeaderAPI:
        """The header of the block after ``parent`` (timestamp in seconds, at least one past
        the parent's; with ``strictly_later`` False, at least the parent's)."""

    def vm(self, header: BlockHeaderAPI) -> BlockBuilder:
        """A VM to seal the block ``header`` starts."""

    def state(self, header: BlockHeaderAPI) -> StateAPI:
        """The state after ``header``'s block, to read and dry-run against (never persisted)."""

    def decode_transaction(self, raw: bytes) -> SignedTransactionAPI:
        """A signed transaction from its encoding; raises decoding errors."""

    def recover_sender(self, tx: SignedTransactionAPI, raw: bytes | None = None) -> Address:
        """Check ``tx``'s signature; its sender. Raises on a bad signature."""

    def call(
        self,
        state: StateAPI,
        *,
        sender: Address,
        to: Address | None,
        data: bytes,
        value: int,
        gas: int,
        gas_price: int = 0,
        access_list: AccessList = (),
        inspect: Callable[[StateAPI, ComputationAPI], None] | None = None,
    ) -> CallResult:
        """Run an unsigned transaction (eth_call) on ``state`` and undo it."""

    def estimate(
        self,
        state: StateAPI,
        *,
        sender: Address,
        to: Address | None,
        data: bytes,
        value: int,
        cap: int,
    ) -> CallResult:
        """The lowest gas limit up to ``cap`` at which the transaction does not fail."""

    def message_call(
        self, state: StateAPI, *, sender: Address, to: Address, data: bytes, gas: int
    ) -> CallResult:
        """Run ``to``'s code as a plain message (no transaction, no fees) and undo it."""


__all__ = ["AccessList", "BlockBuilder", "CallResult", "ExecutionEngine", "revert_data"]
