"""Deploy the contract suite on an in-process node (for predeployed genesis files)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from eth_account import Account

from collective.node.genesis import DEV_BALANCE, AllocAccount, Genesis
from collective.node.node import Node, NodeConfig


def deploy_in_process(genesis: Genesis, admin: bytes) -> tuple[Node, dict[str, bytes]]:
    """Start an in-memory node from ``genesis``, deploy AccountRules, ConsentLedger and
    OversightBoard with a throwaway key, hand AccountRules and the board to ``admin``; return
    the node (close it when done) and the contract addresses."""
    from eth_utils.address import to_checksum_address

    from collective.chain import connect_rpc
    from collective.deploy import deploy_suite
    from collective.node.server import serve_in_thread

    deployer = Account.create()
    funded = Genesis(
        chain_id=genesis.chain_id,
        gas_limit=genesis.gas_limit,
        alloc={**genesis.alloc, bytes.fromhex(deployer.address[2:]): AllocAccount(DEV_BALANCE)},
    )
    node = Node(NodeConfig(genesis=funded))
    server = serve_in_thread(node)
    try:
        chain = connect_rpc(server.url)
        owner = to_checksum_address("0x" + admin.hex())
        with tempfile.TemporaryDirectory() as folder:
            suite = deploy_suite(
                chain,
                deployer,
                board_members=[owner],
                threshold=1,
                manifest_path=Path(folder) / "scratch.json",
            )
        rules = suite.contract("AccountRules")
        chain.transact(rules.functions.addAdmin(owner), deployer)
        chain.transact(rules.functions.removeAdmin(deployer.address), deployer)
    finally:
        server.shutdown()
        server.server_close()
    return node, {name: bytes.fromhex(address[2:]) for name, address in suite.addresses.items()}


__all__ = ["deploy_in_process"]
