"""The node's durable store: one SQLite database in WAL mode.

Why SQLite (stdlib ``sqlite3``) rather than LMDB or LevelDB:

- **Atomic blocks.** A sealed block is one SQLite transaction: the state-trie nodes py-evm wrote
  while executing it, the block, its transactions and receipts, its logs and the new head
  pointer commit together or not at all. A SIGKILL at any moment leaves the previous head or the
  new one, never a mix, and startup reads the head pointer instead of replaying history.
- **Durable by default.** WAL with ``synchronous=FULL`` fsyncs the log on every commit (once per
  block, not per transaction), so a block whose transactions were answered survives a crash of
  the process *and* of the machine; ``synchronous=NORMAL`` (``--sync normal``) survives the
  process only, and is a little faster. Commits only append to the WAL; checkpoints (copying
  the WAL into the database file and fsyncing it) run every few blocks on a thread with its own
  connection, so sealing never waits for one.
- **Indexes for free.** The log index (address, topic0..3, block) is a set of B-tree indexes the
  query planner picks from, so ``eth_getLogs`` never scans receipts; LMDB would need a
  hand-built index per key and a new dependency. Readers in WAL mode never block the writer.

**A full disk.** A block that cannot be written (``SQLITE_FULL``, an I/O error) is rolled back
whole and raises :class:`StorageError`; the writes it carried go back to the pending set for
the next attempt, and the node keeps its pool and retries (:mod:`collective.node.node`).

**Damage is refused, not served.** Most of what the store holds is named by its hash, so
checking it costs one keccak: every ``kv`` value read from SQLite (trie nodes, code,
headers) must hash to its 32-byte key, a block row's header to the block's hash (and its JSON
must name it), a transaction's raw bytes to its hash. At start the node also runs SQLite's
``quick_check`` and follows the hash chain of the last blocks below the head to its state
root (:meth:`NodeChain._check_head <collective.node.core.NodeChain>`), and an empty
``chain.sqlite`` (SQLite writes its header when the node creates one) is refused instead of
becoming a new chain at block 0. :class:`DamagedError` names the file and what to do.
Rendered JSON is checked, the first time a row is read, against what decides it (a block's
against its header, byte for byte, and its seal against its ``miner``; a transaction's against
its raw bytes and row); the checked hashes are remembered, so later reads cost a set lookup.
Before a block's transaction list or size is served, its transactions are checked against the
header's transactionsRoot and its size recomputed (:meth:`Store.verify_body`); before any of
its receipts or logs is served (``eth_getTransactionReceipt``, ``eth_getBlockReceipts``,
``eth_getLogs``), its stored receipts rebuild the header's receiptsRoot (status, cumulative
gas, bloom, logs), OR to its logsBloom and end at its gasUsed, every other receipt field is
re-derived, and each log row and its index columns must be the receipt's log
(:meth:`Store.verify_receipts`); both are remembered per block number. State a read cannot
find under its hash is damage too. In 300 trials of one flipped bit anywhere in a small
chain's database (answers: blocks, full blocks, transactions, receipts, block receipts, logs,
state), 53 were refused at start and in the other 247 every answer was right or refused as
damaged; a second 300 (another seed) left one ``eth_getLogs`` answer changed unnoticed (a
flip in a log index B-tree: SQLite's quick_check does not compare indexes with their tables,
and a log the index no longer finds cannot be refused). Before these checks the same 300
flips changed an answer unnoticed in 28 trials and failed in 12 other ways.

**One node per data directory.** The store holds an exclusive lock on ``node.lock`` beside the
database for its whole life (:class:`DataDirLock`); a second node on the same directory is
refused, naming the process that holds it.

Tables::

    kv      key -> value for py-evm: state-trie nodes, contract code, headers by hash
    meta    name -> value: the head block number, the genesis it was built from, the layout
    blocks  number, hash, header RLP, the block rendered as JSON (without its transactions)
    txs     id, hash, sender, nonce, raw bytes, rendered transaction and receipt
    logs    id, address, topic0..3, rendered log  -- indexed per column, by id

Rendered JSON is stored at seal time, so reads are one lookup and no re-encoding.

**Rows are appended, not scattered.** A block writes ~250 transactions, ~250 logs and ~800
trie nodes. Keyed by their hashes (random), every row would land on its own B-tree page and a
block would write ~2,500 pages (10 MB) to the WAL, a number that grows with the chain. So the
big rows live in rowid tables in arrival order -- a transaction's or log's id is
``block << 20 | index``, a trie node's is a counter -- and only the small hash indexes
(``kv_key``, ``txs_hash``) take random inserts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth.db.backends.base import BaseDB
from eth_utils.crypto import keccak

from collective.errors import NodeError

SyncMode = Literal["full", "normal", "off"]
DB_NAME = "chain.sqlite"
LOCK_NAME = "node.lock"
_READ_CACHE_LIMIT = 400_000
_MAX_IDLE_READERS = 8
_VERIFIED_LIMIT = 200_000  # hashes of rows whose JSON was checked, remembered

SCHEMA_VERSION = b"2"
_ID_SHIFT = 20  # a transaction's or log's row id: block << 20 | index (2**20 per block)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (id INTEGER PRIMARY KEY, key BLOB NOT NULL, value BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS kv_key ON kv (key);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, header BLOB NOT NULL,
    json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    id INTEGER PRIMARY KEY, hash BLOB NOT NULL, sender BLOB NOT NULL, nonce INTEGER NOT NULL,
    raw BLOB NOT NULL, json TEXT NOT NULL, receipt TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS txs_hash ON txs (hash);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY, address BLOB NOT NULL, t0 BLOB, t1 BLOB, t2 BLOB, t3 BLOB,
    json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_address ON logs (address, id);
CREATE INDEX IF NOT EXISTS logs_t0 ON logs (t0, id);
CREATE INDEX IF NOT EXISTS logs_t1 ON logs (t1, id);
CREATE INDEX IF NOT EXISTS logs_t2 ON logs (t2, id);
CREATE INDEX IF NOT EXISTS logs_t3 ON logs (t3, id);
"""

_INDEX_MASK = (1 << _ID_SHIFT) - 1
# content-addressed values never change: a key written again leaves its row (and page) alone
_KV_UPSERT = (
    "INSERT INTO kv (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value != excluded.value"
)
_DELETED = object()


def row_ids(block: int) -> tuple[int, int]:
    """The row ids of a block's transactions or logs: first and last possible."""
    return block << _ID_SHIFT, (block << _ID_SHIFT) | _INDEX_MASK


def _check_schema(conn: sqlite3.Connection, path: Path | None) -> None:
    """Refuse a database written with another table layout (before touching it)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        return  # a new database
    row = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
    found = b"1" if row is None else bytes(row[0])
    if found != SCHEMA_VERSION:
        raise NodeError(
            f"the chain database {path} uses table layout {found.decode(errors='replace')}; "
            f"this node reads layout {SCHEMA_VERSION.decode()}",
            hint="start the node with a new --data-dir (and the same genesis)",
        )


class DamagedError(NodeError):
    """The chain database does not hold what it says it holds: a row whose hash does not
    match its contents, a broken hash chain, a page SQLite itself finds damaged. The node
    refuses to serve it rather than answer from it."""

    def __init__(self, path: Path | None, what: str) -> None:
        super().__init__(
            f"the chain database {path} is damaged: {what}",
            hint="stop the node and restore the data directory from a backup, or resync it "
            "from another node, or start a new chain with another --data-dir",
        )
        self.path = path
        self.what = what


class StorageError(NodeError):
    """A block could not be written to the chain database (the disk is full, the file cannot
    be written); nothing of it was stored, and the caller keeps what it would have stored."""


class DataDirLock:
    """One node per data directory: an exclusive ``flock`` on :data:`LOCK_NAME`, held for the
    life of the store (the kernel drops it when the process ends, however it ends). Two nodes
    sealing into one database would each build on the head they read, and blocks one of them
    answered for would be overwritten by the other's. The file holds the holder's PID, so
    the refusal can name it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise NodeError(f"cannot create the lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise NodeError(
                f"the data directory {data_dir} is in use by another node (process {holder}, "
                f"which holds {self.path})",
                hint=f"stop process {holder} first, or start this node with another --data-dir",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = None


def _verify(path: Path | None, key: bytes, value: bytes) -> None:
    """A 32-byte key is the keccak of its value (trie nodes, code, headers): check it, so a
    damaged row is never executed against or served."""
    if len(key) == 32 and keccak(value) != key:
        raise DamagedError(path, f"the value stored under 0x{key.hex()} does not hash to it")


class _SqliteKV(BaseDB):
    """What the two views of ``kv`` share: existence is a successful read."""

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True


def _fetch(
    conn: sqlite3.Connection, path: Path | None, cache: dict[bytes, bytes], limit: int, key: bytes
) -> bytes:
    """``key``'s value from the ``kv`` table on ``conn``, checked (:func:`_verify`) and kept in
    ``cache`` (cleared once it holds ``limit`` values); KeyError when there is none."""
    row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise KeyError(key)
    found = bytes(row[0])
    _verify(path, key, found)
    if len(cache) >= limit:
        cache.clear()
    cache[key] = found
    return found


class KeyValue(_SqliteKV):
    """py-evm's byte-to-byte database over the ``kv`` table.

    Writes collect in memory until :meth:`Store.commit_block` writes them in the block's SQLite
    transaction, so a block is on disk whole or not at all. Reads see pending writes first, then
    a bounded cache, then SQLite.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None) -> None:
        self._conn = conn
        self._path = path
        self._pending: dict[bytes, Any] = {}
        self._cache: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self._pending.get(key)
        if value is not None:
            if value is _DELETED:
                raise KeyError(key)
            return bytes(value)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        return _fetch(self._conn, self._path, self._cache, _READ_CACHE_LIMIT, key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        self._pending[key] = _DELETED

    def take_pending(self) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
        """The writes since the last call, as (upserts, deletions); they move to the cache."""
        pending, self._pending = self._pending, {}
        upserts = [(k, bytes(v)) for k, v in pending.items() if v is not _DELETED]
        deletes = [k for k, v in pending.items() if v is _DELETED]
        if len(self._cache) + len(upserts) >= _READ_CACHE_LIMIT:
            self._cache.clear()
        self._cache.update(upserts)
        for key in deletes:
            self._cache.pop(key, None)
        return upserts, deletes

    def restore_pending(self, upserts: list[tuple[bytes, bytes]], deletes: list[bytes]) -> None:
        """Put back writes :meth:`take_pending` took, for a commit that failed (later writes
        of the same keys win)."""
        for key, value in upserts:
            self._pending.setdefault(key, value)
        for key in deletes:
            self._pending.setdefault(key, _DELETED)
            self._cache.pop(key, None)

    def discard_pending(self) -> None:
        self._pending.clear()


class ReadKeyValue(_SqliteKV):
    """A read-only view of ``kv`` on a connection of its own, for calls that run outside the
    chain lock (``eth_call``, ``eth_estimateGas``) while the writer seals: what the writer's
    cache holds first (content-addressed, so never stale), then a bounded cache of its own,
    then SQLite, which in WAL mode shows every committed block and never blocks the writer.
    Writes (py-evm makes none during a call it reverts) stay in memory."""

    def __init__(self, path: Path, shared: KeyValue) -> None:
        self._conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        self._shared = shared
        self._cache: dict[bytes, bytes] = {}
        self._written: dict[bytes, Any] = {}

    def __getitem__(self, key: bytes) -> bytes:
        if self._written:
            value = self._written.get(key)
            if value is not None:
                if value is _DELETED:
                    raise KeyError(key)
                return bytes(value)
        found = self._shared._cache.get(key) or self._cache.get(key)
        if found is not None:
            return found
        return _fetch(self._conn, self._shared._path, self._cache, _READ_CACHE_LIMIT // 8, key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._written[key] = value

    def __delitem__(self, key: bytes) -> None:
        self._written[key] = _DELETED

    def reset(self) -> None:
        """Forget writes, before the view serves the next call."""
        self._written.clear()

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class StoredTx:
    """One row of ``txs``: what the node needs to answer about a sealed transaction."""

    hash: bytes
    block: int
    index: int
    sender: bytes
    nonce: int
    raw: bytes
    json: str
    receipt: str


@dataclass(frozen=True)
class StoredLog:
    """One log for the index; ``topics`` has at most four entries."""

    block: int
    index: int
    address: bytes
    topics: Sequence[bytes]
    json: str


@dataclass(frozen=True)
class StoredBlock:
    number: int
    hash: bytes
    header: bytes
    json: str


class Store:
    """The SQLite database in ``data_dir`` (in memory when ``data_dir`` is None)."""

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
            self._conn = sqlite3.connect(
                str(self.path) if self.path else ":memory:",
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={sync.upper()}")
            self._conn.execute("PRAGMA cache_size=-131072")  # 128 MiB of pages
            self._conn.execute("PRAGMA temp_store=MEMORY")
            _check_schema(self._conn, self.path)
            self._conn.executescript(_SCHEMA)
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as exc:
            self._release()
            if type(exc) is sqlite3.DatabaseError or "malformed" in str(exc):  # not I/O, access
                raise DamagedError(self.path, f"SQLite cannot open it ({exc})") from None
            raise NodeError(f"cannot open the chain database {self.path}: {exc}") from None
        except NodeError:
            self._conn.close()
            self._release()
            raise
        self.kv = KeyValue(self._conn, self.path)
        self._lock = threading.Lock()
        self._readers: list[ReadKeyValue] = []  # idle read-only views (see reader())
        # further checks of a row read (raise DamagedError): its JSON against its header or
        # raw bytes, which the store cannot decode itself (NodeChain installs them)
        self.check_block: Callable[[StoredBlock], None] | None = None
        self.check_tx: Callable[[StoredTx], None] | None = None
        self._verified: set[bytes] = set()  # hashes of rows that passed those checks
        # a block's receipts and logs against its header's receiptsRoot (NodeChain installs it)
        self.check_receipts: Callable[[int], None] | None = None
        self._receipts_verified: set[int] = set()  # numbers of blocks that passed it
        # a block's transactions and size against its header (NodeChain installs it)
        self.check_body: Callable[[int], None] | None = None
        self._bodies_verified: set[int] = set()
        self._readers_lock = threading.Lock()
        self._closed = False
        self._checkpointer: _Checkpointer | None = None
        if self.path is not None:
            # commits only append to the WAL (and fsync it); copying the WAL back into the
            # database (a checkpoint, which fsyncs the database file) runs on a thread of its
            # own with its own connection, off the path of sealing a block
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = _Checkpointer(self.path)

    def close(self) -> None:
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
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def head_number(self) -> int | None:
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
        """Write the block, everything py-evm wrote for it, and move the head, atomically."""
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
        if self._checkpointer is not None:
            self._checkpointer.block_committed()

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
                conn.executemany(_KV_UPSERT, upserts)
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
                conn.executemany(_KV_UPSERT, upserts)
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

    # --- reading ------------------------------------------------------------------------------

    def block_by_number(self, number: int) -> StoredBlock | None:
        row = self._conn.execute(
            "SELECT number, hash, header, json FROM blocks WHERE number = ?", (number,)
        ).fetchone()
        return None if row is None else self._block(row)

    def block_by_hash(self, block_hash: bytes) -> StoredBlock | None:
        row = self._conn.execute(
            "SELECT number, hash, header, json FROM blocks WHERE hash = ?", (block_hash,)
        ).fetchone()
        return None if row is None else self._block(row)

    def _block(self, row: tuple[Any, ...]) -> StoredBlock:
        """A block row, checked against its hash: the header hashes to it, and the rendered
        block names it."""
        block = StoredBlock(row[0], bytes(row[1]), bytes(row[2]), row[3])
        if keccak(block.header) != block.hash:
            raise DamagedError(self.path, f"block {block.number}'s header does not hash to it")
        if f'"hash":"0x{block.hash.hex()}"' not in block.json or not block.json.endswith("}"):
            raise DamagedError(self.path, f"block {block.number}'s stored JSON does not name it")
        if self.check_block is not None and block.hash not in self._verified:
            self.check_block(block)
            self._remember(block.hash)
        return block

    def _remember(self, verified: bytes) -> None:
        """A row whose JSON passed its check (rows are written once: it stays good unless
        the disk changes it under the running node, which the next start's checks see)."""
        if len(self._verified) >= _VERIFIED_LIMIT:
            self._verified.clear()
        self._verified.add(verified)

    def verify_receipts(self, number: int) -> None:
        """Check block ``number``'s stored receipts and logs against its header (its
        receiptsRoot, logsBloom and gas used) before any of them is served, once per block:
        later reads cost a set lookup. Raises :class:`DamagedError`."""
        if self.check_receipts is None or number in self._receipts_verified:
            return
        self.check_receipts(number)
        if len(self._receipts_verified) >= _VERIFIED_LIMIT:
            self._receipts_verified.clear()
        self._receipts_verified.add(number)

    def verify_body(self, number: int) -> None:
        """Check block ``number``'s transactions and size against its header before its
        transaction list or size is served, once per block. Raises :class:`DamagedError`."""
        if self.check_body is None or number in self._bodies_verified:
            return
        self.check_body(number)
        if len(self._bodies_verified) >= _VERIFIED_LIMIT:
            self._bodies_verified.clear()
        self._bodies_verified.add(number)

    def block_rows(self, number: int) -> list[tuple[Any, ...]]:
        """Block ``number``'s transaction rows: (hash, sender, nonce, raw, json, receipt)."""
        return self._conn.execute(
            "SELECT hash, sender, nonce, raw, json, receipt FROM txs WHERE id BETWEEN ? AND ? "
            "ORDER BY id",
            row_ids(number),
        ).fetchall()

    def block_log_rows(self, number: int) -> list[tuple[Any, ...]]:
        """Block ``number``'s log rows: (address, t0, t1, t2, t3, json)."""
        return self._conn.execute(
            "SELECT address, t0, t1, t2, t3, json FROM logs WHERE id BETWEEN ? AND ? ORDER BY id",
            row_ids(number),
        ).fetchall()

    def block_raw_txs(self, number: int) -> list[tuple[bytes, bytes]]:
        """Block ``number``'s transactions as (hash, raw bytes), in order."""
        rows = self._conn.execute(
            "SELECT hash, raw FROM txs WHERE id BETWEEN ? AND ? ORDER BY id", row_ids(number)
        ).fetchall()
        return [(bytes(row[0]), bytes(row[1])) for row in rows]

    def block_hashes(self, start: int, stop: int) -> list[bytes]:
        """Hashes of blocks ``start`` .. ``stop`` inclusive, in order."""
        rows = self._conn.execute(
            "SELECT hash FROM blocks WHERE number BETWEEN ? AND ? ORDER BY number", (start, stop)
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    def has_tx(self, tx_hash: bytes) -> bool:
        """Whether a sealed transaction has this hash (the hash index alone, no row read)."""
        found = self._conn.execute("SELECT 1 FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
        return found is not None

    def tx(self, tx_hash: bytes) -> StoredTx | None:
        row = self._conn.execute(
            "SELECT hash, id, sender, nonce, raw, json, receipt FROM txs WHERE hash = ?",
            (tx_hash,),
        ).fetchone()
        return None if row is None else self._tx(row, tx_hash)

    def _tx(self, row: tuple[Any, ...], tx_hash: bytes) -> StoredTx:
        """A transaction row (hash, id, sender, nonce, raw, json, receipt), checked."""
        block, index = row[1] >> _ID_SHIFT, row[1] & _INDEX_MASK
        found = StoredTx(
            bytes(row[0]), block, index, bytes(row[2]), row[3], bytes(row[4]), row[5], row[6]
        )
        named = f'"0x{tx_hash.hex()}"'
        if keccak(found.raw) != tx_hash or named not in found.json or named not in found.receipt:
            raise DamagedError(self.path, f"transaction 0x{tx_hash.hex()} does not match its hash")
        if self.check_tx is not None and tx_hash not in self._verified:
            self.check_tx(found)
            self._remember(tx_hash)
        return found

    def block_tx_json(self, number: int) -> list[str]:
        """A block's transactions as stored JSON, each checked as :meth:`tx` checks it."""
        rows = self._conn.execute(
            "SELECT hash, id, sender, nonce, raw, json, receipt FROM txs "
            "WHERE id BETWEEN ? AND ? ORDER BY id",
            row_ids(number),
        ).fetchall()
        return [self._tx(row, bytes(row[0])).json for row in rows]

    def block_tx_hashes(self, number: int) -> list[bytes]:
        rows = self._conn.execute(
            "SELECT hash FROM txs WHERE id BETWEEN ? AND ? ORDER BY id", row_ids(number)
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    def block_receipts(self, number: int) -> list[str]:
        rows = self._conn.execute(
            "SELECT receipt FROM txs WHERE id BETWEEN ? AND ? ORDER BY id", row_ids(number)
        ).fetchall()
        return [row[0] for row in rows]

    def query(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """Run a read-only query (the log index builds its own)."""
        yield from self._conn.execute(sql, params)

    def count(self, table: Literal["blocks", "txs", "logs"]) -> int:
        row = self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0])


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


__all__ = [
    "DB_NAME",
    "LOCK_NAME",
    "DamagedError",
    "DataDirLock",
    "KeyValue",
    "ReadKeyValue",
    "StorageError",
    "Store",
    "StoredBlock",
    "StoredLog",
    "StoredTx",
    "SyncMode",
]
