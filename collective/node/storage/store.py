"""The chain database as one object: open it (locked to this process), commit a block and
everything py-evm wrote for it in one SQLite transaction, move or roll back the head, hand out
read-only views for calls that run outside the chain lock. The design is in
:mod:`collective.node.storage`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from collective.errors import NodeError
from collective.node.storage.blocks import BlockReader, StoredBlock, StoredLog, StoredTx
from collective.node.storage.journal import PoolJournal
from collective.node.storage.kv import KV_UPSERT, KeyValue, ReadKeyValue
from collective.node.storage.schema import (
    _ID_SHIFT,
    DB_NAME,
    DamagedError,
    DataDirLock,
    StorageError,
    SyncMode,
    open_database,
)
from collective.node.storage.syncer import WalSyncer

_MAX_IDLE_READERS = 8


class Store(BlockReader):
    """The SQLite database in ``data_dir`` (in memory when ``data_dir`` is None): the block
    rows (:class:`BlockReader`), py-evm's key-value data (:attr:`kv`), the head pointer, and
    atomic block commits.

    Args: ``data_dir`` the node's data directory (created if missing; locked for this
    store's life); ``sync`` SQLite's ``synchronous`` (``full``: each block fsynced).

    Raises: :class:`DamagedError` for an empty or damaged database file;
    :class:`~collective.errors.NodeError` when the directory is in use by another node or
    the database cannot be opened or holds another table layout."""

    def __init__(self, data_dir: Path | None, sync: SyncMode = "full") -> None:
        self.path = (data_dir / DB_NAME) if data_dir is not None else None
        self._dir_lock: DataDirLock | None = None
        if data_dir is not None:
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise NodeError(f"cannot create the data directory {data_dir}: {exc}") from None
            self._dir_lock = DataDirLock(data_dir)
            assert self.path is not None
            if self.path.exists() and self.path.stat().st_size == 0:
                # SQLite writes its header as soon as the node creates the database: an
                # empty file is a truncated chain, not a new one
                self._release()
                raise DamagedError(self.path, "the file is empty (0 bytes): the chain is gone")
        try:
            conn = open_database(self.path, sync)
        except NodeError:
            self._release()
            raise
        super().__init__(conn, self.path)
        self.kv = KeyValue(self._conn, self.path)
        self._lock = threading.Lock()
        #: the transactions answered but not sealed yet (collective.node.storage.journal)
        self.journal = PoolJournal(self._conn, self._lock, self.path)
        self._readers: list[ReadKeyValue] = []  # idle read-only views (see reader())
        self._readers_lock = threading.Lock()
        self._closed = False
        self._checkpointer: _Checkpointer | None = None
        if self.path is not None:
            # commits only append to the WAL (and fsync it); copying the WAL back into the
            # database (a checkpoint, which fsyncs the database file) runs on a thread of its
            # own with its own connection, off the path of sealing a block
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = _Checkpointer(self.path)
        # with sync full, a commit writes the WAL and the syncer fsyncs it off the sealing
        # path; reads wait for it (wait_durable; the design: collective.node.storage.syncer)
        self._syncer: WalSyncer | None = None
        if self.path is not None and sync == "full":
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._syncer = WalSyncer(self.path.with_name(self.path.name + "-wal"))

    def wait_durable(self) -> None:
        """Block until every block committed so far is on disk (fsynced): what a read waits
        for before it is answered (with ``sync`` ``full``; returns at once otherwise).

        Raises: :class:`StorageError` when the log could not be fsynced."""
        if self._syncer is not None:
            self._syncer.wait()

    def close(self) -> None:
        """Fsync what is written, stop the checkpointer, close every connection and release
        the data directory. Raises: :class:`StorageError` when the last fsync failed (the
        store is closed all the same)."""
        try:
            if self._syncer is not None:
                self._syncer.close()
        finally:
            self._close()

    def _close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._readers_lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._closed = True
        with self._lock:
            self._conn.close()
        self._release()

    # --- readers for calls outside the chain lock ---------------------------------------------

    @contextlib.contextmanager
    def reader(self) -> Iterator[ReadKeyValue | None]:
        """A read-only view for the duration of one call (None for an in-memory store, which
        has one connection only: the caller then holds the chain lock)."""
        if self.path is None or self._closed:
            yield None
            return
        with self._readers_lock:
            reader = self._readers.pop() if self._readers else None
        if reader is None:
            reader = ReadKeyValue(self.path, self.kv)
        try:
            yield reader
        finally:
            reader.reset()
            with self._readers_lock:
                if self._closed or len(self._readers) >= _MAX_IDLE_READERS:
                    reader.close()
                else:
                    self._readers.append(reader)

    def _release(self) -> None:
        if self._dir_lock is not None:
            self._dir_lock.release()
            self._dir_lock = None

    def quick_check(self) -> None:
        """SQLite's ``PRAGMA quick_check``: every page and record well formed (linear in the
        size of the database, without checking indexes against their tables)."""
        try:
            rows = self._conn.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.DatabaseError as exc:
            raise DamagedError(self.path, f"SQLite cannot read it ({exc})") from None
        problems = [str(row[0]) for row in rows]
        if problems != ["ok"]:
            raise DamagedError(self.path, "SQLite's quick_check found " + "; ".join(problems))

    # --- meta ---------------------------------------------------------------------------------

    def get_meta(self, name: str) -> bytes | None:
        """The ``meta`` row ``name``'s value, or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def head_number(self) -> int | None:
        """The head block's number, or None for a new database."""
        value = self.get_meta("head")
        return None if value is None else int(value)

    # --- writing ------------------------------------------------------------------------------

    def commit_block(
        self,
        block: StoredBlock,
        txs: Iterable[StoredTx],
        logs: Iterable[StoredLog],
        meta: dict[str, bytes] | None = None,
    ) -> None:
        """Write the block, everything py-evm wrote for it, and move the head, atomically.

        Args: ``block``, its row; ``txs`` and ``logs``, its transactions' and logs' rows in
        order; ``meta``, extra ``meta`` rows (name -> bytes) to write with it.
        The rows were rendered by this process from the block it executed, so they count as
        checked (:class:`BlockReader`'s memo): rows are written once, and damage under a
        running node is found by the checks at the next start.
        Raises: :class:`StorageError` when SQLite cannot write it (the disk is full, the
        file cannot be written), or an earlier block could not be fsynced; nothing of it is
        stored and py-evm's writes are kept for the next attempt."""
        if self._syncer is not None:
            self._syncer.check()
        txs = list(txs)
        upserts, deletes = self.kv.take_pending()
        self._receipts_verified.discard(block.number)  # a block written again (dev revert)
        self._bodies_verified.discard(block.number)
        try:
            self._write_block(block, txs, logs, meta, upserts, deletes)
        except sqlite3.Error as exc:
            self.kv.restore_pending(upserts, deletes)  # the next attempt writes them again
            raise StorageError(
                f"cannot store block {block.number} in the chain database {self.path}: {exc}"
            ) from exc
        if self._syncer is not None:
            self._syncer.written()
        if self._checkpointer is not None:
            self._checkpointer.block_committed()
        self.written(block, [tx.hash for tx in txs])

    def _write_block(
        self,
        block: StoredBlock,
        txs: Iterable[StoredTx],
        logs: Iterable[StoredLog],
        meta: dict[str, bytes] | None,
        upserts: list[tuple[bytes, bytes]],
        deletes: list[bytes],
    ) -> None:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(KV_UPSERT, upserts)
                if deletes:
                    conn.executemany("DELETE FROM kv WHERE key = ?", [(k,) for k in deletes])
                conn.execute(
                    "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?)",
                    (block.number, block.hash, block.header, block.json),
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO txs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            (t.block << _ID_SHIFT) | t.index,
                            t.hash,
                            t.sender,
                            t.nonce,
                            t.raw,
                            t.json,
                            t.receipt,
                        )
                        for t in txs
                    ],
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO logs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            (log.block << _ID_SHIFT) | log.index,
                            log.address,
                            *(log.topics[i] if i < len(log.topics) else None for i in range(4)),
                            log.json,
                        )
                        for log in logs
                    ],
                )
                conn.executemany("DELETE FROM pool WHERE hash = ?", [(t.hash,) for t in txs])
                meta_rows = {"head": str(block.number).encode(), **(meta or {})}
                conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta_rows.items())
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back by itself (disk full)
                    conn.execute("ROLLBACK")
                raise

    def truncate_after(self, number: int) -> None:
        """Forget every block above ``number`` (dev snapshots); state nodes stay (they are
        addressed by hash, so the older head's state root still resolves)."""
        upserts, _ = self.kv.take_pending()
        self._receipts_verified = {n for n in self._receipts_verified if n <= number}
        self._bodies_verified = {n for n in self._bodies_verified if n <= number}
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(KV_UPSERT, upserts)
                conn.execute("DELETE FROM blocks WHERE number > ?", (number,))
                conn.execute("DELETE FROM txs WHERE id >= ?", ((number + 1) << _ID_SHIFT,))
                conn.execute("DELETE FROM logs WHERE id >= ?", ((number + 1) << _ID_SHIFT,))
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('head', ?)", (str(number).encode(),)
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if self._syncer is not None:
            self._syncer.written()


class _Checkpointer:
    """Checkpoints the WAL every ``every`` blocks on a background thread (PASSIVE: it never
    blocks the writer or readers; SQLite releases the GIL while it copies and fsyncs)."""

    def __init__(self, path: Path, every: int = 8) -> None:
        self._path = path
        self._every = every
        self._blocks = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def block_committed(self) -> None:
        self._blocks += 1
        if self._blocks < self._every:
            return
        self._blocks = 0
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                with contextlib.suppress(sqlite3.Error):  # busy or closing: next time
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


__all__ = ["Store"]
