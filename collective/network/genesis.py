"""The Ethereum genesis of a local network, with the contract suite in block 0.

The suite is deployed by the bootstrap admin (anvil's dev account 0) on a scratch node through
:func:`collective.node.predeploy.predeploy`, which returns a genesis whose block 0 applies the
same signed transactions; each validator's organization (dev accounts 1..N) is admitted in
AccountRules, and its validator key registered there by a board proposal, the same way.
Every contract then exists from block 0 on every validator, so the manifest's block numbers
are rewritten to 0.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from collective.node.genesis import Genesis

ADMIN_DEV_INDEX = 0
"""The bootstrap admin is anvil's dev account 0; validator i's organization is dev account i."""


def organization_keys(count: int) -> list[bytes]:
    """The private keys of the organizations of validators 1..``count``: anvil's dev accounts
    1..``count`` (mnemonic "test test ... junk", :mod:`collective.node.dev`)."""
    from collective.node.dev import dev_keys

    return dev_keys(count + 1)[1:]


def admin_key() -> bytes:
    """The bootstrap admin's private key: anvil's dev account 0."""
    from collective.node.dev import dev_keys

    return dev_keys(1)[ADMIN_DEV_INDEX]


@dataclass(frozen=True)
class Member:
    """A member organization and its validator.

    ``name``: the validator's name in CometBFT's genesis; ``organization``: the member's
    checksummed address (admitted in AccountRules at genesis); ``pub_key``: its validator's
    ed25519 public key, base64 as CometBFT's ``priv_validator_key.json`` holds it;
    ``power``: its voting power.
    """

    name: str
    organization: str
    pub_key: str
    power: int = 10

    @property
    def validator_address(self) -> str:
        """CometBFT's address of the key: the first 20 bytes of its SHA-256, upper-case hex
        (CometBFT's ``crypto/ed25519`` ``Address``)."""
        return hashlib.sha256(base64.b64decode(self.pub_key)).digest()[:20].hex().upper()


def network_genesis(
    *,
    chain_id: int,
    timestamp: int,
    admin: LocalAccount,
    members: Sequence[Member],
    dev: bool = False,
) -> tuple[Genesis, dict[str, Any]]:
    """The Ethereum genesis of a consortium network and the manifest of the suite it
    predeploys: ``admin`` deploys the suite (AccountRules admin, sole board member, threshold
    1), admits each member's organization and, by an executed ``SetValidator`` board
    proposal, records its validator key and power in AccountRules, all in block 0, so the
    on-chain validator set is CometBFT's genesis set from the start.

    Args:
        chain_id: the Ethereum chain id (EIP-155).
        timestamp: block 0's time, Unix seconds.
        admin: the bootstrap admin's key (anvil's dev account 0 for a local network).
        members: the organizations, each funded with 10,000 ether and admitted.
        dev: also fund anvil's ten dev accounts (a local network).

    Returns:
        (genesis with the deployment transactions of block 0, manifest as a JSON object
        with every block number 0).

    Raises:
        CompilationError: the contract artifacts are stale.
        TransactionError: a deployment transaction reverted on the scratch node.
    """
    from collective.client import Collective
    from collective.deploy import deploy_suite
    from collective.node.genesis import DEV_BALANCE, build_genesis
    from collective.node.predeploy import predeploy

    base = build_genesis(
        chain_id=chain_id,
        timestamp=timestamp,
        bootstrap_admins=[bytes.fromhex(admin.address[2:])],
        allocs={bytes.fromhex(m.organization[2:]): DEV_BALANCE for m in members},
        dev=dev,
    )

    def deploy(chain: Any) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "manifest.json"
            deployment = deploy_suite(
                chain, admin, board_members=[admin.address], threshold=1, manifest_path=path
            )
            client = Collective(chain, deployment, admin)
            for member in members:
                client.orgs.admit(member.organization)
                # the board is the admin alone (threshold 1): the proposal executes at once
                client.oversight.set_validator(member.organization, member.pub_key, member.power)
            manifest: dict[str, Any] = json.loads(path.read_text())
        return manifest

    genesis, manifest = predeploy(base, deploy)
    return genesis, at_block_zero(manifest)


def at_block_zero(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` (format ``collective-deployment-1``) with every ``blockNumber`` 0: the
    contracts, the factory and the wiring calls all happen in block 0 of the network."""
    fixed = json.loads(json.dumps(manifest))
    for entry in [
        *fixed.get("contracts", {}).values(),
        fixed.get("factory"),
        *fixed.get("wiring", []),
    ]:
        if isinstance(entry, dict) and "blockNumber" in entry:
            entry["blockNumber"] = 0
    result: dict[str, Any] = fixed
    return result


__all__ = [
    "ADMIN_DEV_INDEX",
    "Member",
    "admin_key",
    "at_block_zero",
    "network_genesis",
    "organization_keys",
]
