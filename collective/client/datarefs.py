"""Keyed data references: the secrets that make a use's ``dataRef`` unguessable.

A plain ``keccak256("lab/cohort-7/sample-1")`` on chain can be confirmed by anyone who
guesses the locator. Here each (organization, subject) pair has its own random 32-byte
secret (:func:`secrets.token_bytes`), and the on-chain reference is
``HMAC-SHA256(secret, reference)`` (RFC 2104). HMAC rather than ``keccak(secret || ref)``:
it is the standard keyed-hash construction, a PRF under the usual assumptions on SHA-256, with
no length-extension question to argue about, and it is in the standard library.

The secrets live in one SQLite file the organization keeps off chain (never only in memory):

- created with mode 0600 before SQLite opens it (SQLite gives its ``-wal`` and ``-shm``
  files the database's mode);
- WAL journal, ``synchronous=FULL``: a secret is on disk once :meth:`DataRefStore.ref` has
  returned a reference made from it, and every change is one atomic transaction;
- several processes may share the file: SQLite's locks serialize writers, a secret is created
  with ``INSERT OR IGNORE`` in an immediate transaction so two processes asking for the same
  new pair at once agree on one secret, and ``busy_timeout`` waits for a lock rather than fail.

Erasure (GDPR Art. 17, issue 13 section 2): :meth:`DataRefStore.forget` destroys a pair's
secret (overwritten with zeros, deleted, committed, ``secure_delete`` on so SQLite zeroes the
freed space, then a WAL checkpoint that truncates the log), so the references already on chain
can no longer be linked to any record: nobody, the organization included, can recompute them.
A later :meth:`~DataRefStore.ref` for the pair makes a new secret. What this cannot reach: a
copy of the file (a backup), blocks the file system has already let go of, and a process that
read the secret before the forget (the on-chain erasure request refuses its uses).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from eth_account.signers.local import LocalAccount

from collective.client.base import address_of
from collective.errors import ConfigurationError
from collective.types import Address

SECRET_BYTES = 32
FORMAT = "collective-datarefs/1"  # meta 'format': what this file is, and its schema version
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # created: unix seconds; addresses EIP-55 checksummed
    "CREATE TABLE IF NOT EXISTS secrets (organization TEXT NOT NULL, subject TEXT NOT NULL, "
    "secret BLOB NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (organization, subject))",
)


def keyed_ref(secret: bytes, reference: str | bytes) -> bytes:
    """``HMAC-SHA256(secret, reference)`` (RFC 2104): the 32-byte on-chain data reference.

    Args:
        secret: the pair's 32-byte secret.
        reference: the record locator; text is taken as UTF-8, exactly as given.

    Returns:
        32 bytes.
    """
    message = reference.encode() if isinstance(reference, str) else bytes(reference)
    return hmac.new(secret, message, hashlib.sha256).digest()


class DataRefStore:
    """One organization's file of per-subject secrets, and the keyed references made from
    them (see the module docstring for the design).

    Use it as a context manager, or :meth:`close` it. Safe to share between threads, and
    between processes through the file.

    Args:
        path: the SQLite file (created, mode 0600, when missing; its folder must exist).

    Raises:
        ConfigurationError: the folder does not exist, the path is a folder, the file cannot
            be opened or created, is not an SQLite database, or is another program's database.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._create_file()
        try:
            uri = "file:" + quote(str(self.path.resolve())) + "?mode=rw"
            self._db: sqlite3.Connection | None = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30.0
            )
        except sqlite3.Error as exc:
            raise self._error(f"cannot open it: {exc}") from None
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            self._db = None
            raise

    def _create_file(self) -> None:
        folder = self.path.parent
        if not folder.is_dir():
            raise self._error(
                f"its folder {folder} does not exist", hint="create the folder, or name another"
            )
        if self.path.is_dir():
            raise self._error("it is a folder", hint="name a file")
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return
        except OSError as exc:
            raise self._error(f"cannot create it: {exc.strerror or exc}") from None
        os.close(fd)

    def _prepare(self) -> None:
        with self._sql() as db:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA secure_delete = ON")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("BEGIN IMMEDIATE")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if tables and "meta" not in tables:
                raise self._error(
                    "it is another program's SQLite database, not a data-reference store",
                    hint="name a new file, or the one `--data-refs` made",
                )
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))
            found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if found is None or found[0] != FORMAT:
                raise self._error(
                    f"its format is {found[0] if found else 'unknown'!r}, not {FORMAT!r}",
                    hint="use the Collective version that made it",
                )
            db.execute("COMMIT")

    def _error(self, reason: str, hint: str | None = None) -> ConfigurationError:
        return ConfigurationError(f"data-reference store {self.path}: {reason}", hint=hint)

    @contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        """The connection under the thread lock; SQLite errors become ConfigurationError, and
        any failure rolls back the transaction it left open."""
        with self._lock:
            if self._db is None:
                raise self._error("the store is closed", hint="open a new DataRefStore")
            try:
                yield self._db
            except sqlite3.Error as exc:
                self._rollback()
                raise self._error(_reason(exc), hint=_hint(exc)) from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """End a transaction a failure left open (the caller holds the lock)."""
        if self._db is not None and self._db.in_transaction:
            with suppress(sqlite3.Error):  # SQLite rolled it back itself
                self._db.execute("ROLLBACK")

    def ref(
        self,
        organization: str | LocalAccount,
        subject: str | LocalAccount,
        reference: str | bytes,
    ) -> bytes:
        """The keyed data reference of ``reference`` for ``subject`` at ``organization``:
        ``HMAC-SHA256(secret, reference)``, the pair's secret made (and committed to the
        file) on first use.

        Args:
            organization: the organization's address, account or did:ethr DID.
            subject: the data subject's address, account or did:ethr DID.
            reference: the record locator (text as UTF-8, exactly as given, or bytes).

        Returns:
            32 bytes, the ``dataRef`` to record on chain.

        Raises:
            InvalidInputError: ``organization`` or ``subject`` is not an address or a DID.
            ConfigurationError: the file cannot be read or written (closed, locked past the
                timeout, corrupt).
        """
        return keyed_ref(self._secret(organization, subject), reference)

    def _secret(self, organization: str | LocalAccount, subject: str | LocalAccount) -> bytes:
        key = _pair(organization, subject)
        with self._sql() as db:
            row = db.execute(
                "SELECT secret FROM secrets WHERE organization = ? AND subject = ?", key
            ).fetchone()
            if row is None:
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT OR IGNORE INTO secrets VALUES (?, ?, ?, ?)",
                    (*key, secrets.token_bytes(SECRET_BYTES), int(time.time())),
                )
                row = db.execute(
                    "SELECT secret FROM secrets WHERE organization = ? AND subject = ?", key
                ).fetchone()
                db.execute("COMMIT")
        secret = bytes(row[0])
        if len(secret) != SECRET_BYTES:
            raise self._error(f"the secret of {key[1]} at {key[0]} is damaged")
        return secret

    def forget(self, organization: str | LocalAccount, subject: str | LocalAccount) -> bool:
        """Destroy ``subject``'s secret at ``organization``: overwrite it with zeros, delete
        it, commit, and checkpoint the WAL (truncating it), so the references made from it
        can no longer be recomputed or linked to any record. A later :meth:`ref` for the
        pair makes a new, unrelated secret.

        Args:
            organization: the organization's address, account or did:ethr DID.
            subject: the data subject's address, account or did:ethr DID.

        Returns:
            True when there was a secret to destroy, False when the pair had none.

        Raises:
            InvalidInputError: ``organization`` or ``subject`` is not an address or a DID.
            ConfigurationError: the file cannot be written.
        """
        key = _pair(organization, subject)
        where = "WHERE organization = ? AND subject = ?"
        with self._sql() as db:
            db.execute("BEGIN IMMEDIATE")
            zeros = bytes(SECRET_BYTES)
            found = db.execute(f"UPDATE secrets SET secret = ? {where}", (zeros, *key)).rowcount
            db.execute(f"DELETE FROM secrets {where}", key)
            db.execute("COMMIT")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        return found > 0

    def has_secret(self, organization: str | LocalAccount, subject: str | LocalAccount) -> bool:
        """Whether the pair has a secret (a reference was made for it and not forgotten).

        Raises:
            InvalidInputError: ``organization`` or ``subject`` is not an address or a DID.
            ConfigurationError: the file cannot be read.
        """
        key = _pair(organization, subject)
        with self._sql() as db:
            row = db.execute(
                "SELECT 1 FROM secrets WHERE organization = ? AND subject = ?", key
            ).fetchone()
        return row is not None

    def subjects(self, organization: str | LocalAccount) -> list[Address]:
        """The subjects that have a secret at ``organization``, as checksummed addresses,
        sorted.

        Raises:
            InvalidInputError: ``organization`` is not an address or a DID.
            ConfigurationError: the file cannot be read.
        """
        org = address_of(organization, "organization")
        with self._sql() as db:
            rows = db.execute(
                "SELECT subject FROM secrets WHERE organization = ? ORDER BY subject", (org,)
            ).fetchall()
        return [Address(r[0]) for r in rows]

    def organizations(self) -> list[Address]:
        """The organizations with at least one secret in this file, sorted."""
        with self._sql() as db:
            rows = db.execute(
                "SELECT DISTINCT organization FROM secrets ORDER BY organization"
            ).fetchall()
        return [Address(r[0]) for r in rows]

    def close(self) -> None:
        """Checkpoint the WAL and close the file; idempotent."""
        with self._lock:
            db, self._db = self._db, None
        if db is None:
            return
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            pass  # another process holds a lock: it checkpoints when it closes
        finally:
            db.close()

    def __enter__(self) -> DataRefStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DataRefStore({str(self.path)!r})"


def _pair(organization: str | LocalAccount, subject: str | LocalAccount) -> tuple[str, str]:
    return address_of(organization, "organization"), address_of(subject, "subject")


def _reason(exc: sqlite3.Error) -> str:
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return "it is not an SQLite database (corrupt, or another kind of file)"
    return text


def _hint(exc: sqlite3.Error) -> str | None:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return "another process holds the file; try again when it is done"
    if "not a database" in text or "malformed" in text:
        return "restore the file from its backup; without it the past references cannot be linked"
    if "readonly" in text or "unable to open" in text:
        return "check the file's and its folder's permissions"
    return None


__all__ = ["FORMAT", "SECRET_BYTES", "DataRefStore", "keyed_ref"]
