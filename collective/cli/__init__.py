"""The ``collective`` command: a thin layer that parses, calls the library and formats.

Each command group lives in its own module and is registered in :data:`COMMANDS`.
The modules under it, one concern each: :mod:`~collective.cli.options` (the connection
option set, declared once), :mod:`~collective.cli.connect` (the one way to a chain and a
client), :mod:`~collective.cli.output` (one JSON-or-table writer),
:mod:`~collective.cli.failure` (errors and exit codes), :mod:`~collective.cli.params`
(parameter types), :mod:`~collective.cli.inflight`, :mod:`~collective.cli.files`,
:mod:`~collective.cli.passwords`, and one ``*_cmd`` module per command group.

Library errors (:class:`collective.CollectiveError`) become one line on stderr and exit 1;
usage mistakes exit 2 (click's convention); Ctrl-C exits 130 naming any transaction still in
flight (the table is in :mod:`collective.cli.failure`). Under ``--json`` each of them also
writes the error as a JSON object to stdout (:func:`~collective.cli.failure.error_document`).
Every plain-text parameter must be UTF-8 (:func:`~collective.cli.params.strict_text`).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from collective import __version__
from collective.cli.failure import EXIT_INTERRUPTED, fail, report_error_json
from collective.cli.inflight import in_flight
from collective.cli.options import CliState, global_options
from collective.cli.output import JSON_MODE, wants_json
from collective.cli.params import strict_text
from collective.errors import CollectiveError

# command name -> "module:attribute"; loaded lazily so `collective --help` stays fast.
COMMANDS: dict[str, str] = {
    "account": "collective.cli.account_cmd:account_group",
    "audit": "collective.cli.audit_cmd:audit_group",
    "compile": "collective.cli.compile_cmd:compile_command",
    "deploy": "collective.cli.deploy_cmd:deploy_command",
    "demo": "collective.cli.demo_cmd:demo_command",
    "network": "collective.cli.network_cmd:network_group",
    "node": "collective.cli.node_cmd:node_group",
    "board": "collective.cli.board_cmd:board_group",
    "consent": "collective.cli.consent_request_cmd:consent_group",  # consent_cmd's, + request
    "data-refs": "collective.cli.datarefs_cmd:data_refs_group",
    "did": "collective.cli.did_cmd:did_group",
    "disclosure": "collective.cli.disclosure_cmd:disclosure_group",
    "erasure": "collective.cli.erasure_cmd:erasure_group",
    "org": "collective.cli.org_cmd:org_group",
    "policy": "collective.cli.policy_cmd:policy_group",
    "portal": "collective.cli.portal_cmd:portal_command",
    "subject": "collective.cli.subject_cmd:subject_group",
    "use": "collective.cli.use_cmd:use_group",
}


class LazyGroup(click.Group):
    """The ``collective`` group: loads each command module when it is asked for, and turns
    every failure into one line and an exit code (:mod:`collective.cli.failure`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return strict_text(command)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        as_json = wants_json(args)
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:  # a mistake in the global options
            report_error_json(exc, exc.exit_code, as_json=as_json)
            raise
        ctx.meta[JSON_MODE] = as_json
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CollectiveError as exc:
            fail(exc)
        except click.ClickException as exc:  # a usage mistake: click prints it and exits 2
            report_error_json(exc, exc.exit_code)
            raise
        except KeyboardInterrupt:
            click.echo(err=True)  # end the terminal's ^C line
            fail(in_flight().interrupted(), EXIT_INTERRUPTED, kind="Interrupted")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="collective")
@global_options
@click.pass_context
def cli(
    ctx: click.Context, network: str | None, rpc: str | None, account: str | None, as_json: bool
) -> None:
    """Collective: a permissioned consent ledger.

    The connection options (--network, --rpc, --account, --json) go before the command
    name, or after it on any command that talks to a chain (there they win); --manifest
    goes after it. COLLECTIVE_NETWORK, COLLECTIVE_RPC and COLLECTIVE_ACCOUNT set the first
    three for a whole shell, COLLECTIVE_MANIFEST the manifest of every command that reads
    the suite. Errors are one `error:` line: exit 1 when the library refuses, 2 for a
    usage mistake, 130 when interrupted.

    \b
    Examples:
      collective compile                      # build artifacts from contracts/
      collective deploy --network embedded    # deploy the suite in process
      collective --json deploy --network anvil
    """
    ctx.obj = CliState(network=network, rpc=rpc, account=account, as_json=as_json)


strict_text(cli)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: run ``collective`` on ``argv`` (default: sys.argv[1:]).

    Library errors exit 1 with one clear line, usage mistakes 2, Ctrl-C 130
    (:mod:`collective.cli.failure`); never returns otherwise than by SystemExit.
    """
    return cli.main(args=argv, prog_name="collective")


__all__ = ["cli", "main"]
