"""Shared CLI plumbing: the global options object and output helpers."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

import click


@dataclass
class CliState:
    """Global options, passed to every command through click's context object."""

    network: str | None = None
    rpc: str | None = None
    account: str | None = None
    as_json: bool = False


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


pass_state = click.make_pass_decorator(CliState, ensure=True)
