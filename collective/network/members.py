"""``collective network genesis``: the genesis of a consortium of real members, one validator
each on its own machine.

Each member generates its keys on its own machine (``cometbft init``) and hands the
coordinator only public parts: its organization's address and its validator's ed25519 public
key. The coordinator, the bootstrap admin, writes three files every member then uses as they
are: CometBFT's ``genesis.json`` (the validators, and the Ethereum genesis as ``app_state``),
the Ethereum genesis alone for ``collective node start --genesis``, and the suite's manifest.
"""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collective.errors import InvalidInputError
from collective.network.cometbft import cometbft_binary, run_cometbft
from collective.network.cometbft_files import cometbft_genesis, default_consensus_params
from collective.network.genesis import Member, network_genesis

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

COMETBFT_GENESIS = "genesis.json"
ETHEREUM_GENESIS = "ethereum-genesis.json"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ConsortiumFiles:
    """What :func:`write_consortium_genesis` wrote: CometBFT's genesis (copy it to every
    validator's ``<home>/config/genesis.json``), the Ethereum genesis (``collective node start
    --genesis``), the manifest (clients' ``--manifest``), and CometBFT's chain id."""

    cometbft_genesis: Path
    ethereum_genesis: Path
    manifest: Path
    cometbft_chain_id: str


def parse_member(text: str, power: int = 10) -> Member:
    """A member from ``ADDRESS:PUBKEY``: its organization's address and its validator's ed25519
    public key (base64, as ``cometbft show-validator`` prints its ``value``).

    Raises:
        InvalidInputError: not two parts, an address that is not one, or a key that is not
            32 bytes of base64.
    """
    from collective.chain.addresses import parse_address

    address, sep, key = text.strip().partition(":")
    if not sep:
        raise InvalidInputError(
            f"--member {text!r} is not ADDRESS:PUBKEY",
            hint="e.g. --member 0x70997970C51812dc3A010C7d01b50e0d17dc79C8:"
            "W7x/NLI8d08syTg9MOsX1So41OYmjE7FIhDXQJY2CQI= (the key from "
            "`cometbft show-validator`)",
        )
    organization = parse_address(address, "the member's organization")
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32 or raw == bytes(32):
        raise InvalidInputError(
            f"{key!r} is not an ed25519 public key (32 bytes, base64)",
            hint="give the `value` that `cometbft show-validator --home HOME` prints",
        )
    return Member(name=organization, organization=organization, pub_key=key, power=power)


def write_consortium_genesis(
    out: Path,
    *,
    admin: LocalAccount,
    members: Sequence[Member],
    chain_id: int,
    force: bool = False,
) -> ConsortiumFiles:
    """Write the genesis files of a consortium into ``out``.

    Args:
        out: a folder (created); its three files must not exist unless ``force``.
        admin: the bootstrap admin: deploys the suite at genesis, becomes AccountRules'
            admin and the board's sole member (threshold 1; add members by board votes).
        members: one per organization, in validator order.
        chain_id: the Ethereum chain id; CometBFT's is ``collective-<chain_id>``.
        force: overwrite the files.

    Returns:
        The :class:`ConsortiumFiles`.

    Raises:
        InvalidInputError: no members, an organization or key listed twice, the admin
            listed as a member, or a file exists without ``force``.
        ConfigurationError: cometbft is missing or of another version.
        CompilationError: the contract artifacts are stale.
    """
    if not members:
        raise InvalidInputError("a consortium needs at least one --member")
    for what, values in (
        ("organization", [m.organization.lower() for m in members]),
        ("validator key", [m.pub_key for m in members]),
    ):
        twice = {v for v in values if values.count(v) > 1}
        if twice:
            raise InvalidInputError(f"{what} {sorted(twice)[0]} is listed twice")
    if admin.address.lower() in {m.organization.lower() for m in members}:
        raise InvalidInputError(
            f"the admin {admin.address} cannot also be a member organization",
            hint="AccountRules keeps the admin and organization roles apart: use another account",
        )
    files = ConsortiumFiles(
        out / COMETBFT_GENESIS, out / ETHEREUM_GENESIS, out / MANIFEST, f"collective-{chain_id}"
    )
    existing = [
        p for p in (files.cometbft_genesis, files.ethereum_genesis, files.manifest) if p.exists()
    ]
    if existing and not force:
        raise InvalidInputError(f"{existing[0]} exists", hint="pass --force to overwrite it")
    binary = cometbft_binary()
    with tempfile.TemporaryDirectory() as scratch:
        run_cometbft(binary, "init", "--home", scratch)
        params = default_consensus_params(Path(scratch))
    timestamp = int(time.time())
    genesis, manifest = network_genesis(
        chain_id=chain_id, timestamp=timestamp, admin=admin, members=members
    )
    manifest["network"] = files.cometbft_chain_id
    manifest.pop("rpc", None)  # the scratch node's: each member gives its own --rpc
    document = cometbft_genesis(
        chain_id=files.cometbft_chain_id,
        genesis_time=timestamp + 1,
        validators=members,
        app_state=json.loads(genesis.dumps()),
        consensus_params=params,
    )
    out.mkdir(parents=True, exist_ok=True)
    files.cometbft_genesis.write_text(json.dumps(document, indent=2) + "\n")
    files.ethereum_genesis.write_text(genesis.dumps())
    files.manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    return files


__all__ = ["ConsortiumFiles", "parse_member", "write_consortium_genesis"]
