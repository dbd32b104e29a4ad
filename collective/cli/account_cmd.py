"""``collective account``: keystore accounts (new, import, list) and what ``--account`` names."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from collective.accounts import (
    KeystoreEntry,
    KeystoreScan,
    check_available,
    create_account,
    import_account,
    needs_chain,
    scan_keystore,
)
from collective.cli.connect import open_chain, open_sender
from collective.cli.options import CliState, chain_options, json_command
from collective.cli.output import Note, show
from collective.cli.passwords import new_password, private_key, prompt_password

if TYPE_CHECKING:
    from collective.chain import Chain


def _entry_json(entry: KeystoreEntry) -> dict[str, Any]:
    return {"name": entry.name, "address": entry.address, "path": str(entry.path)}


def _show_new(state: CliState, entry: KeystoreEntry, verb: str) -> None:
    show(
        state,
        _entry_json(entry),
        f"{verb} keystore account {entry.name}: {entry.address}",
        f"file: {entry.path}",
    )


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
@json_command
def new_command(state: CliState, name: str) -> None:
    """Create an account with a new random key, saved as keystore NAME.

    NAME may use letters, digits, '-', '_' and '.'. The password comes from
    COLLECTIVE_PASSWORD, or is asked for twice. An existing file is never overwritten.

    \b
    Examples:
      collective account new alice
      COLLECTIVE_PASSWORD=... collective --json account new lab-1
    """
    check_available(name)
    entry = create_account(name, new_password(name))
    _show_new(state, entry, "created")


@account_group.command("import")
@click.argument("name")
@json_command
def import_command(state: CliState, name: str) -> None:
    """Save an existing private key as keystore NAME.

    The key is read from COLLECTIVE_PRIVATE_KEY, or asked for without echoing it (never
    from the command line, where it would land in the shell history). The password comes
    from COLLECTIVE_PASSWORD, or is asked for twice.

    \b
    Examples:
      collective account import hospital          # asks for the key and a password
      COLLECTIVE_PRIVATE_KEY=0x... COLLECTIVE_PASSWORD=... collective account import lab
    """
    check_available(name)
    entry = import_account(name, private_key(), new_password(name))
    _show_new(state, entry, "imported")
    for other in scan_keystore(entry.path.parent).entries:
        if other.address == entry.address and other.name != entry.name:
            click.echo(f"note: keystore account {other.name} holds the same address", err=True)


@account_group.command("list")
@click.option("--dev", is_flag=True, help="Also list the chain's well-known dev accounts.")
@chain_options(manifest=False)
def list_command(state: CliState, dev: bool) -> None:
    """List the keystore's accounts (no password needed), and with --dev the dev accounts.

    Dev accounts are the prefunded accounts of the embedded chain, anvil or `collective
    node --dev`, by index, for the network chosen with --network / --rpc.

    \b
    Examples:
      collective account list
      collective --network anvil account list --dev
      collective --json account list --dev
    """
    scan = scan_keystore()
    chain = open_chain(state) if dev else None
    dev_accounts = chain.dev_accounts if chain is not None else []
    notes = list(scan.notes)
    if chain is not None and not dev_accounts:
        notes.append(f"{chain.where} has no well-known dev accounts")
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

    show(state, data, *_account_lines(scan, chain), *(Note(f"note: {note}") for note in notes))


def _account_lines(scan: KeystoreScan, chain: Chain | None) -> list[str]:
    """The keystore's accounts (name, address, file), then the chain's dev accounts."""
    count = len(scan.entries)
    if not count:
        lines = [
            f"keystore {scan.directory}: no accounts (create one with `collective account new`)"
        ]
    else:
        width = max(len(entry.name) for entry in scan.entries)
        lines = [f"keystore {scan.directory}: {count} account{'s' * (count != 1)}"]
        lines += [
            f"  {entry.name.ljust(width)}  {entry.address}  {entry.path.name}"
            for entry in scan.entries
        ]
    if chain is not None and chain.dev_accounts:
        lines.append(f"dev accounts on {chain.name} (chain {chain.chain_id}):")
        lines += [
            f"  {index:>2}  {account.address}" for index, account in enumerate(chain.dev_accounts)
        ]
    return lines


@account_group.command("address")
@click.argument("spec", required=False, metavar="[NAME|ADDRESS|INDEX]")
@chain_options(manifest=False)
def address_command(state: CliState, spec: str | None) -> None:
    """Print the address that SPEC, else the global --account, sends from.

    Without either: the key in COLLECTIVE_PRIVATE_KEY, else dev account 0. A keystore
    account is decrypted to check its password (COLLECTIVE_PASSWORD, or asked for).

    \b
    Examples:
      collective account address alice
      collective --account 3 account address
      COLLECTIVE_PRIVATE_KEY=0x... collective --json account address
    """
    choice = spec if spec is not None else state.account
    chain = open_chain(state) if needs_chain(choice) else None
    account = open_sender(replace(state, account=choice), chain)
    show(state, {"account": choice, "address": account.address}, account.address)


__all__ = ["account_group", "prompt_password"]
