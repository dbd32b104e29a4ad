"""The pool's journal: the transactions a node answered with their hashes but has not sealed
yet, kept in the chain database so a killed process loses none of them.

In instant mode the node answers ``eth_sendRawTransaction`` first and seals the block after,
while the answer travels (:mod:`collective.node.server`); with ``--block-time`` a pooled
transaction waits up to a period. Either way a transaction whose hash was answered must
survive the process being killed, as one in a sealed block does. So before an answer goes
out, the pool's new transactions are written to the ``pool`` table (one SQLite commit per
request or batch, to the WAL: no fsync, the guarantee a sealed block has when its hash is
answered; its receipt waits for the fsync). A block's commit deletes its transactions' rows
in the same SQLite transaction; rows of transactions dropped unmined go with the next
write. At start the node re-admits what the table holds, in arrival order, by the usual
rules (:meth:`NodeChain.restore_pool <collective.node.core.NodeChain.restore_pool>`). geth
keeps a journal of local transactions too (``--txpool.journal``), rewritten every hour.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable

from collective.node.storage.schema import StorageError


class PoolJournal:
    """The ``pool`` table of the chain database behind ``conn`` (shared with the store's
    writer, under ``lock``); ``path`` names the database in errors."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock, path: object) -> None:
        self._conn = conn
        self._lock = lock
        self._path = path

    def write(self, added: Iterable[tuple[bytes, bytes]], removed: Iterable[bytes]) -> None:
        """Add ``added`` (32-byte hash, raw transaction) rows and delete the ``removed``
        hashes' rows, in one commit.

        Raises: :class:`~collective.node.storage.StorageError` when SQLite cannot write them
        (nothing is written then)."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany("DELETE FROM pool WHERE hash = ?", [(h,) for h in removed])
                    conn.executemany("INSERT OR IGNORE INTO pool (hash, raw) VALUES (?, ?)", added)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StorageError(
                    f"cannot keep pooled transactions in the chain database {self._path}: {exc}"
                ) from exc

    def entries(self) -> list[tuple[bytes, bytes]]:
        """Every (hash, raw transaction) row, in the order they were written."""
        with self._lock:
            rows = self._conn.execute("SELECT hash, raw FROM pool ORDER BY seq").fetchall()
        return [(bytes(h), bytes(raw)) for h, raw in rows]


__all__ = ["PoolJournal"]
