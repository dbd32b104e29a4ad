"""Asking a person for secrets: keystore passwords and private keys, never echoed."""

from __future__ import annotations

import os

import click

from collective.accounts import PASSWORD_ENV, PRIVATE_KEY_ENV, password_from_env
from collective.errors import ConfigurationError


def prompt_password(name: str) -> str:
    """Ask for keystore account ``name``'s password on the terminal, without echoing it.

    Args:
        name: the keystore account, named in the question.

    Returns:
        The password typed.

    Raises:
        ConfigurationError: no password was given (end of input, or Ctrl-C at the prompt).
    """
    return _ask(f"Password for keystore account {name}", name, confirm=False)


def new_password(name: str) -> str:
    """The password for a new keystore file: $COLLECTIVE_PASSWORD, else asked twice.

    Args:
        name: the new keystore account.

    Raises:
        ConfigurationError: no password was given.
    """
    password = password_from_env()
    if password is not None:
        return password
    return _ask(f"Password for new keystore account {name}", name, confirm=True)


def _ask(text: str, name: str, *, confirm: bool) -> str:
    try:
        value = click.prompt(text, hide_input=True, confirmation_prompt=confirm, err=True)
    except (click.Abort, EOFError):
        raise ConfigurationError(
            f"no password given for keystore account {name}",
            hint=f"set {PASSWORD_ENV}, or type it when asked",
        ) from None
    return str(value)


def private_key() -> str:
    """The key to import: $COLLECTIVE_PRIVATE_KEY, else asked for without echoing it (never
    from the command line, where it would land in the shell history).

    Returns:
        The key as typed (hex; checked by the keystore code).

    Raises:
        ConfigurationError: no key was given.
    """
    key = os.environ.get(PRIVATE_KEY_ENV)
    if key:
        return key
    try:
        return str(click.prompt("Private key (hex)", hide_input=True, err=True))
    except (click.Abort, EOFError):
        raise ConfigurationError(
            "no private key given", hint=f"set {PRIVATE_KEY_ENV}, or type it when asked"
        ) from None


__all__ = ["new_password", "private_key", "prompt_password"]
