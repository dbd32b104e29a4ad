"""``collective audit``: index the suite's events, verify the record, report on it."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from collective.cli.common import (
    CliState,
    emit_json,
    exists,
    pass_state,
    print_table,
    refuse_embedded,
    to_jsonable,
    write_text,
)
from collective.errors import ConfigurationError

F = TypeVar("F", bound=Callable[..., Any])


def _options(f: F) -> F:
    """``--network``, ``--rpc``, ``--manifest``, ``--db`` and ``--json`` on each command; the
    global options are the defaults."""
    f = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(f)
    f = click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PATH",
        help="The audit index (default: cache/audit-<network>.sqlite).",
    )(f)
    f = click.option(
        "--manifest",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="COLLECTIVE_MANIFEST",
        metavar="PATH",
        help="Deployment manifest (default: deployments/<network>.json).",
    )(f)
    f = click.option("--rpc", metavar="URL", help="JSON-RPC URL of the node; overrides --network.")(
        f
    )
    f = click.option(
        "--network", "-n", metavar="NAME", help="Named network from hardhat.config.json."
    )(f)
    return f


def _merge(
    state: CliState, network: str | None, rpc: str | None, manifest: Path | None
) -> CliState:
    return CliState(
        network=network or state.network,
        rpc=rpc or state.rpc,
        account=state.account,
        as_json=state.as_json,
        manifest=manifest or state.manifest,
    )


def default_db(state: CliState) -> Path:
    """``cache/audit-<network>.sqlite`` under the project root."""
    from collective.config import load_config

    config = load_config()
    if state.network:
        name = state.network
    elif state.rpc:
        name = re.sub(r"[^A-Za-z0-9.-]+", "-", state.rpc.split("://")[-1]).strip("-")[:100]
    else:
        name = config.default_network
    return (config.root or Path.cwd()) / "cache" / f"audit-{name}.sqlite"


def _connect(state: CliState, what: str, *, require_code: bool = True) -> tuple[Any, Any]:
    from collective.chain import connect
    from collective.config import load_config
    from collective.deploy import load_deployment

    refuse_embedded(state, what)
    config = load_config()
    chain = connect(state.network, state.rpc, config)
    deployment = load_deployment(chain, state.manifest, require_code=require_code, config=config)
    return chain, deployment


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


@audit_group.command("sync")
@_options
@click.option("--to-block", type=int, metavar="N", help="Stop at block N (default: the head).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@pass_state
def sync_command(
    state: CliState,
    network: str | None,
    rpc: str | None,
    manifest: Path | None,
    db: Path | None,
    as_json: bool,
    to_block: int | None,
    quiet: bool,
) -> None:
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

    state = _merge(state, network, rpc, manifest)
    as_json = as_json or state.as_json
    chain, deployment = _connect(state, "`collective audit sync`")
    path = db or default_db(state)
    show = not quiet and not as_json and sys.stderr.isatty()
    with _progress(show) as progress:
        result = sync(chain, deployment, path, to_block=to_block, progress=progress)
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"indexed {result.events:,} events in {result.blocks:,} blocks "
        f"({result.seconds:.1f} s, {result.events_per_second:,.0f} events/s); "
        f"{path} is synced to block {result.synced_to} of {result.head}"
    )
    for reorg in result.reorgs:
        click.echo(
            f"the chain changed under the index: dropped {reorg.dropped_blocks} blocks "
            f"({reorg.dropped_events} events) after block {reorg.fork_block} and indexed again"
        )
    if result.foreign:
        click.echo(
            f"ignored {len(result.foreign)} look-alike logs (not from the manifest's addresses):"
        )
        for log in result.foreign[:20]:
            click.echo(f"  block {log.block} {log.event} from {log.address} tx {log.tx_hash}")


@audit_group.command("verify")
@_options
@click.option(
    "--offline", is_flag=True, help="Check the index only, not the code at the addresses."
)
@pass_state
def verify_command(
    state: CliState,
    network: str | None,
    rpc: str | None,
    manifest: Path | None,
    db: Path | None,
    as_json: bool,
    offline: bool,
) -> None:
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

    state = _merge(state, network, rpc, manifest)
    as_json = as_json or state.as_json
    path = db or default_db(state)
    if not exists(path, "the audit index"):
        raise ConfigurationError(
            f"there is no audit index at {path}", hint="run `collective audit sync` first"
        )
    chain = deployment = None
    if not offline:
        # The verifier reports missing or changed code as a violation of its own.
        chain, deployment = _connect(
            state, "checking the code (`collective audit verify`)", require_code=False
        )
    result = verify(path, chain=chain, deployment=deployment)
    if as_json:
        emit_json({**to_jsonable(result), "ok": result.ok})
    else:
        click.echo(
            f"replayed {result.events:,} events ({result.uses:,} uses) in {result.blocks:,} "
            f"blocks up to {result.synced_to} in {result.seconds:.1f} s"
        )
        if result.code_checked:
            click.echo(f"code checked at {', '.join(result.code_checked)}")
        if result.foreign:
            click.echo(f"{result.foreign} look-alike logs were ignored")
        if result.violations:
            print_table(
                f"{len(result.violations)} violations",
                ["rule", "block", "tx", "log", "what"],
                [(v.rule, v.block, v.tx_hash, v.log_index, v.message) for v in result.violations],
            )
        else:
            click.echo("verified: every recorded use was covered by a valid consent")
    if not result.ok:
        sys.exit(1)


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
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write here."
)
@pass_state
def report_command(
    state: CliState,
    network: str | None,
    rpc: str | None,
    manifest: Path | None,
    db: Path | None,
    as_json: bool,
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
    state = _merge(state, network, rpc, manifest)
    path = db or default_db(state)
    if not exists(path, "the audit index"):
        raise ConfigurationError(
            f"there is no audit index at {path}", hint="run `collective audit sync` first"
        )
    found = report(path, subject=subject, organization=organization)
    if as_json or state.as_json:
        fmt = "json"
    if out is not None:
        write_text(out, render(found, fmt), "the report")
        if as_json or state.as_json:
            emit_json({"file": str(out), "format": fmt})
        else:
            click.echo(f"wrote the {fmt} report to {out}")
        return
    if fmt == "json":
        emit_json(found)
        return
    if fmt != "table":
        click.echo(render(found, fmt), nl=False)
        return
    click.echo(
        f"indexed up to block {found.synced_to} (chain {found.chain_id}); "
        f"{len(found.uses)} uses, {len(found.consents)} consent events"
    )
    for title, columns, rows in report_tables(found):
        print_table(title, columns, rows, empty="none")


__all__ = ["audit_group", "default_db"]
