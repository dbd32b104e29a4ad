"""Blocks, transactions, receipts and logs as stored rows, and the reads that serve them.

Every row read is checked against its hash before it is served (a header must hash to its
block's hash, raw bytes to their transaction's hash), and its rendered JSON against what decides
it the first time it is read (the checks :mod:`collective.node.storage.integrity` installs);
a block's receipts and its transaction list are checked against its header once per block.
Checked hashes and block numbers are remembered, so repeat reads cost a set lookup.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_utils.crypto import keccak

from collective.node.storage.schema import _ID_SHIFT, _INDEX_MASK, DamagedError, row_ids

_VERIFIED_LIMIT = 200_000  # hashes of rows whose JSON was checked, remembered


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
    """One row of ``blocks``: the header RLP and the block rendered as JSON (no transactions)."""

    number: int
    hash: bytes
    header: bytes
    json: str


class BlockReader:
    """Reads of the ``blocks``, ``txs`` and ``logs`` tables on one connection, each row
    checked before it is returned (:class:`DamagedError` otherwise).

    The checks that need to decode what the store cannot (a block's JSON against its header,
    a transaction's against its raw bytes, a block's receipts against its receiptsRoot) are
    callables the chain installs (:class:`collective.node.storage.integrity.Integrity`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self._conn = conn
        self.path = path
        # further checks of a row read (raise DamagedError): its JSON against its header or
        # raw bytes, which the store cannot decode itself (the chain installs them)
        self.check_block: Callable[[StoredBlock], None] | None = None
        self.check_tx: Callable[[StoredTx], None] | None = None
        self._verified: set[bytes] = set()  # hashes of rows that passed those checks
        # a block's receipts and logs against its header's receiptsRoot
        self.check_receipts: Callable[[int], None] | None = None
        self._receipts_verified: set[int] = set()  # numbers of blocks that passed it
        # a block's transactions and size against its header
        self.check_body: Callable[[int], None] | None = None
        self._bodies_verified: set[int] = set()

    def block_by_number(self, number: int) -> StoredBlock | None:
        """Block ``number``'s row, checked, or None. Raises :class:`DamagedError`."""
        row = self._conn.execute(
            "SELECT number, hash, header, json FROM blocks WHERE number = ?", (number,)
        ).fetchone()
        return None if row is None else self._block(row)

    def block_by_hash(self, block_hash: bytes) -> StoredBlock | None:
        """The row of the block with this 32-byte hash, checked, or None. Raises
        :class:`DamagedError`."""
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

    def written(self, block: StoredBlock, tx_hashes: list[bytes]) -> None:
        """Count ``block`` (its row, transactions, receipts and logs) as checked: this
        process has just written it from what it executed (see :meth:`Store.commit_block
        <collective.node.storage.store.Store.commit_block>`)."""
        if self.check_block is not None:
            self._remember(block.hash)
        if self.check_tx is not None:
            for tx_hash in tx_hashes:
                self._remember(tx_hash)
        for done in (self._receipts_verified, self._bodies_verified):
            if len(done) >= _VERIFIED_LIMIT:
                done.clear()
            done.add(block.number)

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
        """The sealed transaction with this 32-byte hash, checked, or None. Raises
        :class:`DamagedError`."""
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
        """Block ``number``'s transaction hashes, in order (unchecked: see
        :meth:`verify_body`)."""
        rows = self._conn.execute(
            "SELECT hash FROM txs WHERE id BETWEEN ? AND ? ORDER BY id", row_ids(number)
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    def block_receipts(self, number: int) -> list[str]:
        """Block ``number``'s receipts as stored JSON, in order (unchecked: see
        :meth:`verify_receipts`)."""
        rows = self._conn.execute(
            "SELECT receipt FROM txs WHERE id BETWEEN ? AND ? ORDER BY id", row_ids(number)
        ).fetchall()
        return [row[0] for row in rows]

    def query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run a read-only query (the log index builds its own); its rows, fetched at once
        (``fetchall``: half the time of stepping the cursor row by row from Python)."""
        return self._conn.execute(sql, params).fetchall()

    def count(self, table: Literal["blocks", "txs", "logs"]) -> int:
        """How many rows ``table`` holds."""
        row = self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0])


__all__ = ["BlockReader", "StoredBlock", "StoredLog", "StoredTx"]
