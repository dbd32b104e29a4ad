"""The ``eth_*`` methods about logs: ``eth_getLogs`` and the polling filters
(``eth_newFilter``, ``eth_newBlockFilter``, ``eth_newPendingTransactionFilter``,
``eth_getFilterChanges``, ``eth_getFilterLogs``, ``eth_uninstallFilter``).

Ranges are checked as geth checks them: -32602 ``invalid block range params`` when
``fromBlock`` is after ``toBlock``, ``block range extends beyond current head block`` when
``toBlock`` is past the head, ``pending logs are not supported``. Logs are answered from the
log index (:mod:`collective.node.logindex`) as stored JSON text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collective.node.errors import INVALID_PARAMS, RpcError, rejected
from collective.node.filters import Filter
from collective.node.logindex import LogQuery, logs_json
from collective.node.rpc.context import HEADISH, Raw
from collective.node.rpc.objects import BlockRef, LogFilter

if TYPE_CHECKING:
    from collective.node.node import Node


def _bound(node: Node, ref: BlockRef | None) -> int:
    """A range bound as a block number (absent means "latest", as in geth)."""
    if ref is None or ref.tag in HEADISH:
        return node.view.head_number
    if ref.tag == "earliest":
        return 0
    assert ref.number is not None
    return ref.number


def _describe(ref: BlockRef | None, number: int) -> str:
    named = "latest" if ref is None else ref.describe()
    return named if ref is not None and ref.number is not None else f"{named} = {hex(number)}"


def _no_pending(criteria: LogFilter) -> None:
    for name, ref in (("fromBlock", criteria.from_block), ("toBlock", criteria.to_block)):
        if ref is not None and ref.tag == "pending":
            raise RpcError(INVALID_PARAMS, f"pending logs are not supported (filter.{name})")


def _backwards(start: BlockRef | None, first: int, end: str) -> RpcError:
    return RpcError(
        INVALID_PARAMS,
        f"invalid block range params: filter.fromBlock ({_describe(start, first)}) is after "
        f"filter.toBlock ({end})",
    )


def log_range(node: Node, criteria: LogFilter) -> tuple[int, int]:
    """The first and last block numbers of a query, checked as geth's eth_getLogs checks them.

    Raises: -32000 ``unknown block`` for an unknown ``blockHash``; -32602 for a pending
    bound, a backwards range or one past the head (the module's words).
    """
    if criteria.block_hash is not None:
        number = node.view.number_of(criteria.block_hash)
        if number is None:
            raise rejected("unknown block")
        return number, number
    _no_pending(criteria)
    head = node.view.head_number
    first, last = _bound(node, criteria.from_block), _bound(node, criteria.to_block)
    if first > last:
        raise _backwards(criteria.from_block, first, _describe(criteria.to_block, last))
    if last > head:
        raise RpcError(
            INVALID_PARAMS,
            f"block range extends beyond current head block: filter.toBlock "
            f"({_describe(criteria.to_block, last)}) is after the head ({hex(head)})",
        )
    return first, last


def _query(criteria: LogFilter, first: int, last: int) -> LogQuery:
    return LogQuery(first, last, criteria.addresses, criteria.topics)


def eth_get_logs(node: Node, criteria: LogFilter) -> Any:
    """``eth_getLogs``: the matching logs in chain order, as JSON text.

    Raises: as :func:`log_range`; -32005 when the answer would exceed the log index's limit
    (:mod:`collective.node.logindex`).
    """
    first, last = log_range(node, criteria)
    return Raw(logs_json(node.view.logs(_query(criteria, first, last))))


def eth_new_filter(node: Node, criteria: LogFilter) -> Any:
    """``eth_newFilter``: a log filter's id; as geth, its range may lie in the future, but not
    run backwards (nor from the head to a fixed block), and pending logs are not supported.

    Raises: -32602 for those ranges.
    """
    _no_pending(criteria)
    start, end = criteria.from_block, criteria.to_block
    if criteria.block_hash is None and end is not None and end.number is not None:
        if start is None or start.tag in HEADISH:
            raise RpcError(
                INVALID_PARAMS,
                f"invalid block range params: a filter from the head (filter.fromBlock "
                f"{'latest' if start is None else start.tag}) cannot end at a fixed block "
                f"(filter.toBlock {hex(end.number)})",
            )
        if start.number is not None and start.number > end.number:
            raise _backwards(start, start.number, hex(end.number))
    return node.filters.add("logs", criteria, node.view.head_number)


def eth_new_block_filter(node: Node) -> Any:
    """``eth_newBlockFilter``: a filter id whose changes are new blocks' hashes."""
    return node.filters.add("blocks", None, node.view.head_number)


def eth_new_pending_tx_filter(node: Node, full: bool) -> Any:
    """``eth_newPendingTransactionFilter``: a filter id (its changes are always empty)."""
    return node.filters.add("pending", None, node.view.head_number)


def _filter(node: Node, filter_id: str) -> Filter:
    found = node.filters.get(filter_id)
    if found is None:
        raise rejected("filter not found")
    return found


def eth_get_filter_changes(node: Node, filter_id: str) -> Any:
    """``eth_getFilterChanges``: what is new since the last poll: block hashes, or logs
    within the filter's range (a block-hash filter's logs once).

    Raises: -32000 ``filter not found`` for an unknown or expired id.
    """
    found = _filter(node, filter_id)
    head = node.view.head_number
    start, found.last_block = found.last_block + 1, head
    if found.kind == "blocks":
        return ["0x" + h.hex() for h in node.view.block_hashes(start, head)]
    if found.kind == "pending":
        return []
    criteria = found.criteria
    assert criteria is not None
    if criteria.block_hash is not None:  # its block's logs, once
        first, last = log_range(node, criteria)
        first = max(first, start)
    else:  # what is new since the last poll, within the filter's range
        tagged = criteria.from_block is None or criteria.from_block.tag in HEADISH
        first = start if tagged else max(_bound(node, criteria.from_block), start)
        last = min(_bound(node, criteria.to_block), head)
    return Raw(logs_json(node.view.logs(_query(criteria, first, last))))


def eth_get_filter_logs(node: Node, filter_id: str) -> Any:
    """``eth_getFilterLogs``: all of a log filter's logs, as ``eth_getLogs``.

    Raises: -32000 ``filter not found`` for an unknown id or one that is not a log filter.
    """
    found = _filter(node, filter_id)
    if found.kind != "logs" or found.criteria is None:
        raise rejected("filter not found")
    return eth_get_logs(node, found.criteria)


def eth_uninstall_filter(node: Node, filter_id: str) -> Any:
    """``eth_uninstallFilter``: true if the filter existed."""
    return node.filters.remove(filter_id)


__all__ = [
    "eth_get_filter_changes",
    "eth_get_filter_logs",
    "eth_get_logs",
    "eth_new_block_filter",
    "eth_new_filter",
    "eth_new_pending_tx_filter",
    "eth_uninstall_filter",
    "log_range",
]
