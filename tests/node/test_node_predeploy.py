"""A genesis that carries the contract suite's deployment (collective.node.predeploy)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account

from collective.chain import Chain, connect_rpc
from collective.deploy import Deployment, deploy_suite
from collective.errors import ConfigurationError
from collective.node.dev import DevAccounts
from collective.node.genesis import Genesis, build_genesis
from collective.node.predeploy import predeploy
from collective.testing.node import run_node_thread

ADMIN, ORG = (Account.from_key(k) for k in list(DevAccounts.create().keys.values())[:2])


@pytest.fixture(scope="module")
def suite_genesis(tmp_path_factory: pytest.TempPathFactory) -> tuple[Genesis, Deployment]:
    admin = ADMIN
    base = build_genesis(bootstrap_admins=[bytes.fromhex(admin.address[2:])], dev=True)
    manifest = tmp_path_factory.mktemp("predeploy") / "manifest.json"

    def deploy(chain: Chain) -> Deployment:
        return deploy_suite(chain, admin, manifest_path=manifest)

    return predeploy(base, deploy)


def test_block_0_holds_the_suite_with_its_events(suite_genesis: tuple[Genesis, Deployment]) -> None:
    genesis, deployment = suite_genesis
    assert len(genesis.transactions) >= 5
    again = Genesis.from_json(genesis.to_json())
    assert again == genesis  # the transactions survive the genesis file
    with run_node_thread(genesis=genesis, dev=True) as url:
        chain = connect_rpc(url)
        assert chain.block_number() == 0
        block = chain.get_block(0)
        assert len(block["transactions"]) == len(genesis.transactions)
        for name in ("AccountRules", "ConsentLedger", "OversightBoard"):
            address = deployment.contract(name).address
            assert chain.code_at(address) != b"", name
        rules = deployment.contract("AccountRules").address
        logs = chain.get_logs({"fromBlock": 0, "toBlock": 0, "address": rules})
        assert logs, "the deployment's events are in block 0's logs"
        receipt = chain.get_transaction_receipt(block["transactions"][0])
        assert receipt["status"] == 1 and receipt["blockNumber"] == 0
        # the deployment works: the admin admits an organization in block 1
        rules_contract = deployment.contract("AccountRules")
        chain.transact(rules_contract.functions.admit(ORG.address), ADMIN)
        assert chain.call(rules_contract.functions.isActive(ORG.address)) is True


def test_two_nodes_build_the_same_block_0(suite_genesis: tuple[Genesis, Deployment]) -> None:
    genesis, _ = suite_genesis
    hashes = []
    for _ in range(2):
        with run_node_thread(genesis=genesis) as url:
            hashes.append(connect_rpc(url).get_block(0)["hash"])
    assert hashes[0] == hashes[1]


def test_a_genesis_transaction_that_does_not_apply_is_refused(
    suite_genesis: tuple[Genesis, Deployment], tmp_path: Path
) -> None:
    genesis, _ = suite_genesis
    twice = replace(genesis, transactions=genesis.transactions + genesis.transactions[:1])
    with (
        pytest.raises(ConfigurationError, match=r"genesis transaction \d+ does not apply"),
        run_node_thread(genesis=twice),
    ):
        pass
    garbage = replace(genesis, transactions=(b"\x01\x02",))
    with (
        pytest.raises(ConfigurationError, match="genesis transaction 0 is not a signed"),
        run_node_thread(genesis=garbage),
    ):
        pass
