"""The interpreter loop: py-evm's ``for opcode in computation.code`` with less Python per opcode.

Mirrors the loop in ``BaseComputation.apply_computation`` (``eth/vm/computation.py``), jump
checks of ``eth/vm/logic/flow.py`` (``jump``, ``jumpi``) and ``eth/vm/code_stream.py``
(``is_valid_opcode``), and gas charging of ``eth/vm/gas_meter.py`` (``consume_gas``) of py-evm
0.12.1b1. What it does differently:

- The program counter and the gas left live in local variables; they are written back to the
  code stream and the gas meter before anything else can look at them (a py-evm function or
  opcode the loop calls, an error, the end) and read back after a call. Constant gas is
  charged inline, as ``GasMeter.consume_gas`` would (same check, same ``OutOfGas`` message).
- **Jumps.** A jump destination is checked with py-evm's own rules (a JUMPDEST byte, at an
  instruction boundary: not inside PUSH data) the first time it is used, then remembered per
  code; a taken jump to a known JUMPDEST charges and runs that JUMPDEST at once.
- **Deadlines.** While an RPC call runs under a time budget (:mod:`collective.node.limits`),
  every taken jump compares the clock with it and raises ``CallTimeout`` once it has passed
  (the only way code repeats itself is a jump); while sealing there is no deadline and the
  check is one comparison with None.
- **Inline opcodes** (:mod:`.opcodes` lists them), each with py-evm's arithmetic, gas and
  errors; MSTORE and MLOAD charge memory growth inline with py-evm's fee; SHA3 hashes memory
  already allocated. Whenever the inline version would not do exactly what py-evm's function
  does (too few operands, growth py-evm must do itself, a value its push would refuse) the
  loop calls py-evm's function instead, which raises or does it. PUSH, MLOAD and
  CALLDATALOAD push ints where py-evm pushes bytes: its stack holds both, and every consumer
  converts (to an int, or to bytes it then pads or cuts), so the results are the same.

``tests/node/test_node_interpreter.py`` runs edge cases at every gas amount, and random
programs, through this loop and py-evm's and compares them.
"""

from __future__ import annotations

import time
from typing import Any

from eth.exceptions import (
    FullStack,
    Halt,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfGas,
)
from eth.vm.logic.invalid import InvalidOpcode
from eth_hash.auto import keccak

from collective.node.execution.opcodes import (
    _ADD,
    _AND,
    _BINARY,
    _CALL,
    _CALLDATALOAD,
    _DIV,
    _DUP,
    _ENVIRONMENT,
    _EQ,
    _GT,
    _ISZERO,
    _JUMP,
    _JUMPI,
    _LOGIC,
    _LT,
    _M,
    _MLOAD,
    _MOD,
    _MSTORE,
    _MUL,
    _NOTHING,
    _OR,
    _POP,
    _PUSH,
    _SGT,
    _SHA3,
    _SHA3_WORD_GAS,
    _SHL,
    _SHR,
    _SIGN,
    _SLT,
    _STOP,
    _SUB,
    _SWAP,
    _UNARY,
    _WRAP,
    _XOR,
    _OpcodeTable,
)
from collective.node.limits import CallTimeout, deadline

_INLINE_MEMORY_LIMIT = 2**32  # larger offsets take py-evm's path (and its errors)


def _run_stock(computation: Any) -> None:
    """py-evm's own loop, from wherever the program counter is."""
    lookup = computation.opcodes
    for opcode in computation.code:
        try:
            opcode_fn = lookup[opcode]
        except KeyError:
            opcode_fn = InvalidOpcode(opcode)
        try:
            opcode_fn(computation=computation)
        except Halt:
            break


def _check_jump(stream: Any, jumps: set[int], dest: int) -> None:
    """py-evm's checks of a jump destination not seen before; remembered when it passes."""
    stream.program_counter = dest
    if stream.peek() != 0x5B:
        raise InvalidJumpDestination("Invalid Jump Destination")
    if not stream.is_valid_opcode(dest):
        raise InvalidInstruction("Jump resulted in invalid instruction")
    jumps.add(dest)


def _run(computation: Any, table: _OpcodeTable) -> None:
    """Run ``computation``'s code from its program counter until it halts or fails (py-evm's
    ``for opcode in computation.code`` loop in ``apply_computation``; see the module
    docstring)."""
    meter = computation._gas_meter
    stream = computation.code
    values = computation._stack.values
    append = values.append
    pop = values.pop
    raw = stream._raw_code_bytes
    size = len(raw)
    program, jumps = table.program(raw)
    jumpdest_cost = table.jumpdest_cost
    calldata = None
    # an RPC call's deadline (collective.node.limits), checked at every taken jump: the only
    # way code loops (None while sealing: no check)
    limit = deadline()
    monotonic = time.monotonic
    # the kinds and operations as locals (cheaper to load than globals)
    push_, dup_, binary_, swap_, pop_, nothing_, logic_ = (
        _PUSH, _DUP, _BINARY, _SWAP, _POP, _NOTHING, _LOGIC
    )  # fmt: skip
    and_, add_, sub_, shl_, eq_, gt_, or_ = _AND, _ADD, _SUB, _SHL, _EQ, _GT, _OR
    m = _M
    # the program counter and the gas left live in locals; the stream and the gas meter get
    # them back before anything else can look (a call, an error, the end). `gas` is None
    # while a call runs: then the meter has the truth.
    pc: int = stream.program_counter
    gas: Any = meter.gas_remaining
    if not 0 <= pc <= size:
        _run_stock(computation)
        return
    try:
        while True:
            kind, cost, first, second = program[pc]
            if cost > gas:
                name = table.names[raw[pc]]
                pc += 1
                raise OutOfGas(f"Out of gas: Needed {cost} - Remaining {gas} - Reason: {name}")
            gas -= cost
            if kind == push_:  # first: the value, second: 1 + its width
                pc += second
                if len(values) > 1023:
                    raise FullStack("Stack limit reached")
                append(first)
                continue
            if kind == dup_:  # first: the depth
                pc += 1
                if len(values) > 1023:
                    raise FullStack("Stack limit reached")
                try:
                    append(values[-first])
                except IndexError:
                    raise InsufficientStack(f"Insufficient stack items for DUP{first}") from None
                continue
            if kind == binary_:  # first: which operation, second: py-evm's function
                pc += 1
                try:
                    b = values[-2]
                except IndexError:  # short of operands: py-evm's function raises
                    first = second
                else:
                    a = pop()
                    if a.__class__ is not int:
                        a = int.from_bytes(a, "big")
                    if b.__class__ is not int:
                        b = int.from_bytes(b, "big")
                    if first == and_:
                        values[-1] = a & b
                    elif first == add_:
                        values[-1] = (a + b) & m
                    elif first == sub_:
                        values[-1] = (a - b) & m
                    elif first == shl_:
                        values[-1] = 0 if a >= 256 else (b << a) & m
                    elif first == eq_:
                        values[-1] = 1 if a == b else 0
                    elif first == gt_:
                        values[-1] = 1 if a > b else 0
                    elif first == or_:
                        values[-1] = a | b
                    elif first == _SHR:
                        values[-1] = 0 if a >= 256 else b >> a
                    elif first == _LT:
                        values[-1] = 1 if a < b else 0
                    elif first == _XOR:
                        values[-1] = a ^ b
                    elif first == _SLT:
                        a = a - _WRAP if a >= _SIGN else a
                        b = b - _WRAP if b >= _SIGN else b
                        values[-1] = 1 if a < b else 0
                    elif first == _SGT:
                        a = a - _WRAP if a >= _SIGN else a
                        b = b - _WRAP if b >= _SIGN else b
                        values[-1] = 1 if a > b else 0
                    elif first == _MUL:
                        values[-1] = (a * b) & m
                    elif first == _DIV:
                        values[-1] = 0 if b == 0 else a // b
                    elif first == _MOD:
                        values[-1] = 0 if b == 0 else a % b
                    else:  # _BYTE
                        values[-1] = 0 if a >= 32 else (b >> (248 - 8 * a)) & 0xFF
                    continue
            elif kind == swap_:  # first: the index to swap with the top, second: the depth
                pc += 1
                try:
                    values[-1], values[first] = values[first], values[-1]
                except IndexError:
                    raise InsufficientStack(f"Insufficient stack items for SWAP{second}") from None
                continue
            elif kind == pop_:
                pc += 1
                try:
                    pop()
                except IndexError:
                    raise InsufficientStack("Wanted 1 stack item, had none") from None
                continue
            elif kind == nothing_:
                pc += 1
                continue
            elif kind == logic_:  # first: the logic function
                pc += 1
            elif kind == _JUMPI:  # first: py-evm's function
                pc += 1
                try:
                    check = values[-2]
                except IndexError:  # py-evm's function raises
                    pass
                else:
                    dest = pop()
                    pop()
                    if not (check if check.__class__ is int else int.from_bytes(check, "big")):
                        continue
                    if dest.__class__ is not int:
                        dest = int.from_bytes(dest, "big")
                    if limit is not None and monotonic() > limit:
                        raise CallTimeout
                    if dest in jumps:  # a JUMPDEST already checked: run it right away
                        if gas >= jumpdest_cost:
                            gas -= jumpdest_cost
                            pc = dest + 1
                        else:
                            pc = dest  # the loop raises OutOfGas there
                        continue
                    pc = dest
                    _check_jump(stream, jumps, dest)
                    continue
            elif kind == _JUMP:  # first: py-evm's function
                pc += 1
                if values:
                    dest = pop()
                    if dest.__class__ is not int:
                        dest = int.from_bytes(dest, "big")
                    if limit is not None and monotonic() > limit:
                        raise CallTimeout
                    if dest in jumps:
                        if gas >= jumpdest_cost:
                            gas -= jumpdest_cost
                            pc = dest + 1
                        else:
                            pc = dest
                        continue
                    pc = dest
                    _check_jump(stream, jumps, dest)
                    continue
            elif _MSTORE <= kind <= _MLOAD:  # first: py-evm's function
                # within allocated memory there is no expansion to charge: do it here;
                # anything else (growth, bad offsets, short stack) goes to py-evm's function
                pc += 1
                memory = computation._memory._bytes
                if values:
                    offset = values[-1]
                    if offset.__class__ is not int:
                        offset = int.from_bytes(offset, "big")
                    old_size = len(memory)
                    if (
                        offset + 32 > old_size
                        and offset < _INLINE_MEMORY_LIMIT
                        and (kind == _MLOAD or len(values) >= 2)
                    ):
                        # growth: py-evm's memory fee (3 per word + words**2 // 512), inline
                        new_size = (offset + 63) & ~31
                        new_words, old_words = new_size >> 5, old_size >> 5
                        fee = (
                            new_words * 3
                            + new_words * new_words // 512
                            - old_words * 3
                            - old_words * old_words // 512
                        )
                        if fee <= gas:  # else py-evm raises OutOfGas
                            try:
                                memory.extend(bytes(new_size - old_size))
                            except BufferError:  # exported buffer: py-evm copies it
                                pass
                            else:
                                gas -= fee
                    if offset + 32 <= len(memory):
                        if kind == _MLOAD:
                            values[-1] = int.from_bytes(memory[offset : offset + 32], "big")
                            continue
                        if len(values) >= 2:
                            pop()
                            item = pop()
                            memory[offset : offset + 32] = (
                                item.to_bytes(32, "big")
                                if item.__class__ is int
                                else item.rjust(32, b"\x00")[-32:]
                            )
                            continue
            elif kind == _UNARY:  # first: which operation, second: py-evm's function
                pc += 1
                if values:
                    a = values[-1]
                    if a.__class__ is not int:
                        a = int.from_bytes(a, "big")
                    values[-1] = (1 if a == 0 else 0) if first == _ISZERO else m - a
                    continue
                first = second
            elif kind == _CALLDATALOAD:  # first: py-evm's function
                pc += 1
                if values:
                    start = values[-1]
                    if start.__class__ is not int:
                        start = int.from_bytes(start, "big")
                    if calldata is None:
                        calldata = computation.msg.data_as_bytes
                    word = calldata[start : start + 32]
                    values[-1] = int.from_bytes(word, "big") << (8 * (32 - len(word)))
                    continue
            elif kind == _SHA3:  # first: py-evm's function
                # hashing memory already allocated: no expansion to charge, only the word fee
                pc += 1
                try:
                    length = values[-2]
                except IndexError:  # py-evm's function raises
                    pass
                else:
                    start = values[-1]
                    if start.__class__ is not int:
                        start = int.from_bytes(start, "big")
                    if length.__class__ is not int:
                        length = int.from_bytes(length, "big")
                    memory = computation._memory._bytes
                    fee = ((length + 31) >> 5) * _SHA3_WORD_GAS
                    if (length == 0 or start + length <= len(memory)) and fee <= gas:
                        # eth_hash's keccak, minus its type check (this is bytes), as py-evm
                        gas -= fee
                        pop()
                        values[-1] = keccak.hasher(bytes(memory[start : start + length]))
                        continue
            elif kind == _ENVIRONMENT:  # first: (value getter, class), second: py-evm's function
                pc += 1
                value = first[0](computation)
                if len(values) > 1023:
                    raise FullStack("Stack limit reached")
                if value.__class__ is first[1] and (
                    0 <= value <= m if value.__class__ is int else len(value) <= 32
                ):
                    append(value)
                    continue
                first = second  # py-evm's validation error
            elif kind == _CALL:  # first: the opcode, which charges its own gas
                pc += 1
                meter.gas_remaining = gas
                stream.program_counter = pc
                gas = None
                first(computation=computation)
                gas = meter.gas_remaining
                pc = stream.program_counter
                if not 0 <= pc <= size:  # moved by hand: py-evm's loop takes over
                    _run_stock(computation)
                    return
                continue
            elif kind == _STOP:  # second: 1 for STOP, 0 for the end of the code
                pc += second
                meter.gas_remaining = gas
                stream.program_counter = pc
                return
            else:  # _DECODE
                program[pc] = table.decode(raw, pc)
                continue
            # py-evm's logic function `first` (for its opcode, or because the inline version
            # would not do exactly what it does: it raises, or grows memory the slow way)
            meter.gas_remaining = gas
            stream.program_counter = pc
            gas = None
            first(computation)
            gas = meter.gas_remaining
            pc = stream.program_counter
            if not 0 <= pc <= size:  # moved by hand: py-evm's loop takes over
                _run_stock(computation)
                return
    except Halt:
        if gas is not None:
            meter.gas_remaining = gas
            stream.program_counter = pc
    except BaseException:
        if gas is not None:
            meter.gas_remaining = gas
            stream.program_counter = pc
        raise
