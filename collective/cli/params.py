"""Parameter types of the CLI: UTF-8 text, NUL-free paths, durations, expiries, ranges.

A malformed value is a usage error (exit 2) naming the parameter, raised by click before the
command runs; :func:`strict_text` puts the text and path checks on every command.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import click


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
    refuses a NUL byte (:class:`NulFreePath`).

    Args:
        command: a click command or group; changed in place.

    Returns:
        ``command`` itself.
    """
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
    """The seconds a duration names.

    Args:
        text: a whole number with an optional unit, s, m, h, d, w or y (a year is 365 days):
            ``90``, ``90s``, ``15m``, ``12h``, ``30d``, ``2w``, ``1y`` (case and surrounding
            space ignored).

    Returns:
        The number of seconds, or None when ``text`` is no such duration.
    """
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


class Duration(click.ParamType[int, Any]):
    """A number of seconds, or a number with a unit: s, m, h, d, w, y
    (:func:`parse_duration`); converts to int seconds, else a usage error (exit 2)."""

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
    duration from now (``30d``, ``1y``, from this machine's clock); converts to int Unix
    seconds, else a usage error (exit 2)."""

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


__all__ = [
    "BLOCK_NUMBER",
    "DURATION",
    "EXPIRY",
    "POLICY_VERSION",
    "TEXT",
    "Duration",
    "Expiry",
    "NulFreePath",
    "Utf8Text",
    "parse_duration",
    "strict_text",
]
