"""A read-only view of the chain: what the RPC layer reads, and nothing it could write with.

As reth's ``provider`` and geth's ``ethapi`` backend, handlers ask a :class:`ChainView` for the
head, headers, states, blocks, transactions, receipts and logs; they never open the store or
touch the pool's internals. Blocks, transactions, receipts and logs come as the JSON rendered
when they were sealed (:mod:`collective.node.storage`), checked before they are served (a
block's transaction list against its transactionsRoot, its receipts and logs against its
receiptsRoot): a damaged row raises :class:`~collective.node.storage.DamagedError` rather than
being answered.

A view holds no lock: a caller that needs several reads to agree (one head) takes
:attr:`NodeChain.lock <collective.node.core.NodeChain.lock>` around them, as the RPC dispatcher
does. Calls that may run long use :meth:`ChainView.reading`, a read-only execution layer over
the committed blocks that needs no lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from eth.abc import BlockHeaderAPI, SignedTransactionAPI, StateAPI
from eth_typing import Address

from collective.node.core import NodeChain
from collective.node.execution.engine import ExecutionEngine
from collective.node.logindex import LogQuery, find_logs
from collective.node.pool import Dropped
from collective.node.storage import StoredTx


class ChainView:
    """Reads of one :class:`~collective.node.core.NodeChain` (see the module doc)."""

    def __init__(self, chain: NodeChain) -> None:
        self._chain = chain

    # --- the chain and its head -------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        """The EIP-155 chain id."""
        return self._chain.chain_id

    @property
    def authority(self) -> Address:
        """The 20-byte address every block names as ``miner`` (coinbase)."""
        return self._chain.authority

    @property
    def head(self) -> BlockHeaderAPI:
        """The header of the latest committed block."""
        return self._chain.head

    @property
    def head_number(self) -> int:
        """The number of the latest committed block."""
        return int(self._chain.head.block_number)

    def header_at(self, number: int) -> BlockHeaderAPI | None:
        """The header of block ``number``, or None above the head."""
        return self._chain.header_at(number)

    def number_of(self, block_hash: bytes) -> int | None:
        """The number of the block with this 32-byte hash, or None if there is none."""
        stored = self._chain.store.block_by_hash(block_hash)
        return None if stored is None else stored.number

    def pending_header(self) -> BlockHeaderAPI:
        """The header the next block would get (calls against ``pending``)."""
        return self._chain.pending_header()

    def next_base_fee(self) -> int:
        """The base fee per gas (wei) of the next block (EIP-1559)."""
        return self._chain.next_base_fee()

    def now(self) -> int:
        """The chain's clock in Unix seconds (the wall clock plus dev time travel)."""
        return self._chain.now()

    # --- state --------------------------------------------------------------------------------

    @property
    def head_state(self) -> StateAPI:
        """The state after the head block (shared: read it, never change it)."""
        return self._chain.head_state

    def state_at(self, header: BlockHeaderAPI) -> StateAPI:
        """The state after ``header``'s block (a new object: a caller may run calls on it)."""
        if header is self._chain.head:
            return self._chain.head_state
        return self._chain.evm.state(header)

    def nonce(self, sender: Address, *, pending: bool = False) -> int:
        """``sender``'s next nonce at the head, or after its pooled transactions."""
        return self._chain.nonce(sender, pending=pending)

    @contextlib.contextmanager
    def reading(self) -> Iterator[ExecutionEngine]:
        """An execution layer for a call that runs outside the chain lock (over a read-only
        view of the committed blocks; an in-memory chain's own, under the caller's lock)."""
        with self._chain.reading() as evm:
            yield evm

    # --- blocks -------------------------------------------------------------------------------

    def block_json(self, number: int, *, full: bool) -> str | None:
        """Block ``number`` as JSON text with its transactions (objects when ``full``,
        else hashes), or None if there is no such block. Raises ``DamagedError``."""
        store = self._chain.store
        stored = store.block_by_number(number)
        if stored is None:
            return None
        store.verify_body(number)
        if full:
            txs = ",".join(store.block_tx_json(number))
        else:
            txs = ",".join('"0x' + h.hex() + '"' for h in store.block_tx_hashes(number))
        return stored.json[:-1] + ',"transactions":[' + txs + "]}"

    def block_tx_hashes(self, number: int) -> list[bytes] | None:
        """Block ``number``'s transaction hashes in order (checked against its
        transactionsRoot), or None if there is no such block."""
        store = self._chain.store
        if store.block_by_number(number) is None:
            return None
        store.verify_body(number)
        return store.block_tx_hashes(number)

    def block_tx_json(self, number: int) -> list[str] | None:
        """Block ``number``'s transactions as JSON texts, or None if there is no block."""
        store = self._chain.store
        if store.block_by_number(number) is None:
            return None
        store.verify_body(number)
        return store.block_tx_json(number)

    def block_hashes(self, start: int, stop: int) -> list[bytes]:
        """The hashes of blocks ``start`` .. ``stop`` (inclusive) that exist, in order."""
        return self._chain.store.block_hashes(start, stop)

    def block_receipts_json(self, number: int) -> list[str] | None:
        """Block ``number``'s receipts as JSON texts (checked against its receiptsRoot),
        or None if there is no such block."""
        store = self._chain.store
        if store.block_by_number(number) is None:
            return None
        store.verify_receipts(number)
        return store.block_receipts(number)

    # --- transactions, receipts, logs ---------------------------------------------------------

    def transaction(self, tx_hash: bytes) -> StoredTx | None:
        """The sealed transaction with this hash (raw bytes, rendered JSON and receipt, where
        it is), or None."""
        return self._chain.store.tx(tx_hash)

    def receipt_json(self, tx_hash: bytes) -> str | None:
        """The receipt of the sealed transaction with this hash as JSON text (its block's
        receipts checked against its receiptsRoot), or None if it is not sealed."""
        stored = self._chain.store.tx(tx_hash)
        if stored is None:
            return None
        self._chain.store.verify_receipts(stored.block)
        return stored.receipt

    def pooled(self, tx_hash: bytes) -> SignedTransactionAPI | None:
        """The transaction with this hash waiting in the pool (pending or queued), or None."""
        return self._chain.pending.find(tx_hash)

    def pooled_raw(self, tx_hash: bytes) -> bytes | None:
        """The raw bytes of the pooled transaction with this hash, or None."""
        return self._chain.pending.raw.get(tx_hash)

    def pending_txs(self) -> list[SignedTransactionAPI]:
        """The pool's pending transactions in the order they would be sealed (a copy)."""
        return list(self._chain.pending.txs)

    def dropped(self, tx_hash: bytes) -> Dropped | None:
        """Why the transaction with this hash left the pool unmined, if it did (the last
        :data:`~collective.node.pool.MAX_DROPPED` are remembered)."""
        return self._chain.pending.dropped.get(tx_hash)

    def logs(self, query: LogQuery) -> list[str]:
        """The logs matching ``query`` as JSON texts in chain order (each block's checked
        against its receiptsRoot). Raises :class:`~collective.node.errors.RpcError` -32005
        past :data:`~collective.node.logindex.MAX_LOGS` results."""
        return find_logs(self._chain.store, query)


__all__ = ["ChainView"]
