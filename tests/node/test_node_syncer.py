"""The WAL fsynced off the sealing path (collective.node.storage.syncer): a block is served
only once it is on disk, and an fsync that fails stops the node serving and committing."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from collective.node import Node, NodeConfig
from collective.node.rpc.dispatch import handle_body
from collective.node.storage import StorageError
from collective.node.storage.syncer import WalSyncer


def _call(node: Node, method: str, *params: Any) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    answer = handle_body(node, body.encode())
    assert answer is not None
    return json.loads(answer)


def _transfer(node: Node) -> bytes:
    assert node.dev is not None
    sender = Account.from_key(next(iter(node.dev.keys.values())))
    tx = {
        "chainId": node.chain.chain_id, "nonce": 0, "to": "0x" + "44" * 20, "value": 1,
        "gas": 21000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1,
    }  # fmt: skip
    return bytes(sender.sign_transaction(tx).raw_transaction)


def test_a_block_is_served_only_once_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = Node(NodeConfig(dev=True, data_dir=tmp_path / "chain"))
    release = threading.Event()
    fsync = WalSyncer._fsync

    def slow(syncer: WalSyncer) -> str | None:
        release.wait(10)
        return fsync(syncer)

    try:
        node.chain.store.wait_durable()  # the genesis block
        monkeypatch.setattr(WalSyncer, "_fsync", slow)
        sent = _call(node, "eth_sendRawTransaction", "0x" + _transfer(node).hex())["result"]
        assert node.chain.head.block_number == 1  # written: the hash is answered
        assert not node.chain.store._syncer.durable  # type: ignore[union-attr]
        answers: list[Any] = []
        reader = threading.Thread(
            target=lambda: answers.append(_call(node, "eth_getTransactionReceipt", sent))
        )
        reader.start()
        reader.join(0.3)
        assert reader.is_alive() and not answers  # the read waits for the disk
        release.set()
        reader.join(10)
        assert answers[0]["result"]["blockNumber"] == "0x1"
    finally:
        release.set()
        node.close()


def test_a_failed_fsync_stops_serving_and_committing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = Node(NodeConfig(dev=True, data_dir=tmp_path / "chain"))
    node.chain.store.wait_durable()  # the genesis block
    monkeypatch.setattr(WalSyncer, "_fsync", lambda syncer: "cannot fsync: EIO")
    sent = _call(node, "eth_sendRawTransaction", "0x" + _transfer(node).hex())["result"]
    answer = _call(node, "eth_getTransactionReceipt", sent)
    assert "error" in answer and "cannot fsync: EIO" in answer["error"]["message"]
    with pytest.raises(StorageError, match="cannot fsync"):
        node.chain.store.wait_durable()
    with pytest.raises(StorageError, match="cannot fsync"):
        node.close()
