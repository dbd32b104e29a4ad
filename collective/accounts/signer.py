"""The one way to pick a signer: what a person names as the sending account (``--account``)
turned into a :class:`~eth_account.signers.local.LocalAccount`: a dev account index, an
address, or a keystore name (:mod:`collective.accounts.keystore`). Private keys are never
printed, logged or put into an error message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from collective.accounts.keystore import (
    PASSWORD_ENV,
    keystore_dir,
    list_accounts,
    load_account,
    locate,
    password_from_env,
)
from collective.chain import account_from_key
from collective.chain.addresses import is_hex_address, parse_address
from collective.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from collective.chain import Chain

PRIVATE_KEY_ENV = "COLLECTIVE_PRIVATE_KEY"

PasswordPrompt = Callable[[str], str]
"""Asked for a keystore account's password, given the account's name."""


def resolve_account(
    chain: Chain | None,
    spec: str | int | LocalAccount | None,
    *,
    password: str | None = None,
    prompt: PasswordPrompt | None = None,
    directory: str | os.PathLike[str] | None = None,
) -> LocalAccount:
    """The signer that ``spec`` (the ``--account`` option) names.

    - None: the key in ``$COLLECTIVE_PRIVATE_KEY``, else ``chain``'s dev account 0;
    - an int or a digit string: that dev account of ``chain``;
    - an address: the ``$COLLECTIVE_PRIVATE_KEY`` account if it has that address, else a dev
      account, else a keystore file holding that address;
    - anything else: a keystore account name (or a keystore file path);
    - a LocalAccount: itself.

    A keystore password comes from ``password``, else ``$COLLECTIVE_PASSWORD``, else
    ``prompt(name)``. ``chain`` may be None when no dev account is needed.

    Raises:
        InvalidInputError: a malformed ``$COLLECTIVE_PRIVATE_KEY``, a dev account asked for
            without a chain, a keystore account without a password, a wrong password.
        NotFoundError: no key for the address, or no keystore account of that name.
        ConfigurationError: ``chain`` has no such dev account.
    """
    if isinstance(spec, LocalAccount):
        return spec
    key = os.environ.get(PRIVATE_KEY_ENV)
    key_account = account_from_key(key, PRIVATE_KEY_ENV) if key else None
    if spec is None:
        return key_account if key_account is not None else _dev(chain, 0)
    if isinstance(spec, int):
        return _dev(chain, spec)
    spec = spec.strip()
    if spec.isdigit():
        return _dev(chain, int(spec))
    if is_hex_address(spec):
        address = parse_address(spec, "account")
        if key_account is not None and key_account.address == address:
            return key_account
        for account in chain.dev_accounts if chain is not None else []:
            if account.address == address:
                return account
        for entry in list_accounts(directory):
            if entry.address == address:
                return _unlock(entry.path, entry.name, password, prompt)
        raise NotFoundError(
            f"no key for account {address}",
            hint=f"import it into the keystore ({keystore_dir(directory)}), set "
            f"{PRIVATE_KEY_ENV} to its private key, or pass a dev account index",
        )
    path, name = locate(spec, directory)
    return _unlock(path, name, password, prompt)


def needs_chain(spec: str | int | LocalAccount | None) -> bool:
    """Whether :func:`resolve_account` may need a chain's dev accounts for ``spec``, so a
    caller connects only then (by its rules, in its order).

    Args:
        spec: what :func:`resolve_account` takes (the ``--account`` option).

    Returns:
        True for a dev index (an int or a digit string), for an address (it may be a dev
        account's), and for None when ``$COLLECTIVE_PRIVATE_KEY`` is unset (dev account 0);
        False for a LocalAccount, a keystore name or path, and None with the key set.
    """
    if isinstance(spec, LocalAccount):
        return False
    if spec is None:
        return not os.environ.get(PRIVATE_KEY_ENV)
    if isinstance(spec, int):
        return True
    text = spec.strip()
    return text.isdigit() or is_hex_address(text)


def _dev(chain: Chain | None, index: int) -> LocalAccount:
    if chain is None:
        raise InvalidInputError(
            f"dev account {index} needs a chain to come from",
            hint=f"name a keystore account, or set {PRIVATE_KEY_ENV}",
        )
    return chain.dev_account(index)


def _unlock(
    path: Path, name: str, password: str | None, prompt: PasswordPrompt | None
) -> LocalAccount:
    if password is None:
        password = password_from_env()
    if password is None and prompt is not None:
        password = prompt(name)
    if password is None:
        raise InvalidInputError(
            f"keystore account {name} needs a password",
            hint=f"set {PASSWORD_ENV}, or run interactively to be asked for it",
        )
    return load_account(path, password)


__all__ = ["PRIVATE_KEY_ENV", "PasswordPrompt", "needs_chain", "resolve_account"]
