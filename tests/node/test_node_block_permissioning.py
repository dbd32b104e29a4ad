"""Permissioning holds at the block, not only at the door.

A transaction is admitted to the pool against the head state; by the time it is sealed the
head may have moved on, and AccountRules with it. Every transaction in a block must be
permitted at that block's starting state, so transactions of an organization suspended in the
meantime are dropped from the pool instead of mined, and a client reads why from
``eth_getTransactionByHash`` (its receipt stays null). Transactions that no longer apply for any
other reason (an earlier one spent the funds) are dropped the same way, with py-evm's reason.

The scenario of the report, made deterministic: the lab's transactions each need most of a
block's gas, so the block that carries the admin's suspension has no room for them and they
wait for the next block, whose starting state has the lab suspended. It runs on a timed node
(blocks sealed by ``evm_mine`` instead of a clock) and on an instant node fed one batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from collective.chain import connect_rpc
from collective.deploy import deploy_suite
from collective.node import Genesis, Node, NodeConfig
from collective.node.dev import DevAccounts
from collective.node.genesis import DEFAULT_GAS_LIMIT, DEV_BALANCE, AllocAccount, contract_address
from collective.node.rpc import handle_body
from collective.node.server import serve_in_thread

CHAIN_ID = 131277
# the lab's transactions: too big to share a block with anything using more than 10,000 gas
BIG_GAS = DEFAULT_GAS_LIMIT - 10_000


@dataclass
class Setup:
    data_dir: Path
    genesis: Genesis
    admin: str
    lab: LocalAccount
    member: LocalAccount
    rules: Contract


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """A chain on disk with AccountRules deployed and the lab and a member admitted."""
    tmp = tmp_path_factory.mktemp("block-permissioning")
    admin_address = DevAccounts.create(1).addresses[0]
    lab, member = Account.create(), Account.create()
    genesis = Genesis(
        alloc={bytes.fromhex(a.address[2:]): AllocAccount(DEV_BALANCE) for a in (lab, member)},
        account_rules=contract_address(admin_address, 0),
        bootstrap_admins=(admin_address,),
    )
    node = Node(NodeConfig(genesis=genesis, data_dir=tmp / "chain", dev=True, sync="normal"))
    server = serve_in_thread(node)
    try:
        chain = connect_rpc(server.url)
        admin = chain.dev_accounts[0]
        suite = deploy_suite(chain, admin, manifest_path=tmp / "deployment.json")
        rules = suite.contract("AccountRules")
        for account in (lab, member):
            chain.transact(rules.functions.admit(account.address), admin)
    finally:
        server.shutdown()
        server.server_close()
        node.close()
    return Setup(tmp / "chain", genesis, admin.address, lab, member, rules)


def _open(setup: Setup, tmp_path: Path, *, timed: bool) -> Node:
    """A node on a copy of the deployed chain (each test starts from the same state)."""
    import shutil

    copy = tmp_path / "chain"
    shutil.copytree(setup.data_dir, copy)
    config = NodeConfig(
        genesis=setup.genesis,
        data_dir=copy,
        dev=True,
        sync="normal",
        block_time=3 if timed else None,
    )
    return Node(config)  # a timed node's clock is not started: evm_mine seals its blocks


@pytest.fixture(params=["timed", "instant"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def node_for(deployed: Setup, tmp_path: Path) -> Iterator[Any]:
    opened: list[Node] = []

    def open_node(timed: bool) -> Node:
        node = _open(deployed, tmp_path, timed=timed)
        opened.append(node)
        return node

    yield open_node
    for node in opened:
        node.close()


def request(method: str, *params: Any, id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": list(params)}


def send(node: Node, body: Any) -> Any:
    answer = handle_body(node, json.dumps(body).encode())
    assert answer is not None
    return json.loads(answer)


def ok(node: Node, method: str, *params: Any) -> Any:
    reply = send(node, request(method, *params))
    assert "error" not in reply, reply
    return reply["result"]


def error(node: Node, method: str, *params: Any) -> dict[str, Any]:
    reply = send(node, request(method, *params))
    assert "error" in reply, reply
    found: dict[str, Any] = reply["error"]
    return found


def raw_transfer(account: LocalAccount, nonce: int, *, gas: int = 21_000, value: int = 1) -> str:
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "to": "0x" + "22" * 20, "value": value,
          "gas": gas, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
    return "0x" + bytes(account.sign_transaction(tx).raw_transaction).hex()


def admin_call(setup: Setup, function: str, account: str) -> dict[str, Any]:
    data = setup.rules.encode_abi(function, [account])
    return {"from": setup.admin, "to": setup.rules.address, "data": data, "gas": hex(200_000)}


def nonce_of(node: Node, account: LocalAccount) -> int:
    return int(ok(node, "eth_getTransactionCount", account.address, "latest"), 16)


def test_transactions_of_an_org_suspended_while_they_wait_are_dropped(
    deployed: Setup, node_for: Any, mode: str
) -> None:
    timed = mode == "timed"
    node: Node = node_for(timed)
    lab, member = deployed.lab, deployed.member
    head = int(ok(node, "eth_blockNumber"), 16)
    lab_nonce, member_nonce = nonce_of(node, lab), nonce_of(node, member)
    items = [request("eth_sendTransaction", admin_call(deployed, "suspend", lab.address), id=0)]
    items += [
        request("eth_sendRawTransaction", raw_transfer(lab, lab_nonce + i, gas=BIG_GAS), id=1 + i)
        for i in range(3)
    ]
    items.append(request("eth_sendRawTransaction", raw_transfer(member, member_nonce), id=9))
    if timed:  # queued one by one, then two blocks sealed
        answers = [send(node, item) for item in items]
        assert all("result" in a for a in answers), answers
        assert ok(node, "eth_blockNumber") == hex(head)  # all of them wait in the pool
        ok(node, "evm_mine")
        ok(node, "evm_mine")
    else:  # one batch: admitted together, then sealed in as many blocks as they need
        answers = send(node, items)
        assert all("result" in a for a in answers), answers
    hashes = {a["id"]: a["result"] for a in answers}
    suspension = ok(node, "eth_getTransactionReceipt", hashes[0])
    assert suspension["status"] == "0x1" and int(suspension["blockNumber"], 16) == head + 1
    # the next block starts with the lab suspended: its transactions are not in it, nor in any
    refused_at = head + 2
    assert int(ok(node, "eth_blockNumber"), 16) == refused_at
    for i in (1, 2, 3):
        assert ok(node, "eth_getTransactionReceipt", hashes[i]) is None
    first = error(node, "eth_getTransactionByHash", hashes[1])
    assert first["code"] == -32000
    assert first["message"] == (
        f"transaction {hashes[1]} was dropped: sender {lab.address.lower()} is not permitted "
        f"by AccountRules at block {refused_at}"
    )
    assert first["data"]["block"] == hex(refused_at)
    for i in (2, 3):  # the later nonces cannot be mined after the first was dropped
        later = error(node, "eth_getTransactionByHash", hashes[i])
        assert later["message"].startswith(f"transaction {hashes[i]} was dropped: ")
        assert hashes[1] in later["message"] and "not permitted by AccountRules" in later["message"]
    # a permitted organization's transaction, queued with them, is mined
    mined = ok(node, "eth_getTransactionReceipt", hashes[9])
    assert mined["status"] == "0x1" and int(mined["blockNumber"], 16) == refused_at
    assert ok(node, "eth_getTransactionByHash", hashes[9])["blockNumber"] == hex(refused_at)
    # the pool forgot them: nothing pending, the lab's next nonce is its chain nonce again
    assert ok(node, "eth_getBlockTransactionCountByNumber", "pending") == "0x0"
    assert ok(node, "eth_getTransactionCount", lab.address, "pending") == hex(lab_nonce)
    # reinstated, the lab can send the very same transaction again, and it is mined
    ok(node, "eth_sendTransaction", admin_call(deployed, "reinstate", lab.address))
    if timed:
        ok(node, "evm_mine")
    again = ok(node, "eth_sendRawTransaction", raw_transfer(lab, lab_nonce, gas=BIG_GAS))
    assert again == hashes[1]
    if timed:
        ok(node, "evm_mine")
    assert ok(node, "eth_getTransactionReceipt", hashes[1])["status"] == "0x1"
    assert ok(node, "eth_getTransactionByHash", hashes[1])["hash"] == hashes[1]


def test_a_block_is_checked_against_its_starting_state(deployed: Setup, node_for: Any) -> None:
    """The rule CometBFT's ProcessProposal will apply: each transaction against the block's
    starting state, not against the state an earlier transaction in the block left. The lab's
    transaction sealed in the same block as its suspension is mined (it was permitted when the
    block began); the suspension binds from the next block on."""
    node: Node = node_for(False)
    lab = deployed.lab
    nonce = nonce_of(node, lab)
    answers = send(node, [
        request("eth_sendTransaction", admin_call(deployed, "suspend", lab.address), id=0),
        request("eth_sendRawTransaction", raw_transfer(lab, nonce), id=1),
    ])  # fmt: skip
    receipts = [ok(node, "eth_getTransactionReceipt", a["result"]) for a in answers]
    assert [r["status"] for r in receipts] == ["0x1", "0x1"]
    assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]
    refused = error(node, "eth_sendRawTransaction", raw_transfer(lab, nonce + 1))
    assert refused["message"] == f"sender {lab.address.lower()} is not permitted"


def test_a_transaction_that_no_longer_applies_is_dropped_with_its_reason(
    deployed: Setup, node_for: Any
) -> None:
    """Both transfers are affordable at the head, so both are admitted; sealed after the first,
    the second no longer is. It used to vanish without a trace."""
    node: Node = node_for(False)
    member = deployed.member
    nonce = nonce_of(node, member)
    balance = int(ok(node, "eth_getBalance", member.address, "latest"), 16)
    value = balance - 21_000 * 10**10  # the whole balance but the first one's fee
    answers = send(node, [
        request("eth_sendRawTransaction", raw_transfer(member, nonce, value=value), id=1),
        request("eth_sendRawTransaction", raw_transfer(member, nonce + 1, value=value), id=2),
    ])  # fmt: skip
    first, second = (a["result"] for a in answers)
    assert ok(node, "eth_getTransactionReceipt", first)["status"] == "0x1"
    assert ok(node, "eth_getTransactionReceipt", second) is None
    dropped = error(node, "eth_getTransactionByHash", second)
    assert dropped["code"] == -32000
    block = int(ok(node, "eth_blockNumber"), 16)
    assert dropped["message"].startswith(
        f"transaction {second} was dropped: it no longer applies at block {block}: "
    )
    assert ok(node, "eth_getTransactionCount", member.address, "pending") == hex(nonce + 1)


def test_a_client_waiting_for_a_dropped_transaction_is_told_why(
    deployed: Setup, node_for: Any
) -> None:
    """The client's receipt wait asks the node about a transaction it has waited on for a while
    and raises the drop reason, instead of timing out after two minutes."""
    import time

    from collective.chain import PendingTransaction
    from collective.errors import TransactionError

    node: Node = node_for(True)
    server = serve_in_thread(node)
    try:
        chain = connect_rpc(server.url)
        lab = deployed.lab
        ok(node, "eth_sendTransaction", admin_call(deployed, "suspend", lab.address))
        tx_hash = ok(
            node, "eth_sendRawTransaction", raw_transfer(lab, nonce_of(node, lab), gas=BIG_GAS)
        )
        ok(node, "evm_mine")
        ok(node, "evm_mine")
        pending = PendingTransaction(tx_hash=tx_hash, what="a transfer", tx={}, receipt=None)
        started = time.monotonic()
        with pytest.raises(
            TransactionError, match=r"was dropped: sender .* not permitted"
        ) as caught:
            chain.wait(pending)
        assert caught.value.tx_hash == tx_hash
        assert time.monotonic() - started < 10
    finally:
        server.shutdown()
        server.server_close()
