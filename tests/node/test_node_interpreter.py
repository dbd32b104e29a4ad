"""The node's interpreter loop (``collective.node.execution.interpreter._run``) against py-evm's
own, opcode for opcode: the same code and gas through ``NodeComputation`` and stock
``PragueComputation`` end the same way (error type and message, gas left and refunded, output,
logs, storage, the stack as numbers, memory, the program counter).

Curated edge cases run at every gas amount from nothing to enough, so each one runs out of gas
at every instruction it has; hypothesis adds random bytecode made of the inlined opcodes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth.abc import StateAPI
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective.node import Node, NodeConfig
from collective.node.execution.computation import NodeComputation

CONTRACT = b"\xc0" * 20
CALLDATA = bytes(range(1, 70))


def _code(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def _push(value: int, width: int = 0) -> str:
    width = width or max(1, (value.bit_length() + 7) // 8)
    return f"{0x5F + width:02x}" + value.to_bytes(width, "big").hex()


NEG_ONE = _push(2**256 - 1, 32)
EDGE_CASES = {
    "run off the end": "6001 6002",
    "STOP mid-code": "6001 00 6002",
    "PUSH32 truncated at the end": "7f abcdef",
    "PUSH1 truncated at the end": "6001 60",
    "PUSH0 and PUSH32": "5f 7f" + "ff" * 32,
    "JUMP into PUSH data": "615b00 6001 56",
    "JUMP to a JUMPDEST": "6004 56 00 5b 6001",
    "JUMP to a non-JUMPDEST": "6003 56 00",
    "JUMP past the end": "611000 56",
    "JUMP to a huge destination": NEG_ONE + "56",
    "JUMP with an empty stack": "56",
    "JUMPI taken": "6001 6007 57 00 00 5b 602a",
    "JUMPI not taken": "6000 6006 57 602a 00 5b",
    "JUMPI into PUSH data": "6001 6007 57 00 615b00",
    "JUMPI on one item": "6001 57",
    "JUMPI taken, JUMPDEST out of gas": "5b 6001 6000 57",
    "jump loop until out of gas": "5b 6000 56",
    "stack overflow by PUSH": "5b 5f 6000 56",
    "stack overflow by DUP": "5f 5b 80 6001 56",
    "stack overflow by CALLER": "5b 33 6000 56",
    "DUP1, SWAP1, POP on an empty stack": "80",
    "SWAP1 on one item": "6001 90",
    "POP on an empty stack": "50",
    "DUP16 and SWAP16": "602a" + "5f" * 15 + "8f 9f",
    "DUP16 short": "5f" * 15 + "8f",
    "SWAP16 short": "5f" * 16 + "9f",
    "ADD on one item": "6001 01",
    "ISZERO and NOT on an empty stack": "15",
    "NOT on an empty stack": "19",
    "arithmetic wraps": NEG_ONE + "6002 01" + "6001 6000 03" + NEG_ONE + NEG_ONE + "02",
    "shifts": "6001 610100 1b 6001 60ff 1b 60ff 6004 1c 60ff 610100 1c",
    "comparisons": "6003 6005 10 6003 6005 11 6005 6005 14 6000 15 6007 15 6000 19",
    "signed comparisons": NEG_ONE
    + "6001 12"
    + "6001"
    + NEG_ONE
    + "12"
    + NEG_ONE
    + "6001 13"
    + _push(2**254, 32)
    + "6001 12"
    + _push(2**255, 32)
    + "6001 13",
    "bitwise": "60f0 600f 16 60f0 600f 17 60f0 60ff 18",
    "DIV, MOD by zero and not": "6000 6007 04 6003 6007 04 6000 6007 06 6003 6007 06",
    "BYTE": "61abcd 601e 1a 61abcd 601f 1a 61abcd 6020 1a" + NEG_ONE + "6000 1a",
    "MSTORE and MLOAD in memory": "602a 6000 52 6000 51 6020 51",
    "MSTORE grows memory twice": "602a 6000 52 602a 610200 52 610200 51",
    "MSTORE far out of memory": "602a 63ffffffff 52",
    "MSTORE past 2**32": "602a 640100000000 52",
    "MSTORE on one item": "6000 52",
    "MLOAD growing memory": "611000 51",
    "MLOAD on an empty stack": "51",
    "MSTORE of a hash": "6000 6000 20 6040 52 6040 51",
    "SHA3 of memory": "602a 6000 52 6020 6000 20 6000 6000 20",
    "SHA3 growing memory": "6040 6010 20",
    "SHA3 of nothing far away": "6000 63ffffffff 20",
    "SHA3 on one item": "6000 20",
    "hash as a jump destination": "6000 6000 20 56",
    "hash as a JUMPI condition": "6000 6000 20 6009 57 00 5b",
    "CALLDATALOAD": "6000 35 6020 35 6040 35 6060 35" + NEG_ONE + "35",
    "CALLDATALOAD on an empty stack": "35",
    "environment": "33 34 36 30 32 42 43 38 3a 46 48",
    "PC and GAS after inline work": "6001 6002 01 58 5a 59",
    "TSTORE and TLOAD keep bytes": "61000b 6000 5d 6000 5c 56 00 5b 6001",
    "SSTORE and SLOAD": "602a 6001 55 6001 54 6000 6001 55",
    "LOG1 and RETURN": "602a 6000 52 6001 6020 6000 a1 6020 6000 f3",
    "REVERT keeps the gas left": "602a 6000 52 6020 6000 fd",
    "invalid opcode": "6001 fe",
    "undefined opcode": "6001 0c",
    "identity precompile CALL": "602a 6000 52 6020 6000 6020 6000 6000 6004 61ffff f1 3d 6000 51",
    "CALL to itself": "6000 6000 6000 6000 6000 30 6120 00 f1 5a",
}


@pytest.fixture(scope="module")
def state() -> Iterator[StateAPI]:
    node = Node(NodeConfig(dev=True))
    try:
        yield node.chain.head_state
    finally:
        node.close()


def _outcome(
    computation_class: Any, state: StateAPI, code: bytes, gas: int, data: bytes = CALLDATA
) -> tuple[Any, ...]:
    origin = b"\x11" * 20
    state.set_balance(origin, 10**18)
    message = Message(gas=gas, to=CONTRACT, sender=origin, value=3, data=data, code=code)
    context = state.get_transaction_context_class()(gas_price=1, origin=origin)
    snapshot = state.snapshot()
    try:
        computation = computation_class.apply_message(state, message, context)
        storage = [state.get_storage(CONTRACT, slot) for slot in range(4)]
    finally:
        state.revert(snapshot)
    error = computation._error
    return (
        None if error is None else (type(error).__name__, str(error)),
        computation.get_gas_remaining(),
        computation.get_gas_refund(),
        computation.output,
        computation.get_log_entries(),
        storage,
        [v if v.__class__ is int else int.from_bytes(v, "big") for v in computation._stack.values],
        bytes(computation._memory._bytes),
        computation.code.program_counter,
    )


def _same(state: StateAPI, code: bytes, gas: int, data: bytes = CALLDATA) -> Any:
    node = _outcome(NodeComputation, state, code, gas, data)
    stock = _outcome(PragueComputation, state, code, gas, data)
    assert node == stock, f"code {code.hex()} gas {gas}"
    return node


def _gas_amounts(enough: int) -> list[int]:
    if enough <= 3000:
        return list(range(enough + 3))
    step = enough // 400
    return sorted({*range(0, enough, step), *range(enough - 40, enough + 3)})


@pytest.mark.parametrize("name", EDGE_CASES)
def test_edge_case_at_every_gas_amount(state: StateAPI, name: str) -> None:
    code = _code(EDGE_CASES[name])
    full = _same(state, code, 200_000)
    enough = 200_000 - full[1] if full[0] is None else 30_000
    for gas in _gas_amounts(enough):
        _same(state, code, gas)


def test_edge_cases_cover_the_paths_they_name(state: StateAPI) -> None:
    errors = {
        name: (_outcome(NodeComputation, state, _code(text), 200_000)[0] or ("",))[0]
        for name, text in EDGE_CASES.items()
    }
    assert errors["JUMP into PUSH data"] == "InvalidInstruction"
    assert errors["JUMPI into PUSH data"] == "InvalidInstruction"
    assert errors["JUMP to a non-JUMPDEST"] == "InvalidJumpDestination"
    assert errors["stack overflow by PUSH"] == errors["stack overflow by DUP"] == "FullStack"
    assert errors["stack overflow by CALLER"] == "FullStack"
    assert errors["jump loop until out of gas"] == "OutOfGas"
    assert errors["SWAP16 short"] == errors["DUP16 short"] == "InsufficientStack"
    assert errors["REVERT keeps the gas left"] == "Revert"
    assert errors["undefined opcode"] == errors["invalid opcode"] == "InvalidInstruction"
    for name in (
        "run off the end",
        "PUSH32 truncated at the end",
        "JUMPI taken",
        "SHA3 of memory",
        "hash as a JUMPI condition",
        "TSTORE and TLOAD keep bytes",
        "environment",
    ):
        assert errors[name] == "", name  # fmt: skip


# random programs of the opcodes the loop runs itself, plus a few it calls
_SIMPLE = [
    *range(0x01, 0x0C), *range(0x10, 0x1E), 0x20, 0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x42,
    0x43, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x5F,
    *range(0x80, 0xA0), 0xA0, 0xF3, 0xFD, 0xFE, 0x00, 0x0C,
]  # fmt: skip
_instruction = st.one_of(
    st.sampled_from(_SIMPLE).map(lambda op: bytes([op])),
    st.integers(0, 64).map(lambda value: _code(_push(value))),  # small offsets and lengths
    st.integers(0, 40).map(lambda dest: _code(_push(dest) + "56")),
    st.integers(0, 40).map(lambda dest: _code(_push(dest) + "57")),
    st.tuples(st.integers(1, 32), st.binary(min_size=32, max_size=32)).map(
        lambda pair: bytes([0x5F + pair[0]]) + pair[1][: pair[0]]
    ),
    st.just(b"\x5b"),
)
_program = st.lists(_instruction, max_size=40).map(b"".join)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(code=_program, gas=st.integers(0, 3000), data=st.binary(max_size=70))
def test_random_programs(state: StateAPI, code: bytes, gas: int, data: bytes) -> None:
    _same(state, code, gas, data)
    _same(state, code + b"\x00" * (len(code) % 3), 100_000, data)
