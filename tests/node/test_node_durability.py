"""Kill -9 under load and restart, repeatedly: every sealed transaction whose hash was returned
is still there, the head is consistent, and startup does not replay history."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from eth_account import Account

from collective.node.dev import DevAccounts
from tests.node.conftest import NodeProcess, call

CHAIN_ID = 131277


def _sign_transfers(count: int) -> list[str]:
    senders = [Account.from_key(key) for key in DevAccounts.create(4).keys.values()]
    raws = []
    for i in range(count):
        sender = senders[i % len(senders)]
        tx = {
            "chainId": CHAIN_ID, "nonce": i // len(senders), "to": "0x" + "44" * 20,
            "value": 1, "gas": 21000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1,
        }  # fmt: skip
        raws.append("0x" + bytes(sender.sign_transaction(tx).raw_transaction).hex())
    return raws


@pytest.mark.slow
def test_sigkill_under_load_loses_nothing_answered(
    tmp_path: Path, spawn_node: Callable[[list[str]], NodeProcess]
) -> None:
    data_dir = tmp_path / "chain"
    raws = _sign_transfers(1200)
    answered: dict[str, str] = {}  # tx hash -> raw
    position = 0
    for round_number in range(4):
        node = spawn_node(["--data-dir", str(data_dir), "--dev"])
        head_before = int(call(node.url, "eth_blockNumber")["result"], 16)
        # every transaction answered before the previous kill is there, with its receipt
        for tx_hash in list(answered):
            receipt = call(node.url, "eth_getTransactionReceipt", tx_hash)["result"]
            assert receipt is not None and receipt["status"] == "0x1", tx_hash
            assert int(receipt["blockNumber"], 16) <= head_before
        block = call(node.url, "eth_getBlockByNumber", hex(head_before), False)["result"]
        assert block is not None and int(block["number"], 16) == head_before
        stop = threading.Event()

        def load(start: int, url: str = node.url, stop: threading.Event = stop) -> None:
            session = requests.Session()
            index = start
            while not stop.is_set() and index < len(raws):
                chunk = raws[index : index + 20]
                body = [
                    {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
                     "params": [raw]} for i, raw in enumerate(chunk)
                ]  # fmt: skip
                try:
                    replies = session.post(url, json=body, timeout=30).json()
                except (requests.RequestException, ValueError):
                    return
                for raw, reply in zip(chunk, replies, strict=True):
                    if "result" in reply:
                        answered[reply["result"]] = raw
                index += len(chunk)

        # resume where the last round's answered transactions end (nonces are sequential)
        position = len(answered)
        worker = threading.Thread(target=load, args=(position,))
        worker.start()
        time.sleep(0.4 + 0.25 * round_number)
        node.kill()  # SIGKILL, mid-batch
        stop.set()
        worker.join()
    node = spawn_node(["--data-dir", str(data_dir), "--dev"])
    started = time.monotonic()
    assert "result" in call(node.url, "eth_blockNumber")
    assert time.monotonic() - started < 2
    head = int(call(node.url, "eth_blockNumber")["result"], 16)
    for tx_hash in answered:
        receipt = call(node.url, "eth_getTransactionReceipt", tx_hash)["result"]
        assert receipt is not None, f"{tx_hash} was answered but is gone"
        assert int(receipt["blockNumber"], 16) <= head
    assert len(answered) > 0
