"""The pool behaves as clients expect (issue 15, item 7): future nonces are queued and promoted
when the gap fills, a fee bump of 10% replaces a pending transaction (and the replaced hash says
so), and the queue is bounded, with a readable reason for what it evicts."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from collective.node import Node, NodeConfig, pool
from collective.node.dev import dev_keys
from collective.node.server import serve_in_thread
from tests.node.test_node_rpc import CHAIN_ID, error, ok

FEE, TIP = 10**10, 10**9


def signed(account: LocalAccount, nonce: int, **fields: Any) -> str:
    tx: dict[str, Any] = {
        "chainId": CHAIN_ID, "nonce": nonce, "to": "0x" + "22" * 20, "value": 1, "gas": 21000,
        "maxFeePerGas": FEE, "maxPriorityFeePerGas": TIP,
    }  # fmt: skip
    tx.update(fields)
    return "0x" + bytes(account.sign_transaction(tx).raw_transaction).hex()


@pytest.fixture
def accounts() -> list[LocalAccount]:
    return [Account.from_key(key) for key in dev_keys(3)]


@pytest.fixture
def held() -> Node:
    """A node that seals only when told (a block time, never started)."""
    return Node(NodeConfig(dev=True, block_time=3600))


def test_twenty_concurrent_sends_from_one_account_are_all_mined(
    accounts: list[LocalAccount],
) -> None:
    node = Node(NodeConfig(dev=True))
    server = serve_in_thread(node)
    try:
        raws = [signed(accounts[0], n) for n in range(20)]
        answers: list[Any] = [None] * 20
        start = threading.Barrier(20)

        def send(index: int) -> None:
            body = {"jsonrpc": "2.0", "id": index, "method": "eth_sendRawTransaction"}
            start.wait()
            reply = requests.post(server.url, json={**body, "params": [raws[index]]}, timeout=30)
            answers[index] = reply.json()

        threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all("result" in answer for answer in answers), answers
        for answer in answers:
            receipt = ok(node, "eth_getTransactionReceipt", answer["result"])
            assert receipt is not None and receipt["status"] == "0x1"
        assert ok(node, "eth_getTransactionCount", accounts[0].address, "latest") == hex(20)
    finally:
        server.shutdown()
        server.server_close()
        node.close()


def test_out_of_order_nonces_are_queued_then_mined_in_order(
    held: Node, accounts: list[LocalAccount]
) -> None:
    sender = accounts[0].address
    late = [ok(held, "eth_sendRawTransaction", signed(accounts[0], n)) for n in (3, 1, 2)]
    assert ok(held, "eth_getTransactionCount", sender, "pending") == "0x0"  # a gap: queued
    assert ok(held, "eth_getBlockTransactionCountByNumber", "pending") == "0x0"
    queued = ok(held, "eth_getTransactionByHash", late[0])
    assert queued["blockNumber"] is None and queued["nonce"] == "0x3"
    assert error(held, "eth_sendRawTransaction", signed(accounts[0], 2))["message"] == (
        "already known"
    )
    first = ok(held, "eth_sendRawTransaction", signed(accounts[0], 0))  # fills the gap
    assert ok(held, "eth_getTransactionCount", sender, "pending") == "0x4"
    held.chain.seal()
    hashes = [first, late[1], late[2], late[0]]  # nonces 0, 1, 2, 3
    receipts = [ok(held, "eth_getTransactionReceipt", h) for h in hashes]
    assert [r["transactionIndex"] for r in receipts] == ["0x0", "0x1", "0x2", "0x3"]
    assert all(r["status"] == "0x1" for r in receipts)


def test_replacement_needs_ten_percent_on_both_fees(
    held: Node, accounts: list[LocalAccount]
) -> None:
    account = accounts[0]
    old = ok(held, "eth_sendRawTransaction", signed(account, 0))
    for fee, tip in ((FEE * 109 // 100, TIP * 2), (FEE * 2, TIP * 109 // 100), (FEE, TIP * 3)):
        refused = error(
            held,
            "eth_sendRawTransaction",
            signed(account, 0, maxFeePerGas=fee, maxPriorityFeePerGas=tip, value=2),
        )
        assert refused["code"] == -32000
        assert refused["message"].startswith("replacement transaction underpriced")
    new = ok(
        held,
        "eth_sendRawTransaction",
        signed(account, 0, maxFeePerGas=FEE * 110 // 100, maxPriorityFeePerGas=TIP * 110 // 100),
    )
    gone = error(held, "eth_getTransactionByHash", old)
    assert gone["code"] == -32000
    assert gone["message"] == (
        f"transaction {old} was dropped: replaced by transaction {new} (same sender and nonce, "
        f"higher fees)"
    )
    assert gone["data"]["nonce"] == "0x0"
    # a queued transaction is replaced the same way
    queued = ok(held, "eth_sendRawTransaction", signed(account, 2))
    bumped = ok(held, "eth_sendRawTransaction", signed(account, 2, maxFeePerGas=FEE * 3,
                                                        maxPriorityFeePerGas=TIP * 3))  # fmt: skip
    assert (
        "replaced by transaction " + bumped
        in error(held, "eth_getTransactionByHash", queued)["message"]
    )
    ok(held, "eth_sendRawTransaction", signed(account, 1))
    held.chain.seal()
    assert ok(held, "eth_getTransactionReceipt", new)["status"] == "0x1"
    assert ok(held, "eth_getTransactionReceipt", bumped)["status"] == "0x1"
    assert ok(held, "eth_getTransactionReceipt", old) is None
    assert ok(held, "eth_getTransactionCount", account.address, "latest") == "0x3"


def test_queue_bounds_per_sender_and_in_all(
    held: Node, accounts: list[LocalAccount], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = accounts[0]
    limit = pool.MAX_QUEUED_PER_SENDER
    hashes = {
        n: ok(held, "eth_sendRawTransaction", signed(account, n)) for n in range(2, limit + 2)
    }
    full = error(held, "eth_sendRawTransaction", signed(account, limit + 2))
    assert full["code"] == -32000 and full["message"].startswith("txpool is full")
    ok(held, "eth_sendRawTransaction", signed(account, 1))  # below the rest: evicts the highest
    evicted = error(held, "eth_getTransactionByHash", hashes[limit + 1])
    assert "was dropped: evicted from the queue" in evicted["message"]
    ok(held, "eth_sendRawTransaction", signed(account, 0))
    assert ok(held, "eth_getTransactionCount", account.address, "pending") == hex(limit + 1)
    assert held.chain.pending.queued_count == 0

    monkeypatch.setattr(pool, "MAX_QUEUED", 3)
    other, third = accounts[1], accounts[2]
    many = [ok(held, "eth_sendRawTransaction", signed(other, n)) for n in (5, 6, 7)]
    # the queue is full: a sender queueing less takes the place of the one queueing most
    ok(held, "eth_sendRawTransaction", signed(third, 5))
    assert (
        "the pool queues at most 3" in error(held, "eth_getTransactionByHash", many[2])["message"]
    )
    refused = error(held, "eth_sendRawTransaction", signed(other, 8))
    assert refused["message"].startswith("txpool is full")
    assert held.chain.pending.queued_count == 3


def test_dropped_sender_takes_its_queued_transactions_along(
    held: Node, accounts: list[LocalAccount]
) -> None:
    account = accounts[0]
    balance = int(ok(held, "eth_getBalance", account.address, "latest"), 16)
    spend = ok(held, "eth_sendRawTransaction", signed(account, 0, value=balance - 21000 * FEE))
    big = ok(held, "eth_sendRawTransaction", signed(account, 1, value=10**18))  # judged alone
    queued = ok(held, "eth_sendRawTransaction", signed(account, 3))
    held.chain.seal()
    assert ok(held, "eth_getTransactionReceipt", spend)["status"] == "0x1"
    assert "no longer applies" in error(held, "eth_getTransactionByHash", big)["message"]
    follows = error(held, "eth_getTransactionByHash", queued)["message"]
    assert f"it follows transaction {big} of its sender" in follows
    assert held.chain.pending.queued_count == 0 and not held.chain.pending.raw


def _batch(url: str, *calls: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    body = [
        {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
        for i, (method, params) in enumerate(calls)
    ]
    replies: list[dict[str, Any]] = requests.post(url, json=body, timeout=30).json()
    return sorted(replies, key=lambda reply: reply["id"])


def _hash(raw: str) -> str:
    return "0x" + keccak(bytes.fromhex(raw[2:])).hex()


def test_a_read_after_a_send_in_one_batch_sees_the_sealed_block(
    accounts: list[LocalAccount], tmp_path: Path
) -> None:
    """Instant sealing (issue 11, item 5): a client's "send, then fetch the receipt" in one
    JSON-RPC batch gets the receipt; the sends before a read share one block."""
    node = Node(NodeConfig(dev=True, data_dir=tmp_path / "chain"))
    server = serve_in_thread(node)
    try:
        first, second, later = (
            signed(accounts[0], 0),
            signed(accounts[1], 0),
            signed(accounts[0], 1),
        )
        replies = _batch(
            server.url,
            ("eth_sendRawTransaction", [first]),
            ("eth_sendRawTransaction", [second]),
            ("eth_getTransactionReceipt", [_hash(first)]),
            ("eth_getTransactionByHash", [_hash(second)]),
            ("eth_blockNumber", []),
            ("eth_sendRawTransaction", [later]),
            ("eth_getTransactionReceipt", [_hash(later)]),
        )
        assert [reply.get("result") for reply in (replies[0], replies[1], replies[5])] == [
            _hash(first),
            _hash(second),
            _hash(later),
        ]
        receipt, tx = replies[2]["result"], replies[3]["result"]
        assert receipt["status"] == "0x1" and receipt["blockNumber"] == "0x1"
        assert tx["blockNumber"] == "0x1"  # both sends before the first read: one block
        assert replies[4]["result"] == "0x1"
        assert replies[6]["result"]["blockNumber"] == "0x2"
    finally:
        server.shutdown()
        server.server_close()
        node.close()


def test_interval_sealing_does_not_seal_for_a_read(accounts: list[LocalAccount]) -> None:
    """With --block-time, blocks come on the period only: a receipt asked for in the batch
    that sent the transaction is null, and the transaction waits in the pool."""
    node = Node(NodeConfig(dev=True, block_time=3600))
    server = serve_in_thread(node)
    try:
        raw = signed(accounts[0], 0)
        replies = _batch(
            server.url,
            ("eth_sendRawTransaction", [raw]),
            ("eth_getTransactionReceipt", [_hash(raw)]),
        )
        assert replies[0]["result"] == _hash(raw) and replies[1]["result"] is None
        assert node.chain.head.block_number == 0 and len(node.chain.pending.txs) == 1
    finally:
        server.shutdown()
        server.server_close()
        node.close()
