"""Polling filters: ``eth_newFilter``, ``eth_newBlockFilter``, ``eth_getFilterChanges``, ...

Filters live in memory (as in geth) and expire after :data:`FILTER_TIMEOUT` seconds without a
poll. Log filters answer from the log index, block filters from the blocks table.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collective.node.rpc.objects import LogFilter

FILTER_TIMEOUT = 300.0
MAX_FILTERS = 10_000


@dataclass
class Filter:
    """One installed filter: what it reports, the last block it reported, its last poll
    (``time.monotonic()`` seconds)."""

    kind: str  # "logs" | "blocks" | "pending"
    criteria: LogFilter | None
    last_block: int  # the last block already reported
    last_poll: float


class Filters:
    """The node's installed filters, by id (``0x`` and 32 hex digits, unguessable)."""

    def __init__(self) -> None:
        self._filters: dict[str, Filter] = {}

    def add(self, kind: str, criteria: LogFilter | None, head: int) -> str:
        """Install a filter of ``kind`` (``logs`` with ``criteria``, ``blocks``, ``pending``)
        that reports from after block ``head``; at most :data:`MAX_FILTERS` (the least
        recently polled goes). Returns its id."""
        self.expire()
        if len(self._filters) >= MAX_FILTERS:
            oldest = min(self._filters, key=lambda key: self._filters[key].last_poll)
            del self._filters[oldest]
        filter_id = "0x" + secrets.token_hex(16)
        self._filters[filter_id] = Filter(kind, criteria, head, time.monotonic())
        return filter_id

    def get(self, filter_id: str) -> Filter | None:
        """The filter ``filter_id`` (its poll time renewed), or None if unknown or expired."""
        found = self._filters.get(filter_id)
        if found is not None:
            found.last_poll = time.monotonic()
        return found

    def remove(self, filter_id: str) -> bool:
        """Uninstall ``filter_id``; whether it existed."""
        return self._filters.pop(filter_id, None) is not None

    def expire(self) -> None:
        """Drop the filters not polled for :data:`FILTER_TIMEOUT` seconds."""
        cutoff = time.monotonic() - FILTER_TIMEOUT
        for key in [k for k, f in self._filters.items() if f.last_poll < cutoff]:
            del self._filters[key]

    def rewind(self, head: int) -> None:
        """After a dev revert, filters never report past blocks again as new."""
        for item in self._filters.values():
            item.last_block = min(item.last_block, head)


__all__ = ["FILTER_TIMEOUT", "Filter", "Filters"]
