"""Fsyncing the WAL off the sealing path: a block is written when it commits, durable when
its WAL frames are fsynced, and nothing of it is served in between.

With ``--sync full`` SQLite's own commit would write a block's frames to the WAL *and* fsync
them (~4 ms on a common disk) before the sealer returns, so the answer to the
``eth_sendRawTransaction`` that brought the block waited for the disk. Instead the writer's
connection commits with ``synchronous=NORMAL`` (the frames are written: they survive the
process being killed, as an answered transaction must) and :class:`WalSyncer` fsyncs the WAL
file on a thread of its own; :meth:`WalSyncer.wait` is the gate every read of the chain passes
(:attr:`Node.lock <collective.node.node.Node.lock>`), so a block's receipt, its state and
everything else of it are served only once its frames are on disk (the guarantee
``synchronous=FULL`` gives), while the fsync overlaps the answer's trip to the client and the
client's next request. Several blocks written during one fsync are made durable by the next
one (a group commit). Checkpoints keep SQLite's own syncs (the checkpointer's connection is
``FULL``: the WAL is fsynced before it is copied, the database file after).

An fsync that fails leaves the block's durability unknown: every later wait and commit raises
:class:`~collective.node.storage.StorageError` with the reason (the node stops serving the
chain rather than serve what may not be on disk).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from collective.node.storage.schema import StorageError

log = logging.getLogger("collective.node")


class WalSyncer:
    """Fsyncs ``<database>-wal`` after commits, on a thread of its own (see the module doc).

    Args: ``wal``, the path of the WAL file of the database the writer commits to."""

    def __init__(self, wal: Path) -> None:
        self._wal = wal
        self._cond = threading.Condition(threading.Lock())
        self._written = 0  # commits made so far
        self._synced = 0  # commits known to be on disk
        self._failed: str | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def durable(self) -> bool:
        """Whether every commit made so far is on disk."""
        return self._synced >= self._written

    def written(self) -> None:
        """A commit was made (its frames are in the WAL): fsync it soon.

        Raises: :class:`StorageError` when an earlier fsync failed."""
        with self._cond:
            self._check()
            self._written += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wal-fsync", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def check(self) -> None:
        """Raises: :class:`StorageError` when an fsync failed (nothing more may be
        committed: what is in the log may not be on disk)."""
        self._check()

    def wait(self) -> None:
        """Block until every commit made before the call is on disk.

        Raises: :class:`StorageError` when an fsync failed."""
        if self._synced >= self._written and self._failed is None:
            return
        with self._cond:
            target = self._written
            while self._synced < target:
                self._check()
                self._cond.wait()
            self._check()

    def _check(self) -> None:
        if self._failed is not None:
            raise StorageError(self._failed)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._synced >= self._written and not self._stopping:
                    self._cond.wait()
                if self._synced >= self._written:
                    return  # stopping, and nothing left to sync
                target = self._written
            failure = self._fsync()
            with self._cond:
                if failure is None:
                    self._synced = target
                else:
                    self._failed = failure
                    log.error("%s", failure)
                self._cond.notify_all()
                if failure is not None:
                    return

    def _fsync(self) -> str | None:
        """Fsync the WAL file (any descriptor of the file syncs its data); the reason it
        failed, or None."""
        try:
            fd = os.open(self._wal, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return f"cannot fsync the chain database's log {self._wal}: {exc}"
        return None

    def close(self) -> None:
        """Sync what is written, then stop the thread.

        Raises: :class:`StorageError` when the last fsync failed."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        self._check()


__all__ = ["WalSyncer"]
