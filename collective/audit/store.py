"""The audit index: one SQLite file holding every event of one deployment of the suite.

Schema (addresses are lowercase ``0x`` text, hashes and bytes32 codes are BLOBs; every event
table is keyed by ``(block, log_index)``, the event's position on the chain)::

    meta(key, value)                     chain id, the manifest's addresses, first block,
                                         synced_to (every block up to it is indexed)
    blocks(number, hash, parent_hash, timestamp, log_count)
                                         every block from the first to synced_to; log_count
                                         counts the suite's events in it
    events(block, log_index, tx_hash, contract, event, args)
                                         every event of the suite but the bulk ones (uses and
                                         consents, below); args as JSON; indexed by the
                                         ``identity`` argument (lowercased) for subject queries
                                         (:mod:`collective.audit.subjects`)
    uses(block, log_index, tx_hash, identity, organization, purpose, category, data_ref,
         policy_version)                 DataUsed; indexed by identity, organization,
                                         purpose, category
    consents(block, log_index, tx_hash, granted, identity, organization, purpose, category,
             expiry, policy_version, agent)
                                         ConsentGranted (granted=1) and ConsentWithdrawn (0)
    all_events (a view)                  every event of the suite: block, log_index, tx_hash,
                                         contract, event
    policies(block, log_index, organization, version, content_hash, uri, purposes)
    accounts(block, log_index, event, account, actor)
                                         AccountRules' events (admins, admission, suspension,
                                         board changes)
    flags(block, log_index, use_ref, organization, reason_hash, proposal_id)
                                         UseFlagged
    foreign_logs(block, log_index, tx_hash, address, event)
                                         logs with one of the suite's event signatures from
                                         any other address: ignored, kept for the report

Queries by subject, organization, purpose, category or block range use the indexes below; a
plain ``sqlite3`` shell reads the file too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from collective.errors import AuditError

FORMAT = "collective-audit-1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks(
    number INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    parent_hash BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    log_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events(
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL,
    contract TEXT NOT NULL,
    event TEXT NOT NULL,
    args TEXT,
    PRIMARY KEY(block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_identity ON events(lower(json_extract(args, '$.identity')));
CREATE TABLE IF NOT EXISTS uses(
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL,
    identity TEXT NOT NULL,
    organization TEXT NOT NULL,
    purpose BLOB NOT NULL,
    category BLOB NOT NULL,
    data_ref BLOB NOT NULL,
    policy_version INTEGER NOT NULL,
    PRIMARY KEY(block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uses_by_identity ON uses(identity);
CREATE INDEX IF NOT EXISTS uses_by_organization ON uses(organization);
CREATE INDEX IF NOT EXISTS uses_by_purpose ON uses(purpose);
CREATE INDEX IF NOT EXISTS uses_by_category ON uses(category);
CREATE TABLE IF NOT EXISTS consents(
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL,
    granted INTEGER NOT NULL,
    identity TEXT NOT NULL,
    organization TEXT NOT NULL,
    purpose BLOB NOT NULL,
    category BLOB NOT NULL,
    expiry INTEGER,
    policy_version INTEGER,
    agent TEXT NOT NULL,
    PRIMARY KEY(block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS consents_by_identity ON consents(identity);
CREATE INDEX IF NOT EXISTS consents_by_organization ON consents(organization);
CREATE TABLE IF NOT EXISTS policies(
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    organization TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash BLOB NOT NULL,
    uri TEXT NOT NULL,
    purposes TEXT NOT NULL,
    PRIMARY KEY(block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS policies_by_organization ON policies(organization, version);
CREATE TABLE IF NOT EXISTS accounts(
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    event TEXT NOT NULL,
    account TEXT NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY(block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accounts_by_account ON accounts(account, block);
CREATE TABLE IF NOT EXISTS flags(
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    use_ref BLOB NOT NULL,
    organization TEXT NOT NULL,
    reason_hash BLOB NOT NULL,
    proposal_id INTEGER NOT NULL,
    PRIMARY KEY(block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS flags_by_use ON flags(use_ref);
CREATE TABLE IF NOT EXISTS foreign_logs(
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL,
    address TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY(block, log_index)
) WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS all_events(block, log_index, tx_hash, contract, event) AS
    SELECT block, log_index, tx_hash, contract, event FROM events
    UNION ALL SELECT block, log_index, tx_hash, 'ConsentLedger', 'DataUsed' FROM uses
    UNION ALL SELECT block, log_index, tx_hash, 'ConsentLedger',
        CASE granted WHEN 1 THEN 'ConsentGranted' ELSE 'ConsentWithdrawn' END FROM consents;
"""

BULK_INDEXES = (
    "uses_by_identity",
    "uses_by_organization",
    "uses_by_purpose",
    "uses_by_category",
    "consents_by_identity",
    "consents_by_organization",
)
# Tables whose rows belong to one block, and so go when a reorg drops that block.
BLOCK_TABLES = ("events", "uses", "consents", "policies", "accounts", "flags", "foreign_logs")
TABLE_COLUMNS = {
    "events": 6,
    "uses": 9,
    "consents": 11,
    "policies": 7,
    "accounts": 5,
    "flags": 6,
    "foreign_logs": 5,
}


class AuditIndex:
    """An open audit index (a SQLite file, or ``":memory:"``). Use as a context manager.

    Args:
        path: the SQLite file (created if missing), or ``":memory:"``.

    Raises:
        AuditError: the file cannot be opened, or holds an index of another format.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA cache_size=-65536")
            self.db.execute("PRAGMA temp_store=MEMORY")
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot open the audit index {path}: {exc}") from None
        found = self.meta("format")
        if found is None:
            self.set_meta("format", FORMAT)
        elif found != FORMAT:
            raise AuditError(
                f"{path} is an audit index of format {found}, not {FORMAT}",
                hint="remove it and run `collective audit sync` again",
            )

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> AuditIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- meta -------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """The index's metadata value ``key`` (``"chain_id"``, ``"synced_to"``, ...), or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set metadata ``key`` to ``value``."""
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def meta_json(self, key: str) -> Any:
        """Metadata ``key`` parsed as JSON, or None when absent."""
        text = self.meta(key)
        return None if text is None else json.loads(text)

    def _meta_int(self, key: str) -> int | None:
        text = self.meta(key)
        return None if text is None else int(text)

    @property
    def synced_to(self) -> int | None:
        """The last block indexed with everything before it, or None before the first sync."""
        return self._meta_int("synced_to")

    @property
    def chain_id(self) -> int | None:
        """The chain id the index was built on, or None before the first sync."""
        return self._meta_int("chain_id")

    @property
    def addresses(self) -> dict[str, str]:
        """The manifest's contract addresses the index was built for (lowercase)."""
        found = self.meta_json("addresses")
        return dict(found) if found else {}

    @property
    def first_block(self) -> int | None:
        """The deployment's first block (where indexing starts), or None before a sync."""
        return self._meta_int("first_block")

    # --- blocks -----------------------------------------------------------------------------

    def block_hash(self, number: int) -> bytes | None:
        """The indexed hash (32 bytes) of block ``number``, or None when not indexed."""
        row = self.db.execute("SELECT hash FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else bytes(row[0])

    def timestamps(self) -> dict[int, int]:
        """Every indexed block's number -> time (unix seconds)."""
        return dict(self.db.execute("SELECT number, timestamp FROM blocks"))

    def count(self, table: str) -> int:
        """The rows in ``table`` (``"blocks"``, ``"uses"``, ``"consents"``, ``"events"``, ...).

        Raises:
            AuditError: no such table.
        """
        if table not in TABLE_COLUMNS and table != "blocks":
            raise AuditError(f"the index has no table {table!r}")
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # --- writing ----------------------------------------------------------------------------

    def write_range(
        self,
        headers: Sequence[tuple[int, bytes, bytes, int, int]],
        rows: dict[str, list[tuple[Any, ...]]],
        synced_to: int,
    ) -> None:
        """Store one indexed block range and move ``synced_to``, all in one transaction.

        Args:
            headers: ``(number, hash, parent_hash, timestamp, log_count)`` per block.
            rows: table -> rows, as :meth:`~collective.audit.events.Catalogue.add` fills them.
            synced_to: the range's last block.
        """
        db = self.db
        with self._transaction():
            db.executemany(
                "INSERT INTO blocks(number, hash, parent_hash, timestamp, log_count) "
                "VALUES (?, ?, ?, ?, ?)",
                headers,
            )
            for table, table_rows in rows.items():
                if table_rows:
                    marks = ", ".join("?" * TABLE_COLUMNS[table])
                    db.executemany(f"INSERT INTO {table} VALUES ({marks})", table_rows)
            self.set_meta("synced_to", str(synced_to))

    def drop_after(self, block: int) -> int:
        """Forget every block after ``block`` and its events (a reorg); the events dropped."""
        db = self.db
        with self._transaction():
            dropped = sum(
                int(db.execute(f"SELECT count(*) FROM {t} WHERE block > ?", (block,)).fetchone()[0])
                for t in ("events", "uses", "consents")
            )
            for table in BLOCK_TABLES:
                db.execute(f"DELETE FROM {table} WHERE block > ?", (block,))
            db.execute("DELETE FROM blocks WHERE number > ?", (block,))
            if block < (self.first_block or 0):
                db.execute("DELETE FROM meta WHERE key = 'synced_to'")
            else:
                self.set_meta("synced_to", str(block))
        return dropped

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``): committed at the end, rolled back on
        any exception (which goes on)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def defer_indexes(self) -> None:
        """Drop the secondary indexes of the bulk tables for a long sync: building them once
        at the end is several times faster than keeping them up to date row by row. They come
        back with :meth:`ensure_indexes`, or when the index is next opened."""
        for name in BULK_INDEXES:
            self.db.execute(f"DROP INDEX IF EXISTS {name}")

    def ensure_indexes(self) -> None:
        """Create any secondary index :meth:`defer_indexes` dropped."""
        self.db.executescript(SCHEMA)

    def insert_rows(self, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Raw insert of ``rows`` into ``table`` (benchmarks and tests that build an index
        directly); each row has the table's columns in order."""
        width = 5 if table == "blocks" else TABLE_COLUMNS[table]
        marks = ", ".join("?" * width)
        self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def open_index(path: Path | str) -> AuditIndex:
    """Open (creating if needed, with its parent directory) the audit index at ``path``.

    Raises:
        AuditError: it cannot be opened, or holds an index of another format.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return AuditIndex(path)


__all__ = ["FORMAT", "SCHEMA", "AuditIndex", "open_index"]
