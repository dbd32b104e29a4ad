"""Methods standard tools call (issue 15, item 8): exact gas estimates,
eth_getRawTransactionByHash, eth_createAccessList, debug_traceTransaction's call tracer,
eth_getProof, and the WebSocket endpoint with eth_subscribe."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

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


def test_raw_transaction_by_hash(node: Node, account: LocalAccount) -> None:
    raw = signed(account, 0)
    tx_hash = ok(node, "eth_sendRawTransaction", raw)
    assert ok(node, "eth_getRawTransactionByHash", tx_hash) == raw
    queued = signed(account, 5)
    assert ok(node, "eth_getRawTransactionByHash", ok(node, "eth_sendRawTransaction", queued)) == (
        queued
    )
    assert ok(node, "eth_getRawTransactionByHash", "0x" + "ab" * 32) is None


def test_create_access_list(node: Node, account: LocalAccount) -> None:
    call = {"from": account.address, "to": "0x" + CALLER.hex()}
    found = ok(node, "eth_createAccessList", call)
    assert found["accessList"] == [
        {"address": "0x" + CALLEE.hex(), "storageKeys": ["0x" + "00" * 32]}
    ]
    assert "error" not in found
    # the gas it reports is what the call costs with that list (the list's intrinsic included)
    used = int(found["gasUsed"], 16)
    plain = int(ok(node, "eth_estimateGas", call), 16)
    assert abs(used - plain) < 1000 and used != plain
    transfer = ok(node, "eth_createAccessList", {"from": account.address, "to": "0x" + "33" * 20})
    assert transfer == {"accessList": [], "gasUsed": hex(21000)}


def test_call_tracer(node: Node, account: LocalAccount) -> None:
    tx_hash = ok(
        node,
        "eth_sendRawTransaction",
        signed(account, 0, to=to_checksum_address(CALLER), gas=100_000, value=0),
    )
    receipt = ok(node, "eth_getTransactionReceipt", tx_hash)
    trace = ok(node, "debug_traceTransaction", tx_hash, {"tracer": "callTracer"})
    assert trace["type"] == "CALL" and trace["from"] == account.address.lower()
    assert trace["to"] == "0x" + CALLER.hex()
    assert trace["gas"] == hex(100_000) and trace["gasUsed"] == receipt["gasUsed"]
    assert trace["input"] == "0x" and trace["value"] == "0x0"
    (inner,) = trace["calls"]
    assert inner["type"] == "CALL" and inner["from"] == "0x" + CALLER.hex()
    assert inner["to"] == "0x" + CALLEE.hex() and "error" not in inner
    assert 22_100 < int(inner["gasUsed"], 16) < int(inner["gas"], 16)
    only_top = {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}
    top = ok(node, "debug_traceTransaction", tx_hash, only_top)
    assert "calls" not in top
    logged = ok(node, "debug_traceTransaction", tx_hash,
                {"tracer": "callTracer", "tracerConfig": {"withLog": True}})  # fmt: skip
    assert logged["calls"][0]["logs"][0]["topics"] == ["0x" + "00" * 31 + "aa"]
    refused = error(node, "debug_traceTransaction", tx_hash, {"tracer": "prestateTracer"})
    assert refused["code"] == -32602 and "callTracer" in refused["message"]
    assert error(node, "debug_traceTransaction", "0x" + "ab" * 32)["code"] == -32000
    # the second transaction of a block is traced on the state the first one left: the slot
    # is set, so the callee needs less than it did (a warm no-op SSTORE), and with too little
    # gas it runs out while the caller reverts
    held = Node(NodeConfig(dev=True, genesis=node.config.genesis, block_time=3600))
    first = ok(held, "eth_sendRawTransaction", signed(account, 0, to=to_checksum_address(CALLER),
                                                     gas=100_000, value=0))  # fmt: skip
    second = ok(held, "eth_sendRawTransaction", signed(account, 1, to=to_checksum_address(CALLER),
                                                      gas=100_000, value=0))  # fmt: skip
    starved = ok(held, "eth_sendRawTransaction", signed(account, 2, to=to_checksum_address(CALLER),
                                                       gas=25_500, value=0))  # fmt: skip
    held.chain.seal()
    traces = [ok(held, "debug_traceTransaction", h) for h in (first, second, starved)]
    assert int(traces[1]["calls"][0]["gasUsed"], 16) < int(traces[0]["calls"][0]["gasUsed"], 16)
    assert traces[1]["gasUsed"] == ok(held, "eth_getTransactionReceipt", second)["gasUsed"]
    assert traces[2]["error"] == "execution reverted"
    assert traces[2]["calls"][0]["error"] == "out of gas"


def test_get_proof_verifies_against_the_state_root(node: Node, account: LocalAccount) -> None:
    import rlp
    from trie.hexary import HexaryTrie

    ok(node, "eth_sendRawTransaction", signed(account, 0))
    block = ok(node, "eth_getBlockByNumber", "latest", False)
    root = bytes.fromhex(block["stateRoot"][2:])
    for who, slots in ((account.address, []), ("0x" + CALLER.hex(), [7, 8])):
        found = ok(node, "eth_getProof", who, [hex(s) for s in slots], "latest")
        nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in found["accountProof"]]
        encoded = HexaryTrie.get_from_proof(root, keccak(bytes.fromhex(who[2:])), nodes)
        nonce, _balance, storage_root, code_hash = rlp.decode(encoded)
        assert found["nonce"] == hex(int.from_bytes(nonce, "big"))
        assert found["balance"] == ok(node, "eth_getBalance", who, "latest")
        assert found["storageHash"] == "0x" + storage_root.hex()
        assert found["codeHash"] == "0x" + code_hash.hex()
        for slot, entry in zip(slots, found["storageProof"], strict=True):
            proof = [rlp.decode(bytes.fromhex(n[2:])) for n in entry["proof"]]
            value = HexaryTrie.get_from_proof(storage_root, keccak(slot.to_bytes(32, "big")), proof)
            assert entry["value"] == hex(
                rlp.decode(value, sedes=rlp.sedes.big_endian_int) if value else 0
            )
    assert (
        ok(node, "eth_getProof", "0x" + CALLER.hex(), ["0x7"], "latest")["storageProof"][0]["value"]
        == "0x9"
    )
    # an absent account proves its absence
    missing = ok(node, "eth_getProof", "0x" + "44" * 20, [], "latest")
    nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in missing["accountProof"]]
    assert HexaryTrie.get_from_proof(root, keccak(b"\x44" * 20), nodes) == b""


def test_websocket_subscriptions_receive_new_heads_and_logs(
    node: Node, account: LocalAccount
) -> None:
    import json

    import requests
    from websockets.sync.client import connect

    from collective.node.server import serve_in_thread

    server = serve_in_thread(node)
    url = server.url.replace("http://", "ws://")
    try:
        with connect(url, open_timeout=10) as ws:

            def ask(method: str, *params: Any) -> Any:
                ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                    "params": list(params)}))  # fmt: skip
                return json.loads(ws.recv(timeout=10))

            assert ask("eth_chainId")["result"] == hex(CHAIN_ID)  # any method, as over HTTP
            heads = ask("eth_subscribe", "newHeads")["result"]
            logs = ask("eth_subscribe", "logs", {"address": "0x" + CALLEE.hex()})["result"]
            other = ask("eth_subscribe", "logs", {"address": "0x" + "55" * 20})["result"]
            pending = ask("eth_subscribe", "newPendingTransactions")["result"]
            assert len({heads, logs, other, pending}) == 4
            bad = ask("eth_subscribe", "pendingHeads")["error"]
            assert bad["code"] == -32602 and "newHeads" in bad["message"]
            raw = signed(account, 0, to=to_checksum_address(CALLER), gas=100_000, value=0)
            send = {"jsonrpc": "2.0", "id": 2, "method": "eth_sendRawTransaction", "params": [raw]}
            sent = requests.post(server.url, json=send, timeout=10).json()
            tx_hash = sent["result"]
            got = [json.loads(ws.recv(timeout=10)) for _ in range(3)]
            assert {g["method"] for g in got} == {"eth_subscription"}
            by_sub = {g["params"]["subscription"]: g["params"]["result"] for g in got}
            assert by_sub[heads]["number"] == "0x1"
            assert by_sub[heads]["hash"] == ok(node, "eth_getBlockByNumber", "0x1", False)["hash"]
            assert by_sub[logs]["transactionHash"] == tx_hash
            assert by_sub[logs]["address"] == "0x" + CALLEE.hex()
            assert by_sub[pending] == tx_hash
            assert other not in by_sub
            assert ask("eth_unsubscribe", heads)["result"] is True
            assert ask("eth_unsubscribe", heads)["result"] is False
            batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber"} for i in (1, 2)]
            ws.send(json.dumps(batch))
            assert [a["result"] for a in json.loads(ws.recv(timeout=10))] == ["0x1", "0x1"]
        # over HTTP there is no connection to notify: -32601, as geth
        over_http = requests.post(server.url, json={"jsonrpc": "2.0", "id": 1, "params": [
            "newHeads"], "method": "eth_subscribe"}, timeout=10).json()  # fmt: skip
        assert over_http["error"]["code"] == -32601
        # a plain GET still answers the health check
        assert requests.get(server.url, timeout=10).text.startswith("collective")
    finally:
        server.shutdown()
        server.server_close()
        node.close()


def test_ethers_websocket_provider_watches_blocks_and_logs(
    node: Node, account: LocalAccount
) -> None:
    import json
    import shutil
    import subprocess
    from pathlib import Path

    from collective.node.server import serve_in_thread

    repo = Path(__file__).resolve().parents[2]
    program = shutil.which("node")
    if program is None or not (repo / "node_modules" / "ethers").is_dir():
        pytest.skip("node or node_modules/ethers is not installed (npm ci)")
    server = serve_in_thread(node)
    script = Path(__file__).with_name("ethers_ws.mjs")
    url = server.url.replace("http://", "ws://")
    topic = "0x" + "00" * 31 + "aa"
    watcher = subprocess.Popen(
        [program, str(script), url, to_checksum_address(CALLEE), topic],
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert watcher.stdout is not None
        ready = json.loads(watcher.stdout.readline() or "{}")
        assert ready.get("ready") and ready["chainId"] == CHAIN_ID, watcher.stderr
        raw = signed(account, 0, to=to_checksum_address(CALLER), gas=100_000, value=0)
        tx_hash = ok(node, "eth_sendRawTransaction", raw)  # sealed before it is answered
        out, err = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, err
        seen = json.loads(out)
        assert 1 in seen["blocks"]
        assert seen["logs"] == [{"address": to_checksum_address(CALLEE), "tx": tx_hash, "block": 1}]
    finally:
        if watcher.poll() is None:
            watcher.kill()
        server.shutdown()
        server.server_close()
        node.close()


@pytest.mark.anvil
def test_shapes_match_anvil(anvil: str, node: Node, account: LocalAccount) -> None:
    """The same contracts on anvil (anvil_setCode) and the node: the new methods answer the
    same shapes, and the same values where the two chains agree."""
    import requests

    def on_anvil(method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply = requests.post(anvil, json=body, timeout=30).json()
        assert "error" not in reply, (method, reply)
        return reply["result"]

    snapshot = on_anvil("evm_snapshot")
    try:
        on_anvil("anvil_setCode", "0x" + CALLEE.hex(), "0x" + CALLEE_CODE.hex())
        on_anvil("anvil_setCode", "0x" + CALLER.hex(), "0x" + CALLER_CODE.hex())
        on_anvil("anvil_setStorageAt", "0x" + CALLER.hex(), "0x7", "0x" + "00" * 31 + "09")
        call = {"from": account.address, "to": "0x" + CALLER.hex()}
        transfer = {"from": account.address, "to": "0x" + "33" * 20, "value": "0x1"}
        for method, params in (
            ("eth_estimateGas", [transfer]),
            ("eth_estimateGas", [call]),
            ("eth_createAccessList", [call, "latest"]),
        ):
            assert ok(node, method, *params) == on_anvil(method, *params), method
        slot = "0x" + "00" * 31 + "07"
        mine = ok(node, "eth_getProof", "0x" + CALLER.hex(), [slot], "latest")
        theirs = on_anvil("eth_getProof", "0x" + CALLER.hex(), [slot], "latest")
        assert mine.keys() == theirs.keys()
        assert mine["storageProof"][0].keys() == theirs["storageProof"][0].keys()
        assert mine["storageProof"][0]["value"] == theirs["storageProof"][0]["value"] == "0x9"
        assert mine["storageHash"] == theirs["storageHash"]  # the same one-slot storage trie
        chain_id = int(on_anvil("eth_chainId"), 16)
        nonce = int(on_anvil("eth_getTransactionCount", account.address, "latest"), 16)
        fields = {"to": to_checksum_address(CALLER), "gas": 100_000, "value": 0}
        raw_anvil = signed(account, nonce, chainId=chain_id, **fields)
        hash_anvil = on_anvil("eth_sendRawTransaction", raw_anvil)
        on_anvil("evm_mine")
        raw_node = signed(account, 0, **fields)
        hash_node = ok(node, "eth_sendRawTransaction", raw_node)
        assert on_anvil("eth_getRawTransactionByHash", hash_anvil) == raw_anvil
        assert ok(node, "eth_getRawTransactionByHash", hash_node) == raw_node
        tracer = {"tracer": "callTracer", "tracerConfig": {"withLog": True}}
        mine = ok(node, "debug_traceTransaction", hash_node, tracer)
        theirs = on_anvil("debug_traceTransaction", hash_anvil, tracer)

        def same(a: dict[str, Any], b: dict[str, Any]) -> None:
            assert a.keys() == b.keys(), (a, b)
            for key in ("type", "from", "to", "gas", "gasUsed", "input", "value", "error", "logs"):
                if key != "gas" or a is not mine:  # geth's top frame: the tx's gas (anvil's:
                    assert a.get(key) == b.get(key), (key, a, b)  # less the intrinsic gas)
            for x, y in zip(a.get("calls", []), b.get("calls", []), strict=True):
                same(x, y)

        same(mine, theirs)
    finally:
        on_anvil("evm_revert", snapshot)


def test_access_list_runs_within_the_call_limits(account: LocalAccount) -> None:
    loop = bytes.fromhex("00000000000000000000000000000000000100b0")
    genesis = Genesis(alloc={loop: AllocAccount(code=bytes.fromhex("5b600056"))})
    node = Node(NodeConfig(dev=True, genesis=genesis, call_timeout=0.3))
    looping = {"from": account.address, "to": "0x" + loop.hex()}
    aborted = error(node, "eth_createAccessList", looping)
    assert aborted == {"code": -32000, "message": "execution aborted (timeout = 0.3s)"}
