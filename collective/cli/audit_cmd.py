"""``collective audit``: index the suite's events, verify the record, report on it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click

from collective.cli.connect import open_deployment
from collective.cli.failure import EXIT_ERROR
from collective.cli.files import exists, write_text
from collective.cli.options import CliState, chain_options
from collective.cli.output import Table, View, show, to_jsonable
from collective.errors import NotFoundError

F = TypeVar("F", bound=Callable[..., Any])


def _options(f: F) -> F:
    """The connection options (no --account: the audit only reads) and ``--db``."""
    f = chain_options()(f)
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PATH",
        help="The audit index (default: cache/audit-<network>.sqlite).",
    )(f)


def default_db(state: CliState) -> Path:
    """Where the audit index of the chain the options name lives by default.

    Args:
        state: the command's connection options.

    Returns:
        :func:`collective.audit.default_index_path` of the network or RPC URL the options
        name.
    """
    from collective.audit.paths import default_index_path

    return default_index_path(state.network, state.rpc)


@click.group("audit")
def audit_group() -> None:
    """Audit the on-chain record: index every event, verify every use, report.

    \b
    `sync` indexes the suite's events (from the manifest's addresses only) into SQLite,
    incrementally; `verify` replays the index and checks that every data use was covered
    by a valid consent, and the code at the manifest's addresses; `report` shows a
    subject's or an organization's record as a table, CSV, JSON or an HTML page.

    \b
    Examples:
      collective audit sync --network anvil
      collective audit verify --network anvil
      collective audit report --network anvil --subject did:ethr:0x7a69:0x90F7...b906
      collective audit report --network anvil --all --format html --out audit.html
    """


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("indexing blocks"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None, events=0)

        def update(synced_to: int, head: int, events: int) -> None:
            bar.update(task, completed=synced_to, total=head, events=events)

        yield update


def _index(state: CliState, db: Path | None) -> Path:
    """The audit index the options name, which must exist (NotFoundError naming the sync)."""
    path = db or default_db(state)
    if not exists(path, "the audit index"):
        raise NotFoundError(
            f"there is no audit index at {path}", hint="run `collective audit sync` first"
        )
    return path


@audit_group.command("sync")
@_options
@click.option("--to-block", type=int, metavar="N", help="Stop at block N (default: the head).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def sync_command(state: CliState, db: Path | None, to_block: int | None, quiet: bool) -> None:
    """Index every event of the deployed suite into the audit index, from where the last
    sync stopped (safe to interrupt; run again to resume).

    Only logs from the manifest's addresses are indexed; a log with the suite's event
    signature from any other contract is counted and listed, never indexed. A chain that
    changed under the index (a reorg, anvil's evm_revert) is detected and re-indexed from
    the fork point.

    \b
    Examples:
      collective audit sync --network anvil
      collective audit sync --rpc http://127.0.0.1:8545 --db /tmp/audit.sqlite
    """
    from collective.audit import sync

    chain, deployment = open_deployment(state, "`collective audit sync`")
    path = db or default_db(state)
    bar = not quiet and not state.as_json and sys.stderr.isatty()
    with _progress(bar) as progress:
        result = sync(chain, deployment, path, to_block=to_block, progress=progress)
    lines = [
        f"indexed {result.events:,} events in {result.blocks:,} blocks "
        f"({result.seconds:.1f} s, {result.events_per_second:,.0f} events/s); "
        f"{path} is synced to block {result.synced_to} of {result.head}"
    ]
    lines += [
        f"the chain changed under the index: dropped {reorg.dropped_blocks} blocks "
        f"({reorg.dropped_events} events) after block {reorg.fork_block} and indexed again"
        for reorg in result.reorgs
    ]
    if result.foreign:
        lines.append(
            f"ignored {len(result.foreign)} look-alike logs (not from the manifest's addresses):"
        )
        lines += [
            f"  block {log.block} {log.event} from {log.address} tx {log.tx_hash}"
            for log in result.foreign[:20]
        ]
    show(state, result, *lines)


@audit_group.command("verify")
@_options
@click.option(
    "--offline", is_flag=True, help="Check the index only, not the code at the addresses."
)
def verify_command(state: CliState, db: Path | None, offline: bool) -> None:
    """Replay the index and check every recorded use, the indexed block chain and the code at
    each manifest address. Exits 1 when anything is violated.

    A use must have been covered at its block: the organization admitted and not
    suspended, a consent granted and not withdrawn, unexpired at the block's time, under
    the organization's current policy version.

    \b
    Examples:
      collective audit verify --network anvil
      collective audit verify --db /tmp/audit.sqlite --offline
    """
    from collective.audit import verify

    path = _index(state, db)
    chain = deployment = None
    if not offline:
        # The verifier reports missing or changed code as a violation of its own.
        chain, deployment = open_deployment(
            state, "checking the code (`collective audit verify`)", require_code=False
        )
    result = verify(path, chain=chain, deployment=deployment)
    views: list[View] = [
        f"replayed {result.events:,} events ({result.uses:,} uses, "
        f"{result.disclosures:,} disclosures) in {result.blocks:,} "
        f"blocks up to {result.synced_to} in {result.seconds:.1f} s"
    ]
    if result.code_checked:
        views.append(f"code checked at {', '.join(result.code_checked)}")
    if result.foreign:
        views.append(f"{result.foreign} look-alike logs were ignored")
    if result.violations:
        views.append(
            Table(
                f"{len(result.violations)} violations",
                ["rule", "block", "tx", "log", "what"],
                [(v.rule, v.block, v.tx_hash, v.log_index, v.message) for v in result.violations],
            )
        )
    else:
        views.append("verified: every recorded use was covered by a valid consent")
    show(state, {**to_jsonable(result), "ok": result.ok}, *views)
    if not result.ok:
        sys.exit(EXIT_ERROR)


@audit_group.command("report")
@_options
@click.option("--subject", metavar="DID|ADDRESS", help="A data subject's record.")
@click.option("--org", "organization", metavar="ADDRESS", help="An organization's record.")
@click.option("--all", "everything", is_flag=True, help="The whole record.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    show_default=True,
    help="table for a person, csv, json (as --json), or one html page.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write here."
)
def report_command(
    state: CliState,
    db: Path | None,
    subject: str | None,
    organization: str | None,
    everything: bool,
    fmt: str,
    out: Path | None,
) -> None:
    """A subject's data-use history (who, when, purpose, category, policy version and hash,
    the consent relied on), consent timelines, board actions and flags, from the index.

    \b
    Examples:
      collective audit report --network anvil --subject did:ethr:0x7a69:0x90F7...b906
      collective audit report --network anvil --org 0x7099...79C8 --format csv --out org.csv
      collective audit report --network anvil --all --format html --out audit.html
    """
    from collective.audit import render, report
    from collective.audit.render import report_tables

    if sum(x is not None and x is not False for x in (subject, organization, everything)) != 1:
        raise click.UsageError("choose one of --subject, --org or --all")
    found = report(_index(state, db), subject=subject, organization=organization)
    if state.as_json:
        fmt = "json"
    if out is not None:
        write_text(out, render(found, fmt), "the report")
        show(state, {"file": str(out), "format": fmt}, f"wrote the {fmt} report to {out}")
        return
    if fmt != "table":
        show(
            replace(state, as_json=fmt == "json"),
            found,
            lambda: click.echo(render(found, fmt), nl=False),
        )
        return
    summary = (
        f"indexed up to block {found.synced_to} (chain {found.chain_id}); "
        f"{len(found.uses)} uses, {len(found.consents)} consent events, "
        f"{len(found.disclosures)} disclosures"
    )
    show(
        state,
        found,
        summary,
        *(
            Table(title, columns, rows, empty="none")
            for title, columns, rows in report_tables(found)
        ),
    )


__all__ = ["audit_group", "default_db"]
