"""The opcode table the interpreter loop runs from: how each opcode is run, and programs decoded
once per code.

Mirrors py-evm 0.12.1b1's opcode functions in ``eth/vm/logic/`` (``arithmetic.py``,
``comparison.py``, ``stack.py``, ``duplication.py``, ``swap.py``, ``flow.py``, ``memory.py``,
``sha3.py``, ``context.py``, ``block.py``), ``eth/vm/opcode.py`` (``_FastOpcode``: constant gas,
then the logic function) and ``eth/vm/code_stream.py`` (PUSH data read past the end is zero).

Opcodes run inside the loop (:mod:`.interpreter`) only when their function is py-evm's own,
recognised by identity (:func:`_inline_kind`): PUSH0-32, DUP, SWAP, POP, JUMPDEST, STOP, JUMP,
JUMPI; ADD, SUB, MUL, DIV, MOD, AND, OR, XOR, NOT, BYTE, SHL, SHR, LT, GT, SLT, SGT, EQ, ISZERO;
MSTORE and MLOAD; SHA3; CALLDATALOAD; CALLER, CALLVALUE, CALLDATASIZE, ADDRESS, ORIGIN,
TIMESTAMP and NUMBER; SLOAD and SSTORE through :mod:`.storage_logic`. Everything else is
called as usual.

Each distinct code is decoded once, into a list indexed by program counter (an entry is made
the first time its position runs and kept, per code, for every later computation): the
opcode's constant gas, how the loop runs it and, for PUSHes, the value pushed (as an int) and
the step to the next instruction.

Fingerprints of the upstream functions the loop does itself: :mod:`.upstream`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth.constants import GAS_SHA3WORD, UINT_256_MAX
from eth.vm.forks.berlin.logic import sload_eip2929
from eth.vm.logic import arithmetic, block, comparison, context, duplication, flow, swap
from eth.vm.logic import memory as memory_logic
from eth.vm.logic import sha3 as sha3_logic
from eth.vm.logic import stack as stack_logic
from eth.vm.logic.invalid import InvalidOpcode
from eth.vm.opcode import _FastOpcode

from collective.node.execution.storage_logic import _STOCK_SSTORE, _sload, _sstore

_PROGRAM_CACHE_BYTES = 2**22  # decoded programs kept, counted in bytes of code

# How the loop runs an opcode: call its logic function (or, for opcodes that charge their own
# gas, the opcode itself), or do what py-evm's function for it does (same gas first, same
# stack effect, same errors) without the calls.
(
    _PUSH,
    _DUP,
    _SWAP,
    _POP,
    _NOTHING,
    _BINARY,
    _UNARY,
    _JUMP,
    _JUMPI,
    _MSTORE,
    _MLOAD,
    _CALLDATALOAD,
    _SHA3,
    _ENVIRONMENT,
    _STOP,
    _LOGIC,
    _CALL,
    _DECODE,
) = range(18)
_M = UINT_256_MAX
_SIGN = 2**255  # unsigned_to_signed: values from here up are negative
_WRAP = 2**256

# the two-operand functions the loop does itself (operands: first popped, second popped)
(
    _AND,
    _ADD,
    _SUB,
    _SHL,
    _EQ,
    _GT,
    _OR,
    _SHR,
    _LT,
    _XOR,
    _SLT,
    _SGT,
    _MUL,
    _DIV,
    _MOD,
    _BYTE,
) = range(16)
_BINARY_OPS: dict[Callable[..., Any], int] = {
    comparison.and_op: _AND,
    arithmetic.add: _ADD,
    arithmetic.sub: _SUB,
    arithmetic.shl: _SHL,
    comparison.eq: _EQ,
    comparison.gt: _GT,
    comparison.or_op: _OR,
    arithmetic.shr: _SHR,
    comparison.lt: _LT,
    comparison.xor: _XOR,
    comparison.slt: _SLT,
    comparison.sgt: _SGT,
    arithmetic.mul: _MUL,
    arithmetic.div: _DIV,
    arithmetic.mod: _MOD,
    comparison.byte_op: _BYTE,
}
_ISZERO, _NOT = 0, 1
# opcodes that push a value of the message, transaction or block: how py-evm's function gets it,
# and the class its push accepts (``push_int``: int, ``push_bytes``: bytes)
_ENVIRONMENT_VALUES: dict[Callable[..., Any], tuple[Callable[[Any], Any], type]] = {
    context.caller: (lambda computation: computation.msg.sender, bytes),
    context.callvalue: (lambda computation: computation.msg.value, int),
    context.calldatasize: (lambda computation: len(computation.msg.data), int),
    context.address: (lambda computation: computation.msg.storage_address, bytes),
    context.origin: (lambda computation: computation.transaction_context.origin, bytes),
    block.timestamp: (lambda computation: computation.state.timestamp, int),
    block.number: (lambda computation: computation.state.block_number, int),
}
_SHA3_WORD_GAS = GAS_SHA3WORD

# An instruction as the loop sees it: (kind, constant gas, argument, argument). PUSHes are
# decoded per position (the value pushed, as an int, and how far the program counter moves).
_Entry = tuple[int, int, Any, Any]
_DECODE_ENTRY: _Entry = (_DECODE, 0, 0, 0)  # not decoded yet
_END_ENTRY: _Entry = (_STOP, 0, 0, 0)  # running off the end of the code is STOP
_PUSH_REACH = 33  # the program counter after a PUSH32 at the last byte: len(code) + 32


def _inline_kind(value: int, logic: Callable[..., Any]) -> tuple[int, Any, Any]:
    """How the loop runs ``logic`` (the function of opcode ``value``) as (kind, argument,
    argument): inline only py-evm's own functions for the opcodes the module docstring lists,
    recognised by identity. Anything else is called."""
    binary = _BINARY_OPS.get(logic)
    if binary is not None:
        return _BINARY, binary, logic
    if logic is comparison.iszero:
        return _UNARY, _ISZERO, logic
    if logic is comparison.not_op:
        return _UNARY, _NOT, logic
    if 0x60 <= value <= 0x7F and logic is getattr(stack_logic, f"push{value - 0x5F}", None):
        return _PUSH, value - 0x5F, 0
    if value == 0x5F and logic is stack_logic.push0:
        return _PUSH, 0, 0
    if 0x80 <= value <= 0x8F and logic is getattr(duplication, f"dup{value - 0x7F}", None):
        return _DUP, value - 0x7F, 0
    if 0x90 <= value <= 0x9F and logic is getattr(swap, f"swap{value - 0x8F}", None):
        return _SWAP, -(value - 0x8F) - 1, value - 0x8F
    if value == 0x50 and logic is stack_logic.pop:
        return _POP, 0, 0
    if value == 0x5B and logic is flow.jumpdest:
        return _NOTHING, 0, 0
    if value == 0x56 and logic is flow.jump:
        return _JUMP, logic, 0
    if value == 0x57 and logic is flow.jumpi:
        return _JUMPI, logic, 0
    if value == 0x52 and logic is memory_logic.mstore:
        return _MSTORE, logic, 0
    if value == 0x51 and logic is memory_logic.mload:
        return _MLOAD, logic, 0
    if value == 0x35 and logic is context.calldataload:
        return _CALLDATALOAD, logic, 0
    if value == 0x20 and logic is sha3_logic.sha3:
        return _SHA3, logic, 0
    if value == 0x54 and logic is sload_eip2929:
        return _LOGIC, _sload, 0
    if value == 0x55 and logic is _STOCK_SSTORE:
        return _LOGIC, _sstore, 0
    environment = _ENVIRONMENT_VALUES.get(logic)
    if environment is not None:
        return _ENVIRONMENT, environment, logic
    if value == 0x00 and logic is flow.stop:
        return _STOP, 0, 1
    return _LOGIC, logic, 0


class _OpcodeTable:
    """Per opcode byte: its loop entry and mnemonic; and the programs decoded with them."""

    def __init__(self, opcodes: dict[int, Any]) -> None:
        self.entries: list[_Entry] = []
        self.names: list[str] = []
        for value in range(256):
            opcode = opcodes.get(value)
            if type(opcode) is _FastOpcode:  # constant gas, then the logic function
                kind, first, second = _inline_kind(value, opcode.logic_fn)
                self.entries.append((kind, opcode.gas_cost, first, second))
                self.names.append(opcode.mnemonic)
            else:  # charges its own (dynamic) gas; a missing opcode is py-evm's InvalidOpcode
                call = InvalidOpcode(value) if opcode is None else opcode
                self.entries.append((_CALL, 0, call, 0))
                self.names.append(getattr(call, "mnemonic", ""))
        jumpdest = self.entries[0x5B]
        # charged right at a taken jump when JUMPDEST runs inline; otherwise never (no int
        # amount of gas reaches it) and the loop runs the JUMPDEST by itself
        self.jumpdest_cost: float = jumpdest[1] if jumpdest[0] == _NOTHING else float("inf")
        self.programs: dict[bytes, tuple[list[_Entry], set[int]]] = {}
        self.program_bytes = 0

    def program(self, code: bytes) -> tuple[list[_Entry], set[int]]:
        """``code``'s instructions by position (decoded as they are first reached, kept for
        the next run) and the jump destinations already checked valid."""
        program = self.programs.get(code)
        if program is None:
            if self.program_bytes + len(code) > _PROGRAM_CACHE_BYTES:
                self.programs.clear()
                self.program_bytes = 0
            program = ([_DECODE_ENTRY] * (len(code) + _PUSH_REACH), set())
            self.programs[code] = program
            self.program_bytes += len(code)
        return program

    def decode(self, code: bytes, pc: int) -> _Entry:
        """The instruction at ``pc``; a PUSH with its value (the bytes py-evm's ``push_XX``
        reads, zero-padded past the end, as an int) and the distance to the next one."""
        if pc >= len(code):
            return _END_ENTRY
        entry = self.entries[code[pc]]
        if entry[0] != _PUSH:
            return entry
        width = entry[2]
        data = code[pc + 1 : pc + 1 + width]
        value = int.from_bytes(data, "big") << (8 * (width - len(data)))
        return (_PUSH, entry[1], value, width + 1)
