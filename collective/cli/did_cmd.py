"""``collective did``: did:ethr identities in the ledger's ERC-1056 registry; the group of
every identity command, and the ones that change an identity (delegates, guardians, owner,
attributes). The reads (resolve, show-id, log) live in :mod:`collective.cli.did_read_cmd`.
"""

from __future__ import annotations

import click

from collective.cli.connect import open_client
from collective.cli.did_read_cmd import READ_COMMANDS
from collective.cli.options import (
    CliState,
    identity_option,
    sending_command,
)
from collective.cli.output import report
from collective.cli.params import DURATION
from collective.client.did import GUARDIAN_VALIDITY

DELEGATE_TYPES = click.Choice(["sigAuth", "veriKey"])

owned_option = identity_option(
    "The identity to change (default: the sending account's own); the sender must own it."
)


@click.group("did")
def did_group() -> None:
    """Identities: resolve did:ethr DIDs, manage delegates (guardians), owners and attributes.

    An identity is an address; its DID on this chain is did:ethr:<chain id in hex>:<address>
    (a network name hardhat.config.json gives the same chain id, or no network part, also
    names this chain; a DID of any other network is refused). Consents belong to the
    identity, not to a key: after `change-owner` the new key acts for it and the old one can
    do nothing. A guardian is a sigAuth delegate: it can sign consents and withdrawals for
    the identity until the delegation expires. `deactivate` ends the identity for good.

    \b
    Examples:
      collective --network anvil did resolve 0x90F79bf6EB2c4f870365E785982E1f101E93b906
      collective --network anvil --account 3 did add-guardian 0x15d3...6A65 --validity 1y
      collective --network anvil did show-id 0x90F79bf6EB2c4f870365E785982E1f101E93b906
    """


@did_group.command("add-delegate")
@click.argument("delegate", metavar="DELEGATE")
@click.option(
    "--type",
    "delegate_type",
    type=DELEGATE_TYPES,
    default="veriKey",
    show_default=True,
    help="sigAuth: may sign for the identity (a guardian); veriKey: may assert for it.",
)
@click.option(
    "--validity",
    type=DURATION,
    required=True,
    metavar="DURATION",
    help="How long the delegation lasts: seconds or 30d, 1y, ...",
)
@owned_option
@sending_command
def add_delegate_command(
    state: CliState, delegate: str, delegate_type: str, validity: int, identity: str | None
) -> None:
    """Add DELEGATE (an address) as a delegate of the identity for a while.

    \b
    Examples:
      collective --network anvil --account 3 did add-delegate 0x15d3...6A65 --validity 30d
      collective --account patient did add-delegate 0x15d3...6A65 --type sigAuth --validity 1y
    """
    client = open_client(state)
    change = client.did.add_delegate(delegate, delegate_type, validity, identity=identity)
    report(state, change, f"{change.did}: {change.change} ({delegate}, for {validity} s)")


@did_group.command("revoke-delegate")
@click.argument("delegate", metavar="DELEGATE")
@click.option(
    "--type",
    "delegate_type",
    type=DELEGATE_TYPES,
    default="veriKey",
    show_default=True,
    help="The delegation's type.",
)
@owned_option
@sending_command
def revoke_delegate_command(
    state: CliState, delegate: str, delegate_type: str, identity: str | None
) -> None:
    """Revoke DELEGATE's delegation now.

    \b
    Examples:
      collective --network anvil --account 3 did revoke-delegate 0x15d3...6A65
      collective --account patient did revoke-delegate 0x15d3...6A65 --type sigAuth
    """
    client = open_client(state)
    change = client.did.revoke_delegate(delegate, delegate_type, identity=identity)
    report(state, change, f"{change.did}: {change.change} ({delegate})")


@did_group.command("add-guardian")
@click.argument("guardian", metavar="GUARDIAN")
@click.option(
    "--validity",
    type=DURATION,
    default=str(GUARDIAN_VALIDITY),
    metavar="DURATION",
    help="How long the guardian may act: seconds or 30d, 1y, ... (default: a year).",
)
@owned_option
@sending_command
def add_guardian_command(
    state: CliState, guardian: str, validity: int, identity: str | None
) -> None:
    """Let GUARDIAN sign consents and withdrawals for the identity (a sigAuth delegate).

    E.g. a parent for a child patient. The guardian then signs with `collective consent
    sign --identity DID`.

    \b
    Examples:
      collective --network anvil --account 3 did add-guardian 0x15d3...6A65
      collective --account patient did add-guardian 0x15d3...6A65 --validity 18y
    """
    client = open_client(state)
    change = client.did.add_guardian(guardian, validity, identity=identity)
    report(state, change, f"{change.did}: guardian {guardian} may sign for it for {validity:,} s")


@did_group.command("change-owner")
@click.argument("new_owner", metavar="NEW_OWNER")
@owned_option
@sending_command
def change_owner_command(state: CliState, new_owner: str, identity: str | None) -> None:
    """Hand the identity to NEW_OWNER (e.g. a new key after the old one was lost).

    From then on only NEW_OWNER acts for the identity; its consents stay. The zero address
    deactivates the identity for good.

    \b
    Examples:
      collective --network anvil --account 3 did change-owner 0x9965...A4dc
      collective --account newkey did change-owner 0x9965...A4dc --identity did:ethr:0x7a69:0x90F7..
    """
    client = open_client(state)
    change = client.did.change_owner(new_owner, identity=identity)
    report(state, change, f"{change.did}: {change.change} to {new_owner}")


@did_group.command("deactivate")
@owned_option
@click.option("--yes", is_flag=True, help="Confirm: deactivation cannot be undone.")
@sending_command
def deactivate_command(state: CliState, identity: str | None, yes: bool) -> None:
    """Deactivate the identity for good (changeOwner to the zero address).

    No key or delegate acts for it again, its consents cover no use from then on (`consent
    status` says deactivated) and it cannot be revived. Sent by its current owner.

    \b
    Examples:
      collective --network anvil --account 3 did deactivate --yes
      collective --account patient did deactivate --identity did:ethr:0x7a69:0x90F7... --yes
    """
    if not yes:
        raise click.UsageError("deactivation cannot be undone: pass --yes to confirm")
    client = open_client(state)
    change = client.did.deactivate(identity=identity)
    report(state, change, f"{change.did}: {change.change} (for good)")


@did_group.command("set-attribute")
@click.argument("name")
@click.argument("value")
@click.option(
    "--validity",
    type=DURATION,
    default="1y",
    show_default=True,
    metavar="DURATION",
    help="How long the attribute holds.",
)
@owned_option
@sending_command
def set_attribute_command(
    state: CliState, name: str, value: str, validity: int, identity: str | None
) -> None:
    """Publish attribute NAME = VALUE, e.g. a did/svc/... service endpoint.

    VALUE is stored as UTF-8 text; 0x-prefixed hex is stored as bytes (key material for
    did/pub/... attributes).

    \b
    Examples:
      collective --network anvil --account 3 did set-attribute did/svc/HubService \\
          https://hub.example/patient-42
      collective --account patient did set-attribute did/pub/Secp256k1/veriKey/hex 0x02b9...
    """
    client = open_client(state)
    change = client.did.set_attribute(name, _value(value), validity, identity=identity)
    report(state, change, f"{change.did}: {change.change} {name} = {value}")


@did_group.command("revoke-attribute")
@click.argument("name")
@click.argument("value")
@owned_option
@sending_command
def revoke_attribute_command(state: CliState, name: str, value: str, identity: str | None) -> None:
    """Revoke attribute NAME = VALUE (both as they were set).

    \b
    Examples:
      collective --network anvil --account 3 did revoke-attribute did/svc/HubService \\
          https://hub.example/patient-42
    """
    client = open_client(state)
    change = client.did.revoke_attribute(name, _value(value), identity=identity)
    report(state, change, f"{change.did}: {change.change} {name} = {value}")


def _value(value: str) -> str | bytes:
    if value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    return value


for _command in READ_COMMANDS:
    did_group.add_command(_command)

__all__ = ["did_group"]
