"""Shared CLI plumbing: the global options object, the client factory and output helpers."""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from collective.errors import ConfigurationError
from collective.jsonints import jsonable

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from collective.chain import Chain
    from collective.client import Collective
    from collective.client.base import TxResult


@dataclass
class CliState:
    """Global options, passed to every command through click's context object."""

    network: str | None = None
    rpc: str | None = None
    account: str | None = None
    as_json: bool = False
    manifest: Path | None = None


# --- errors -------------------------------------------------------------------------------------
#
# Every failure ends the same way: one ``error:`` line on stderr and a non-zero exit (1 for a
# library error, 2 for a usage mistake, 130 for an interrupt). When the command line asks for
# --json, stdout also gets the error as one JSON object, ``{"error": {...}}``: stdout then
# always holds exactly one JSON document, the result or the error, so a script that parses it
# needs no second channel, while stderr keeps its one human line. A command that already wrote
# its JSON result before failing (e.g. a receipt that does not verify) writes no second one.

JSON_MODE = "collective.json"  # ctx.meta: the command line asks for --json
JSON_WRITTEN = "collective.json-written"  # ctx.meta: a JSON document is on stdout already


def wants_json(args: Sequence[str]) -> bool:
    """Does this command line ask for ``--json`` (anywhere before a ``--``)?"""
    head = list(args)
    if "--" in head:
        head = head[: head.index("--")]
    return "--json" in head


def _meta() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def error_document(error: BaseException | str, code: int, kind: str = "Error") -> dict[str, Any]:
    """``{"error": {...}}``: the error's class (``type``) and the classes it is an instance
    of (``kinds``, most specific first, up to CollectiveError or click's UsageError), its
    message and hint, the exit code, and for a transaction its hash and the contract's error."""
    from collective.errors import CollectiveError, TransactionError

    if isinstance(error, str):
        fields: dict[str, Any] = {"type": kind, "kinds": [kind], "message": error}
        fields["hint"] = None
    elif isinstance(error, CollectiveError):
        kinds = [k.__name__ for k in type(error).__mro__ if issubclass(k, CollectiveError)]
        fields = {"type": type(error).__name__, "kinds": kinds, "message": error.message}
        fields["hint"] = error.hint
        if isinstance(error, TransactionError):
            fields["tx_hash"] = error.tx_hash
            fields["contract_error"] = error.error_name
            fields["contract_error_args"] = error.error_args
    elif isinstance(error, click.ClickException):
        kinds = [k.__name__ for k in type(error).__mro__ if issubclass(k, click.ClickException)]
        fields = {"type": type(error).__name__, "kinds": kinds}
        fields["message"] = error.format_message()
        fields["hint"] = None
        ctx = getattr(error, "ctx", None)
        if isinstance(error, click.UsageError) and ctx is not None:
            fields["hint"] = f"see `{ctx.command_path} --help`"
    else:
        fields = {"type": type(error).__name__, "kinds": [type(error).__name__]}
        fields["message"] = str(error)
        fields["hint"] = None
    fields["message"] = readable(str(fields["message"]))
    fields["exit_code"] = code
    return {"error": fields}


def report_error_json(
    error: BaseException | str, code: int, *, as_json: bool = False, kind: str = "Error"
) -> None:
    """Under --json (asked for on the command line, or ``as_json``), write the error object
    to stdout unless a JSON document is there already."""
    meta = _meta()
    if (as_json or meta.get(JSON_MODE)) and not meta.get(JSON_WRITTEN):
        emit_json(error_document(error, code, kind))


def fail(error: str | BaseException, code: int = 1, *, kind: str = "Error") -> NoReturn:
    """Print one ``error:`` line to stderr (under --json also the error object to stdout)
    and exit with ``code``. ``kind`` names the error's type in JSON when it is only text."""
    report_error_json(error, code, kind=kind)
    click.echo(f"error: {readable(str(error))}", err=True)
    sys.exit(code)


_CODE = re.compile(r"0x[0-9a-fA-F]{64}")


def readable(message: str) -> str:
    """``message`` with the bytes32 codes of known DPV purposes and categories named
    (decoded contract errors carry the raw codes)."""
    from collective.vocab import is_known, name_of

    return _CODE.sub(lambda m: name_of(m[0]) if is_known(m[0]) else m[0], message)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON: the one writer of every command's ``--json`` output.

    The rule of :mod:`collective.jsonints`: an integer is a JSON number only when JavaScript
    holds it exactly (|n| <= 2^53 - 1); any other integer, such as the expiry 2^64 - 1 of a
    consent "until withdrawn", a uint64 nonce or a balance in wei, is a decimal string."""
    click.echo(json.dumps(to_jsonable(data), indent=2, sort_keys=True, default=str))
    _meta()[JSON_WRITTEN] = True


pass_state = click.make_pass_decorator(CliState, ensure=True)

F = TypeVar("F", bound=Callable[..., Any])

# --- options every client command takes -----------------------------------------------------------

MANIFEST_ENV = "COLLECTIVE_MANIFEST"


def client_command(f: F) -> F:
    """Give a command ``--manifest`` and ``--json`` and pass it the merged :class:`CliState`
    as its first argument."""

    def wrapper(
        state: CliState, /, *args: Any, manifest: Path | None, as_json: bool, **kwargs: Any
    ) -> Any:
        merged = dataclasses.replace(
            state, manifest=manifest or state.manifest, as_json=as_json or state.as_json
        )
        return f(merged, *args, **kwargs)

    functools.update_wrapper(wrapper, f)
    command = pass_state(wrapper)
    command = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(
        command
    )
    command = click.option(
        "--manifest",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=MANIFEST_ENV,
        metavar="PATH",
        help="Deployment manifest (default: deployments/<network>.json).",
    )(command)
    return command  # type: ignore[return-value]


# --- the client ---------------------------------------------------------------------------------


def _node_hint() -> str:
    from collective.cli import COMMANDS

    if "node" in COMMANDS:
        return (
            "start one with `collective node start` (or start anvil) and pass --network local "
            "(or --network anvil, or --rpc URL)"
        )
    return (
        "start a node (e.g. node_modules/.bin/anvil) and pass --network anvil, "
        "or --rpc URL of any node"
    )


def refuse_embedded(state: CliState, what: str) -> None:
    """Fail when the global options name the embedded chain: it is new in every process, so
    it holds nothing to read and forgets what is written."""
    if state.rpc:
        return
    from collective.config import load_config

    config = load_config()
    net = config.network(state.network or config.default_network)
    if net.embedded:
        raise ConfigurationError(
            f"{what} needs a running node: the embedded chain ({net.name}) is new in every "
            f"process, so it holds no deployment to use; {_node_hint()}"
        )


def _account_spec(spec: str | None) -> LocalAccount | str | None:
    """What ``--account`` names, with a keystore account already unlocked (asking for its
    password when COLLECTIVE_PASSWORD is not set); dev indexes and addresses of dev accounts
    are left for the client to resolve against the chain."""
    from collective.accounts import PRIVATE_KEY_ENV, list_accounts, resolve_account
    from collective.addresses import is_hex_address, parse_address
    from collective.chain import account_from_key
    from collective.cli.account_cmd import prompt_password

    if spec is None or spec.strip().isdigit():
        return spec
    text = spec.strip()
    if is_hex_address(text):
        address = parse_address(text, "--account")
        key = os.environ.get(PRIVATE_KEY_ENV)
        if key and account_from_key(key, PRIVATE_KEY_ENV).address == address:
            return text
        if not any(entry.address == address for entry in list_accounts()):
            return text
    return resolve_account(None, text, prompt=prompt_password)


def make_client(
    state: CliState, what: str, *, read_only: bool = False, custom_terms: bool = False
) -> Collective:
    """A :class:`~collective.Collective` for the global options: ``--network`` / ``--rpc``,
    ``--account`` and ``--manifest``. ``what`` names the command in the error shown on the
    embedded chain. A read-only command gets a client without a sender whatever --account
    and COLLECTIVE_PRIVATE_KEY say: it needs no key, so it never asks for a keystore password
    or decrypts one (a wrong password cannot break a read), and it works on nodes without dev
    accounts. ``custom_terms`` lets purposes and categories outside the DPV vocabulary through
    (``--custom-term``). Transactions the client sends are watched (:func:`watch`)."""
    from collective.client import Collective

    refuse_embedded(state, what)
    if read_only:
        from collective.chain import connect
        from collective.config import load_config
        from collective.deploy import load_deployment

        config = load_config()
        chain = connect(state.network, state.rpc, config)
        deployment = load_deployment(chain, state.manifest, config=config)
        return Collective(chain, deployment, None, custom_terms=custom_terms)
    client = Collective.connect(
        network=state.network,
        rpc=state.rpc,
        account=_account_spec(state.account),
        deployment=state.manifest,
        custom_terms=custom_terms,
    )
    watch(client.chain)
    return client


# --- transactions in flight ---------------------------------------------------------------------

IN_FLIGHT = "collective.in-flight"  # ctx.meta: the command's InFlight


class InFlight:
    """The transactions this command signed and has not yet seen mined (hash -> what), kept
    from the moment the hash is known. When its receipt does not come at once (a node that
    seals every few seconds, a busy one), the hash is printed to stderr while waiting, so an
    interrupted or killed command has shown what it sent; Ctrl-C prints every hash still in
    flight. An automining node's writes print nothing extra."""

    def __init__(self) -> None:
        self.pending: dict[str, str] = {}

    def __call__(self, stage: str, tx_hash: str, what: str) -> None:
        if stage == "signed":
            self.pending[tx_hash] = what
        elif stage == "waiting":
            self.pending[tx_hash] = what
            click.echo(f"sent {what}: tx {tx_hash}, waiting for it to be mined", err=True)
        else:
            self.pending.pop(tx_hash, None)

    def interrupted(self) -> str:
        """The error line for Ctrl-C: the hashes that may still be mined."""
        if not self.pending:
            return "interrupted"
        sent = ", ".join(f"{tx_hash} ({what})" for tx_hash, what in self.pending.items())
        return (
            f"interrupted while waiting for transaction {sent}: it was sent and may still be "
            "mined; look it up (eth_getTransactionReceipt, `cast receipt HASH`) before sending "
            "it again"
        )


def in_flight() -> InFlight:
    """This command's :class:`InFlight` (one per command line, kept in click's context)."""
    meta = _meta()
    tracker = meta.get(IN_FLIGHT)
    if not isinstance(tracker, InFlight):
        tracker = meta[IN_FLIGHT] = InFlight()
    return tracker


def watch(chain: Chain) -> Chain:
    """Have ``chain`` report the transactions it sends to this command's :class:`InFlight`."""
    tracker = in_flight()
    if tracker not in chain.tx_listeners:
        chain.tx_listeners.append(tracker)
    return chain


# --- parameter types ------------------------------------------------------------------------------


class Utf8Text(click.types.StringParamType):
    """Text that is valid UTF-8. Arguments come from argv as bytes: one that is not UTF-8
    arrives with its bad bytes as lone surrogates, which can be neither hashed nor sent, so it
    is refused as a usage error naming the parameter."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = super().convert(value, param, ctx)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = text[exc.start].encode("utf-8", "surrogateescape")
            self.fail(
                f"{text!r} is not valid UTF-8 text (byte 0x{bad.hex()} at character "
                f"{exc.start}); check the terminal's or the script's encoding",
                param,
                ctx,
            )
        return text


TEXT = Utf8Text()


class NulFreePath(click.Path):
    """A :class:`click.Path` that refuses a NUL byte, which no file name holds (the OS calls
    would raise ValueError deep inside the command instead of a usage error)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str | bytes) and (
            "\0" in value if isinstance(value, str) else b"\0" in value
        ):
            self.fail(f"{value!r} is not a file name: it holds a NUL byte", param, ctx)
        return super().convert(value, param, ctx)


def _nul_free(path: click.Path) -> NulFreePath:
    safe = NulFreePath.__new__(NulFreePath)
    safe.__dict__.update(path.__dict__)
    return safe


def strict_text(command: click.Command) -> click.Command:
    """``command`` (and every subcommand) with each plain-text parameter made :data:`TEXT`.

    Applied by the ``collective`` group to every command it loads, so that no text argument
    or option, present or added later, takes text that is not UTF-8; and each path parameter
    refuses a NUL byte."""
    for param in command.params:
        if type(param.type) is click.types.StringParamType:
            param.type = TEXT
        elif type(param.type) is click.Path:
            param.type = _nul_free(param.type)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            strict_text(sub)
    return command


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"(\d+)\s*([smhdwy]?)")


def parse_duration(text: str) -> int | None:
    """Seconds in ``90``, ``90s``, ``15m``, ``12h``, ``30d``, ``2w``, ``1y``; None if malformed."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


class Duration(click.ParamType[int, Any]):
    """A number of seconds, or a number with a unit: s, m, h, d, w, y."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        seconds = parse_duration(str(value))
        if seconds is None:
            self.fail(f"{value!r} is not a duration (e.g. 3600, 15m, 12h, 30d, 1y)", param, ctx)
        return seconds


class Expiry(click.ParamType[int, Any]):
    """When a consent ends: a Unix time, an ISO 8601 date or time (UTC unless it says), or a
    duration from now (``30d``, ``1y``)."""

    name = "expiry"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        seconds = parse_duration(text)
        if seconds is not None:
            return int(time.time()) + seconds
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{value!r} is not an expiry (a Unix time, an ISO date such as 2027-01-31, "
                "or a duration from now such as 30d or 1y)",
                param,
                ctx,
            )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())


DURATION = Duration()
EXPIRY = Expiry()
# Integers as the contracts and nodes type them: a value out of range is a usage error.
POLICY_VERSION = click.IntRange(1, 2**32 - 1)  # uint32
BLOCK_NUMBER = click.IntRange(0, 2**63 - 1)  # what JSON-RPC nodes take

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

# --- output -------------------------------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Dataclasses as dicts (with their properties left out), bytes as 0x hex, enums by name,
    tuples as lists, paths as strings, integers past 2^53 as decimal strings
    (:func:`collective.jsonints.jsonable`)."""
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


def console() -> Any:
    """A rich console on the current stdout; wide when it is not a terminal (so pipes and
    tests get whole addresses, not wrapped ones)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 400, highlight=False, soft_wrap=False)


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    empty: str = "nothing to show",
) -> None:
    """A table with a header row; ``empty`` when there are no rows."""
    from rich.table import Table

    rows = [tuple("" if cell is None else str(cell) for cell in row) for row in rows]
    if not rows:
        click.echo(f"{title}: {empty}" if title else empty)
        return
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console().print(table)


def print_fields(title: str | None, fields: Iterable[tuple[str, Any]]) -> None:
    """Name: value lines as a two-column table."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, show_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in fields:
        table.add_row(name, "" if value is None else str(value))
    console().print(table)


def tx_line(result: TxResult) -> str:
    """``tx 0x.. · block N · gas G`` of a mined transaction."""
    return f"tx {result.tx_hash} · block {result.block_number} · gas {result.gas_used:,}"


def report(state: CliState, result: Any, line: str) -> None:
    """A write's outcome: its JSON with --json, else ``line`` and the transaction line."""
    if state.as_json:
        emit_json(result)
        return
    click.echo(line)
    tx_hash = getattr(result, "tx_hash", None)
    if tx_hash is not None:
        click.echo(f"  {tx_line(result)}")


def when(timestamp: int | None) -> str:
    """A Unix time as ISO 8601 UTC; ``never`` for the no-expiry sentinel, ``-`` for 0/None."""
    from collective.signing import NO_EXPIRY

    if not timestamp:
        return "-"
    if timestamp >= NO_EXPIRY:
        return "never"
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def read_text(path: Path, what: str) -> str:
    """A file's text, ``-`` for stdin; a clear error when it cannot be read."""
    from collective.errors import ConfigurationError

    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigurationError(f"cannot read {what} {path}: {reason}") from None


def exists(path: Path, what: str) -> bool:
    """Whether ``path`` exists; ConfigurationError naming ``what`` when the question itself
    fails (a name too long, a folder that cannot be searched)."""
    try:
        return path.exists()
    except OSError as exc:
        raise ConfigurationError(f"cannot use {what} {path}: {exc.strerror or exc}") from None


def write_text(path: Path, text: str, what: str) -> None:
    from collective.errors import ConfigurationError

    try:
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
