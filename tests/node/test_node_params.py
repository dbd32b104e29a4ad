"""JSON-RPC params are validated as geth validates them: every method, every parameter.

Each method declares its parameters once, in the dispatcher's table; these tests hold every
declaration to the same rules (too many arguments, a missing required one, a value of the wrong
shape in each position: -32602 naming the argument) and then walk a table of bad values, each
answered -32602 with a message naming the parameter and the field, in geth's words
(``hexutil``'s ``hex number with leading zero digits``, ``rpc``'s ``too many arguments``,
``eth/filters``' ``invalid block range params`` and ``block range extends beyond current head
block``, ...). Where anvil answers otherwise (it returns logs for a range past the head, takes
leading zeros and plain JSON numbers, and unordered reward percentiles), the node follows geth.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from collective.node import Node, NodeConfig
from collective.node.rpc import METHODS, handle_body
from collective.node.rpc import params as p

A = "0x" + "11" * 20
H = "0x" + "22" * 32

# one valid value for each parser, to fill the positions before the one under test
EXAMPLES: dict[Callable[[Any, str], Any], Any] = {
    p.address: A,
    p.hash32: H,
    p.data: "0x",
    p.quantity: "0x1",
    p.uint64: "0x0",
    p.boolean: False,
    p.block_ref: "latest",
    p.block_number: "latest",
    p.storage_slot: "0x0",
    p.call_args: {"to": A},
    p.log_filter: {},
    p.filter_id: "0x1",
    p.hex_or_decimal: "0x1",
    p.percentiles: [],
    p.anvil_number: "0x1",
    p.no_overrides: {},
    p.storage_keys: ["0x0"],
    p.trace_options: {"tracer": "callTracer"},
}
WRONG_SHAPE = {"bogus": True}  # no parameter of any method takes this


@pytest.fixture(scope="module")
def node() -> Node:
    return Node(NodeConfig(dev=True))


def rpc(node: Node, method: str, params: Any) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    answer = handle_body(node, body.encode())
    assert answer is not None
    reply: dict[str, Any] = json.loads(answer)
    return reply


def invalid(node: Node, method: str, params: Any) -> str:
    reply = rpc(node, method, params)
    assert "error" in reply, (method, params, reply)
    assert reply["error"]["code"] == -32602, (method, params, reply)
    message: str = reply["error"]["message"]
    return message


def ok(node: Node, method: str, *params: Any) -> Any:
    reply = rpc(node, method, list(params))
    assert "error" not in reply, (method, params, reply)
    return reply["result"]


def test_every_parser_has_an_example() -> None:
    declared = {param.parse for method in METHODS.values() for param in method.params}
    assert declared <= set(EXAMPLES), declared - set(EXAMPLES)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_checks_its_arity_and_each_parameter(node: Node, method: str) -> None:
    spec = METHODS[method].params
    valid = [EXAMPLES[param.parse] for param in spec]
    too_many = invalid(node, method, [*valid, "0x1"])
    assert too_many == f"too many arguments, want at most {len(spec)}"
    assert invalid(node, method, {"a": 1}).startswith("non-array args")
    for index, param in enumerate(spec):
        if param.required:
            missing = invalid(node, method, valid[:index])
            assert missing == f"missing value for required argument {index} ({param.name})"
            assert invalid(node, method, [*valid[:index], None]) == missing
        wrong = invalid(node, method, [*valid[:index], WRONG_SHAPE])
        assert wrong.startswith(f"invalid argument {index} ({param.name}"), wrong


X = "0x" + "33" * 20
BAD: list[tuple[str, list[Any], str, str]] = [
    # (method, params, the parameter named, geth's words for the problem)
    # hex quantities: format, sign, size, type
    ("eth_getBalance", [A, "0x01"], "invalid argument 1 (block)",
     "hex number with leading zero digits"),
    ("eth_getBalance", [A, "1"], "invalid argument 1 (block)", "hex string without 0x prefix"),
    ("eth_getBalance", [A, "-0x1"], "invalid argument 1 (block)", "hex string without 0x prefix"),
    ("eth_getBalance", [A, "0x"], "invalid argument 1 (block)", 'hex string "0x"'),
    ("eth_getBalance", [A, "0xg1"], "invalid argument 1 (block)", "invalid hex string"),
    ("eth_getBalance", [A, "Latest"], "invalid argument 1 (block)", "hex string without 0x prefix"),
    ("eth_getBalance", [A, 1], "invalid argument 1 (block)", "got number"),
    ("eth_getBlockByNumber", ["0x8000000000000000", False], "invalid argument 0 (block)",
     "block number larger than int64"),
    ("eth_getBlockByNumber", [{"blockHash": H}, False], "invalid argument 0 (block)", "got object"),
    ("eth_getBlockByNumber", ["latest", "true"], "invalid argument 1 (fullTransactions)",
     "want true or false, got string"),
    ("eth_getBlockByNumber", ["latest"], "argument 1 (fullTransactions)", "missing value"),
    ("eth_getTransactionByBlockNumberAndIndex", ["0x0", "0x10000000000000000"],
     "invalid argument 1 (index)", "hex number > 64 bits"),
    ("eth_getTransactionByBlockHashAndIndex", [H, 0], "invalid argument 1 (index)", "got number"),
    ("eth_call", [{"to": A, "value": "0x" + "f" * 65}], "invalid argument 0 (transaction.value)",
     "hex number > 256 bits"),
    ("eth_call", [{"to": A, "gas": "0x10000000000000000"}], "invalid argument 0 (transaction.gas)",
     "hex number > 64 bits"),
    ("eth_call", [{"to": A, "nonce": "0x00"}], "invalid argument 0 (transaction.nonce)",
     "hex number with leading zero digits"),
    # addresses: 20 bytes
    ("eth_getBalance", ["0x" + "11" * 19], "invalid argument 0 (address)",
     "hex string has length 38, want 40 for common.Address"),
    ("eth_getCode", ["0x" + "11" * 21], "invalid argument 0 (address)",
     "hex string has length 42, want 40 for common.Address"),
    ("eth_getTransactionCount", ["11" * 20], "invalid argument 0 (address)",
     "hex string without 0x prefix"),
    ("eth_getStorageAt", ["0x" + "zz" * 20, "0x0"], "invalid argument 0 (address)",
     "invalid hex string"),
    ("eth_call", [{"to": "0x123"}], "invalid argument 0 (transaction.to)",
     "hex string of odd length"),
    ("eth_call", [{"from": 7, "to": A}], "invalid argument 0 (transaction.from)", "got number"),
    # hashes: 32 bytes
    ("eth_getTransactionByHash", ["0x" + "22" * 31], "invalid argument 0 (transactionHash)",
     "hex string has length 62, want 64 for common.Hash"),
    ("eth_getTransactionReceipt", ["0x1234"], "invalid argument 0 (transactionHash)",
     "hex string has length 4, want 64 for common.Hash"),
    ("eth_getBlockByHash", ["0x" + "22" * 33, False], "invalid argument 0 (blockHash)",
     "want 64 for common.Hash"),
    ("eth_getBlockTransactionCountByHash", [None], "argument 0 (blockHash)", "missing value"),
    ("eth_getUncleCountByBlockHash", ["latest"], "invalid argument 0 (blockHash)",
     "hex string without 0x prefix"),
    # blocks by hash (EIP-1898)
    ("eth_getBalance", [A, {"blockHash": "0x12"}], "invalid argument 1 (block.blockHash)",
     "want 64 for common.Hash"),
    ("eth_getCode", [A, {"blockHash": H, "blockNumber": "0x0"}], "invalid argument 1 (block)",
     "cannot specify both BlockHash and BlockNumber, choose one or the other"),
    ("eth_getCode", [A, {}], "invalid argument 1 (block)",
     "must specify either BlockHash or BlockNumber"),
    ("eth_getCode", [A, {"blockHash": H, "requireCanonical": "yes"}],
     "invalid argument 1 (block.requireCanonical)", "want true or false"),
    ("eth_getBlockReceipts", [{"blockNumber": "0x01"}], "invalid argument 0 (block.blockNumber)",
     "hex number with leading zero digits"),
    # storage keys (geth's decodeStorageKey)
    ("eth_getStorageAt", [A, "0x" + "1" * 65], "invalid argument 1 (slot)",
     "storage key too long (want at most 32 bytes)"),
    ("eth_getStorageAt", [A, "0xzz"], "invalid argument 1 (slot)", "invalid hex in storage key"),
    ("eth_getStorageAt", [A, 0], "invalid argument 1 (slot)", "got number"),
    # bytes
    ("eth_sendRawTransaction", ["0x123"], "invalid argument 0 (transaction)",
     "hex string of odd length"),
    ("eth_sendRawTransaction", ["0x"], "invalid argument 0 (transaction)", "empty"),
    ("web3_sha3", ["abc"], "invalid argument 0 (data)", "hex string without 0x prefix"),
    ("eth_call", [{"to": A, "input": "0xzz"}], "invalid argument 0 (transaction.input)",
     "invalid hex string"),
    # transaction objects: unknown fields, combinations geth refuses, chain id
    ("eth_call", [{"to": A, "gasLimit": "0x1"}], "invalid argument 0 (transaction)",
     "unknown field 'gasLimit'"),
    ("eth_call", [[A]], "invalid argument 0 (transaction)", "want a transaction object, got array"),
    ("eth_estimateGas", [{"to": A, "gasPrice": "0x1", "maxFeePerGas": "0x2"}],
     "invalid argument 0 (transaction)",
     "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified"),
    ("eth_estimateGas", [{"to": A, "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x2"}],
     "invalid argument 0 (transaction)", "maxFeePerGas (1) < maxPriorityFeePerGas (2)"),
    ("eth_call", [{"to": A, "data": "0x01", "input": "0x02"}], "invalid argument 0 (transaction)",
     'both "data" and "input" are set and not equal'),
    ("eth_call", [{"to": A, "chainId": "0x1"}], "invalid argument 0 (transaction.chainId)",
     "chainId does not match node's (have=1, want=131277)"),
    ("eth_call", [{"to": A, "accessList": [{"address": A, "storageKeys": ["0x12"]}]}],
     "invalid argument 0 (transaction.accessList[0].storageKeys[0])", "want 64 for common.Hash"),
    ("eth_call", [{"to": A}, "latest", {A: {"balance": "0x1"}}],
     "invalid argument 2 (stateOverrides)", "overrides are not supported by this node"),
    ("eth_sendTransaction", [{"to": A}], "invalid argument 0 (transaction.from)", "missing"),
    # log filters: addresses, topics' shape, block fields, blockHash with a range
    ("eth_getLogs", [{"address": ["0x12"]}], "invalid argument 0 (filter.address[0])",
     "hex string has length 2, want 40 for common.Address"),
    ("eth_getLogs", [{"address": 12}], "invalid argument 0 (filter.address)",
     "invalid addresses in query"),
    ("eth_getLogs", [{"topics": "0x1"}], "invalid argument 0 (filter.topics)", "invalid topic(s)"),
    ("eth_getLogs", [{"topics": [H, H, H, H, H]}], "invalid argument 0 (filter.topics)",
     "exceed max topics"),
    ("eth_getLogs", [{"topics": [[H, 5]]}], "invalid argument 0 (filter.topics[0])",
     "invalid topic(s)"),
    ("eth_getLogs", [{"topics": [{"a": H}]}], "invalid argument 0 (filter.topics[0])",
     "invalid topic(s)"),
    ("eth_getLogs", [{"topics": [None, "0x12"]}], "invalid argument 0 (filter.topics[1])",
     "want 64 for common.Hash"),
    ("eth_getLogs", [{"topics": [[H, "0x12"]]}], "invalid argument 0 (filter.topics[0][1])",
     "want 64 for common.Hash"),
    ("eth_getLogs", [{"fromBlock": "0x01"}], "invalid argument 0 (filter.fromBlock)",
     "hex number with leading zero digits"),
    ("eth_getLogs", [{"toBlock": {"blockHash": H}}], "invalid argument 0 (filter.toBlock)",
     "got object"),
    ("eth_getLogs", [{"blockHash": H, "fromBlock": "0x0"}], "invalid argument 0 (filter)",
     "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"),
    ("eth_getLogs", [{"formBlock": "0x0"}], "invalid argument 0 (filter)",
     "unknown field 'formBlock'"),
    ("eth_newFilter", [{"address": [A, None]}], "invalid argument 0 (filter.address[1])",
     "got null"),
    # counts and order: fee history
    ("eth_feeHistory", ["ten", "latest"], "invalid argument 0 (blockCount)",
     "invalid hex or decimal integer 'ten'"),
    ("eth_feeHistory", [-1, "latest"], "invalid argument 0 (blockCount)",
     "invalid hex or decimal integer -1"),
    ("eth_feeHistory", ["0x1", {"blockHash": H}], "invalid argument 1 (newestBlock)", "got object"),
    ("eth_feeHistory", ["0x1", "latest", [10, 90, 50]], "invalid argument 2 (rewardPercentiles)",
     "invalid reward percentile: #1:90.000000 >= #2:50.000000"),
    ("eth_feeHistory", ["0x1", "latest", [101]], "invalid argument 2 (rewardPercentiles[0])",
     "invalid reward percentile: 101.000000"),
    ("eth_feeHistory", ["0x1", "latest", list(range(101))],
     "invalid argument 2 (rewardPercentiles)",
     "over the query limit 100"),
    ("eth_feeHistory", ["0x1", "latest", ["50"]], "invalid argument 2 (rewardPercentiles[0])",
     "want a number, got string"),
    ("eth_feeHistory", ["0x1", "0x64"], "invalid argument 1 (newestBlock)",
     "request beyond head block: requested 100, head 0"),
    # filter ids, dev methods
    ("eth_getFilterChanges", [1], "invalid argument 0 (filterId)", "got number"),
    ("eth_uninstallFilter", [True], "invalid argument 0 (filterId)", "got boolean"),
    ("eth_newPendingTransactionFilter", ["yes"], "invalid argument 0 (fullTransactions)",
     "want true or false"),
    ("evm_increaseTime", [-5], "invalid argument 0 (seconds)", "must not be negative"),
    ("evm_revert", ["0x01"], "invalid argument 0 (snapshotId)",
     "hex number with leading zero digits"),
    ("evm_mine", [2**64], "invalid argument 0 (timestamp)", "number > 64 bits"),
    # extra params
    ("eth_blockNumber", ["latest"], "too many arguments", "want at most 0"),
    ("eth_getBalance", [A, "latest", "latest"], "too many arguments", "want at most 2"),
    ("eth_getTransactionReceipt", [H, True], "too many arguments", "want at most 1"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "params", "named", "problem"), BAD)
def test_bad_params_are_named_in_geths_words(
    node: Node, method: str, params: list[Any], named: str, problem: str
) -> None:
    message = invalid(node, method, params)
    assert named in message and problem in message, message


@pytest.fixture
def chain_with_logs() -> tuple[Node, int, str]:
    """A dev node whose head block holds one log from a tiny contract (LOG1, topic 0xaa)."""
    node = Node(NodeConfig(dev=True))
    runtime = bytes.fromhex("60aa60016000a100")
    n = len(runtime)
    init = bytes([0x5F + n]) + runtime + bytes([0x60, 0, 0x52, 0x60, n, 0x60, 32 - n, 0xF3])
    admin = ok(node, "eth_accounts")[0]
    created = ok(node, "eth_sendTransaction", {"from": admin, "input": "0x" + init.hex()})
    emitter = ok(node, "eth_getTransactionReceipt", created)["contractAddress"]
    ok(node, "eth_sendTransaction", {"from": admin, "to": emitter, "gas": "0x186a0"})
    return node, int(ok(node, "eth_blockNumber"), 16), emitter


def test_get_logs_past_the_head_is_an_error_not_an_answer(
    chain_with_logs: tuple[Node, int, str],
) -> None:
    """The example of the report: geth answers -32602 where the node used to answer logs."""
    node, head, emitter = chain_with_logs
    up_to_head = ok(node, "eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(head)})
    assert len(up_to_head) == 1 and up_to_head[0]["address"] == emitter
    past = invalid(node, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(head + 1)}])
    assert past == (
        f"block range extends beyond current head block: filter.toBlock ({hex(head + 1)}) is "
        f"after the head ({hex(head)})"
    )
    ahead = {"fromBlock": hex(head + 5), "toBlock": hex(head + 9)}
    fully_past = invalid(node, "eth_getLogs", [ahead])
    assert fully_past.startswith("block range extends beyond current head block: filter.toBlock")
    backwards = invalid(node, "eth_getLogs", [{"fromBlock": hex(head), "toBlock": "0x1"}])
    assert backwards == (
        f"invalid block range params: filter.fromBlock ({hex(head)}) is after filter.toBlock (0x1)"
    )
    from_future = invalid(node, "eth_getLogs", [{"fromBlock": hex(head + 1)}])
    assert from_future == (
        f"invalid block range params: filter.fromBlock ({hex(head + 1)}) is after "
        f"filter.toBlock (latest = {hex(head)})"
    )
    for pending in ({"fromBlock": "pending"}, {"fromBlock": "0x0", "toBlock": "pending"}):
        assert invalid(node, "eth_getLogs", [pending]).startswith("pending logs are not supported")
    unknown = rpc(node, "eth_getLogs", [{"blockHash": H}])["error"]
    assert unknown == {"code": -32000, "message": "unknown block"}
    # the ranges geth accepts still answer: tags, the head, a block hash
    for criteria in ({}, {"fromBlock": "earliest"}, {"fromBlock": "0x0", "toBlock": "finalized"},
                     {"fromBlock": hex(head), "toBlock": "safe"}):  # fmt: skip
        assert len(ok(node, "eth_getLogs", criteria)) == 1, criteria
    block_hash = ok(node, "eth_getBlockByNumber", hex(head), False)["hash"]
    assert ok(node, "eth_getLogs", {"blockHash": block_hash}) == up_to_head


def test_filters_follow_geths_range_rules(chain_with_logs: tuple[Node, int, str]) -> None:
    """A filter may wait for future blocks, but not run backwards; its logs, asked for at
    once, obey eth_getLogs' rules, while its changes are polled up to the head."""
    node, head, _ = chain_with_logs
    backwards = invalid(node, "eth_newFilter", [{"fromBlock": "0x5", "toBlock": "0x2"}])
    assert backwards.startswith("invalid block range params: filter.fromBlock (0x5)")
    head_to_fixed = invalid(node, "eth_newFilter", [{"toBlock": hex(head + 3)}])
    assert "filter.toBlock" in head_to_fixed and "invalid block range params" in head_to_fixed
    assert invalid(node, "eth_newFilter", [{"fromBlock": "pending"}]).startswith("pending logs")
    future = ok(node, "eth_newFilter", {"fromBlock": hex(head), "toBlock": hex(head + 3)})
    assert len(ok(node, "eth_getFilterChanges", future)) == 0  # nothing new since it was made
    past_head = rpc(node, "eth_getFilterLogs", [future])["error"]
    assert past_head["code"] == -32602 and "beyond current head block" in past_head["message"]
    everything = ok(node, "eth_newFilter", {"fromBlock": "0x0"})
    assert len(ok(node, "eth_getFilterLogs", everything)) == 1


def test_the_forms_geth_accepts_are_accepted(chain_with_logs: tuple[Node, int, str]) -> None:
    node, head, emitter = chain_with_logs
    block_hash = ok(node, "eth_getBlockByNumber", hex(head), False)["hash"]
    balance = ok(node, "eth_getBalance", ok(node, "eth_accounts")[0], "latest")
    admin = ok(node, "eth_accounts")[0]
    for ref in (None, "latest", "pending", "safe", "finalized", hex(head), block_hash,
                {"blockHash": block_hash}, {"blockHash": block_hash, "requireCanonical": True},
                {"blockNumber": hex(head)}):  # fmt: skip
        params = [admin] if ref is None else [admin, ref]
        assert ok(node, "eth_getBalance", *params) == balance, ref
    assert ok(node, "eth_getBalance", admin.upper().replace("0X", "0x"), "0X" + hex(head)[2:])
    assert ok(node, "eth_getStorageAt", emitter, "0", "latest") == "0x" + "00" * 32  # no 0x
    assert ok(node, "eth_feeHistory", 1, "latest")["oldestBlock"] == hex(head)  # a number
    assert ok(node, "eth_feeHistory", "1", "latest", [25, 75])["reward"]  # decimal string
    topic = "0x" + "00" * 31 + "aa"
    # geth: an empty alternative list, or one holding null, matches any topic
    for topics in ([topic], [[topic]], [[]], [[topic, None]], [None], []):
        assert len(ok(node, "eth_getLogs", {"fromBlock": "0x0", "topics": topics})) == 1, topics
    assert ok(node, "eth_getLogs", {"fromBlock": "0x0", "topics": [H]}) == []
    assert ok(node, "eth_getLogs", {"fromBlock": "0x0", "address": [emitter, A]})
    same_data = {"to": emitter, "data": "0x", "input": "0x"}
    assert ok(node, "eth_call", same_data, "latest", {}, {}) == "0x"
    assert ok(node, "eth_getTransactionByBlockNumberAndIndex", hex(head), "0x5") is None
    assert ok(node, "eth_getUncleCountByBlockNumber", "latest") == "0x0"
    assert ok(node, "eth_getUncleCountByBlockNumber", hex(head + 1)) is None
