"""The ``collective`` command: a thin layer that parses, calls the library and formats.

Each command group lives in its own module and is registered in :data:`COMMANDS`.
Library errors (:class:`collective.CollectiveError`) become one line on stderr and exit 1;
usage mistakes exit 2 (click's convention); Ctrl-C exits 130 naming any transaction still in
flight. Under ``--json`` each of them also writes the error as a JSON object to stdout (see
:func:`collective.cli.common.error_document`). Every plain-text parameter must be UTF-8
(:func:`collective.cli.common.strict_text`).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from collective import __version__
from collective.cli.common import (
    JSON_MODE,
    CliState,
    fail,
    in_flight,
    report_error_json,
    strict_text,
    wants_json,
)
from collective.errors import CollectiveError

# command name -> "module:attribute"; loaded lazily so `collective --help` stays fast.
COMMANDS: dict[str, str] = {
    "account": "collective.cli.account_cmd:account_group",
    "audit": "collective.cli.audit_cmd:audit_group",
    "compile": "collective.cli.compile_cmd:compile_command",
    "deploy": "collective.cli.deploy_cmd:deploy_command",
    "demo": "collective.cli.demo_cmd:demo_command",
    "node": "collective.cli.node_cmd:node_group",
    "board": "collective.cli.board_cmd:board_group",
    "consent": "collective.cli.consent_cmd:consent_group",
    "did": "collective.cli.did_cmd:did_group",
    "org": "collective.cli.org_cmd:org_group",
    "policy": "collective.cli.policy_cmd:policy_group",
    "use": "collective.cli.use_cmd:use_group",
}


class LazyGroup(click.Group):
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
            fail(in_flight().interrupted(), 130, kind="Interrupted")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="collective")
@click.option(
    "--network",
    "-n",
    metavar="NAME",
    envvar="COLLECTIVE_NETWORK",
    help="Named network from hardhat.config.json (default: its defaultNetwork).",
)
@click.option(
    "--rpc",
    metavar="URL",
    envvar="COLLECTIVE_RPC",
    help="JSON-RPC URL of any Ethereum node; overrides --network.",
)
@click.option(
    "--account",
    "-a",
    metavar="NAME|ADDRESS|INDEX",
    envvar="COLLECTIVE_ACCOUNT",
    help="Sending account: a dev account index, an address, or a keystore name.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def cli(
    ctx: click.Context, network: str | None, rpc: str | None, account: str | None, as_json: bool
) -> None:
    """Collective: a permissioned consent ledger.

    \b
    Examples:
      collective compile                      # build artifacts from contracts/
      collective deploy --network embedded    # deploy the suite in process
      collective --json deploy --network anvil
    """
    ctx.obj = CliState(network=network, rpc=rpc, account=account, as_json=as_json)


strict_text(cli)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: library errors exit 1 with one clear line."""
    return cli.main(args=argv, prog_name="collective")


__all__ = ["cli", "main"]
