"""The Ethereum genesis of a local network, with the contract suite in block 0.

The suite is deployed by the bootstrap admin (anvil's dev account 0) on a scratch node through
:func:`collective.node.predeploy.predeploy`, which returns a genesis whose block 0 applies the
same signed transactions; each validator's organization (dev accounts 1..N) is admitted in
AccountRules the same way. Every contract then exists from block 0 on every validator, so the
manifest's block numbers are rewritten to 0.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collective.node.genesis import DEV_BALANCE, Genesis, build_genesis

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


def network_genesis(
    *, chain_id: int, timestamp: int, organizations: Sequence[bytes]
) -> tuple[Genesis, dict[str, Any]]:
    """The genesis of a local network and the manifest of the suite it predeploys.

    Args:
        chain_id: the Ethereum chain id (EIP-155).
        timestamp: block 0's time, Unix seconds.
        organizations: the 20-byte addresses of the validators' organizations, in validator
            order; each is funded with 10,000 ether and admitted in AccountRules.

    Returns:
        (genesis with the deployment transactions of block 0, manifest as a JSON object
        with every block number 0).

    Raises:
        CompilationError: the contract artifacts are stale.
        TransactionError: a deployment transaction reverted on the scratch node.
    """
    from eth_account import Account
    from eth_utils.address import to_checksum_address

    from collective.client import Collective
    from collective.deploy import deploy_suite
    from collective.node.predeploy import predeploy

    admin = Account.from_key(admin_key())
    base = build_genesis(
        chain_id=chain_id,
        timestamp=timestamp,
        bootstrap_admins=[bytes.fromhex(admin.address[2:])],
        allocs={org: DEV_BALANCE for org in organizations},
        dev=True,
    )

    def deploy(chain: Any) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "manifest.json"
            deployment = deploy_suite(
                chain, admin, board_members=[admin.address], threshold=1, manifest_path=path
            )
            client = Collective(chain, deployment, admin)
            for org in organizations:
                client.orgs.admit(to_checksum_address(org))
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


__all__ = ["ADMIN_DEV_INDEX", "admin_key", "at_block_zero", "network_genesis", "organization_keys"]
