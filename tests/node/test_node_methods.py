"""Methods standard tools call (issue 15, item 8): exact gas estimates,
eth_getRawTransactionByHash, eth_createAccessList, debug_traceTransaction's call tracer,
eth_getProof, and the WebSocket endpoint with eth_subscribe."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from collective.node import Genesis, Node, NodeConfig
from collective.node.dev import dev_keys
from collective.node.genesis import AllocAccount
from tests.node.test_node_rpc import CHAIN_ID, error, ok

CALLEE = bytes.fromhex("00000000000000000000000000000000000c0ee0")
CALLER = bytes.fromhex("00000000000000000000000000000000000ca11e")
# callee: SSTORE(0, 1); LOG1(0, 0, topic 0x..aa); STOP
CALLEE_CODE = bytes.fromhex("6001600055" + "60aa60006000a1" + "00")
# caller: CALL(gas, CALLEE, 0, 0, 0, 0, 0); revert if it failed
CALLER_CODE = bytes.fromhex("5f5f5f5f5f73" + CALLEE.hex() + "5af115602157005b5f5ffd")


def signed(account: LocalAccount, nonce: int, **fields: Any) -> str:
    tx: dict[str, Any] = {
        "chainId": CHAIN_ID, "nonce": nonce, "to": "0x" + "22" * 20, "value": 1, "gas": 21000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    tx.update(fields)
    return "0x" + bytes(account.sign_transaction(tx).raw_transaction).hex()


@pytest.fixture
def account() -> LocalAccount:
    return Account.from_key(dev_keys(1)[0])


@pytest.fixture
def node() -> Node:
    genesis = Genesis(
        alloc={
            CALLEE: AllocAccount(code=CALLEE_CODE),
            CALLER: AllocAccount(code=CALLER_CODE, storage={7: 9}),
        }
    )
    return Node(NodeConfig(dev=True, genesis=genesis))


def test_estimate_is_the_lowest_gas_that_does_not_fail(node: Node, account: LocalAccount) -> None:
    transfer = {"from": account.address, "to": "0x" + "33" * 20, "value": "0x1"}
    assert ok(node, "eth_estimateGas", transfer) == hex(21000)
    call = {"from": account.address, "to": "0x" + CALLER.hex()}
    gas = int(ok(node, "eth_estimateGas", call), 16)
    assert ok(node, "eth_call", {**call, "gas": hex(gas)}, "latest") == "0x"
    assert error(node, "eth_call", {**call, "gas": hex(gas - 1)}, "latest")
    # and a transaction sent with exactly that gas is mined
    tx_hash = ok(
        node, "eth_sendRawTransaction", signed(account, 0, to=to_checksum_address(CALLER), gas=gas)
    )
    assert ok(node, "eth_getTransactionReceipt", tx_hash)["status"] == "0x1"
