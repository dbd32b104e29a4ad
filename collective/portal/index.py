"""The portal's audit index: "my consents" and "who used my data" read from SQLite, not the node.

:class:`PortalIndex` keeps an audit index (:mod:`collective.audit.store`) of the ledger in
step with the chain from one background thread, the *follower*, and hands each request
thread its own read-only :class:`~collective.audit.subjects.SubjectReader` (SQLite's WAL lets
the readers run beside the follower's writes). A request costs a few indexed SQLite queries
and no node call.

Freshness: a request first waits for the follower's next *cycle* (one ``eth_blockNumber``
and, when the head moved, an incremental :func:`~collective.audit.indexer.sync` of the new
blocks) that starts after the request arrived. So an answer includes every transaction mined
before the request was made (a person who withdrew with the CLI and reloads the page sees
it), whatever the load: all the requests waiting together share one cycle, so the node sees
one ``eth_blockNumber`` per cycle, not one call per request. Without requests, the follower
still polls every :data:`IDLE_POLL` seconds, so the index never falls far behind. The relay
endpoint waits the same way after its transaction is mined, so the page's reload right after
a withdrawal shows it.

When the node stops answering: a request waits for its cycle only while the follower hears
from the node; after :data:`NODE_PATIENCE` seconds without a word (a cycle stuck on a node that
accepts connections but answers nothing, or a sync retrying a node that is gone) it is
answered with a :class:`~collective.errors.ChainError` (HTTP 503 and a sentence), and so is
any request while the last cycle failed to reach the node: :meth:`PortalIndex.node_trouble`
says so at once (:mod:`collective.portal.node_gate` asks it before a route that needs the
chain). The follower goes on trying by itself (every :data:`IDLE_POLL` seconds, or the sync's
own backoff) and, once the node answers again, indexes from the last block it committed: a
range of blocks is written in one SQLite transaction, so nothing is lost or written twice.

Where the index lives: ``path`` when given (kept across restarts: a restart syncs only the
new blocks); otherwise a temporary file removed when the portal stops (the first requests
then wait for a sync from the deployment's first block).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from collective.audit.indexer import sync
from collective.audit.source import LogSource, source_for
from collective.audit.store import AuditIndex, open_index
from collective.audit.subjects import SubjectReader
from collective.errors import ChainError

if TYPE_CHECKING:
    from collective.client import Collective

IDLE_POLL = 0.5
"""Seconds between the follower's cycles while no request waits."""
MIN_CYCLE = 0.01
"""Seconds the follower lets pass before a cycle a request asked for: under load, every
request arriving within it shares the one ``eth_blockNumber`` (the node and the portal's
own interpreter are spared a call per request), at the cost of this much latency."""
FRESH_TIMEOUT = 60.0
"""Seconds a request waits for the follower's cycle (the first sync of a long chain can take
that long) before it is answered with an error."""
NODE_PATIENCE = 3.0
"""Seconds the follower may go without an answer from the node (within a cycle: its first
request, or the next range of a sync) before the portal takes the node as not answering."""
_SLICE = 0.25
"""Seconds between a waiting request's looks at the follower's progress."""

log = logging.getLogger(__name__)


class PortalIndex:
    """An audit index kept in step with ``client``'s chain by a background thread.

    Args:
        client: a client on the ledger (its chain and deployment are indexed).
        path: the index file (created if missing; it must index this deployment), or None
            for a temporary one removed by :meth:`stop`.

    Raises:
        AuditError: ``path`` cannot be opened or indexes another deployment (at the first
            cycle, reported to the waiting requests).
    """

    def __init__(self, client: Collective, path: Path | str | None = None) -> None:
        self._client = client
        self._tmp: Path | None = None
        if path is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="collective-portal-"))
            path = self._tmp / "index.sqlite"
        self.path = Path(path)
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._started = self._done = 0
        self._failure: Exception | None = None
        # The monotonic time the cycle in progress started or last heard from the node
        # (a range committed); None between cycles.
        self._heard: float | None = None
        self._stop = False
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        self._readers: list[SubjectReader] = []
        # Coroutines waiting: (the cycle they need finished, their loop, their future).
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def start(self) -> None:
        """Start the follower (idempotent)."""
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._follow, name="collective-portal-index", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the follower, close the readers and remove a temporary index."""
        with self._cond:
            self._stop = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)
        for reader in self._readers:
            with contextlib.suppress(Exception):
                reader.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _follow(self) -> None:
        index: AuditIndex | None = None
        source: LogSource | None = None
        try:
            while True:
                with self._cond:
                    if self._stop:
                        return
                    self._started += 1
                    self._heard = time.monotonic()
                failure: Exception | None = None
                try:
                    if index is None:
                        index = open_index(self.path)
                    if source is None:
                        source = source_for(self._client.chain)
                    if source.head() != index.synced_to:
                        self._heard = time.monotonic()
                        sync(
                            self._client.chain,
                            self._client.deployment,
                            index,
                            source=source,
                            on_range=self._progressed,
                        )
                except Exception as exc:  # reported to the requests waiting for this cycle
                    log.warning("the portal's index could not follow the chain: %s", exc)
                    failure = exc
                with self._cond:
                    self._done += 1
                    self._heard = None
                    self._failure = failure
                    self._cond.notify_all()
                    self._resolve()
                self._wake.wait(IDLE_POLL)
                time.sleep(MIN_CYCLE)  # let the requests arriving meanwhile share the next cycle
                self._wake.clear()
        finally:
            if index is not None:
                index.close()
            close = getattr(source, "close", None)  # RpcSource holds a connection
            if callable(close):
                close()

    def _progressed(self, start: int, end: int) -> None:
        """The sync committed blocks ``start``..``end``: the node answers."""
        self._heard = time.monotonic()

    def node_trouble(self) -> ChainError | None:
        """Why the node is taken as not answering now, or None when it answers (or nothing
        is known yet): the follower's last cycle could not reach it, or the cycle in
        progress has heard nothing from it for :data:`NODE_PATIENCE` seconds. Never waits."""
        with self._cond:
            failure = self._failure
        if isinstance(failure, ChainError):
            return self._outcome_of(failure)
        return self._stalled()

    def _stalled(self, asked: float = float("-inf")) -> ChainError | None:
        """The error for a cycle that has heard nothing from the node for
        :data:`NODE_PATIENCE` seconds (counted from ``asked``, a request's monotonic
        arrival, when later), else None."""
        with self._cond:
            heard = self._heard
        if heard is not None and time.monotonic() - max(heard, asked) > NODE_PATIENCE:
            return ChainError(
                f"the ledger's node has not answered the portal for {NODE_PATIENCE:g} s",
                hint="try again in a minute; if it lasts, tell the portal's operator",
            )
        return None

    def _ask(self) -> int:
        """The cycle a waiter arriving now needs finished (the next to start); wakes the
        follower. Call with ``_cond`` held."""
        self._wake.set()
        return self._started + 1

    def _outcome(self) -> ChainError | None:
        """The error a waiter answers with when its cycle failed. Call with ``_cond`` held."""
        if self._failure is None:
            return None
        return self._outcome_of(self._failure)

    @staticmethod
    def _outcome_of(failure: Exception) -> ChainError:
        return ChainError(
            f"the portal could not read the chain's new blocks: {failure}",
            hint="is the node running? try again in a minute",
        )

    def fresh(self, timeout: float = FRESH_TIMEOUT) -> None:
        """Wait until a follower cycle that started after this call has finished: the index
        then holds every block mined before the call (blocking; :meth:`wait_fresh` is the
        same for a coroutine).

        Args:
            timeout: seconds to wait at most.

        Raises:
            ChainError: the cycle failed (the node could not be reached, or the index is of
                another deployment), heard nothing from the node for :data:`NODE_PATIENCE`
                seconds, or did not finish within ``timeout``.
        """
        self.start()
        asked = time.monotonic()
        with self._cond:
            target = self._ask()
        while True:
            with self._cond:
                if self._cond.wait_for(lambda: self._done >= target, _SLICE):
                    failure = self._outcome()
                    break
            stalled = self._stalled(asked)
            if stalled is not None:
                raise stalled
            if time.monotonic() - asked > timeout:
                raise _late(timeout)
        if failure is not None:
            raise failure

    async def wait_fresh(self, timeout: float = FRESH_TIMEOUT) -> None:
        """:meth:`fresh` for a coroutine: the event loop goes on serving while it waits (the
        follower resolves the waiters of each cycle it finishes).

        Raises:
            ChainError: as :meth:`fresh`.
        """
        self.start()
        asked = time.monotonic()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            self._waiters.append((self._ask(), loop, future))
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(future), _SLICE)
                return
            except TimeoutError:
                pass
            stalled = self._stalled(asked)
            if stalled is None and time.monotonic() - asked > timeout:
                stalled = _late(timeout)
            if stalled is not None:
                future.cancel()  # the follower's _settle skips it
                raise stalled

    def _resolve(self) -> None:
        """Settle the coroutines waiting for the cycle just finished. Call with ``_cond``
        held."""
        failure = self._outcome()
        waiting = []
        for target, loop, future in self._waiters:
            if target > self._done:
                waiting.append((target, loop, future))
            elif not loop.is_closed():
                loop.call_soon_threadsafe(_settle, future, failure)
        self._waiters = waiting

    def reader(self) -> SubjectReader:
        """This thread's reader of the index (opened at its first use). Wait with
        :meth:`fresh` or :meth:`wait_fresh` before reading, for an answer that holds every
        block mined until then."""
        reader: SubjectReader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = SubjectReader(self.path)
            self._local.reader = reader
            with self._cond:
                self._readers.append(reader)
        return reader


def _late(timeout: float) -> ChainError:
    return ChainError(
        f"the portal's index did not catch up with the chain within {timeout:g} s",
        hint="try again in a minute; is the node running?",
    )


def _settle(future: asyncio.Future[None], failure: ChainError | None) -> None:
    """Resolve a waiter's future in its own loop (unless it gave up already)."""
    if future.done():
        return
    if failure is None:
        future.set_result(None)
    else:
        future.set_exception(failure)


__all__ = ["FRESH_TIMEOUT", "IDLE_POLL", "MIN_CYCLE", "NODE_PATIENCE", "PortalIndex"]
