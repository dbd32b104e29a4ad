"""``collective disclosure status|to-stop|watch``: the reads of onward disclosure
(:mod:`collective.client.disclosure`), registered on the group by
:mod:`collective.cli.disclosure_cmd`. ``watch`` polls the node for the withdrawals and
erasure requests a recipient must act on (GDPR Art. 7(3), Art. 19) as blocks are mined."""

from __future__ import annotations

import json
import time

import click

from collective.cli.connect import open_client, own_address
from collective.cli.options import (
    CliState,
    category_option,
    client_command,
    custom_term_option,
    purpose_option,
)
from collective.cli.output import (
    JSON_WRITTEN,
    Fields,
    Table,
    command_meta,
    expires,
    show,
    to_jsonable,
    when,
)
from collective.cli.params import BLOCK_NUMBER
from collective.client import Collective
from collective.client.disclosure import ToStop

PARTIES = ("discloser", "recipient")


def parties_args(f: click.decorators.FC) -> click.decorators.FC:
    """The DISCLOSER and RECIPIENT arguments, in that order."""
    for name in reversed(PARTIES):
        f = click.argument(name, metavar=name.upper())(f)
    return f


@click.command("status")
@click.argument("identity", metavar="IDENTITY")
@parties_args
@purpose_option
@category_option
@custom_term_option
@client_command
def status_command(
    state: CliState,
    identity: str,
    discloser: str,
    recipient: str,
    purpose: str,
    category: str,
    custom_term: bool,
) -> None:
    """Show a disclosure consent and whether DISCLOSER may disclose to RECIPIENT now (if
    not, the reason a disclosure would be refused with).

    \b
    Examples:
      collective disclosure status 0x90F7...b906 0x7099...79C8 0x3C44...93BC \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth
    """
    client = open_client(state, read_only=True, custom_terms=custom_term)
    c = client.disclosure.get(identity, discloser, recipient, purpose, category)
    state_name = "active" if c.active else "expired" if c.expired else "not active"
    data = {**to_jsonable(c), "active": c.active, "expired": c.expired}
    show(
        state,
        data,
        Fields(
            [
                ("identity", c.identity),
                ("discloser", c.discloser),
                ("recipient", c.recipient),
                ("purpose", c.purpose),
                ("category", c.category),
                ("state", state_name),
                ("disclosure allowed now", "yes" if c.covered else f"no: {c.refusal or '-'}"),
                ("policy version", f"v{c.policy_version}" if c.policy_version else "-"),
                ("granted", when(c.granted_at)),
                ("expires", expires(c.expiry) if c.granted_at else "-"),
            ],
            title="disclosure consent",
        ),
    )


def _stop_line(row: ToStop) -> str:
    why = "withdrew" if row.reason == "withdrawn" else "asked the discloser to erase"
    return (
        f"{when(row.timestamp)} block {row.block}: {row.identity} {why}: stop using its "
        f"{row.category} for {row.purpose} from {row.discloser} ({row.disclosures} received)"
    )


@click.command("to-stop")
@click.argument("recipient", metavar="RECIPIENT", required=False)
@click.option("--from-block", type=BLOCK_NUMBER, default=0, help="Only events from this block.")
@client_command
def to_stop_command(state: CliState, recipient: str | None, from_block: int) -> None:
    """List what RECIPIENT (default: the sender's organization) must stop acting on:
    disclosure consents naming it that are withdrawn now, and subjects who asked a
    discloser that disclosed to it to erase (GDPR Art. 19).

    \b
    Examples:
      collective --account 2 disclosure to-stop
      collective --json disclosure to-stop 0x3C44...93BC --from-block 1200
    """
    recipient = recipient or own_address(state)
    client = open_client(state, read_only=recipient is not None)
    rows = client.disclosure.to_stop(recipient, from_block=from_block)
    show(
        state,
        rows,
        Table(
            "disclosures to stop",
            ["when", "block", "reason", "identity", "discloser", "purpose", "category", "recv"],
            [
                (
                    when(r.timestamp),
                    r.block,
                    r.reason,
                    r.identity,
                    r.discloser,
                    r.purpose,
                    r.category,
                    r.disclosures,
                )
                for r in rows
            ],
            empty="nothing to stop",
        ),
    )


@click.command("watch")
@click.option("--recipient", metavar="ORG", help="Whose (default: the sender's organization).")
@click.option(
    "--from-block", type=BLOCK_NUMBER, help="First block to read (default: the next one)."
)
@click.option("--until-block", type=BLOCK_NUMBER, help="Stop after this block.")
@click.option("--count", type=click.IntRange(1), help="Stop after printing this many.")
@click.option(
    "--interval",
    type=click.FloatRange(0.05),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="How often to poll the node.",
)
@client_command
def watch_command(
    state: CliState,
    recipient: str | None,
    from_block: int | None,
    until_block: int | None,
    count: int | None,
    interval: float,
) -> None:
    """Print each new disclosure withdrawal naming the recipient, and each erasure request
    to a discloser that disclosed to it, as blocks are mined (one JSON object per line with
    --json). Runs until Ctrl-C, --until-block or --count.

    \b
    Examples:
      collective --account 2 disclosure watch
      collective --json disclosure watch --recipient 0x3C44...93BC --from-block 1200 \\
          --interval 5
    """
    recipient = recipient or own_address(state)
    client = open_client(state, read_only=recipient is not None)
    who = client.session.address(recipient or client.session.sender, "recipient")
    start = client.chain.block_number() + 1 if from_block is None else from_block
    if until_block is not None and until_block < start:
        raise click.UsageError(f"--until-block {until_block} is before the first block {start}")
    try:
        _watch(state, client, who, start, until_block, count, interval)
    except KeyboardInterrupt:
        click.echo("stopped watching", err=True)


def _watch(
    state: CliState,
    client: Collective,
    recipient: str,
    block: int,
    until: int | None,
    count: int | None,
    interval: float,
) -> None:
    """Poll from ``block`` until block ``until`` is read or ``count`` rows are printed."""
    printed = 0
    while True:
        head = client.chain.block_number()
        if until is not None:
            head = min(head, until)
        if head >= block:
            for row in client.disclosure.to_stop(recipient, from_block=block, to_block=head):
                if state.as_json:
                    click.echo(json.dumps(to_jsonable(row), sort_keys=True))
                    command_meta()[JSON_WRITTEN] = True
                else:
                    click.echo(_stop_line(row))
                printed += 1
                if count is not None and printed >= count:
                    return
            block = head + 1
        if until is not None and block > until:
            return
        time.sleep(interval)


READ_COMMANDS = (status_command, to_stop_command, watch_command)

__all__ = ["READ_COMMANDS", "parties_args"]
