"""NodeVM's storage and transaction paths (``collective.node.execution``: SLOAD/SSTORE calling the
account database directly, storage reads and writes through the journal layers inlined, the
executor's trimmed steps) against stock PragueVM.

A node seals blocks of several transactions each (a JSON-RPC batch is one block): storage
written and read back in one transaction and across transactions of a block, calls that revert
after writing (nested, and the whole transaction), SSTORE refunds (clearing a slot, restoring
its original value), STATICCALL into a writer, transfers to accounts with no code, transactions
that run out of gas, creates (with constructor storage, and one that reverts). Replaying every
block through stock ``PragueVM`` must give the same block hashes: the same state roots,
receipts and gas. The interpreter-level test runs storage programs at every gas amount against
slots that already hold values, so every SSTORE gas and refund rule is taken."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from eth.abc import StateAPI
from eth_typing import Address

from collective.node import Node, NodeConfig
from collective.node.rpc import handle_body
from tests.node.test_node_fastvm import assert_stock_py_evm_seals_the_same
from tests.node.test_node_interpreter import CONTRACT, _code, _gas_amounts, _same


def _asm(*parts: Any) -> bytes:
    """Bytecode from hex strings and ("label", name) / ("to", name) markers (a PUSH2 of the
    label's position)."""
    labels: dict[str, int] = {}
    size = 0
    for part in parts:
        if isinstance(part, tuple):
            if part[0] == "label":
                labels[part[1]] = size
            else:
                size += 3
        else:
            size += len(_code(part))
    out = b""
    for part in parts:
        if isinstance(part, tuple):
            if part[0] == "to":
                out += b"\x61" + labels[part[1]].to_bytes(2, "big")
        else:
            out += _code(part)
    return out


def _deploy_code(runtime: bytes, constructor: str = "") -> bytes:
    """Creation code: ``constructor`` (hex), then return ``runtime``."""
    prefix = _code(constructor)
    copier_size = 12
    start = len(prefix) + copier_size
    copier = (
        b"\x61" + len(runtime).to_bytes(2, "big")  # PUSH2 size
        + b"\x80"  # DUP1
        + b"\x60" + bytes([start])  # PUSH1 offset of the runtime
        + b"\x60\x00\x39"  # PUSH1 0, CODECOPY
        + b"\x60\x00\xf3"  # PUSH1 0, RETURN
    )  # fmt: skip
    assert len(copier) == copier_size
    return prefix + copier + runtime


# W: for each 64-byte (slot, value) pair of calldata: SSTORE(slot, value), then
# SSTORE(0xff, SLOAD(0xff) + SLOAD(slot)) (reads a slot right after writing it, and a running
# total written by earlier pairs and earlier transactions)
WRITER = _asm(
    "6000",
    ("label", "loop"),
    "5b 36 81 10 15",
    ("to", "end"),
    "57",
    "80 6020 01 35 81 35 55",
    "80 35 54 60ff 54 01 60ff 55",
    "6040 01",
    ("to", "loop"),
    "56",
    ("label", "end"),
    "5b 00",
)


def _caller(call: str) -> bytes:
    """C: SSTORE(0, SLOAD(0) + 1); call the address in calldata[0:32] with calldata[64:];
    SSTORE(1, success); SSTORE(2, SLOAD(0)); revert if calldata[32:64] is not zero. ``call``
    is "CALL" or "STATICCALL"."""
    value = "6000" if call == "CALL" else ""  # STATICCALL takes no value
    opcode = "f1" if call == "CALL" else "fa"
    return _asm(
        "6000 54 6001 01 6000 55",
        "6040 36 03 6040 6000 37",  # CALLDATACOPY(0, 64, CALLDATASIZE - 64)
        "6000 6000 6040 36 03 6000",  # out size, out offset, in size, in offset
        value,
        "6000 35 5a",
        opcode,
        "6001 55",
        "6000 54 6002 55",
        "6020 35",
        ("to", "revert"),
        "57 00",
        ("label", "revert"),
        "5b 6000 6000 fd",
    )


CALLER = _caller("CALL")
STATIC_CALLER = _caller("STATICCALL")
REVERTER = _asm("602a 6003 55 6000 6000 fd")  # SSTORE(3, 42), then REVERT


def _word(value: int | str) -> str:
    if isinstance(value, str):  # an address
        return value[2:].rjust(64, "0")
    return value.to_bytes(32, "big").hex()


def _pairs(*pairs: tuple[int, int]) -> str:
    return "".join(_word(slot) + _word(value) for slot, value in pairs)


def _forward(target: str, revert: bool, data: str) -> str:
    return _word(target) + _word(1 if revert else 0) + data


class _Dev:
    def __init__(self, node: Node) -> None:
        self.node = node
        assert node.dev is not None
        self.sender = "0x" + node.dev.addresses[3].hex()

    def batch(self, txs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send ``txs`` in one JSON-RPC batch (one block); their receipts."""
        body = [
            {"jsonrpc": "2.0", "id": index, "method": "eth_sendTransaction",
             "params": [{"from": self.sender, **tx}]}
            for index, tx in enumerate(txs)
        ]  # fmt: skip
        answer = handle_body(self.node, json.dumps(body).encode())
        assert answer is not None
        replies = sorted(json.loads(answer), key=lambda reply: reply["id"])
        hashes = []
        for reply in replies:
            assert "result" in reply, reply
            hashes.append(reply["result"])
        return [self.rpc("eth_getTransactionReceipt", tx_hash) for tx_hash in hashes]

    def rpc(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        answer = handle_body(self.node, body.encode())
        assert answer is not None
        return json.loads(answer)["result"]

    def storage(self, address: str, slot: int) -> int:
        return int(self.rpc("eth_getStorageAt", address, hex(slot), "latest"), 16)


def _hex(data: bytes | str) -> str:
    return "0x" + (data.hex() if isinstance(data, bytes) else data)


@pytest.mark.filterwarnings("ignore:SELFDESTRUCT opcode present:DeprecationWarning")
def test_storage_and_transaction_paths_seal_what_stock_py_evm_seals() -> None:
    node = Node(NodeConfig(dev=True))
    dev = _Dev(node)
    gas = "0x100000"
    created = dev.batch(
        [
            {"data": _hex(_deploy_code(WRITER)), "gas": gas},
            {"data": _hex(_deploy_code(CALLER)), "gas": gas},
            {"data": _hex(_deploy_code(STATIC_CALLER)), "gas": gas},
            {"data": _hex(_deploy_code(REVERTER)), "gas": gas},
            # constructor storage: SSTORE(5, 7)
            {"data": _hex(_deploy_code(WRITER, "6007 6005 55")), "gas": gas},
            # a create whose constructor writes and then reverts
            {"data": _hex(_code("6009 6005 55 6000 6000 fd")), "gas": gas},
        ]
    )
    assert [r["status"] for r in created] == ["0x1"] * 5 + ["0x0"]
    writer, caller, static_caller, reverter, constructed = (
        r["contractAddress"] for r in created[:5]
    )
    assert dev.storage(constructed, 5) == 7
    eoa = "0x" + "5e" * 20

    # a block of writes, reads back and refunds, several transactions touching the same slots
    first = dev.batch(
        [
            {"to": writer, "gas": gas, "data": _hex(_pairs((1, 10), (2, 20), (3, 30)))},
            {"to": writer, "gas": gas, "data": _hex(_pairs((1, 11), (1, 0), (1, 10)))},
            {"to": writer, "gas": gas, "data": _hex(_pairs((2, 0), (4, 5), (4, 0)))},
            {"to": writer, "gas": gas, "data": _hex(_pairs((3, 30), (3, 31), (3, 30)))},
            {"to": eoa, "gas": "0x5208", "value": "0x3"},
            {"to": constructed, "gas": gas, "data": _hex(_pairs((5, 0)))},
        ]
    )
    assert all(r["status"] == "0x1" for r in first)
    assert [dev.storage(writer, slot) for slot in (1, 2, 3, 4)] == [10, 0, 30, 0]
    assert dev.storage(constructed, 5) == 0

    # slots set in an earlier block: clearing, restoring, resetting; calls that revert
    second = dev.batch(
        [
            {"to": writer, "gas": gas, "data": _hex(_pairs((1, 0), (1, 10), (3, 0), (3, 7)))},
            {"to": writer, "gas": gas, "data": _hex(_pairs((1, 0), (3, 0)))},
            # C -> reverter: the callee's write is rolled back, C's writes stay
            {"to": caller, "gas": gas, "data": _hex(_forward(reverter, False, ""))},
            # C -> C -> writer, the inner C reverting: its increment and the writer's writes
            # are rolled back, the outer C reads its own write after the revert
            {
                "to": caller,
                "gas": gas,
                "data": _hex(
                    _forward(caller, False, _forward(writer, True, _pairs((8, 8), (1, 3))))
                ),
            },
            # C -> writer, then C reverts: the whole transaction's writes are rolled back
            {"to": caller, "gas": gas, "data": _hex(_forward(writer, True, _pairs((9, 9))))},
            # C -> writer, nothing reverted
            {"to": caller, "gas": gas, "data": _hex(_forward(writer, False, _pairs((6, 6))))},
            # STATICCALL into the writer: its SSTORE fails (taking the gas it was given), the
            # caller goes on with the 1/64 it kept
            {
                "to": static_caller,
                "gas": "0x400000",
                "data": _hex(_forward(writer, False, _pairs((7, 7)))),
            },
            # out of gas in the writer (and below the 2300 SSTORE floor); the sender pays
            {"to": writer, "gas": hex(21_000 + 16 * 64 + 3_000), "data": _hex(_pairs((8, 8)))},
            {"to": writer, "gas": hex(21_000 + 16 * 64 + 60), "data": _hex(_pairs((8, 8)))},
            {"to": writer, "gas": hex(21_000 + 16 * 64 + 25_000), "data": _hex(_pairs((8, 8)))},
            {"to": eoa, "gas": hex(30_000), "value": "0x1", "data": "0x1234"},
            {"to": "0x" + "00" * 19 + "04", "gas": hex(30_000), "data": "0xabcdef"},
        ]
    )
    statuses = [r["status"] for r in second]
    assert statuses == ["0x1"] * 4 + ["0x0"] + ["0x1"] * 2 + ["0x0"] * 3 + ["0x1"] * 2
    assert [int(r["gasUsed"], 16) for r in second[7:10]] == [
        21_000 + 16 * 64 + 3_000,
        21_000 + 16 * 64 + 60,
        21_000 + 16 * 64 + 25_000,
    ]
    assert dev.storage(reverter, 3) == 0
    assert [dev.storage(writer, slot) for slot in (1, 3, 6, 7, 8, 9)] == [0, 0, 6, 0, 0, 0]
    assert [dev.storage(caller, slot) for slot in (0, 1, 2)] == [3, 1, 3]
    assert [dev.storage(static_caller, slot) for slot in (0, 1)] == [1, 0]

    # the executor's finalisation: EIP-161 clearing of an empty recipient (a zero-value
    # transfer to an address with no account), the RIPEMD160 special case (an errored call to
    # 0x03 is still touched), a zero tip (the coinbase touched with nothing), logs of reverted
    # transactions, and a self-destruct (its beneficiary collected with the touched accounts)
    fresh = "0x" + "77" * 20
    third = dev.batch(
        [
            {"to": fresh, "gas": "0x5208"},
            {"to": "0x" + "00" * 19 + "03", "gas": hex(21_000 + 16 * 3 + 100), "data": "0xabcdef"},
            {"to": "0x" + "00" * 19 + "03", "gas": hex(30_000), "data": "0xabcdef"},
            {"to": eoa, "gas": "0x5208", "value": "0x2", "maxPriorityFeePerGas": "0x0"},
            {"to": fresh, "gas": "0x6000", "maxPriorityFeePerGas": "0x0"},
            # constructors that log, then revert or run out of gas (the logs are dropped)
            {"data": _hex(_code("602a 6000 6000 a1 6000 6000 fd")), "gas": gas},
            {"data": _hex(_code("602a 6000 6000 a1 600056")), "gas": hex(60_000)},
            # a constructor that self-destructs to a fresh address
            {"data": _hex(_code("73" + "66" * 20 + "ff")), "gas": gas, "value": "0x5"},
            {"data": _hex(_code("73" + "65" * 20 + "ff")), "gas": gas},
        ]
    )
    assert [r["status"] for r in third] == ["0x1", "0x0"] + ["0x1"] * 3 + ["0x0"] * 2 + ["0x1"] * 2
    assert dev.rpc("eth_getTransactionCount", fresh, "latest") == "0x0"

    try:
        assert node.chain.head.block_number >= 4
        assert_stock_py_evm_seals_the_same(node.chain)
    finally:
        node.close()


@pytest.fixture(scope="module")
def stored_state() -> Iterator[StateAPI]:
    """A state where the test contract's slots 0-3 already hold values (locked, as after an
    earlier transaction), so SSTOREs see non-zero original values."""
    node = Node(NodeConfig(dev=True))
    try:
        state = node.chain.head_state
        for slot, value in enumerate((1, 2, 3, 0)):
            state.set_storage(Address(CONTRACT), slot, value)
        state.lock_changes()
        yield state
    finally:
        node.close()


STORAGE_PROGRAMS = {
    "clear a slot (refund)": "6000 6001 55",
    "clear, then restore the original": "6000 6001 55 6002 6001 55",
    "reset, then restore the original": "6009 6001 55 6002 6001 55",
    "set an empty slot, then clear it": "6005 6003 55 6000 6003 55",
    "clear, then set again": "6000 6000 55 6007 6000 55",
    "write the same value": "6002 6001 55 6002 6001 55",
    "read after write": "6009 6002 55 6002 54 6003 55 6003 54",
    "read cold then warm": "6001 54 6001 54 6002 54 01",
    "SSTORE on one item": "6001 55",
    "SLOAD on an empty stack": "54",
    "revert after writes": "6009 6001 55 6000 6000 fd",
}


@pytest.mark.parametrize("name", STORAGE_PROGRAMS)
def test_storage_opcodes_on_stored_slots_at_every_gas_amount(
    stored_state: StateAPI, name: str
) -> None:
    code = _code(STORAGE_PROGRAMS[name])
    full = _same(stored_state, code, 200_000)
    enough = 200_000 - full[1] if full[0] is None else 30_000
    for gas in _gas_amounts(enough):
        _same(stored_state, code, gas)
