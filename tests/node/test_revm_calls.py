"""eth_call on the revm engine reads what it must: its per-thread state cache
(:mod:`collective.node.execution.revm_calls`, keyed by chain id, state root and parent hash)
never answers for another block, and py-evm's state, built only on a cache miss, is the one
of the block asked for.

A real dev node on revm with a data directory (calls run on a read-only view of the
committed blocks), asked in this thread through the dispatcher, so that the thread's cache
is the one these calls use: a call on block N-1 after block N, calls on a block that a dev
``evm_revert`` brought back and on a block with the same state root and parent as one
before (only its time differs), a call that reads an account revm has not read on a cached
state (the lazy py-evm state is built then), a call that halts after a cache hit (py-evm's
answer), and "pending".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collective.node import Node, NodeConfig
from collective.node.execution import revm, revm_calls
from collective.node.rpc.dispatch import handle_body

pytestmark = pytest.mark.skipif(
    not revm.available(), reason="collective_revm is not built (scripts/setup.sh needs cargo)"
)


def _deploy_code(runtime: str) -> str:
    """Init code that returns ``runtime`` (hex, at most 255 bytes)."""
    size = len(runtime) // 2
    return f"0x60{size:02x}600c600039 60{size:02x}6000f3".replace(" ", "") + runtime


# no calldata: return slot 0; 32 bytes of calldata: store them in slot 0
STORE = "36600f5760005460005260206000f35b60003560005500"
BALANCE_OF = "6000353160005260206000f3"  # BALANCE(calldata[0:32])
# (TIMESTAMP, NUMBER, BLOCKHASH(NUMBER - 1))
CLOCK = "4260005243602052600143034060405260606000f3"


class Dev:
    """A dev node on revm in this thread, asked through the dispatcher."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.sender = self.ask("eth_accounts")[0]

    def request(self, method: str, *params: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        answer = handle_body(self.node, json.dumps(body).encode())
        assert answer is not None
        reply: dict[str, Any] = json.loads(answer)
        return reply

    def ask(self, method: str, *params: Any) -> Any:
        reply = self.request(method, *params)
        assert "result" in reply, reply
        return reply["result"]

    def send(self, tx: dict[str, Any]) -> dict[str, Any]:
        tx_hash = self.ask("eth_sendTransaction", {"from": self.sender, "gas": "0x30000", **tx})
        receipt: dict[str, Any] = self.ask("eth_getTransactionReceipt", tx_hash)
        assert receipt["status"] == "0x1", receipt
        return receipt

    def deploy(self, runtime: str) -> str:
        address: str = self.send({"data": _deploy_code(runtime)})["contractAddress"]
        return address

    def store(self, contract: str, value: int) -> int:
        """Store ``value`` in ``contract``'s slot 0; the block number it was sealed in."""
        receipt = self.send({"to": contract, "data": "0x" + value.to_bytes(32, "big").hex()})
        return int(receipt["blockNumber"], 16)

    def call(self, to: str, data: str = "0x", block: str = "latest", **fields: Any) -> Any:
        return self.ask("eth_call", {"to": to, "data": data, **fields}, block)

    def read(self, contract: str, block: str = "latest") -> int:
        return int(self.call(contract, block=block), 16)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    node = Node(NodeConfig(dev=True, engine="revm", data_dir=tmp_path / "chain"))
    try:
        yield Dev(node)
    finally:
        node.close()


def _word(address: str) -> str:
    """``address`` as a 32-byte ABI word, 0x-hex."""
    return "0x" + bytes.fromhex(address[2:]).rjust(32, b"\0").hex()


def _held() -> Any:
    """This thread's revm engine for calls (None before the first call)."""
    held = getattr(revm_calls._calls, "held", None)
    return None if held is None else held[1]


def test_a_call_on_an_older_block_reads_that_blocks_state(dev: Dev) -> None:
    contract = dev.deploy(STORE)
    first = dev.store(contract, 1)
    second = dev.store(contract, 2)
    assert dev.read(contract) == 2  # the head's state is cached now
    assert dev.read(contract, hex(first)) == 1
    assert dev.read(contract, hex(first - 1)) == 0  # before the first store
    assert dev.read(contract, hex(second)) == 2
    third = dev.store(contract, 3)
    assert dev.read(contract) == 3  # a new block: a new key
    assert dev.read(contract, hex(third - 1)) == 2


def _clock(dev: Dev, clock: str, block: str = "latest") -> tuple[int, int, str]:
    """(TIMESTAMP, NUMBER, BLOCKHASH(NUMBER - 1)) of a call on ``block``."""
    out = dev.call(clock, block=block)[2:]
    return int(out[:64], 16), int(out[64:128], 16), "0x" + out[128:]


def test_calls_after_a_revert_and_on_a_block_with_an_earlier_state_root(dev: Dev) -> None:
    contract = dev.deploy(STORE)
    clock = dev.deploy(CLOCK)
    dev.store(contract, 1)
    head = int(dev.ask("eth_blockNumber"), 16)
    first = dev.ask("evm_snapshot")
    tx = {"to": contract, "data": "0x" + (2).to_bytes(32, "big").hex()}
    dev.send(tx)
    block = dev.ask("eth_getBlockByNumber", "latest", False)
    assert dev.read(contract) == 2
    assert _clock(dev, clock, "pending")[2] == block["hash"]
    before = _clock(dev, clock)
    assert dev.ask("evm_revert", first) is True
    second = dev.ask("evm_snapshot")
    # the same transaction again, later: the same state root (the cache's key with the
    # parent hash) in a block whose time and hash differ; no call in between
    dev.ask("evm_increaseTime", 100)
    dev.send(tx)
    again = dev.ask("eth_getBlockByNumber", "latest", False)
    assert again["stateRoot"] == block["stateRoot"] and again["hash"] != block["hash"]
    after = _clock(dev, clock)
    assert after[0] == int(again["timestamp"], 16) > before[0]
    assert after[1:] == before[1:]  # the same number and parent
    assert _clock(dev, clock, "pending")[2] == again["hash"]  # not the reverted block's
    assert dev.read(contract) == 2
    assert dev.ask("evm_revert", second) is True
    assert dev.read(contract) == 1  # the reverted head's state, not the cached one
    assert _clock(dev, clock)[1] == head


def test_a_cached_state_reads_an_account_it_never_read(dev: Dev) -> None:
    reader = dev.deploy(BALANCE_OF)
    stranger = "0x" + "5e" * 20
    dev.send({"to": stranger, "value": hex(12345)})
    assert int(dev.call(reader, _word(reader)), 16) == 0  # warms the cache
    engine = _held()
    assert int(dev.call(reader, _word(stranger)), 16) == 12345  # a miss on a cached state
    assert _held() is engine  # the same cache, which built py-evm's state for the miss
    balance = int(dev.ask("eth_getBalance", dev.sender, "latest"), 16)
    assert int(dev.call(reader, _word(dev.sender)), 16) == balance


def test_a_call_that_halts_after_a_cache_hit_is_answered_by_py_evm(dev: Dev) -> None:
    contract = dev.deploy(STORE)
    dev.store(contract, 7)
    assert dev.read(contract) == 7
    engine = _held()
    # enough to start, too little for SLOAD: revm halts, py-evm answers in its words
    reply = dev.request("eth_call", {"to": contract, "data": "0x", "gas": hex(21_010)}, "latest")
    assert reply["error"]["code"] == -32000
    assert "out of gas" in reply["error"]["message"].lower(), reply
    assert _held() is engine
    assert dev.read(contract) == 7  # the cache goes on


def test_pending_runs_in_the_next_block(dev: Dev) -> None:
    clock = dev.deploy(CLOCK)
    head = dev.ask("eth_getBlockByNumber", "latest", False)
    latest = _clock(dev, clock)
    pending = _clock(dev, clock, "pending")
    assert latest[1:] == (int(head["number"], 16), head["parentHash"])
    assert pending[1:] == (int(head["number"], 16) + 1, head["hash"])
    assert pending[0] > latest[0]


def test_value_and_price_are_checked_against_the_blocks_balances(dev: Dev) -> None:
    contract = dev.deploy(STORE)
    poor = "0x" + "77" * 20
    reply = dev.request("eth_call", {"from": poor, "to": contract, "value": "0x1"}, "latest")
    assert reply["error"] == {"code": -32000, "message": "insufficient funds for transfer"}
    fields = {"from": poor, "to": contract, "gasPrice": "0x1"}
    reply = dev.request("eth_call", fields, "latest")
    assert reply["error"]["message"] == "insufficient funds for gas * price + value"
    assert dev.call(contract, **{"from": dev.sender, "value": "0x1"}) == "0x" + "00" * 32


def test_misses_are_read_from_the_tries_without_building_py_evms_state(
    dev: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call's accounts and slots that revm has not cached are read straight from the
    state and storage tries at the block's root (LazySource.bind's ``trie``): no py-evm
    state is built for them, and they are what py-evm's state holds."""
    from collective.node.rpc.context import CallState

    contract = dev.deploy(STORE)
    reader = dev.deploy(BALANCE_OF)
    stranger, nobody = "0x" + "5e" * 20, "0x" + "66" * 20
    dev.send({"to": stranger, "value": hex(999)})
    dev.store(contract, 5)
    built: list[int] = []
    build = CallState.get
    monkeypatch.setattr(CallState, "get", lambda self: built.append(1) or build(self))
    assert dev.read(contract) == 5  # a new block: every read is a miss
    assert int(dev.call(reader, _word(stranger)), 16) == 999
    assert int(dev.call(reader, _word(nobody)), 16) == 0  # no such account
    assert built == []
    assert int(dev.ask("eth_getStorageAt", contract, "0x0", "latest"), 16) == 5  # py-evm's
    assert int(dev.ask("eth_getBalance", stranger, "latest"), 16) == 999
    first = dev.store(contract, 6)
    assert dev.read(contract, hex(first - 1)) == 5  # an older block's root
    assert dev.read(contract) == 6
    assert built == []
    clock = dev.deploy(CLOCK)
    head = dev.ask("eth_getBlockByNumber", "latest", False)
    assert _clock(dev, clock) == (int(head["timestamp"], 16), int(head["number"], 16),
                                  head["parentHash"])  # fmt: skip
    assert len(built) == 1  # BLOCKHASH: py-evm's state answers it


REVERTS = "60006000fd"  # REVERT(0, 0)
_TO = st.sampled_from(["contract", "CONTRACT", "short", "number", None])
_DATA = st.sampled_from(["0x", "0x" + "00" * 32, "0x1", "0xzz", "", None, "input"])
_FROM = st.sampled_from([None, "sender", "null", "0x12"])
_EXTRA = st.sampled_from([{}, {}, {"gas": "0x30000"}, {"value": "0x0"}, {"chainId": "0x1"}])
_BLOCK = st.sampled_from(["latest", "latest", "pending", "0x1", None, "earliest"])
_ID = st.sampled_from([1, 7, "a", None, 1.5, True, 2**70])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(to=_TO, data=_DATA, sender=_FROM, extra=_EXTRA, block=_BLOCK, request_id=_ID)
@example(to="contract", data="0x", sender=None, extra={}, block="latest", request_id=1)
@example(to="CONTRACT", data="input", sender="sender", extra={}, block="latest", request_id=2)
@example(to="contract", data=None, sender="sender", extra={}, block="latest", request_id=3)
def test_plain_calls_are_answered_as_the_general_path_answers(
    dev: Dev, to: Any, data: Any, sender: Any, extra: dict[str, str], block: Any, request_id: Any
) -> None:
    """eth_calls.plain_call (a plain eth_call on the head, read natively) answers exactly as
    the dispatcher's general path, or leaves the request to it; a plain one it answers."""
    from collective.node.rpc import dispatch, eth_calls

    contract = getattr(dev, "contract", None) or dev.deploy(STORE)
    if not hasattr(dev, "contract"):
        dev.store(contract, 9)
        dev.contract = contract  # type: ignore[attr-defined]
    call: dict[str, Any] = dict(extra)
    targets = {"contract": contract, "CONTRACT": "0x" + contract[2:].upper(),
               "short": contract[:-2], "number": 5}  # fmt: skip
    if to is not None:
        call["to"] = targets[to]
    if data == "input":
        call["input"] = "0x"
    elif data is not None:
        call["data"] = data
    if sender is not None:
        call["from"] = {"sender": dev.sender, "null": None}.get(sender, sender)
    params = [call] if block is None else [call, block]
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "eth_call", "params": params})
    quick = eth_calls.plain_call(dev.node, body.encode())
    general = dispatch.handle_one(dev.node, dispatch.decode_body(body.encode()))
    if quick is not None:
        assert quick == general
    plain = (
        to in ("contract", "CONTRACT") and data in ("0x", "input", None) and not extra
        and sender in (None, "sender") and block == "latest" and type(request_id) is int
        and request_id < 2**64
    )  # fmt: skip
    assert quick is not None or not plain
    if plain:
        assert json.loads(quick)["result"] == "0x" + (9).to_bytes(32, "big").hex()


def test_a_plain_call_that_fails_is_left_to_the_general_path(dev: Dev) -> None:
    from collective.node.rpc import eth_calls

    reverts = dev.deploy(REVERTS)
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": reverts}, "latest"]}
    assert eth_calls.plain_call(dev.node, json.dumps(body).encode()) is None
    reply = dev.request("eth_call", {"to": reverts}, "latest")
    assert reply["error"]["code"] == 3 and reply["error"]["message"] == "execution reverted"


def test_calls_on_a_block_built_here_start_from_its_engines_cache(
    dev: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first call on a new head runs on a copy of the cache of the engine that built
    the block (RevmEngine.fork): what the block's transactions read and wrote is not read
    again; on a head it did not just build (after evm_revert) the call reads it anew."""
    contract = dev.deploy(STORE)
    snapshot = dev.ask("evm_snapshot")
    dev.store(contract, 4)
    reads: list[bytes] = []
    for name in ("account", "storage"):
        read = getattr(revm_calls.LazySource, name)
        monkeypatch.setattr(
            revm_calls.LazySource,
            name,
            lambda self, address, *rest, read=read: (
                reads.append(address) or read(self, address, *rest)
            ),
        )
    assert dev.read(contract) == 4
    assert reads == []  # the contract's account, code and slot 0: all in the copy
    dev.store(contract, 5)
    assert dev.read(contract) == 5 and reads == []
    assert dev.ask("evm_revert", snapshot) is True
    assert dev.read(contract) == 0  # the reverted-to head: not the last block built
    assert reads  # read anew
