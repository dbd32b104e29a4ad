"""``collective did``: did:ethr identities in the ledger's ERC-1056 registry."""

from __future__ import annotations

import click

from collective.cli.connect import open_chain, open_client
from collective.cli.failure import fail
from collective.cli.options import (
    CliState,
    chain_options,
    client_command,
    identity_option,
    sending_command,
)
from collective.cli.output import Fields, Table, View, report, show, when
from collective.cli.params import BLOCK_NUMBER, DURATION
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


@did_group.command("resolve")
@click.argument("did", metavar="DID|ADDRESS")
@click.option("--block", type=BLOCK_NUMBER, metavar="N", help="Resolve the version as of block N.")
@client_command
def resolve_command(state: CliState, did: str, block: int | None) -> None:
    """Resolve a DID (or an address, on this chain) to its W3C DID document.

    The document lists the owner as #controller, veriKey delegates as assertion methods,
    sigAuth delegates (guardians) also under authentication, did/pub keys and did/svc
    services. --json prints the DID resolution result (didDocument, didDocumentMetadata).
    A DID of another network than the connected chain's does not resolve: exit 1 with
    ethr-did-resolver's unknownNetwork error (--json prints that resolution result).

    \b
    Examples:
      collective --network anvil did resolve did:ethr:0x7a69:0x90F7...b906
      collective --network anvil --json did resolve 0x90F79bf6EB2c4f870365E785982E1f101E93b906
      collective --network anvil did resolve 0x90F7...b906 --block 120
    """
    client = open_client(state, read_only=True)
    if state.as_json:  # the DID resolution result, as did-resolution's JSON has it
        result = client.did.resolution(did, block=block)
        show(state, result)
        failed = result["didResolutionMetadata"]
        if failed.get("error"):  # the result above is the JSON; stderr gets the one line
            fail(f"{did} does not resolve: {failed['error']}: {failed.get('message', '')}")
        return
    document = client.did.resolve(did, block=block)
    updated = document.updated
    auth = set(document.authentication)
    assertion = set(document.assertion_methods)
    views: list[View] = [
        Fields(
            [
                ("DID", document.id),
                ("controller", document.controller or "-"),
                ("deactivated", "yes" if document.deactivated else "no"),
                ("version", document.version_id if document.version_id is not None else "-"),
                ("updated", updated.isoformat() if updated else "never changed"),
            ]
        ),
        Table(
            "verification methods",
            ["id", "type", "key", "authentication", "assertion"],
            [
                (
                    m["id"].removeprefix(document.id),
                    m.get("type", ""),
                    m.get("blockchainAccountId") or _key(m),
                    "yes" if m["id"] in auth else "",
                    "yes" if m["id"] in assertion else "",
                )
                for m in document.verification_methods
            ],
            empty="none",
        ),
    ]
    if document.services:
        views.append(
            Table(
                "services",
                ["id", "type", "endpoint"],
                [
                    (s["id"].removeprefix(document.id), s.get("type", ""), s.get("serviceEndpoint"))
                    for s in document.services
                ],
            )
        )
    show(state, None, *views)  # not --json: that returned above


def _key(method: dict[str, object]) -> str:
    for name in ("publicKeyHex", "publicKeyBase64", "publicKeyBase58", "publicKeyJwk"):
        if name in method:
            return f"{name}: {method[name]}"
    return ""


@did_group.command("show-id")
@click.argument("value", metavar="ADDRESS|DID")
@click.option(
    "--chain-id",
    type=click.IntRange(min=1),
    metavar="ID",
    help="The chain (default: the one --network names, else the node's).",
)
@chain_options(manifest=False)
def show_id_command(state: CliState, value: str, chain_id: int | None) -> None:
    """Print an address's did:ethr DID on the chosen chain (or a DID's address and chain).

    Needs no deployment: the chain id comes from --chain-id, the network's chainId in
    hardhat.config.json, or the node.

    \b
    Examples:
      collective --network anvil did show-id 0x90F79bf6EB2c4f870365E785982E1f101E93b906
      collective did show-id 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --chain-id 1
      collective did show-id did:ethr:0x7a69:0x90F79bf6EB2c4f870365E785982E1f101E93b906
    """
    from collective.client.base import address_of
    from collective.config import load_config
    from collective.did import (
        UNKNOWN_NETWORK,
        DidNetworks,
        format_did,
        network_id,
        parse_did,
        unknown_network_message,
    )
    from collective.errors import ConfigurationError

    text = value.strip()
    if text.startswith("did:"):
        parsed = parse_did(text)
        network = network_id(text)
        if network is None:
            # No network part: the chain chosen by --chain-id / --network / the node.
            known: int | None = chain_id if chain_id is not None else _chain_id(state)
        else:
            # Which chain the network names, by hardhat.config.json or the well-known names.
            known = DidNetworks.of(1, config=load_config()).chain_of(network)
            if known is None:
                raise ConfigurationError(
                    f"{text} is a DID of network {network}, which names no chain here "
                    f"({UNKNOWN_NETWORK}: {unknown_network_message(network)})",
                    hint="give the network a chainId in hardhat.config.json, or write the "
                    "chain id in hex (did:ethr:0x<chain id>:<address>)",
                )
        data = {"did": text, "address": parsed.address, "chain_id": known}
    else:
        address = address_of(value, "address")
        chain = chain_id if chain_id is not None else _chain_id(state)
        data = {"did": format_did(address, chain), "address": address, "chain_id": chain}
    line = (
        f"{data['address']} on chain {data['chain_id']}" if text.startswith("did:") else data["did"]
    )
    show(state, data, str(line))


def _chain_id(state: CliState) -> int:
    """The chain id the options name: the network's chainId in hardhat.config.json, else
    the node's (asked over the connection)."""
    from collective.config import load_config

    if not state.rpc:
        config = load_config()
        net = config.network(state.network or config.default_network)
        if net.chain_id is not None:
            return net.chain_id
    return open_chain(state).chain_id


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


@did_group.command("log")
@click.argument("identity", metavar="DID|ADDRESS")
@client_command
def log_command(state: CliState, identity: str) -> None:
    """The identity's registry history, oldest first: owners, delegates and attributes.

    \b
    Examples:
      collective --network anvil did log did:ethr:0x7a69:0x90F79bf6EB2c4f870365E785982E1f101E93b906
      collective --network anvil --json did log 0x90F79bf6EB2c4f870365E785982E1f101E93b906
    """
    client = open_client(state, read_only=True)
    events = client.did.change_log(identity)
    rows = []
    for e in events:
        detail: str | None
        if e.name == "DIDOwnerChanged":
            what, detail = "owner", e.owner
        elif e.name == "DIDDelegateChanged":
            what, detail = f"delegate {e.kind}", e.delegate
        else:
            what, detail = f"attribute {e.kind}", _shown(e.value)
        valid = "" if e.name == "DIDOwnerChanged" else when(e.valid_to)
        rows.append((e.block_number, what, detail, valid))
    show(
        state,
        events,
        Table(
            f"registry history of {identity}",
            ["block", "change", "value", "valid to"],
            rows,
            empty="no changes: the identity is its own owner",
        ),
    )


def _shown(value: bytes | None) -> str:
    if value is None:
        return ""
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return "0x" + value.hex()
    return text if text.isprintable() else "0x" + value.hex()


__all__ = ["did_group"]
