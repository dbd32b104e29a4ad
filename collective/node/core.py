"""The node's chain: its head, executing a block and committing it.

:class:`NodeChain` owns the store (:mod:`collective.node.storage`) and the execution layer
(:mod:`collective.node.execution`). It is not thread-safe by itself: the server holds
:attr:`NodeChain.lock` around every call. The layers around it::

    rpc/ -> pool (admission: collective.node.pool) -> sealer (who decides a block's contents
    and when: collective.node.sealer) -> NodeChain.seal (execution) -> NodeChain commits
    (storage); rpc/ reads through a ChainView (collective.node.view)

A block is proof of authority: the authority address is every block's ``miner`` (coinbase)
and, when the node holds the authority's key, the block carries its signature over the block
hash (:mod:`collective.node.authority`); a block takes pending transactions first come, first
served, as many as fit in its gas limit. The block, its state-trie nodes, transactions,
receipts and logs are written in one SQLite transaction before anyone learns of the block.

Admission judges a transaction by the head state (:func:`collective.node.admission.admit`);
sealing judges it again by the starting state of the block being built (AccountRules
included: :meth:`NodeChain.seal`). A transaction that fails there is *dropped*: it leaves the
pool, with the later transactions of its sender (their nonces can no longer be mined), and the
pool remembers why (:class:`~collective.node.pool.Dropped`, the last
:data:`~collective.node.pool.MAX_DROPPED`, in memory like the pool itself) so a client asking
for it learns the reason.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import rlp
from eth.abc import BlockHeaderAPI, SignedTransactionAPI, StateAPI
from eth.db.atomic import AtomicDB
from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
from eth.vm.forks.prague import PragueVM
from eth_typing import Address
from eth_utils.crypto import keccak

from collective.errors import ConfigurationError, NodeError
from collective.node import admission, pool, render
from collective.node.authority import SEAL_FIELD, Authority
from collective.node.building import FOLLOWS, NO_ROOM, Built, build_block
from collective.node.errors import RpcError
from collective.node.execution import ENGINES
from collective.node.execution.engine import ExecutionEngine
from collective.node.execution.pyevm import VM_CLASS
from collective.node.genesis import Genesis
from collective.node.permissioning import Permissioning, Rules
from collective.node.pool import MAX_DROPPED, Dropped, Pending
from collective.node.rows import stored_rows
from collective.node.storage import DamagedError, Store, StoredBlock, StoredLog, StoredTx, SyncMode
from collective.node.storage.integrity import CHECKED_BLOCKS, Integrity

log = logging.getLogger("collective.node")
ZERO_ADDRESS = Address(b"\x00" * 20)
MAX_TX_SIZE = pool.MAX_TX_SIZE


@dataclass(frozen=True)
class Sealed:
    """One sealed block: its header and the transactions in it."""

    header: BlockHeaderAPI
    tx_hashes: tuple[bytes, ...]


class NodeChain:
    """The chain one ``collective node`` serves."""

    def __init__(
        self,
        genesis: Genesis,
        data_dir: Path | None = None,
        *,
        authority: Address = ZERO_ADDRESS,
        sealer: Authority | None = None,
        permissioning: Permissioning | None = None,
        sync: SyncMode = "full",
        vm_class: type[PragueVM] = VM_CLASS,
        engine: str = "py-evm",
    ) -> None:
        if engine not in ENGINES:
            raise ConfigurationError(
                f"unknown execution engine {engine!r}", hint=f"one of {', '.join(ENGINES)}"
            )
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.sealer = sealer
        self.authority = sealer.address if sealer is not None else authority
        self.permissioning = permissioning or Permissioning(
            genesis.account_rules, genesis.bootstrap_admins
        )
        self.lock = threading.RLock()
        self.store = Store(data_dir, sync)
        self.db = AtomicDB(self.store.kv)
        self.vm_class = vm_class
        self.engine = engine  # the name of the engine that executes blocks (ENGINES)
        try:  # the revm engine refuses when its extension is not built
            self.evm: ExecutionEngine = ENGINES[engine](self.db, self.chain_id, vm_class)
        except BaseException:
            self.store.close()
            raise
        self.pending = Pending()
        # the pooled hashes the store's journal holds (collective.node.storage.journal): a
        # chain in memory keeps none (nothing of it outlives the process)
        self._journaled: set[bytes] | None = set() if data_dir is not None else None
        self.storage_error: str | None = None  # why the last block could not be stored
        self.time_offset = 0
        self._head_state: StateAPI | None = None
        self._head_rules: Rules | None = None
        self._next_base_fee: int | None = None
        genesis_id = keccak(text=genesis.dumps())
        self.integrity = Integrity(self.store, self.evm, self.db)
        self.integrity.install()
        try:
            head_number = self.store.head_number()
            if head_number is None:
                self._commit_genesis(genesis, {"genesis": genesis_id})
            else:
                if self.store.get_meta("genesis") != genesis_id:
                    raise NodeError(
                        f"the data directory holds a chain built from another genesis "
                        f"({self.store.path})",
                        hint="start with the genesis it was created with, or a new --data-dir",
                    )
                self.head = self.integrity.check_head(head_number)
        except sqlite3.DatabaseError as exc:
            self.store.close()
            raise DamagedError(self.store.path, f"SQLite reports {exc}") from None
        except BaseException:
            self.store.close()
            raise

    def _commit_genesis(self, genesis: Genesis, meta: dict[str, bytes]) -> None:
        """Write block 0: the alloc, then the genesis transactions applied to it in order.

        Raises: :class:`~collective.errors.ConfigurationError` naming the first genesis
        transaction that does not decode or apply (every one must: all validators build the
        same block 0 from the same file)."""
        header = self.evm.genesis_header(genesis)
        if not genesis.transactions:
            self._commit(header, [], [], [], meta=meta)
            return
        txs = []
        for index, raw in enumerate(genesis.transactions):
            try:
                txs.append(self.evm.decode_transaction(raw))
            except Exception as exc:  # rlp's and py-evm's decoding errors have no common root
                raise ConfigurationError(
                    f"genesis transaction {index} is not a signed transaction: {exc}"
                ) from None
        built = build_block(self.evm, header, txs, list(genesis.transactions), None, genesis=True)
        for index, outcome in enumerate(built.outcomes):
            if outcome is not None:
                raise ConfigurationError(
                    f"genesis transaction {index} does not apply: {outcome.reason}",
                    hint="make the genesis again (collective network init)",
                )
        self.commit_built(built, meta)

    def close(self) -> None:
        """Close the store (the caller holds :attr:`lock`; nothing is sealed here)."""
        self.store.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[ExecutionEngine]:
        """An execution layer for a call that runs outside :attr:`lock`: over a read-only view
        of the committed blocks (:meth:`Store.reader`), or, for an in-memory chain, the
        chain's own (the caller then holds the lock)."""
        with self.store.reader() as view:
            if view is None:
                yield self.evm
            else:  # the engine blocks execute with runs the calls too
                yield ENGINES[self.engine](AtomicDB(view), self.chain_id, self.vm_class)

    # --- state --------------------------------------------------------------------------------

    @property
    def head_state(self) -> StateAPI:
        """The state after the head block (cached until the next block)."""
        if self._head_state is None:
            self._head_state = self.evm.state(self.head)
        return self._head_state

    @property
    def head_rules(self) -> Rules:
        """The permissioning rules in the head state: what admission asks, and what the next
        block's transactions are sealed under (its starting state is the head's)."""
        if self._head_rules is None:
            self._head_rules = self.permissioning.at(self.evm, self.head_state)
        return self._head_rules

    def header_at(self, number: int) -> BlockHeaderAPI | None:
        """The header of block ``number``, or None above the head. Raises ``DamagedError``
        when its stored row does not match its hash."""
        if number == self.head.block_number:
            return self.head
        stored = self.store.block_by_number(number)
        return None if stored is None else self.evm.decode_header(stored.header)

    def pending_header(self) -> BlockHeaderAPI:
        """The header the next block would get (for calls against "pending")."""
        return self.evm.child_header(self.head, coinbase=self.authority, timestamp=self.now())

    def next_base_fee(self) -> int:
        """The base fee per gas (wei) of the next block: EIP-1559's rule over the head alone
        (py-evm's, as the next header gets it; the gas limit stays the parent's)."""
        if self._next_base_fee is None:
            self._next_base_fee = calculate_expected_base_fee_per_gas(self.head)
        return self._next_base_fee

    def now(self) -> int:
        """The chain's clock: Unix seconds plus the dev time offset (``evm_increaseTime``)."""
        return int(time.time()) + self.time_offset

    def nonce(self, sender: Address, *, pending: bool = False) -> int:
        """``sender``'s next nonce (20-byte address) at the head, or with ``pending`` after
        its transactions waiting in the pool."""
        if pending and sender in self.pending.next_nonce:
            return self.pending.next_nonce[sender]
        return int(self.head_state.get_nonce(sender))

    # --- admission (collective.node.pool) ---------------------------------------------------

    def submit(self, raw: bytes, sender: bytes | None = None) -> bytes:
        """Check a signed transaction and pool it: :func:`collective.node.admission.submit`.

        Returns: its 32-byte hash. Raises: :class:`~collective.node.errors.RpcError`."""
        return admission.submit(self, raw, sender)

    def admit(self, tx: SignedTransactionAPI, sender: Address, raw: bytes) -> None:
        """Judge a decoded transaction and pool it: :func:`collective.node.admission.admit`.

        Raises: :class:`~collective.node.errors.RpcError` -32000 when it is refused."""
        admission.admit(self, tx, sender, raw)

    # --- the pool's journal (collective.node.storage.journal) --------------------------------

    def flush_journal(self) -> None:
        """Make the store's journal hold what the pool holds: the transactions pooled since
        the last flush are written (before their hashes are answered), and rows of those
        that left the pool unmined (dropped, replaced, evicted) deleted. One commit, no
        fsync; nothing when the pool has not changed. The caller holds :attr:`lock`.

        Raises: :class:`~collective.node.storage.StorageError` when it cannot be written."""
        journaled = self._journaled
        pooled = self.pending.raw
        if journaled is None or (len(journaled) == len(pooled) and journaled.issuperset(pooled)):
            return
        added = [(h, raw) for h, raw in pooled.items() if h not in journaled]
        removed = [h for h in journaled if h not in pooled]
        self.store.journal.write(added, removed)
        journaled.difference_update(removed)
        journaled.update(h for h, _ in added)

    def restore_pool(self) -> list[bytes]:
        """Pool again what the journal holds (a process that was killed with transactions
        answered but not sealed), in arrival order, by the usual admission rules
        (:func:`collective.node.admission.submit`); what they refuse now (sealed meanwhile,
        or no longer valid) is logged and its row deleted. The caller holds :attr:`lock`.

        Returns: the hashes pooled again."""
        if self._journaled is None:
            return []
        restored = []
        for tx_hash, raw in self.store.journal.entries():
            self._journaled.add(tx_hash)
            try:
                restored.append(self.submit(raw))
            except RpcError as exc:
                log.warning(
                    "journaled transaction 0x%s is not pooled again: %s", tx_hash.hex(), exc
                )
        self.flush_journal()
        return restored

    # --- sealing ------------------------------------------------------------------------------

    def seal_all(self) -> list[Sealed]:
        """Seal blocks until the pool is empty."""
        sealed = []
        while self.pending.txs:
            sealed.append(self.seal())
        return sealed

    def seal(self, timestamp: int | None = None) -> Sealed:
        """Seal one block with as many pending transactions as fit (possibly none).

        Every transaction is judged again by the block's *starting state* (the head's), as
        admission judged it by the head it saw then (:func:`collective.node.building.build_block`:
        the consensus rule CometBFT's ProcessProposal applies too). A transaction refused
        there is dropped from the pool with its reason (see :class:`Dropped`), and so are its
        sender's later ones, whose nonces can no longer be mined. With the shipped
        AccountRules each sender is asked once per block at most (its answers are remembered
        per contract storage), usually not at all (admission asked under the same storage).
        Returns: the :class:`Sealed` block. Raises: the store's errors (the pool is left as
        it was)."""
        header = self.evm.child_header(
            self.head, coinbase=self.authority, timestamp=timestamp or self.now()
        )
        number = header.block_number
        rules = self.head_rules if self.permissioning.enabled else None
        pending = self.pending.txs
        raws = self.pending.raw
        built = build_block(
            self.evm, header, pending, [raws.get(bytes(tx.hash)) for tx in pending], rules
        )
        self.commit_built(built)
        # what was refused leaves the pool with its reason; what did not fit stays
        leftover = []
        firsts: dict[bytes, Dropped] = {}
        for tx, outcome in zip(pending, built.outcomes, strict=True):
            if outcome is None:
                continue
            first = built.refused_senders.get(bytes(tx.sender))
            if outcome.kind == NO_ROOM and first is None:
                leftover.append(tx)
            elif outcome.kind in (FOLLOWS, NO_ROOM) and first in firsts:
                self._drop(tx, number, _follows(firsts[first]))
            else:
                firsts[bytes(tx.hash)] = self._drop(tx, number, outcome.reason)
        for sender, first in built.refused_senders.items():  # nor the queued ones behind them
            for tx in self.pending.take_queued(sender):
                self._drop(tx, number, _follows(firsts[first]))
        # the pool keeps what did not fit; nonces of dropped transactions are recomputed
        self.pending.settle(leftover, [bytes(tx.hash) for tx in built.applied])
        return Sealed(built.header, tuple(bytes(tx.hash) for tx in built.applied))

    def commit_built(self, built: Built, meta: dict[str, bytes] | None = None) -> None:
        """Commit a block :func:`~collective.node.building.build_block` executed on the head:
        its header, transactions, receipts and logs in one store transaction, then make it
        the head (its state is the new head state: admission reads it).

        Raises: the store's ``StorageError``/``DamagedError`` (nothing changes then)."""
        final = built.header
        stored_txs, stored_logs = stored_rows(built)
        self._commit(final, stored_txs, stored_logs, built.raws, meta)
        # the state the block was built on is the new head's (persisted at its state root,
        # executing in the block's context): admission reads it instead of building another
        self._head_state = built.state

    def _drop(self, tx: SignedTransactionAPI, number: int, reason: str) -> Dropped:
        """Record that ``tx`` leaves the pool unmined (the caller takes it out of the list)."""
        found = Dropped(bytes(tx.hash), bytes(tx.sender), int(tx.nonce), number, reason)
        self.pending.drop(found)
        log.info("%s", found.message)
        return found

    def _commit(
        self,
        header: BlockHeaderAPI,
        txs: list[StoredTx],
        logs: list[StoredLog],
        raw_txs: Iterable[bytes],
        meta: dict[str, bytes] | None = None,
    ) -> None:
        self.evm.store_header(header)
        size = render.block_size(header, list(raw_txs))
        block = render.block(header, size=size)
        if self.sealer is not None and header.block_number > 0:
            block[SEAL_FIELD] = render.hexbytes(self.sealer.seal(bytes(header.hash)))
        block_json = render.dumps(block)
        self.store.commit_block(
            StoredBlock(header.block_number, bytes(header.hash), _encode(header), block_json),
            txs,
            logs,
            meta,
        )
        if self._journaled:  # the block's commit deleted its transactions' journal rows
            self._journaled.difference_update(tx.hash for tx in txs)
        self.head = header
        self._head_state = None
        self._head_rules = None
        self._next_base_fee = None

    # --- dev helpers --------------------------------------------------------------------------

    def revert_to(self, number: int) -> None:
        """Make block ``number`` the head again, forgetting later blocks and the pool (the
        caller holds :attr:`lock`)."""
        header = self.header_at(number)
        if header is None:
            raise NodeError(f"there is no block {number}")
        self.store.truncate_after(number)
        self.head = header
        self._head_state = None
        self._head_rules = None
        self._next_base_fee = None
        self.pending.clear()
        self.flush_journal()  # nor does its journal (a restart would pool them again)


def _follows(first: Dropped) -> str:
    return f"it follows transaction 0x{first.tx_hash.hex()} of its sender, dropped: {first.reason}"


def _encode(header: BlockHeaderAPI) -> bytes:
    return bytes(rlp.encode(header))


__all__ = [
    "CHECKED_BLOCKS",
    "MAX_DROPPED",
    "MAX_TX_SIZE",
    "Dropped",
    "NodeChain",
    "Pending",
    "Sealed",
]
