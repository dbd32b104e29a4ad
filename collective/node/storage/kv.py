"""py-evm's byte-to-byte database over the ``kv`` table: the writer's view (writes held until
the block commits) and read-only views for calls that run outside the chain lock. Every value
read under a 32-byte key must hash to it (content-addressed: trie nodes, code, headers).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from eth.db.backends.base import BaseDB
from eth_utils.crypto import keccak

from collective.node.storage.schema import DamagedError

READ_CACHE_LIMIT = 400_000
_DELETED = object()
# content-addressed values never change: a key written again leaves its row (and page) alone
KV_UPSERT = (
    "INSERT INTO kv (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value != excluded.value"
)


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
        return _fetch(self._conn, self._path, self._cache, READ_CACHE_LIMIT, key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        self._pending[key] = _DELETED

    def take_pending(self) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
        """The writes since the last call, as (upserts, deletions); they move to the cache."""
        pending, self._pending = self._pending, {}
        upserts = [(k, bytes(v)) for k, v in pending.items() if v is not _DELETED]
        deletes = [k for k, v in pending.items() if v is _DELETED]
        if len(self._cache) + len(upserts) >= READ_CACHE_LIMIT:
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
        """Forget the writes not yet committed."""
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
        return _fetch(self._conn, self._shared._path, self._cache, READ_CACHE_LIMIT // 8, key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._written[key] = value

    def __delitem__(self, key: bytes) -> None:
        self._written[key] = _DELETED

    def reset(self) -> None:
        """Forget writes, before the view serves the next call."""
        self._written.clear()

    def close(self) -> None:
        """Close the view's connection."""
        self._conn.close()
