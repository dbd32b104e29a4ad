"""How a command fails: one ``error:`` line on stderr and an exit code, in one place.

Exit codes:

====  ==========================================================================
0     done (``consent covered`` answering "no" is done too)
1     a library error (:class:`~collective.errors.CollectiveError` and every subclass:
      configuration, bad input the library refused (InvalidInputError), something that
      does not exist (NotFoundError), a chain or contract refusal, an audit failure), or a
      check that did not pass (``audit verify``, ``consent verify-receipt``,
      ``compile --check``)
2     a usage mistake click catches before the library runs: an unknown option, a value
      of the wrong type or out of range, a missing argument (click's convention)
130   interrupted (Ctrl-C), naming any transaction still in flight
====  ==========================================================================

When the command line asks for ``--json``, stdout also gets the error as one JSON object,
``{"error": {...}}``: stdout then always holds exactly one JSON document, the result or the
error, so a script that parses it needs no second channel, while stderr keeps its one human
line. A command that already wrote its JSON result before failing (e.g. a receipt that does
not verify) writes no second one.
"""

from __future__ import annotations

import re
import sys
from typing import Any, NoReturn

import click

from collective.cli.output import JSON_MODE, JSON_WRITTEN, command_meta, emit_json

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def error_document(error: BaseException | str, code: int, kind: str = "Error") -> dict[str, Any]:
    """The JSON form of a failure, ``{"error": {...}}``.

    Args:
        error: the exception, or only a message.
        code: the exit code the command ends with.
        kind: the ``type`` to report when ``error`` is only text.

    Returns:
        ``{"error": fields}`` with the error's class (``type``), the classes it is an
        instance of (``kinds``, most specific first, up to CollectiveError or click's
        UsageError), its message (DPV codes named, :func:`readable`) and hint, the exit
        code, and for a transaction its hash and the contract's decoded error and arguments.
    """
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
    """Under ``--json``, write the error's JSON object to stdout, unless a JSON document is
    there already.

    Args:
        error: as for :func:`error_document`.
        code: the exit code the command ends with.
        as_json: write it even when the context does not say ``--json`` (a mistake in the
            global options, found before the context exists).
        kind: as for :func:`error_document`.
    """
    meta = command_meta()
    if (as_json or meta.get(JSON_MODE)) and not meta.get(JSON_WRITTEN):
        emit_json(error_document(error, code, kind))


def fail(error: str | BaseException, code: int = EXIT_ERROR, *, kind: str = "Error") -> NoReturn:
    """End the command: one ``error:`` line on stderr (under ``--json`` also the error
    object on stdout) and exit ``code``.

    Args:
        error: the exception or message; its text is shown with DPV codes named.
        code: the exit code (see the table in this module).
        kind: the JSON ``type`` when ``error`` is only text.

    Raises:
        SystemExit: always, with ``code``.
    """
    report_error_json(error, code, kind=kind)
    click.echo(f"error: {readable(str(error))}", err=True)
    sys.exit(code)


_CODE = re.compile(r"0x[0-9a-fA-F]{64}")


def readable(message: str) -> str:
    """``message`` with the bytes32 codes of known DPV purposes and categories named
    (decoded contract errors carry the raw codes).

    Args:
        message: any text.

    Returns:
        The text with each known ``0x`` + 64 hex code replaced by its DPV term.
    """
    from collective.ledger.vocab import is_known, name_of

    return _CODE.sub(lambda m: name_of(m[0]) if is_known(m[0]) else m[0], message)


__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "error_document",
    "fail",
    "readable",
    "report_error_json",
]
