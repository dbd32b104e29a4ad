"""``collective did resolve|show-id|log``: read identities, their DIDs and their history.

Registered on the ``did`` group by :mod:`collective.cli.did_cmd`.
"""

from __future__ import annotations

import click

from collective.cli.connect import open_chain, open_client
from collective.cli.failure import fail
from collective.cli.options import CliState, chain_options, client_command
from collective.cli.output import Fields, Table, View, show, when
from collective.cli.params import BLOCK_NUMBER


@click.command("resolve")
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


@click.command("show-id")
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
    from collective.did import describe_identity

    found = describe_identity(value, lambda: chain_id if chain_id is not None else _chain_id(state))
    data = {"did": found.did, "address": found.address, "chain_id": found.chain_id}
    is_did = value.strip().startswith("did:")
    show(state, data, f"{found.address} on chain {found.chain_id}" if is_did else found.did)


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


@click.command("log")
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


READ_COMMANDS = (resolve_command, show_id_command, log_command)

__all__ = ["READ_COMMANDS"]
