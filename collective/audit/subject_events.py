"""The audit index's events about identities, and the registry facts folded from them.

The index keeps every event's arguments as JSON in its ``events`` table, indexed by the
lowercase ``identity`` argument (``events_by_identity``). :func:`identity_events` reads the
rows of some events naming some identities, in chain order; :func:`deactivated` and
:func:`erasures` fold the registry's rows into what a consent's state needs:

- deactivated: the identity's ``DIDOwnerChanged`` names ``0x0`` (the event of a
  deactivation; ``DIDRegistry.sol``);
- an erasure: the identity's first ``ErasureRequested`` to an organization (GDPR Art. 17)
  and the first ``ErasureConfirmed`` after it.

The callers (:mod:`collective.audit.subjects`, :mod:`collective.audit.subject_history`) run
these inside one read transaction of theirs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

NULL = "0x" + "00" * 20
"""The owner a ``DIDOwnerChanged`` names when the identity is deactivated."""
REGISTRY_EVENTS = ("DIDOwnerChanged", "ErasureRequested", "ErasureConfirmed")
"""The events :func:`deactivated` and :func:`erasures` read."""
_BY_IDENTITY = "lower(json_extract(args, '$.identity'))"  # the events_by_identity index's key

EventRow = tuple[int, int, bytes, str, dict[str, Any], int]
"""(block, log index, transaction hash, event name, arguments, block time in unix seconds);
arguments as the index keeps them (addresses and bytes32 as ``0x`` text)."""


@dataclass(frozen=True)
class IndexedErasure:
    """An identity's erasure request to an organization: the request's block time, its due
    time and the confirmation's block time (unix seconds; ``confirmed_at`` 0 while none)."""

    requested_at: int
    due_at: int
    confirmed_at: int


def marks(values: Sequence[Any]) -> str:
    """SQL placeholders for ``values``: ``"?, ?, ?"`` for three."""
    return ", ".join("?" * len(values))


def identity_events(
    db: sqlite3.Connection, who: list[str], events: Iterable[str]
) -> list[EventRow]:
    """The rows of ``events`` (event names) naming one of ``who`` (lowercase ``0x``
    addresses) as ``identity``, in chain order, as :data:`EventRow` tuples."""
    names = list(events)
    rows = db.execute(
        "SELECT e.block, e.log_index, e.tx_hash, e.event, e.args, b.timestamp FROM events e "
        f"JOIN blocks b ON b.number = e.block WHERE {_BY_IDENTITY} IN ({marks(who)}) "
        f"AND e.event IN ({marks(names)}) ORDER BY e.block, e.log_index",
        [*who, *names],
    )
    return [(*row[:4], json.loads(row[4]), int(row[5])) for row in rows]


def deactivated(rows: Iterable[EventRow]) -> set[str]:
    """The identities (lowercase) a ``DIDOwnerChanged`` of ``rows`` deactivated (owner
    ``0x0``)."""
    return {
        str(args["identity"]).lower()
        for _, _, _, event, args, _ in rows
        if event == "DIDOwnerChanged" and str(args["owner"]) == NULL
    }


def erasures(rows: Iterable[EventRow]) -> dict[tuple[str, str], IndexedErasure]:
    """Each (identity, organization)'s erasure (lowercase addresses) from the
    ``ErasureRequested`` and ``ErasureConfirmed`` rows of ``rows`` (others are skipped): the
    first request counts, and the first confirmation after it."""
    found: dict[tuple[str, str], IndexedErasure] = {}
    for _, _, _, event, args, ts in rows:
        if event not in ("ErasureRequested", "ErasureConfirmed"):
            continue
        pair = (str(args["identity"]).lower(), str(args["organization"]).lower())
        if event == "ErasureRequested":
            found.setdefault(pair, IndexedErasure(ts, int(args["dueAt"]), 0))
        elif pair in found and not found[pair].confirmed_at:
            request = found[pair]
            found[pair] = IndexedErasure(request.requested_at, request.due_at, ts)
    return found


__all__ = [
    "NULL",
    "REGISTRY_EVENTS",
    "EventRow",
    "IndexedErasure",
    "deactivated",
    "erasures",
    "identity_events",
    "marks",
]
