"""What a command prints: one JSON document under ``--json``, tables and lines otherwise.

Every command ends in :func:`show` (or :func:`report`, its form for a write): with ``--json``
the result goes to stdout as exactly one JSON document (:func:`emit_json`); without it, the
views the command describes (a :class:`Table`, a :class:`Fields` block, plain lines) are
drawn. No command calls ``json.dumps`` or builds a rich table itself.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from collective.chain.jsonints import jsonable
from collective.types import NO_EXPIRY

if TYPE_CHECKING:
    from collective.cli.options import CliState
    from collective.client.base import TxResult

JSON_MODE = "collective.json"  # ctx.meta: the command line asks for --json
JSON_WRITTEN = "collective.json-written"  # ctx.meta: a JSON document is on stdout already


def wants_json(args: Sequence[str]) -> bool:
    """Whether a command line asks for ``--json`` anywhere before a ``--``.

    Args:
        args: the command line's arguments, without the program name.

    Returns:
        True when ``--json`` is among them (as a global or a command option).
    """
    head = list(args)
    if "--" in head:
        head = head[: head.index("--")]
    return "--json" in head


def command_meta() -> dict[str, Any]:
    """The current click context's ``meta`` dict (an empty one outside a command).

    Returns:
        The dict shared by every context of this command line, where the JSON mode, the
        "JSON written" mark and the transactions in flight are kept.
    """
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types.

    Dataclasses become dicts of their fields (properties left out), bytes 0x hex, enums their
    lower-case, dashed name, tuples and sets lists, paths strings, and integers past 2^53
    decimal strings (:func:`collective.chain.jsonints.jsonable`).

    Args:
        value: any result of the library.

    Returns:
        The same data made of dict, list, str, int, float, bool and None.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, enum.Enum):
        return value.name.lower().replace("_", "-")
    if isinstance(value, int) and not isinstance(value, bool):
        return jsonable(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def emit_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout: the one writer of ``--json`` output.

    The rule of :mod:`collective.chain.jsonints`: an integer is a JSON number only when JavaScript
    holds it exactly (|n| <= 2^53 - 1); any other integer, such as the expiry 2^64 - 1 of a
    consent "until withdrawn", a uint64 nonce or a balance in wei, is a decimal string.
    Marks the command as having written its JSON, so a later failure adds no second
    document (:func:`collective.cli.failure.fail`).

    Args:
        data: anything :func:`to_jsonable` takes.
    """
    click.echo(json.dumps(to_jsonable(data), indent=2, sort_keys=True, default=str))
    command_meta()[JSON_WRITTEN] = True


@dataclass(frozen=True)
class Table:
    """A table with a header row, drawn by :func:`show`.

    ``rows`` hold any values (None shows as an empty cell); ``empty`` is printed after the
    title instead when there are no rows.
    """

    title: str | None
    columns: Sequence[str]
    rows: Iterable[Sequence[Any]]
    empty: str = "nothing to show"


@dataclass(frozen=True)
class Fields:
    """``name: value`` lines drawn as a two-column table by :func:`show`."""

    fields: Iterable[tuple[str, Any]]
    title: str | None = None


@dataclass(frozen=True)
class Note:
    """A line for stderr (a note, a warning), drawn by :func:`show`: stdout keeps only the
    result, so it can be piped."""

    text: str


View = Table | Fields | Note | str | Callable[[], None]
"""What :func:`show` draws without ``--json``: a table, a fields block, a line for stderr,
a line of text, or a callable that prints output of another shape itself."""


def show(state: CliState, data: Any, *views: View) -> None:
    """A command's result: ``data`` as JSON under ``--json``, else each of ``views`` in order.

    Args:
        state: the command's merged options; ``state.as_json`` chooses the form.
        data: the result for scripts (see :func:`emit_json`).
        views: what a person reads: :class:`Table`, :class:`Fields`, :class:`Note` (to
            stderr), a ``str`` echoed as a line, or a callable that prints output of no
            regular shape.
    """
    if state.as_json:
        emit_json(data)
        return
    for view in views:
        if isinstance(view, Table):
            print_table(view.title, view.columns, view.rows, empty=view.empty)
        elif isinstance(view, Fields):
            print_fields(view.title, view.fields)
        elif isinstance(view, Note):
            click.echo(view.text, err=True)
        elif isinstance(view, str):
            click.echo(view)
        else:
            view()


def report(state: CliState, result: Any, line: str) -> None:
    """A write's outcome: its JSON under ``--json``, else ``line`` and the transaction line.

    Args:
        state: the command's merged options.
        result: the client's result record; when it has a ``tx_hash`` (a
            :class:`~collective.client.base.TxResult`) its hash, block and gas follow ``line``.
        line: the sentence a person reads.
    """
    views: list[View] = [line]
    if getattr(result, "tx_hash", None) is not None:
        views.append(f"  {tx_line(result)}")
    show(state, result, *views)


def console() -> Any:
    """A rich console on the current stdout, wide when it is not a terminal (so pipes and
    tests get whole addresses, not wrapped ones).

    Returns:
        A ``rich.console.Console``.
    """
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 400, highlight=False, soft_wrap=False)


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    empty: str = "nothing to show",
) -> None:
    """Draw a table with a header row; ``title: empty`` when there are no rows.

    Args:
        title: above the table, or None.
        columns: the header cells.
        rows: the cells, any values (None shows as empty).
        empty: the text printed instead of an empty table.
    """
    from rich.table import Table as RichTable

    cells = [tuple("" if cell is None else str(cell) for cell in row) for row in rows]
    if not cells:
        click.echo(f"{title}: {empty}" if title else empty)
        return
    table = RichTable(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in cells:
        table.add_row(*row)
    console().print(table)


def print_fields(title: str | None, fields: Iterable[tuple[str, Any]]) -> None:
    """Draw ``name: value`` pairs as a two-column table (None shows as empty).

    Args:
        title: above the block, or None.
        fields: (name, value) pairs in order.
    """
    from rich.table import Table as RichTable

    table = RichTable(
        title=title, title_justify="left", show_header=False, show_edge=False, box=None
    )
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in fields:
        table.add_row(name, "" if value is None else str(value))
    console().print(table)


def tx_line(result: TxResult) -> str:
    """``tx 0x.. · block N · gas G`` of a mined transaction.

    Args:
        result: any record with ``tx_hash``, ``block_number`` and ``gas_used``.
    """
    return f"tx {result.tx_hash} · block {result.block_number} · gas {result.gas_used:,}"


def when(timestamp: int | None) -> str:
    """A Unix time (seconds) as ISO 8601 UTC, e.g. ``2027-01-31 12:00:00Z``.

    Args:
        timestamp: seconds since the epoch; 0 or None for "not set"; the on-chain
            :data:`~collective.types.NO_EXPIRY` for "until withdrawn".

    Returns:
        The time, ``never`` for NO_EXPIRY or later, ``-`` for 0/None, and the number itself
        when the platform cannot represent it as a date.
    """
    if not timestamp:
        return "-"
    if timestamp >= NO_EXPIRY:
        return "never"
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def expires(expiry: int | None) -> str:
    """An expiry as the library returns it (unix seconds, None for never) for a person.

    Args:
        expiry: a :class:`~collective.client.records.Consent`'s or
            :class:`~collective.client.records.Granted`'s ``expiry``.

    Returns:
        ``never`` for None, else :func:`when` of it.
    """
    return "never" if expiry is None else when(expiry)


__all__ = [
    "JSON_MODE",
    "JSON_WRITTEN",
    "Fields",
    "Note",
    "Table",
    "View",
    "command_meta",
    "console",
    "emit_json",
    "expires",
    "print_fields",
    "print_table",
    "report",
    "show",
    "to_jsonable",
    "tx_line",
    "wants_json",
    "when",
]
