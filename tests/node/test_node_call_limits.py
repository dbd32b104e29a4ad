"""eth_call and eth_estimateGas within limits: a gas cap and a time budget per call and per
batch (geth's --rpc.gascap 50,000,000 and --rpc.evmtimeout 5 s), with geth's messages; and a
slow call holds up no other client (it runs outside the chain lock, on a read-only view).

The load is the issue's: a 2 KB batch of 20 calls to a contract that loops forever
(``JUMPDEST PUSH1 0 JUMP``, 0x5b600056). It took 16 s, and eth_blockNumber from another client
took up to 6 s meanwhile."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collective.node import Node, NodeConfig
from collective.node.limits import RPC_BATCH_TIMEOUT, RPC_GAS_CAP
from collective.node.server import RpcServer, serve_in_thread
from tests.node.conftest import call

CALL_TIMEOUT = 1.0
LOOP_INIT = "0x635b600056600052" + "6004601cf3"  # returns the runtime code 0x5b600056


@pytest.fixture(scope="module")
def looping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RpcServer, str]]:
    data_dir: Path = tmp_path_factory.mktemp("limits") / "chain"
    # 50M gas of this loop runs ~3 s here: a budget of 1 s per call shows the abort
    node = Node(NodeConfig(dev=True, data_dir=data_dir, call_timeout=CALL_TIMEOUT))
    server = serve_in_thread(node)
    sender = call(server.url, "eth_accounts")["result"][0]
    tx = {"from": sender, "data": LOOP_INIT, "gas": "0x30000"}
    tx_hash = call(server.url, "eth_sendTransaction", tx)["result"]
    receipt = call(server.url, "eth_getTransactionReceipt", tx_hash)["result"]
    address = receipt["contractAddress"]
    assert call(server.url, "eth_getCode", address, "latest")["result"] == "0x5b600056"
    try:
        yield server, address
    finally:
        server.shutdown()
        server.server_close()
        node.close()


def _loop_call(address: str, request_id: int, method: str = "eth_call") -> dict[str, Any]:
    params: list[Any] = [{"to": address, "data": "0x"}]
    if method == "eth_call":
        params.append("latest")
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def test_a_looping_call_is_aborted_with_geths_message(looping: tuple[RpcServer, str]) -> None:
    server, address = looping
    # with a gas amount that would take minutes: the time budget ends it
    body = _loop_call(address, 1)
    body["params"][0]["gas"] = hex(2**62)
    started = time.monotonic()
    answer = requests.post(server.url, json=body, timeout=60).json()
    took = time.monotonic() - started
    assert answer["error"] == {"code": -32000, "message": "execution aborted (timeout = 1s)"}
    assert CALL_TIMEOUT <= took < CALL_TIMEOUT + 1, took
    # a gas amount above the cap runs with the cap (50,000,000 gas: out of gas, or the clock)
    body["params"][0]["gas"] = hex(RPC_GAS_CAP)
    capped = requests.post(server.url, json=body, timeout=60).json()["error"]["message"]
    assert "out of gas" in capped.lower() or capped.startswith("execution aborted"), capped


def test_a_batch_of_looping_calls_shares_one_budget(looping: tuple[RpcServer, str]) -> None:
    server, address = looping
    batch = [_loop_call(address, i) for i in range(20)]
    batch[0]["params"][0]["gas"] = hex(2**62)
    batch[1] = _loop_call(address, 1, "eth_estimateGas")
    assert len(json.dumps(batch)) < 3000
    started = time.monotonic()
    answers = requests.post(server.url, json=batch, timeout=120).json()
    took = time.monotonic() - started
    assert took < RPC_BATCH_TIMEOUT + 2, took
    assert len(answers) == 20
    assert all("error" in answer for answer in answers), answers
    messages = [answer["error"]["message"] for answer in answers]
    # each call runs until its own budget ends, until the batch's 5 s are spent; the rest
    # are not started
    assert messages[0] == "execution aborted (timeout = 1s)", messages
    assert messages[-1] == "request timed out: the batch spent its 5s for calls", messages
    assert {a["error"]["code"] for a in answers} <= {-32000, -32002}, answers


def test_other_clients_stay_fast_while_calls_loop(looping: tuple[RpcServer, str]) -> None:
    server, address = looping
    batch = [_loop_call(address, i) for i in range(20)]
    done = threading.Event()

    def load() -> None:
        try:
            for _ in range(3):
                requests.post(server.url, json=batch, timeout=120)
        finally:
            done.set()

    workers = [threading.Thread(target=load)]  # the load: one client's batches
    for worker in workers:
        worker.start()
    time.sleep(0.3)
    latencies: list[float] = []
    session = requests.Session()
    probe: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
    balance: dict[str, Any] = {"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance",
               "params": [address, "latest"]}  # fmt: skip
    while not done.is_set() and len(latencies) < 400:
        for body in (probe, balance):
            started = time.monotonic()
            answer = session.post(server.url, json=body, timeout=30).json()
            latencies.append(time.monotonic() - started)
            assert "result" in answer, answer
        time.sleep(0.01)
    for worker in workers:
        worker.join()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    p50, top = latencies[len(latencies) // 2], latencies[-1]
    print(f"probe: {len(latencies)}, p50 {p50:.3f} s, p99 {p99:.3f} s, max {top:.3f} s")
    assert len(latencies) >= 50
    assert p99 < 0.3, f"p99 {p99 * 1000:.0f} ms"  # 1.4-6.2 s before
