"""The options every command shares, declared once: the connection set and the DPV terms.

The connection set is ``--network``, ``--rpc``, ``--account``, ``--manifest`` and ``--json``.
The ``collective`` group takes them before the command name (with their environment
variables); a command that talks to a chain takes them after its name too, through
:func:`chain_options`, and gets one :class:`CliState` in which its own options override the
global ones. Nothing else declares them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

NETWORK_ENV = "COLLECTIVE_NETWORK"
RPC_ENV = "COLLECTIVE_RPC"
ACCOUNT_ENV = "COLLECTIVE_ACCOUNT"
MANIFEST_ENV = "COLLECTIVE_MANIFEST"
MANIFEST_HELP = "Deployment manifest (default: deployments/<network>.json)."


@dataclass(frozen=True)
class CliState:
    """The connection options of one command line, global and the command's own merged.

    ``network``: a network name of hardhat.config.json; ``rpc``: a JSON-RPC URL (wins over
    ``network``); ``account``: what ``--account`` names (a dev index, an address or a
    keystore name); ``as_json``: print JSON; ``manifest``: the deployment manifest's path.
    None means "not given" (the configuration's default).
    """

    network: str | None = None
    rpc: str | None = None
    account: str | None = None
    as_json: bool = False
    manifest: Path | None = None


pass_state = click.make_pass_decorator(CliState, ensure=True)
"""Pass the global :class:`CliState` (as the ``collective`` group set it) as the first
argument; for a command without connection options of its own."""


def _network(envvar: str | None) -> Callable[[F], F]:
    return click.option(
        "--network",
        "-n",
        metavar="NAME",
        envvar=envvar,
        help="Named network from hardhat.config.json (default: its defaultNetwork).",
    )


def _rpc(envvar: str | None) -> Callable[[F], F]:
    return click.option(
        "--rpc",
        metavar="URL",
        envvar=envvar,
        help="JSON-RPC URL of any Ethereum node; overrides --network.",
    )


def _account(envvar: str | None) -> Callable[[F], F]:
    return click.option(
        "--account",
        "-a",
        metavar="NAME|ADDRESS|INDEX",
        envvar=envvar,
        help="Sending account: a dev account index, an address, or a keystore name.",
    )


def _manifest(envvar: str | None, help: str) -> Callable[[F], F]:
    return click.option(
        "--manifest",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=envvar,
        metavar="PATH",
        help=help,
    )


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
"""``--json``: print the result as one JSON document (see :mod:`collective.cli.output`)."""


def global_options(f: F) -> F:
    """The connection options of the ``collective`` group itself (before the command
    name), each also read from its environment variable: COLLECTIVE_NETWORK,
    COLLECTIVE_RPC, COLLECTIVE_ACCOUNT. ``--json`` too; the manifest is a command option."""
    for option in (json_option, _account(ACCOUNT_ENV), _rpc(RPC_ENV), _network(NETWORK_ENV)):
        f = option(f)
    return f


def chain_options(
    *,
    chain: bool = True,
    account: bool = False,
    manifest: bool = True,
    manifest_env: bool = True,
    manifest_help: str = MANIFEST_HELP,
) -> Callable[[F], F]:
    """Give a command the connection option set and pass it the merged :class:`CliState`.

    The command gets ``--network``, ``--rpc`` and ``--json``, and as asked ``--account`` and
    ``--manifest``; each one given after the command name overrides the same global option
    (the environment variables feed the global ones only, so an explicit option always wins
    over the environment). The decorated function is called as ``f(state, *args,
    **command_options)`` with the connection options folded into ``state``.

    Args:
        chain: add ``--network`` and ``--rpc`` (False for a command that talks to no chain
            and only takes ``--json``).
        account: add ``--account`` (commands that send a transaction or sign).
        manifest: add ``--manifest``.
        manifest_env: ``--manifest`` defaults to $COLLECTIVE_MANIFEST (False for a command
            that writes the manifest, or reads another network's).
        manifest_help: the option's help text.

    Returns:
        The decorator.
    """
    # field of CliState -> its option, outermost (first in --help) first
    options: dict[str, Callable[[F], F]] = {}
    if chain:
        options["network"] = _network(None)
        options["rpc"] = _rpc(None)
    if account:
        options["account"] = _account(None)
    if manifest:
        options["manifest"] = _manifest(MANIFEST_ENV if manifest_env else None, manifest_help)
    options["as_json"] = json_option

    def decorate(f: F) -> F:
        def wrapper(state: CliState, /, *args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in options}
            merged = replace(
                state, **{name: value or getattr(state, name) for name, value in given.items()}
            )
            return f(merged, *args, **kwargs)

        functools.update_wrapper(wrapper, f)
        command: Any = pass_state(wrapper)
        for option in reversed(options.values()):
            command = option(command)
        return command  # type: ignore[no-any-return]

    return decorate


client_command = chain_options()
"""The connection options of a command that reads the suite (no ``--account``)."""

sending_command = chain_options(account=True)
"""The connection options of a command that sends a transaction or signs."""

json_command = chain_options(chain=False, manifest=False)
"""Only ``--json`` (merged with the global one), for a command that talks to no chain."""

purpose_option = click.option(
    "--purpose",
    "-p",
    required=True,
    metavar="DPV",
    help="Purpose: a DPV term such as dpv:ResearchAndDevelopment, or a 0x code.",
)
custom_term_option = click.option(
    "--custom-term",
    is_flag=True,
    help="Take a purpose or category outside Collective's DPV vocabulary as written (by "
    "default such a term is refused with a 'did you mean', as a misspelled one would go on "
    "chain as a new code).",
)
category_option = click.option(
    "--category",
    "-c",
    required=True,
    metavar="DPV",
    help="Personal-data category: a DPV term such as dpv-pd:MedicalHealth, or a 0x code.",
)


def identity_option(help: str) -> Callable[[F], F]:
    """``--identity/-i DID|ADDRESS``: the identity a command acts for or reads.

    Args:
        help: what the identity is to this command, and its default.
    """
    return click.option("--identity", "-i", metavar="DID|ADDRESS", help=help)


def out_option(what: str) -> Callable[[F], F]:
    """``--out/-o FILE``: where a command writes the document it makes (default: stdout).

    Args:
        what: the document, e.g. ``the signed request``.
    """
    return click.option(
        "--out",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help=f"Write {what} here (default: stdout).",
    )


def valid_for_option(
    help: str = "How long the signature can be relayed, counted from now.",
) -> Callable[[F], F]:
    """``--valid-for DURATION`` (default 1 hour): the deadline of an EIP-712 signed request,
    a :data:`~collective.cli.params.DURATION` in seconds.

    Args:
        help: the option's help, when the command's signing is optional.
    """
    from collective.cli.params import DURATION

    return click.option(
        "--valid-for",
        type=DURATION,
        default="1h",
        show_default=True,
        metavar="DURATION",
        help=help,
    )


__all__ = [
    "ACCOUNT_ENV",
    "MANIFEST_ENV",
    "NETWORK_ENV",
    "RPC_ENV",
    "CliState",
    "category_option",
    "chain_options",
    "client_command",
    "custom_term_option",
    "global_options",
    "identity_option",
    "json_command",
    "json_option",
    "out_option",
    "pass_state",
    "purpose_option",
    "sending_command",
    "valid_for_option",
]
