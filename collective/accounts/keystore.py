"""Keystore files: Web3 Secret Storage v3 accounts in a folder, one JSON file per account.

A keystore is a folder of JSON files, one per account, each named ``<name>.json`` where the
name is the account's handle (letters, digits, ``-``, ``_``, ``.``). The folder is
``$COLLECTIVE_KEYSTORE``, else ``~/.collective/keystore``. Files hold the private key encrypted
with a password (Web3 Secret Storage v3, as geth, Foundry's ``cast wallet`` and eth-account
write them); they are written with mode 0600, atomically, and never overwritten. Private keys
are never printed, logged or put into an error message.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address

from collective.chain import account_from_key, jsonints
from collective.errors import ConfigurationError, InvalidInputError, NotFoundError

KEYSTORE_ENV = "COLLECTIVE_KEYSTORE"
PASSWORD_ENV = "COLLECTIVE_PASSWORD"
KDF_ITERATIONS_ENV = "COLLECTIVE_KDF_ITERATIONS"
DEFAULT_KEYSTORE = Path("~") / ".collective" / "keystore"

Kdf = Literal["scrypt", "pbkdf2"]

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class KeystoreEntry:
    """One keystore file: the account's handle, its checksummed address and the file."""

    name: str
    address: str
    path: Path


@dataclass(frozen=True)
class KeystoreScan:
    """What :func:`scan_keystore` found: readable entries, and a note for each skipped file."""

    directory: Path
    entries: tuple[KeystoreEntry, ...]
    notes: tuple[str, ...]


# --- the keystore folder ------------------------------------------------------------------------


def keystore_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """``directory``, else ``$COLLECTIVE_KEYSTORE``, else ``~/.collective/keystore``."""
    chosen = directory if directory is not None else os.environ.get(KEYSTORE_ENV) or None
    return Path(chosen if chosen is not None else DEFAULT_KEYSTORE).expanduser()


def validate_name(name: str) -> str:
    """``name`` if it can name a keystore account.

    Raises:
        InvalidInputError: it is not 1 to 64 letters, digits, '-', '_' or '.' (not starting
            with '.' or '-'), or it would read as a dev account index or an address.
    """
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{name!r} is not a valid account name",
            hint="use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.' or '-'",
        )
    if name.isdigit():
        raise InvalidInputError(
            f"account name {name!r} would be read as a dev account index",
            hint="include a letter",
        )
    if is_address(name):
        raise InvalidInputError(
            f"account name {name!r} would be read as an address", hint="choose a name"
        )
    return name


def password_from_env() -> str | None:
    """The keystore password in ``$COLLECTIVE_PASSWORD``, or None when it is not set."""
    return os.environ.get(PASSWORD_ENV)


def scan_keystore(directory: str | os.PathLike[str] | None = None) -> KeystoreScan:
    """Every keystore file in the folder, by name; unreadable files are skipped with a note.

    Only the files' plain ``address`` fields are read: listing needs no password.
    """
    folder = keystore_dir(directory)
    entries: list[KeystoreEntry] = []
    notes: list[str] = []
    if not folder.is_dir():
        return KeystoreScan(folder, (), ())
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            address = _address_of(_read_keyfile(path), path)
        except ConfigurationError as exc:
            notes.append(f"{exc.message}: skipped it")
            continue
        if _exposed(path):
            notes.append(f"{path} is readable by other users: chmod 600 it")
        entries.append(KeystoreEntry(path.stem, address, path))
    return KeystoreScan(folder, tuple(entries), tuple(notes))


def list_accounts(directory: str | os.PathLike[str] | None = None) -> list[KeystoreEntry]:
    """The keystore's accounts, by name (unreadable files are skipped; see scan_keystore)."""
    return list(scan_keystore(directory).entries)


# --- creating -----------------------------------------------------------------------------------


def create_account(
    name: str,
    password: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    kdf: Kdf | None = None,
    iterations: int | None = None,
) -> KeystoreEntry:
    """A new random account, saved as ``<name>.json`` encrypted with ``password``.

    ``kdf`` and ``iterations`` default to eth-account's (scrypt, 2**18);
    ``$COLLECTIVE_KDF_ITERATIONS`` lowers the work factor for tests.

    Returns:
        The new :class:`KeystoreEntry`.

    Raises:
        InvalidInputError: a bad or taken name, an empty password, or a work factor the kdf
            refuses (scrypt needs a power of two).
        ConfigurationError: ``$COLLECTIVE_KDF_ITERATIONS`` is not a number ≥ 2, or the folder
            cannot be written.
    """
    validate_name(name)
    account: LocalAccount = Account.create()
    return _save(name, account, password, directory, kdf, iterations)


def import_account(
    name: str,
    private_key: str,
    password: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    kdf: Kdf | None = None,
    iterations: int | None = None,
) -> KeystoreEntry:
    """Save the account of ``private_key`` (hex) as ``<name>.json``, encrypted with ``password``.

    Raises:
        InvalidInputError: a malformed key (the message never repeats it), and as for
            :func:`create_account`.
        ConfigurationError: as for :func:`create_account`.
    """
    validate_name(name)
    account = account_from_key(private_key, "the key to import")
    return _save(name, account, password, directory, kdf, iterations)


def check_available(name: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The file a new keystore account ``name`` would get.

    Raises:
        InvalidInputError: ``name`` is not a valid name, or is taken.
    """
    path = keystore_dir(directory) / f"{validate_name(name)}.json"
    if path.exists():
        raise _taken(path)
    return path


def _taken(path: Path) -> InvalidInputError:
    return InvalidInputError(
        f"keystore account {path.stem} already exists ({path})",
        hint="choose another name; existing keystore files are never overwritten",
    )


def _save(
    name: str,
    account: LocalAccount,
    password: str,
    directory: str | os.PathLike[str] | None,
    kdf: Kdf | None,
    iterations: int | None,
) -> KeystoreEntry:
    if not password:
        raise InvalidInputError(
            f"refusing to save keystore account {name} with an empty password",
            hint=f"choose a password, or set {PASSWORD_ENV}",
        )
    path = check_available(name, directory)
    iterations = _iterations(iterations)
    try:
        keyfile = Account.encrypt(account.key, password, kdf=kdf, iterations=iterations)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise InvalidInputError(
            f"cannot encrypt keystore account {name} (kdf {kdf or 'default'}, work factor "
            f"{iterations or 'default'}): {exc}",
            hint="scrypt needs a power of two; leave both unset for the secure default",
        ) from None
    data = (json.dumps(keyfile, indent=2, sort_keys=True) + "\n").encode()
    _write_new(path, data)
    return KeystoreEntry(name, account.address, path)


def _iterations(iterations: int | None) -> int | None:
    if iterations is not None:
        return iterations
    raw = os.environ.get(KDF_ITERATIONS_ENV)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 2:
        raise ConfigurationError(
            f"{KDF_ITERATIONS_ENV}={raw!r} is not a valid work factor",
            hint="a power of two such as 1024, or unset it for the secure default",
        )
    return value


def _write_new(path: Path, data: bytes) -> None:
    """Write ``path`` with mode 0600 through a temporary file; never replace an existing file."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create keystore folder {path.parent}: {exc.strerror}",
            hint=f"set {KEYSTORE_ENV} to a folder you can write",
        ) from None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails if the name is taken meanwhile
        except FileExistsError:
            raise _taken(path) from None
        except OSError:  # a filesystem without hard links
            if path.exists():
                raise _taken(path) from None
            os.replace(tmp, path)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write keystore file {path}: {exc.strerror}",
            hint=f"set {KEYSTORE_ENV} to a folder you can write",
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# --- loading ------------------------------------------------------------------------------------


def load_account(
    name_or_path: str | os.PathLike[str],
    password: str,
    directory: str | os.PathLike[str] | None = None,
) -> LocalAccount:
    """Decrypt a keystore account (Web3 Secret Storage v3).

    Args:
        name_or_path: an account name in the keystore folder, or a keystore file's path.
        password: its password.
        directory: the keystore folder; default as :func:`keystore_dir`.

    Raises:
        NotFoundError: there is no such account (the hint lists the known ones).
        InvalidInputError: a wrong password, or a file that is not a keystore or is damaged.
        ConfigurationError: the file cannot be read.
    """
    path, name = locate(name_or_path, directory)
    keyfile = _read_keyfile(path)
    address = _address_of(keyfile, path)
    try:
        key = Account.decrypt(keyfile, password)
    except ValueError as exc:  # eth-keyfile's errors subclass ValueError / TypeError
        if "mac mismatch" in str(exc).lower():
            raise InvalidInputError(
                f"wrong password for keystore {name}",
                hint=f"check {PASSWORD_ENV}, or type the password again",
            ) from None
        raise _not_a_keystore(path, "cannot decrypt it") from None
    except (TypeError, KeyError, NotImplementedError):
        raise _not_a_keystore(path, "cannot decrypt it") from None
    account: LocalAccount = Account.from_key(key)
    if account.address != address:
        raise InvalidInputError(
            f"keystore {name} is damaged: its key does not match its address {address}"
        )
    return account


def locate(
    name_or_path: str | os.PathLike[str], directory: str | os.PathLike[str] | None
) -> tuple[Path, str]:
    """The file and display name of a keystore account given by name or by file path.

    Raises:
        NotFoundError: there is no such account or file (the hint lists the known names).
    """
    text = os.fspath(name_or_path)
    if _NAME.fullmatch(text):
        candidate = keystore_dir(directory) / f"{text}.json"
        if candidate.is_file():
            return candidate, text
    as_path = Path(text).expanduser()
    if (os.sep in text or "/" in text or text.endswith(".json")) and as_path.is_file():
        return as_path, as_path.stem
    raise _unknown(text, directory)


def _unknown(spec: str, directory: str | os.PathLike[str] | None) -> NotFoundError:
    scan = scan_keystore(directory)
    names = [entry.name for entry in scan.entries]
    if names:
        known = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        hint = f"known accounts: {known}"
    else:
        hint = f"the keystore {scan.directory} has no accounts; create or import one"
    return NotFoundError(f"no keystore account {spec!r} in {scan.directory}", hint=hint)


def _read_keyfile(path: Path) -> dict[str, Any]:
    try:
        data = jsonints.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read keystore file {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise _not_a_keystore(path, "it is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("crypto", data.get("Crypto")), dict):
        raise _not_a_keystore(path, "it has no 'crypto' section")
    return data


def _address_of(keyfile: dict[str, Any], path: Path) -> str:
    raw = keyfile.get("address")
    if isinstance(raw, str) and not raw.startswith("0x"):
        raw = "0x" + raw
    if not isinstance(raw, str) or not is_address(raw):
        raise _not_a_keystore(path, "it has no valid 'address' field")
    return to_checksum_address(raw)


def _not_a_keystore(path: Path, why: str) -> InvalidInputError:
    return InvalidInputError(f"{path} is not a Web3 Secret Storage keystore file ({why})")


def _exposed(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return os.name == "posix" and bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


__all__ = [
    "DEFAULT_KEYSTORE",
    "KDF_ITERATIONS_ENV",
    "KEYSTORE_ENV",
    "PASSWORD_ENV",
    "Kdf",
    "KeystoreEntry",
    "KeystoreScan",
    "check_available",
    "create_account",
    "import_account",
    "keystore_dir",
    "list_accounts",
    "load_account",
    "locate",
    "password_from_env",
    "scan_keystore",
    "validate_name",
]
