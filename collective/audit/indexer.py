"""``sync``: index every event of a deployment into the audit index, incrementally.

From the manifest's first block to the head, in block ranges: ``eth_getLogs`` for every event
signature of the suite (any address, so look-alikes are seen and reported, never indexed) and
the headers of every block. The range adapts: it halves when the node refuses or times out,
and grows while responses stay small. Lost connections and node restarts are retried with
back-off. Each range is written in one SQLite transaction together with the new ``synced_to``,
so an interrupted sync loses at most the range in flight and resumes where it stopped, with
no duplicate and no gap.

A chain that changed under the index is detected before each run and at each range (the
stored hash of the block before the range is not the parent hash of its first block): the
indexer walks back to the last block whose hash still matches, drops everything after it and
indexes again from there.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from collective.audit.events import Catalogue, new_rows
from collective.audit.model import ForeignLog, Reorg, SyncResult
from collective.audit.source import Header, LogSource, RangeTooLarge, Transient, source_for
from collective.audit.store import AuditIndex, open_index
from collective.chain import Chain
from collective.deploy import CONTRACTS, Deployment
from collective.errors import AuditError, ChainError

Progress = Callable[[int, int, int], None]  # (synced_to, head, events indexed so far)

INITIAL_RANGE = 16
MAX_RANGE = 100_000
# Logs per eth_getLogs call: an answer of up to ~20,000 logs has fewer opening brackets than
# the transport's SAFE_DEPTH (collective.chain.jsonints), so it is parsed without the nesting
# scan, which costs ~25 us a log.
TARGET_LOGS = 10_000
FORK_WINDOW = 64
DEFER_AT = 100_000  # expected new events from which a sync builds the indexes at the end


class _ChainMoved(Exception):
    """The chain changed while a range was read: check for a fork and read again."""


def first_block_of(deployment: Deployment) -> int:
    """The first block of ``deployment``'s contracts (where its events start)."""
    return min((deployment.blocks.get(name, 0) for name in CONTRACTS), default=0)


def _bind(index: AuditIndex, deployment: Deployment) -> None:
    addresses = {name: deployment.address(name).lower() for name in CONTRACTS}
    known = index.chain_id
    if known is None:
        index.set_meta("chain_id", str(deployment.chain_id))
        index.set_meta("addresses", json.dumps(addresses, sort_keys=True))
        index.set_meta("first_block", str(first_block_of(deployment)))
        index.set_meta("network", deployment.network)
        return
    if known != deployment.chain_id or index.addresses != addresses:
        raise AuditError(
            f"{index.path} indexes another deployment (chain {known}, "
            f"{index.addresses.get('ConsentLedger')})",
            hint="pass another --db for this deployment",
        )


class _Reader:
    """Reads ranges with retries: transient failures back off, refusals shrink the range."""

    def __init__(self, source: LogSource, topics: list[str], patience: float, wait: float):
        self.source = source
        self.topics = topics
        self.patience = patience
        self.wait = wait
        self.retries = 0

    def retry(self, what: str, fn: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + self.patience
        delay = self.wait
        while True:
            try:
                return fn()
            except Transient as exc:
                if time.monotonic() + delay > deadline:
                    raise ChainError(
                        f"gave up {what} after {self.patience:g} s: {exc}",
                        hint="is the node running? `collective audit sync` resumes where it "
                        "stopped",
                    ) from None
                self.retries += 1
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def read(self, start: int, end: int) -> tuple[list[dict[str, Any]], list[Header]]:
        def both() -> tuple[list[dict[str, Any]], list[Header]]:
            logs = self.source.logs(start, end, self.topics)
            headers = self.source.headers(start, end)
            return logs, headers

        result: tuple[list[dict[str, Any]], list[Header]] = self.retry(
            f"reading blocks {start}-{end}", both
        )
        return result


def _find_fork(index: AuditIndex, reader: _Reader, first: int) -> Reorg | None:
    """Compare the stored tip with the chain; on a mismatch drop back to the fork point."""
    top = index.synced_to
    if top is None:
        return None
    upper = top
    while upper >= first:
        lower = max(first, upper - FORK_WINDOW + 1)
        headers = reader.retry(
            "looking for a fork",
            lambda lo=lower, hi=upper: reader.source.headers(lo, hi),  # type: ignore[misc]
        )
        on_chain = {h.number: h.hash for h in headers}
        stored = dict(
            index.db.execute(
                "SELECT number, hash FROM blocks WHERE number BETWEEN ? AND ?", (lower, upper)
            )
        )
        for number in range(upper, lower - 1, -1):
            if number in stored and on_chain.get(number) == bytes(stored[number]):
                if number == top:
                    return None
                dropped = index.drop_after(number)
                return Reorg(fork_block=number, dropped_blocks=top - number, dropped_events=dropped)
        upper = lower - 1
    dropped = index.drop_after(first - 1)
    return Reorg(fork_block=first - 1, dropped_blocks=top - first + 1, dropped_events=dropped)


def _check(
    index: AuditIndex,
    start: int,
    end: int,
    first: int,
    logs: list[dict[str, Any]],
    headers: list[Header],
) -> None:
    """Raise _ChainMoved unless the range is one consistent piece of the indexed chain."""
    if len(headers) != end - start + 1 or headers[0].number != start:
        raise _ChainMoved
    if start > first:
        before = index.block_hash(start - 1)
        if before is not None and headers[0].parent_hash != before:
            raise _ChainMoved
    for previous, header in itertools.pairwise(headers):
        if header.parent_hash != previous.hash or header.number != previous.number + 1:
            raise _ChainMoved
    hashes = {"0x" + h.hash.hex() for h in headers}
    for log in logs:
        if log.get("blockHash", "").lower() not in hashes:
            raise _ChainMoved


def _drain(ahead: tuple[int, int, Future[Any]] | None) -> None:
    """Cancel a prefetch, or wait for it when it already runs: a source serves one caller."""
    if ahead is None or ahead[2].cancel():
        return
    with contextlib.suppress(Exception):  # its range is read again
        ahead[2].result()


def sync(
    chain: Chain,
    deployment: Deployment,
    db: AuditIndex | Path | str,
    *,
    source: LogSource | None = None,
    to_block: int | None = None,
    progress: Progress | None = None,
    on_range: Callable[[int, int], None] | None = None,
    initial_range: int = INITIAL_RANGE,
    target_logs: int = TARGET_LOGS,
    patience: float = 60.0,
    retry_wait: float = 0.2,
) -> SyncResult:
    """Index the deployment's events into ``db`` from where the last sync stopped.

    ``source`` defaults to the fastest reader for ``chain`` (in process for the embedded
    chain, JSON-RPC otherwise). ``to_block`` stops early (default: the head). ``progress``
    is called after each range with (synced_to, head, events so far); ``on_range(start, end)``
    after each range is committed. Transient node failures are retried for ``patience``
    seconds.

    Args:
        chain: the chain the deployment is on.
        deployment: the suite's deployment (its addresses, first block and chain id).
        db: an open :class:`~collective.audit.store.AuditIndex` or a path to one.
        source: where to read headers and logs (default: :func:`~.source.source_for`).
        to_block: the last block to index (default: the head).
        progress: called with (synced_to, head, events so far) after each range.
        on_range: called with (start, end) after each range is committed.
        initial_range: blocks in the first ``eth_getLogs`` range (then adapted).
        target_logs: logs per range the adaptation aims at.
        patience: seconds transient failures are retried for.
        retry_wait: seconds before the first retry (doubling).

    Returns:
        The :class:`~collective.audit.model.SyncResult` of this run.

    Raises:
        AuditError: ``db`` indexes another deployment, or cannot be opened.
        ChainError: the node failed for longer than ``patience``, or refused a request.
    """
    started = time.monotonic()
    index = db if isinstance(db, AuditIndex) else open_index(db)
    try:
        _bind(index, deployment)
        catalogue = Catalogue({n: deployment.address(n) for n in CONTRACTS}, deployment.config)
        reader = _Reader(source or source_for(chain), catalogue.topic_list, patience, retry_wait)
        return _run(
            index,
            reader,
            catalogue,
            first_block_of(deployment),
            deployment.chain_id,
            to_block,
            progress,
            on_range,
            max(1, initial_range),
            target_logs,
            started,
        )
    finally:
        if not isinstance(db, AuditIndex):
            index.close()


def _run(
    index: AuditIndex,
    reader: _Reader,
    catalogue: Catalogue,
    first: int,
    chain_id: int,
    to_block: int | None,
    progress: Progress | None,
    on_range: Callable[[int, int], None] | None,
    step: int,
    target_logs: int,
    started: float,
) -> SyncResult:
    reorgs: list[Reorg] = []
    foreign: list[ForeignLog] = []
    events = blocks = ranges = 0
    head = reader.retry("reading the head block", reader.source.head)
    if to_block is not None:
        head = min(head, to_block)
    fork = _find_fork(index, reader, first)
    if fork is not None:
        reorgs.append(fork)
    begun = index.synced_to
    start = first if begun is None else begun + 1
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-prefetch")
    ahead: tuple[int, int, Future[Any]] | None = None
    deferred = False
    existing = index.count("uses") + index.count("consents")
    try:
        while start <= head:
            end = min(head, start + step - 1)
            if ahead is not None and ahead[0] == start and ahead[1] == end:
                future = ahead[2]
            else:
                _drain(ahead)
                future = pool.submit(reader.read, start, end)
            ahead = None
            try:
                logs, headers = future.result()
            except RangeTooLarge:
                if step == 1:
                    raise
                step = max(1, (end - start + 1) // 2)
                reader.retries += 1
                continue
            # Read the next range while this one is decoded and written.
            # Aim the next range at target_logs, from this range's logs per block.
            density = len(logs) / (end - start + 1)
            aimed = int(target_logs / density) if density else MAX_RANGE
            step = max(1, min(MAX_RANGE, step * 4, aimed))
            if end < head:
                nxt = (end + 1, min(head, end + step))
                ahead = (*nxt, pool.submit(reader.read, *nxt))
            try:
                _check(index, start, end, first, logs, headers)
            except _ChainMoved:
                _drain(ahead)
                ahead = None
                fork = _find_fork(index, reader, first)
                if fork is not None:
                    reorgs.append(fork)
                synced = index.synced_to
                start = first if synced is None else synced + 1
                head = reader.retry("reading the head block", reader.source.head)
                if to_block is not None:
                    head = min(head, to_block)
                continue
            rows = new_rows()
            counts: dict[int, int] = {}
            catalogue.add(logs, rows, counts)
            index.write_range(
                [
                    (h.number, h.hash, h.parent_hash, h.timestamp, counts.get(h.number, 0))
                    for h in headers
                ],
                rows,
                end,
            )
            foreign += [
                ForeignLog(b, "0x" + tx.hex(), i, address, name)
                for b, i, tx, address, name in rows["foreign_logs"]
            ]
            events += sum(counts.values())
            if (
                not deferred
                and end < head
                and len(logs) * (head - end) > max(DEFER_AT, existing) * (end - start + 1)
            ):
                # Far behind: build the bulk tables' indexes once at the end.
                index.defer_indexes()
                deferred = True
            blocks += len(headers)
            ranges += 1
            start = end + 1
            if progress is not None:
                progress(end, head, events)
            if on_range is not None:
                on_range(headers[0].number, end)
    finally:
        _drain(ahead)
        pool.shutdown(wait=True, cancel_futures=True)
        if deferred:
            index.ensure_indexes()
    synced_to = index.synced_to
    return SyncResult(
        db=str(index.path),
        chain_id=chain_id,
        first_block=first,
        synced_to=first - 1 if synced_to is None else synced_to,
        head=head,
        blocks=blocks,
        events=events,
        foreign=tuple(foreign),
        reorgs=tuple(reorgs),
        ranges=ranges,
        retries=reader.retries,
        seconds=time.monotonic() - started,
    )


__all__ = ["Progress", "first_block_of", "sync"]
