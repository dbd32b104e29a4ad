"""Accounts: Web3 Secret Storage keystore files, and the one way to pick a signer.

============  ==============================================================================
``keystore``  the keystore folder: listing, creating, importing and loading encrypted
              accounts (Web3 Secret Storage v3)
``signer``    :func:`resolve_account`: ``--account`` (a dev index, an address, a keystore
              name) to a LocalAccount; :func:`needs_chain`: whether that may need a chain
============  ==============================================================================

Every name importable from ``collective.accounts`` in 0.1 still is.
"""

from __future__ import annotations

from collective.accounts.keystore import (
    DEFAULT_KEYSTORE,
    KDF_ITERATIONS_ENV,
    KEYSTORE_ENV,
    PASSWORD_ENV,
    Kdf,
    KeystoreEntry,
    KeystoreScan,
    _write_new,
    check_available,
    create_account,
    import_account,
    keystore_dir,
    list_accounts,
    load_account,
    password_from_env,
    scan_keystore,
    validate_name,
)
from collective.accounts.signer import (
    PRIVATE_KEY_ENV,
    PasswordPrompt,
    needs_chain,
    resolve_account,
)

__all__ = [
    "DEFAULT_KEYSTORE",
    "KDF_ITERATIONS_ENV",
    "KEYSTORE_ENV",
    "PASSWORD_ENV",
    "PRIVATE_KEY_ENV",
    "Kdf",
    "KeystoreEntry",
    "KeystoreScan",
    "PasswordPrompt",
    "_write_new",  # 0.1's private name, used by tests/test_accounts.py
    "check_available",
    "create_account",
    "import_account",
    "keystore_dir",
    "list_accounts",
    "load_account",
    "needs_chain",
    "password_from_env",
    "resolve_account",
    "scan_keystore",
    "validate_name",
]
