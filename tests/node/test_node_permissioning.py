"""Permissioning by the shipped AccountRules: admitting, suspending, reinstating and removing an
account changes what the node accepts from the next block on (the node remembers answers only
while the contract's storage is unchanged)."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from collective.chain import Chain, connect_rpc
from collective.deploy import deploy_suite
from collective.node import Genesis, Node, NodeConfig
from collective.node.dev import DevAccounts
from collective.node.genesis import DEV_BALANCE, AllocAccount, contract_address
from collective.node.server import serve_in_thread
from tests.node.conftest import call


def _transfer(url: str, sender: LocalAccount, nonce: int) -> dict[str, object]:
    tx = {"chainId": 131277, "nonce": nonce, "to": "0x" + "22" * 20, "value": 1, "gas": 21000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
    return call(
        url, "eth_sendRawTransaction", "0x" + sender.sign_transaction(tx).raw_transaction.hex()
    )


def test_admit_suspend_reinstate_remove(tmp_path: Path) -> None:
    admin_address = DevAccounts.create(1).addresses[0]
    member = Account.create()
    genesis = Genesis(
        alloc={bytes.fromhex(member.address[2:]): AllocAccount(DEV_BALANCE)},
        account_rules=contract_address(admin_address, 0),
        bootstrap_admins=(admin_address,),
    )
    node = Node(NodeConfig(genesis=genesis, dev=True))
    server = serve_in_thread(node)
    try:
        chain: Chain = connect_rpc(server.url)
        admin = chain.dev_accounts[0]
        suite = deploy_suite(chain, admin, manifest_path=tmp_path / "deployment.json")
        rules = suite.contract("AccountRules")
        refused = f"sender {member.address.lower()} is not permitted"
        nonce = 0

        def attempt() -> bool:
            nonlocal nonce
            reply = _transfer(server.url, member, nonce)
            if "result" in reply:
                nonce += 1
                return True
            assert reply["error"]["message"] == refused, reply  # type: ignore[index]
            return False

        assert not attempt()
        chain.transact(rules.functions.admit(member.address), admin)
        assert attempt() and attempt()
        chain.transact(rules.functions.suspend(member.address), admin)
        assert not attempt()
        chain.transact(rules.functions.reinstate(member.address), admin)
        assert attempt()
        chain.transact(rules.functions.remove(member.address), admin)
        assert not attempt()
        assert int(call(server.url, "eth_getTransactionCount", member.address)["result"], 16) == 3
    finally:
        server.shutdown()
        server.server_close()
        node.close()
