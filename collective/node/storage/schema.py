"""The chain database's layout and what guards it: the tables, the schema version, row ids,
the errors a damaged or unwritable database raises, and the one-node-per-directory lock.

The design (why SQLite, atomic blocks, WAL, append-only ids) is in :mod:`collective.node.storage`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import Literal

from collective.errors import NodeError

SyncMode = Literal["full", "normal", "off"]
DB_NAME = "chain.sqlite"
LOCK_NAME = "node.lock"

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
CREATE TABLE IF NOT EXISTS pool (
    seq INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, raw BLOB NOT NULL);
"""
# ``pool`` (the pool's journal: collective.node.storage.journal) came after layout 2 was
# fixed; it is only ever added to, and a node that does not know it leaves it alone

_INDEX_MASK = (1 << _ID_SHIFT) - 1


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
        """Release the lock (idempotent; also released when the process ends)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = None


def open_database(path: Path | None, sync: SyncMode) -> sqlite3.Connection:
    """Open (or create) the chain database at ``path`` (in memory when None) in WAL mode with
    ``synchronous=<sync>``, refuse another table layout, and create the tables.

    Raises: :class:`DamagedError` when SQLite finds the file is not a database (or damaged);
    :class:`~collective.errors.NodeError` when it cannot be opened (I/O, access) or holds
    another layout."""
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(
            str(path) if path else ":memory:", isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={sync.upper()}")
        conn.execute("PRAGMA cache_size=-131072")  # 128 MiB of pages
        conn.execute("PRAGMA temp_store=MEMORY")
        _check_schema(conn, path)
        conn.executescript(_SCHEMA)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        if type(exc) is sqlite3.DatabaseError or "malformed" in str(exc):  # not I/O, access
            raise DamagedError(path, f"SQLite cannot open it ({exc})") from None
        raise NodeError(f"cannot open the chain database {path}: {exc}") from None
    except NodeError:
        if conn is not None:
            conn.close()
        raise
    return conn
