"""The pool's journal (collective.node.storage.journal): in instant mode the HTTP server
answers a transaction's hash before it seals its block, so the pool is written to the chain
database before the answer goes out, and a node killed in between pools the transaction
again at its next start; a read on any connection sees the block of every write answered
before it."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import requests
from eth_account import Account

from collective.node import Node, NodeConfig
from collective.node.dev import DevAccounts
from collective.node.rpc import handle_body
from collective.node.server import serve_in_thread

CHAIN_ID = 131277
SENDER = Account.from_key(next(iter(DevAccounts.create(1).keys.values())))


def transfer(nonce: int, value: int = 1, fee: int = 10**11) -> str:
    tx = {
        "chainId": CHAIN_ID, "nonce": nonce, "to": "0x" + "44" * 20, "value": value,
        "gas": 21000, "maxFeePerGas": fee, "maxPriorityFeePerGas": fee // 10**10,
    }  # fmt: skip
    return "0x" + bytes(SENDER.sign_transaction(tx).raw_transaction).hex()


def answer(node: Node, method: str, *params: Any, seal: bool = True) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    reply = json.loads(handle_body(node, body.encode(), seal=seal) or "null")
    assert "error" not in reply, reply
    return reply["result"]


def killed(node: Node) -> None:
    """What SIGKILL leaves: the database as written, nothing sealed or flushed on the way
    out (Node.close would seal the pool)."""
    node.chain.store.close()


def test_a_transaction_answered_before_its_block_survives_a_kill(tmp_path: Path) -> None:
    node = Node(NodeConfig(dev=True, data_dir=tmp_path))
    tx_hash = answer(node, "eth_sendRawTransaction", transfer(0), seal=False)
    assert node.chain.pending.txs  # answered, not sealed: the server seals after the answer
    head = node.chain.head.block_number
    killed(node)
    again = Node(NodeConfig(dev=True, data_dir=tmp_path))
    try:
        receipt = answer(again, "eth_getTransactionReceipt", tx_hash)
        assert receipt is not None and receipt["status"] == "0x1"
        assert int(receipt["blockNumber"], 16) == head + 1
        assert again.chain.store.journal.entries() == []  # its row went with its block
    finally:
        again.close()


def test_journal_rows_follow_the_pool(tmp_path: Path) -> None:
    node = Node(NodeConfig(dev=True, data_dir=tmp_path, block_time=3600))
    try:
        first = answer(node, "eth_sendRawTransaction", transfer(0, fee=10**11))
        gap = answer(node, "eth_sendRawTransaction", transfer(2))  # queued: nonce 1 missing
        journal = node.chain.store.journal

        def rows() -> list[str]:
            return ["0x" + h.hex() for h, _ in journal.entries()]

        assert rows() == [first, gap]
        # a replacement (same nonce, higher fees) takes its row's place
        bumped = answer(node, "eth_sendRawTransaction", transfer(0, fee=2 * 10**11))
        assert rows() == [gap, bumped]
        with node.chain.lock:
            node.sealer.seal(everything=False)  # type: ignore[attr-defined]
        # mined: its row is gone; the queued one waits on
        assert rows() == [gap]
    finally:
        node.close()


def test_a_journaled_transaction_refused_at_restart_is_dropped(tmp_path: Path) -> None:
    node = Node(NodeConfig(dev=True, data_dir=tmp_path))
    stale = transfer(0)
    answer(node, "eth_sendRawTransaction", stale)  # sealed: nonce 0 is used
    with node.chain.lock:  # a row left behind (as by a kill between commit and flush)
        node.chain.store.journal.write([(b"\x01" * 32, bytes.fromhex(stale[2:]))], [])
    killed(node)
    again = Node(NodeConfig(dev=True, data_dir=tmp_path))
    try:
        assert again.chain.pending.txs == []
        assert again.chain.store.journal.entries() == []
    finally:
        again.close()


def test_a_read_on_another_connection_sees_a_block_answered_for(tmp_path: Path) -> None:
    """The server seals after answering; a read arriving on another connection in between
    seals first (or waits for the seal under way), so it sees the transaction mined."""
    node = Node(NodeConfig(dev=True, data_dir=tmp_path))
    server = serve_in_thread(node)
    try:
        url = server.url
        seen: list[Any] = []

        def send_then_read(nonce: int) -> None:
            with requests.Session() as writer, requests.Session() as reader:
                body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1,
                                        "method": "eth_sendRawTransaction",
                                        "params": [transfer(nonce)]}  # fmt: skip
                tx_hash = writer.post(url, json=body, timeout=30).json()["result"]
                body = {"jsonrpc": "2.0", "id": 2, "method": "eth_getTransactionReceipt",
                        "params": [tx_hash]}  # fmt: skip
                seen.append(reader.post(url, json=body, timeout=30).json()["result"])

        for nonce in range(20):
            worker = threading.Thread(target=send_then_read, args=(nonce,))
            worker.start()
            worker.join()
        assert len(seen) == 20 and all(r is not None and r["status"] == "0x1" for r in seen)
    finally:
        server.shutdown()
        server.server_close()
        node.close()


def test_a_dev_revert_empties_the_journal_with_the_pool(tmp_path: Path) -> None:
    """``evm_revert`` forgets the pool; its journal rows go too, so a restart does not pool
    the reverted transactions again."""
    node = Node(NodeConfig(dev=True, data_dir=tmp_path, block_time=3600))
    try:
        snap = answer(node, "evm_snapshot")
        answer(node, "eth_sendRawTransaction", transfer(0))
        assert node.chain.store.journal.entries()
        assert answer(node, "evm_revert", snap) is True
        assert node.chain.store.journal.entries() == []
    finally:
        node.close()
