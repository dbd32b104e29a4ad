"""``collective account``: keystore accounts (new, import, list) and what ``--account`` names."""

from __future__ import annotations

import os
from typing import Any

import click
from eth_account.signers.local import LocalAccount

from collective.accounts import (
    PASSWORD_ENV,
    PRIVATE_KEY_ENV,
    KeystoreEntry,
    check_available,
    create_account,
    import_account,
    password_from_env,
    resolve_account,
    scan_keystore,
)
from collective.chain import Chain, connect
from collective.cli.common import CliState, emit_json, pass_state
from collective.config import load_config
from collective.errors import ConfigurationError


def prompt_password(name: str) -> str:
    """Ask for keystore account ``name``'s password without echoing it."""
    return _ask(f"Password for keystore account {name}", name, confirm=False)


def _new_password(name: str) -> str:
    """The password for a new keystore file: $COLLECTIVE_PASSWORD, else asked twice."""
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


def _private_key() -> str:
    """The key to import: $COLLECTIVE_PRIVATE_KEY, else asked for without echoing it."""
    key = os.environ.get(PRIVATE_KEY_ENV)
    if key:
        return key
    try:
        return str(click.prompt("Private key (hex)", hide_input=True, err=True))
    except (click.Abort, EOFError):
        raise ConfigurationError(
            "no private key given", hint=f"set {PRIVATE_KEY_ENV}, or type it when asked"
        ) from None


def _entry_json(entry: KeystoreEntry) -> dict[str, Any]:
    return {"name": entry.name, "address": entry.address, "path": str(entry.path)}


def _state(state: CliState, as_json: bool) -> CliState:
    return CliState(state.network, state.rpc, state.account, as_json or state.as_json)


def _connect(state: CliState) -> Chain:
    return connect(state.network, state.rpc, load_config())


def _report_new(state: CliState, entry: KeystoreEntry, verb: str) -> None:
    if state.as_json:
        emit_json(_entry_json(entry))
        return
    click.echo(f"{verb} keystore account {entry.name}: {entry.address}")
    click.echo(f"file: {entry.path}")


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


@click.group("account")
def account_group() -> None:
    """Keystore accounts, and the dev accounts of anvil and the embedded chain.

    Keystore accounts are Web3 Secret Storage files in $COLLECTIVE_KEYSTORE (default
    ~/.collective/keystore), one <name>.json each, encrypted with a password taken from
    COLLECTIVE_PASSWORD or asked for. Use one to send with `collective --account NAME ...`.
    Private keys are never printed.

    \b
    Examples:
      collective account new alice
      COLLECTIVE_PRIVATE_KEY=0x... collective account import hospital
      collective account list --dev
      collective --account alice account address
    """


@account_group.command("new")
@click.argument("name")
@json_option
@pass_state
def new_command(state: CliState, name: str, as_json: bool) -> None:
    """Create an account with a new random key, saved as keystore NAME.

    NAME may use letters, digits, '-', '_' and '.'. The password comes from
    COLLECTIVE_PASSWORD, or is asked for twice. An existing file is never overwritten.

    \b
    Examples:
      collective account new alice
      COLLECTIVE_PASSWORD=... collective --json account new lab-1
    """
    state = _state(state, as_json)
    check_available(name)
    entry = create_account(name, _new_password(name))
    _report_new(state, entry, "created")


@account_group.command("import")
@click.argument("name")
@json_option
@pass_state
def import_command(state: CliState, name: str, as_json: bool) -> None:
    """Save an existing private key as keystore NAME.

    The key is read from COLLECTIVE_PRIVATE_KEY, or asked for without echoing it (never
    from the command line, where it would land in the shell history). The password comes
    from COLLECTIVE_PASSWORD, or is asked for twice.

    \b
    Examples:
      collective account import hospital          # asks for the key and a password
      COLLECTIVE_PRIVATE_KEY=0x... COLLECTIVE_PASSWORD=... collective account import lab
    """
    state = _state(state, as_json)
    check_available(name)
    entry = import_account(name, _private_key(), _new_password(name))
    _report_new(state, entry, "imported")
    for other in scan_keystore(entry.path.parent).entries:
        if other.address == entry.address and other.name != entry.name:
            click.echo(f"note: keystore account {other.name} holds the same address", err=True)


@account_group.command("list")
@click.option("--dev", is_flag=True, help="Also list the chain's well-known dev accounts.")
@json_option
@pass_state
def list_command(state: CliState, dev: bool, as_json: bool) -> None:
    """List the keystore's accounts (no password needed), and with --dev the dev accounts.

    Dev accounts are the prefunded accounts of the embedded chain or anvil, by index, for
    the network chosen with the global --network / --rpc.

    \b
    Examples:
      collective account list
      collective --network anvil account list --dev
      collective --json account list --dev
    """
    state = _state(state, as_json)
    scan = scan_keystore()
    chain = _connect(state) if dev else None
    dev_accounts = chain.dev_accounts if chain is not None else []
    notes = list(scan.notes)
    if chain is not None and not dev_accounts:
        notes.append(f"{chain.where} has no well-known dev accounts")
    if state.as_json:
        data: dict[str, Any] = {
            "keystore": str(scan.directory),
            "accounts": [_entry_json(entry) for entry in scan.entries],
            "notes": notes,
        }
        if chain is not None:
            data["network"] = chain.name
            data["chainId"] = chain.chain_id
            data["dev"] = [
                {"index": index, "address": account.address}
                for index, account in enumerate(dev_accounts)
            ]
        emit_json(data)
        return
    count = len(scan.entries)
    if count:
        click.echo(f"keystore {scan.directory}: {count} account{'s' * (count != 1)}")
        width = max(len(entry.name) for entry in scan.entries)
        for entry in scan.entries:
            click.echo(f"  {entry.name.ljust(width)}  {entry.address}  {entry.path.name}")
    else:
        click.echo(
            f"keystore {scan.directory}: no accounts (create one with `collective account new`)"
        )
    if chain is not None and dev_accounts:
        click.echo(f"dev accounts on {chain.name} (chain {chain.chain_id}):")
        for index, account in enumerate(dev_accounts):
            click.echo(f"  {index:>2}  {account.address}")
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _needs_chain(spec: str | None) -> bool:
    """Whether resolving ``spec`` may need the chain's dev accounts."""
    if spec is None:
        return not os.environ.get(PRIVATE_KEY_ENV)
    text = spec.strip()
    return text.isdigit() or (text.startswith("0x") and len(text) == 42)


@account_group.command("address")
@click.argument("spec", required=False, metavar="[NAME|ADDRESS|INDEX]")
@json_option
@pass_state
def address_command(state: CliState, spec: str | None, as_json: bool) -> None:
    """Print the address that SPEC, else the global --account, sends from.

    Without either: the key in COLLECTIVE_PRIVATE_KEY, else dev account 0. A keystore
    account is decrypted to check its password (COLLECTIVE_PASSWORD, or asked for).

    \b
    Examples:
      collective account address alice
      collective --account 3 account address
      COLLECTIVE_PRIVATE_KEY=0x... collective --json account address
    """
    state = _state(state, as_json)
    choice = spec if spec is not None else state.account
    chain = _connect(state) if _needs_chain(choice) else None
    account: LocalAccount = resolve_account(chain, choice, prompt=prompt_password)
    if state.as_json:
        emit_json({"account": choice, "address": account.address})
    else:
        click.echo(account.address)


__all__ = ["account_group", "prompt_password"]
