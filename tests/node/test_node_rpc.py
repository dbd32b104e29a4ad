"""The dispatcher in process: JSON-RPC errors, transaction admission errors, reverts, logs,
filters, dev methods and permissioning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective.node import Genesis, Node, NodeConfig
from collective.node.dev import DevAccounts
from collective.node.execution.trie import ordered_trie_root
from collective.node.genesis import DEV_BALANCE, AllocAccount, contract_address
from collective.node.rpc import handle_body

CHAIN_ID = 131277
# runtime code: revert(0, 4) with memory[0:4] = 0xdeadbeef (custom error data)
REVERTER = bytes.fromhex("63deadbeef60e01b60005260046000fd")


def init_code(runtime: bytes) -> bytes:
    """Creation code returning ``runtime`` (at most 32 bytes)."""
    n = len(runtime)
    return bytes([0x5F + n]) + runtime + bytes([0x60, 0, 0x52, 0x60, n, 0x60, 32 - n, 0xF3])


DEPLOY_REVERTER = init_code(REVERTER)


def rpc(node: Node, method: str, *params: Any) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})
    answer = handle_body(node, body.encode())
    assert answer is not None
    result: dict[str, Any] = json.loads(answer)
    return result


def ok(node: Node, method: str, *params: Any) -> Any:
    reply = rpc(node, method, *params)
    assert "error" not in reply, reply
    return reply["result"]


def error(node: Node, method: str, *params: Any) -> dict[str, Any]:
    reply = rpc(node, method, *params)
    assert "error" in reply, reply
    found: dict[str, Any] = reply["error"]
    return found


@pytest.fixture
def node() -> Node:
    return Node(NodeConfig(dev=True))


@pytest.fixture
def sender() -> LocalAccount:
    account: LocalAccount = Account.from_key(DevAccounts.create(1).keys.popitem()[1])
    return account


def signed(account: LocalAccount, **fields: Any) -> str:
    tx: dict[str, Any] = {
        "chainId": CHAIN_ID, "nonce": 0, "to": "0x" + "22" * 20, "value": 1, "gas": 21000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    tx.update(fields)
    return "0x" + bytes(account.sign_transaction(tx).raw_transaction).hex()


def test_protocol_errors(node: Node) -> None:
    assert json.loads(handle_body(node, b"{not json") or "")["error"]["code"] == -32700
    assert json.loads(handle_body(node, b"[]") or "")["error"]["code"] == -32600
    assert json.loads(handle_body(node, b"42") or "")["error"]["code"] == -32600
    assert error(node, "eth_nope")["code"] == -32601
    bad = error(node, "eth_getBalance", "0x1234")
    assert bad["code"] == -32602 and "address" in bad["message"]
    bad = error(node, "eth_getBlockByNumber", "0xzz", False)
    assert bad["code"] == -32602 and "block" in bad["message"]
    reply = json.loads(handle_body(node, b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId",'
                                   b'"params":{"a":1}}') or "")  # fmt: skip
    assert reply["error"]["code"] == -32602
    # notifications get no answer; a batch answers each member
    assert handle_body(node, b'{"jsonrpc":"2.0","method":"eth_chainId"}') is None
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(3)] + [5]
    answers = json.loads(handle_body(node, json.dumps(batch).encode()) or "")
    assert [a.get("result") for a in answers[:3]] == [hex(CHAIN_ID)] * 3
    assert answers[3]["error"]["code"] == -32600


def test_batch_limit() -> None:
    node = Node(NodeConfig(max_batch=2))
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(3)]
    reply = json.loads(handle_body(node, json.dumps(batch).encode()) or "")
    assert reply["error"]["code"] == -32600 and "limit" in reply["error"]["message"]


def test_transaction_errors(node: Node, sender: LocalAccount) -> None:
    future = ok(node, "eth_sendRawTransaction", signed(sender, nonce=5))  # queued (test_node_pool)
    assert ok(node, "eth_getTransactionByHash", future)["blockNumber"] is None
    assert "intrinsic gas too low" in error(
        node, "eth_sendRawTransaction", signed(sender, gas=20000))["message"]  # fmt: skip
    assert "exceeds block gas limit" in error(
        node, "eth_sendRawTransaction", signed(sender, gas=10**9))["message"]  # fmt: skip
    assert "invalid chain id" in error(
        node, "eth_sendRawTransaction", signed(sender, chainId=1))["message"]  # fmt: skip
    poor = error(node, "eth_sendRawTransaction", signed(sender, value=DEV_BALANCE * 2))
    assert "insufficient funds" in poor["message"]
    raw = bytearray(bytes.fromhex(signed(sender)[2:]))
    raw[-5] ^= 0xFF  # damage s
    damaged = error(node, "eth_sendRawTransaction", "0x" + raw.hex())
    assert damaged["code"] in (-32000, -32602)
    assert error(node, "eth_sendRawTransaction", "0x1234")["code"] == -32602
    tx_hash = ok(node, "eth_sendRawTransaction", signed(sender))
    receipt = ok(node, "eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1" and receipt["blockNumber"] == "0x1"
    assert (
        "nonce too low" in error(node, "eth_sendRawTransaction", signed(sender))["message"]
        or "already known" in error(node, "eth_sendRawTransaction", signed(sender))["message"]
    )
    low = error(node, "eth_sendRawTransaction", signed(sender, value=2))
    assert "nonce too low" in low["message"]
    assert ok(node, "eth_getTransactionCount", sender.address, "pending") == "0x1"
    block = ok(node, "eth_getBlockByNumber", "latest", True)
    assert block["transactions"][0]["hash"] == tx_hash
    assert ok(node, "eth_getBlockByHash", block["hash"], False)["transactions"] == [tx_hash]


def test_revert_data_and_estimate(node: Node, sender: LocalAccount) -> None:
    tx_hash = ok(node, "eth_sendRawTransaction",
                 signed(sender, to=None, data=DEPLOY_REVERTER, gas=200_000, value=0))  # fmt: skip
    created = ok(node, "eth_getTransactionReceipt", tx_hash)["contractAddress"]
    assert ok(node, "eth_getCode", created) == "0x" + REVERTER.hex()
    reverted = error(node, "eth_call", {"to": created, "data": "0x"})
    assert reverted == {"code": 3, "message": "execution reverted", "data": "0xdeadbeef"}
    assert error(node, "eth_estimateGas", {"from": sender.address, "to": created})["code"] == 3
    gas = int(ok(node, "eth_estimateGas", {"from": sender.address, "to": "0x" + "33" * 20}), 16)
    assert gas == 21000  # exact, as geth (test_node_methods)


def test_logs_filters_and_dev_methods(node: Node) -> None:
    # a contract that emits LOG1(topic=0x..aa) with 1 byte of data on every call
    runtime = bytes.fromhex("60aa60016000a100")
    init = init_code(runtime)
    accounts = ok(node, "eth_accounts")
    admin = accounts[0]
    created_hash = ok(node, "eth_sendTransaction", {"from": admin, "data": "0x" + init.hex()})
    emitter = ok(node, "eth_getTransactionReceipt", created_hash)["contractAddress"]
    log_filter = ok(node, "eth_newFilter", {"address": emitter})
    block_filter = ok(node, "eth_newBlockFilter")
    snap = ok(node, "evm_snapshot")
    for _ in range(3):
        ok(node, "eth_sendTransaction", {"from": admin, "to": emitter, "gas": "0x186a0"})
    topic = "0x" + "00" * 31 + "aa"
    logs = ok(node, "eth_getLogs", {"fromBlock": "0x0", "address": emitter, "topics": [topic]})
    assert len(logs) == 3 and logs[0]["topics"] == [topic]
    assert ok(node, "eth_getLogs", {"fromBlock": "0x0", "topics": [[topic], None, None]}) == logs
    assert ok(node, "eth_getLogs", {"fromBlock": "0x0", "topics": ["0x" + "11" * 32]}) == []
    assert len(ok(node, "eth_getFilterChanges", log_filter)) == 3
    assert ok(node, "eth_getFilterChanges", log_filter) == []
    assert len(ok(node, "eth_getFilterChanges", block_filter)) == 3
    assert len(ok(node, "eth_getFilterLogs", log_filter)) == 1  # fromBlock "latest", as geth
    assert ok(node, "eth_uninstallFilter", log_filter) is True
    assert error(node, "eth_getFilterChanges", log_filter)["message"] == "filter not found"
    assert ok(node, "evm_revert", snap) is True
    assert ok(node, "eth_getLogs", {"fromBlock": "0x0", "address": emitter}) == []
    before = int(ok(node, "eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    ok(node, "evm_increaseTime", 3600)
    ok(node, "evm_mine")
    after = int(ok(node, "eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    assert after >= before + 3600
    history = ok(node, "eth_feeHistory", "0x2", "latest", [50])
    assert len(history["baseFeePerGas"]) == 3 and len(history["reward"]) == 2


def test_dev_methods_need_dev() -> None:
    node = Node(NodeConfig())
    assert error(node, "evm_snapshot")["code"] == -32601
    assert error(node, "eth_sendTransaction", {"from": "0x" + "11" * 20})["code"] == -32601
    assert ok(node, "eth_accounts") == []
    assert ok(node, "web3_clientVersion").startswith("collective/")


def test_permissioning_bootstrap_then_rules() -> None:
    dev = DevAccounts.create(3)
    admin_key, other_key = list(dev.keys.values())[:2]
    admin, other = Account.from_key(admin_key), Account.from_key(other_key)
    admin_raw = bytes.fromhex(admin.address[2:])
    genesis = Genesis(
        alloc={bytes.fromhex(a.address[2:]): AllocAccount(DEV_BALANCE) for a in (admin, other)},
        account_rules=contract_address(admin_raw, 0),
        bootstrap_admins=(admin_raw,),
    )
    node = Node(NodeConfig(genesis=genesis))
    refused = error(node, "eth_sendRawTransaction", signed(other))
    assert refused["code"] == -32000
    assert refused["message"] == f"sender {other.address.lower()} is not permitted"
    assert ok(node, "eth_blockNumber") == "0x0"  # never entered a block
    # the bootstrap admin deploys a contract answering transactionAllowed with true (any call)
    allow_all = bytes.fromhex("600160005260206000f3")  # return uint256(1)
    init = init_code(allow_all)
    ok(node, "eth_sendRawTransaction", signed(admin, to=None, data=init, gas=100_000, value=0))
    assert ok(node, "eth_getCode", "0x" + contract_address(admin_raw, 0).hex()) != "0x"
    ok(node, "eth_sendRawTransaction", signed(other))


def test_ordered_trie_root_matches_py_evm() -> None:
    from eth.db.trie import _make_trie_root_and_nodes

    for count in (0, 1, 2, 16, 17, 130, 300):
        values = tuple(bytes([i % 256]) * (1 + i % 70) for i in range(count))
        assert ordered_trie_root(values) == _make_trie_root_and_nodes(values)[0]


def test_a_read_after_a_write_in_one_batch_sees_its_block(node: Node, sender: LocalAccount) -> None:
    """In instant mode, a receipt asked for after the write in the same batch is the sealed
    block's, not null (the sealer seals before the read); writes in a row share a block."""
    first, second = signed(sender), signed(sender, nonce=1)
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [first]},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_sendRawTransaction", "params": [second]},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_blockNumber", "params": []},
    ]
    answer = handle_body(node, json.dumps(batch).encode())
    assert answer is not None
    sent, _, head = json.loads(answer)
    assert head["result"] == "0x1"
    receipt = {"jsonrpc": "2.0", "id": 4, "method": "eth_getTransactionReceipt"}
    third = signed(sender, nonce=2)
    batch = [
        {"jsonrpc": "2.0", "id": 5, "method": "eth_sendRawTransaction", "params": [third]},
        {**receipt, "params": [sent["result"]]},
        {**receipt, "params": ["0x" + keccak(bytes.fromhex(third[2:])).hex()]},
    ]
    answer = handle_body(node, json.dumps(batch).encode())
    assert answer is not None
    _, old, new = json.loads(answer)
    assert old["result"]["blockNumber"] == "0x1" and new["result"]["blockNumber"] == "0x2"


CONSTANT_BODIES = [  # answered natively
    '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
    '{"jsonrpc": "2.0", "method": "eth_chainId", "params": [], "id": 17}',  # as web3.py sends
    '{"jsonrpc": "2.0", "id": "a b", "method": "eth_chainId"}',
    '{"id":null,"method":"eth_chainId","jsonrpc":"2.0","params":null}',
    '{"jsonrpc":"2.0","id":-7,"method":"net_version","params":[],"extra":1}',
    '{"jsonrpc":"2.0","id":18446744073709551615,"method":"net_version"}',
    '{"jsonrpc":"2.0","id":1,"id":"x","method":"eth_chainId"}',  # repeated: the last counts
]
GENERAL_BODIES = [  # the general path answers them (the same text, for the first four)
    '{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"net_version"}',
    '  {"jsonrpc":"2.0","id":"\\u00e9","method":"eth_chainId"}\n',
    '{"jsonrpc":"2.0","id":"a\\"b","method":"eth_chainId"}',
    '\ufeff{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}',  # a byte order mark
    '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[1]}',  # too many arguments
    '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{}}',  # not an array
    '{"jsonrpc":"2.0","id":1.5,"method":"eth_chainId"}',  # a float id
    '{"jsonrpc":"2.0","id":1.0,"method":"eth_chainId"}',
    '{"jsonrpc":"2.0","id":true,"method":"eth_chainId"}',  # a bad id
    '{"jsonrpc":"2.0","id":NaN,"method":"eth_chainId"}',  # not JSON-RPC's JSON
    '{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}',  # not 2.0
    '{"jsonrpc":"2.0","method":"eth_chainId"}',  # a notification: no answer
    '[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}]',  # a batch
    '{"jsonrpc":"2.0","id":1,"method":"eth_chainid"}',  # no such method
    '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","note":"eth_chainId"}',
]


@pytest.mark.parametrize("body", CONSTANT_BODIES + GENERAL_BODIES)
def test_constant_answers_are_the_general_paths(node: Node, body: str) -> None:
    """eth_chainId and net_version without parameters are answered natively before the
    general path (dispatch._constant_answer, collective_revm.ConstantAnswers): the same
    text it gives, for every id it may carry; every other body (odd ids, errors,
    notifications, batches, other methods) takes the general path."""
    from collective.node.rpc import dispatch

    pytest.importorskip("collective_revm")
    fast = dispatch._constant_answer(node, body.encode())
    assert (fast is not None) == (body in CONSTANT_BODIES)
    if fast is not None:
        assert fast == dispatch.handle_one(node, dispatch.decode_body(body.encode()))
        assert json.loads(fast)["result"] in (hex(node.view.chain_id), str(node.view.chain_id))
    assert handle_body(node, body.encode()) == (
        fast if fast is not None else _general(node, body.encode())
    )


_IDS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)  # fmt: skip
_PARAMS = st.one_of(
    st.none(), st.just([]), st.just({}), st.lists(st.integers(), max_size=2), st.integers()
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["eth_chainId", "net_version", "eth_blockNumber", "eth_chainid"]),
    request_id=_IDS,
    params=_PARAMS,
    version=st.sampled_from(["2.0", "2.0", "1.0", 2]),
    drop=st.sets(st.sampled_from(["id", "params", "jsonrpc", "method"]), max_size=2),
    spaced=st.booleans(),
)
def test_constant_answers_agree_with_the_general_path(
    node: Node,
    method: str,
    request_id: Any,
    params: Any,
    version: Any,
    drop: set[str],
    spaced: bool,
) -> None:
    """Whatever request object it is given, the native constant answer is either none or the
    general path's text, and a plain request for a constant method always gets one."""
    from collective.node.rpc import dispatch

    pytest.importorskip("collective_revm")
    request = {"jsonrpc": version, "id": request_id, "method": method, "params": params}
    for key in drop:
        del request[key]
    body = json.dumps(request, separators=(", ", ": ") if spaced else (",", ":")).encode()
    fast = dispatch._constant_answer(node, body)
    if fast is not None:
        assert fast == _general(node, body)
    plain = (
        version == "2.0" and method in dispatch.CONSTANT_METHODS and params in (None, [])
        and not drop - {"params"} and (request_id is None or type(request_id) is int)
        and -(2**63) <= (request_id or 0) < 2**64
    )  # fmt: skip
    assert fast is not None or not plain


def _general(node: Node, body: bytes) -> str | None:
    """What handle_body answered before constant answers: decode, then one or a batch."""
    from collective.node.rpc import dispatch

    try:
        decoded = dispatch.decode_body(body)
    except dispatch.RpcError as exc:
        return dispatch.error_answer(None, exc)
    if isinstance(decoded, list):
        return dispatch._answer_batch(node, decoded)
    return dispatch.handle_one(node, decoded)


@given(st.lists(st.text(alphabet='{}":,0123456789abcdefx[] ', max_size=40), max_size=12))
def test_json_array_is_the_texts_in_brackets(texts: list[str]) -> None:
    """json_array (the log index's, a block's receipts' and a batch's answer) joins in one
    copy, brackets on the first and last texts: the result is exactly the texts,
    comma-separated, in brackets, and ``texts`` is unchanged."""
    from collective.node.render import json_array

    before = list(texts)
    assert json_array(texts) == "[" + ",".join(before) + "]"
    assert texts == before
