"""The log index: ``eth_getLogs`` as one indexed SQLite query, never a scan of receipts.

Logs are stored once, rendered, keyed by their row id ``block << 20 | index`` (so a block
range is an id range), with B-tree indexes on (address, id) and (topicN, id) for N = 0..3
(see :mod:`collective.node.storage`). A query
constrains the block range plus any address and topic alternatives; SQLite's planner picks the
most selective index and reads the rendered logs in order, so the answer is the stored JSON
texts joined, without decoding anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from collective.node.errors import LIMIT_EXCEEDED, RpcError
from collective.node.render import json_array
from collective.node.storage import _ID_SHIFT, Store, row_ids

MAX_LOGS = 100_000


@dataclass(frozen=True)
class LogQuery:
    """Resolved criteria: an inclusive block range, addresses (any of), topics by position."""

    from_block: int
    to_block: int
    addresses: Sequence[bytes] = ()
    topics: Sequence[Sequence[bytes] | None] = ()

    def sql(self, limit: int) -> tuple[str, list[object]]:
        """The query as SQL and its arguments, asking for at most ``limit + 1`` rows (one
        more than allowed, to tell a full answer from too many)."""
        where = ["id BETWEEN ? AND ?"]
        args: list[object] = [row_ids(self.from_block)[0], row_ids(self.to_block)[1]]
        if self.addresses:
            where.append(f"address IN ({','.join('?' * len(self.addresses))})")
            args.extend(self.addresses)
        for position, alternatives in enumerate(self.topics):
            if alternatives:
                where.append(f"t{position} IN ({','.join('?' * len(alternatives))})")
                args.extend(alternatives)
        args.append(limit + 1)
        sql = f"SELECT id, json FROM logs WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        return sql, args


def find_logs(store: Store, query: LogQuery, limit: int = MAX_LOGS) -> list[str]:
    """The rendered logs matching ``query``, in chain order."""
    if query.from_block > query.to_block:
        return []
    sql, args = query.sql(limit)
    found = store.query(sql, args)
    if len(found) > limit:
        raise RpcError(
            LIMIT_EXCEEDED,
            f"query returned more than {limit} results; narrow the block range or the filter",
        )
    # each block's logs are checked against its header's receiptsRoot before they are served
    # (once per block; the store remembers the blocks it checked)
    for block in sorted({row[0] >> _ID_SHIFT for row in found}):
        store.verify_receipts(block)
    return [row[1] for row in found]


def logs_json(rows: list[str]) -> str:
    """Rendered logs joined into one JSON array text (:func:`~collective.node.render.json_array`:
    in one copy)."""
    return json_array(rows)


__all__ = ["MAX_LOGS", "LogQuery", "find_logs", "logs_json"]
