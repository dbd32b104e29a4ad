"""Files a command reads or writes on the user's behalf, with errors that name them."""

from __future__ import annotations

import sys
from pathlib import Path

from collective.errors import InvalidInputError


def read_text(path: Path, what: str) -> str:
    """A file's text, or stdin's for ``-``.

    Args:
        path: the file the user named.
        what: what it should hold, for the error (e.g. ``the signed request``).

    Returns:
        The text, decoded as UTF-8.

    Raises:
        InvalidInputError: the file cannot be read or is not UTF-8.
    """
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInputError(f"cannot read {what} {path}: {reason}") from None


def exists(path: Path, what: str) -> bool:
    """Whether ``path`` exists.

    Args:
        path: the file the user named (or its default).
        what: what it is, for the error (e.g. ``the audit index``).

    Raises:
        InvalidInputError: the question itself fails (a name too long, a folder that cannot
            be searched).
    """
    try:
        return path.exists()
    except OSError as exc:
        raise InvalidInputError(f"cannot use {what} {path}: {exc.strerror or exc}") from None


def write_text(path: Path, text: str, what: str) -> None:
    """Write ``text`` to ``path`` as UTF-8, ending it with a newline.

    Args:
        path: the file the user named (replaced if it exists).
        text: the content.
        what: what it holds, for the error (e.g. ``the receipt``).

    Raises:
        InvalidInputError: the file cannot be written.
    """
    try:
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


__all__ = ["exists", "read_text", "write_text"]
