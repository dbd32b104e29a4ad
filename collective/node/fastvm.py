"""py-evm's Prague VM with its hot path trimmed: :class:`NodeVM`.

Same rules, same results (tests run identical transactions through this VM and through stock
``PragueVM`` and compare state roots, receipts and gas), less Python per opcode and per
transaction. Measured on the consent-grant workload of ``benchmarks/node.py``, execution takes
under a third of the time it takes in stock py-evm. What changes:

- **Interpreter loop** (``_run``). Each distinct code is decoded once, into a list indexed by
  program counter (an entry is made the first time its position runs and kept, per code, for
  every later computation): the opcode's constant gas, how the loop runs it and, for PUSHes,
  the value pushed (as an int) and the step to the next instruction. The program counter and
  the gas left live in local variables; they are written back to the code stream and the gas
  meter before anything else can look at them (a py-evm function or opcode the loop calls, an
  error, the end) and read back after a call. Constant gas is charged inline, as
  ``GasMeter.consume_gas`` would (same check, same ``OutOfGas`` message).
- **Jumps.** A jump destination is checked with py-evm's own rules (a JUMPDEST byte, at an
  instruction boundary: not inside PUSH data) the first time it is used, then remembered per
  code; a taken jump to a known JUMPDEST charges and runs that JUMPDEST at once.
- **Deadlines.** While an RPC call runs under a time budget (:mod:`collective.node.limits`),
  every taken jump compares the clock with it and raises ``CallTimeout`` once it has passed
  (the only way code repeats itself is a jump); while sealing there is no deadline and the
  check is one comparison with None.
- **Opcodes run inside the loop**, each only when its function is py-evm's own (recognised by
  identity), with py-evm's arithmetic, gas and errors: PUSH0-32, DUP, SWAP, POP, JUMPDEST,
  STOP, JUMP, JUMPI; ADD, SUB, MUL, DIV, MOD, AND, OR, XOR, NOT, BYTE, SHL, SHR, LT, GT, SLT,
  SGT, EQ, ISZERO; MSTORE and MLOAD (memory growth charged inline with py-evm's fee); SHA3 of
  memory already allocated; CALLDATALOAD; CALLER, CALLVALUE, CALLDATASIZE, ADDRESS, ORIGIN,
  TIMESTAMP and NUMBER. Whenever the inline version would not do exactly what py-evm's
  function does (too few operands, growth py-evm must do itself, a value its push would
  refuse) the loop calls py-evm's function instead, which raises or does it. Everything else
  is called as usual. PUSH, MLOAD and CALLDATALOAD push ints where py-evm pushes bytes: its
  stack holds both, and every consumer converts (to an int, or to bytes it then pads or cuts),
  so the results are the same. ``tests/node/test_node_interpreter.py`` runs edge cases at
  every gas amount, and random programs, through this loop and py-evm's and compares them.
- **Stack and memory.** Popping integers needs no generator; touching memory that is
  already allocated skips the expansion-cost arithmetic (there is nothing to charge).
- **SLOAD and SSTORE** (when they are py-evm's Berlin ``sload_eip2929`` and Prague's
  ``ensure_no_static(sstore_eip3529)``, and the state's storage methods are py-evm's handing
  over to :class:`NodeAccountDB`) run as py-evm's functions do, step for step (pop, warm/cold
  marking, gas, read or write, refund, the implicit cold-SLOAD charge after the write), calling
  the account database directly; the SSTORE gas reason is formatted only for its
  ``OutOfGas``. Warm/cold marking reads and writes py-evm's journal of accessed slots without
  a method call per layer; so do storage reads and writes (journal, locked changes, cache,
  trie: :mod:`collective.node.storage`), and values are RLP-decoded without rlp's generic
  path. No value is cached outside py-evm's own journals, so a reverted call leaves nothing.
- **Storage tries** are updated once per block (:mod:`collective.node.storage`).
- **Accounts.** Balance and nonce updates build the account record and its RLP directly
  (four per transaction: gas purchase, nonce, refund, tip) instead of through
  ``Serializable.copy`` and the generic encoder; so does every other account write
  (``_set_account``: EIP-161's touch of each transaction's recipient). ``get_code`` asks
  whether the code's hash was read from the database without py-evm's frozenset copy of every
  key read so far in the block (which made each transaction's code lookup grow with the
  block).
- **No eager debug strings.** py-evm formats a debug line per transaction (hex of the whole
  contract code, a keccak of the calldata) even when debug logging is off; the node's
  executor builds the message without it, and the state's logger is created once.
- **Transaction steps.** The executor's ``build_computation`` (Berlin's warm marking, then
  Frontier's) and ``finalize_computation`` (Frontier's refund and tip, then SpuriousDragon's
  EIP-161 clearing) are py-evm's minus their debug lines; the touched accounts are built as
  ``collect_touched_accounts`` builds them (the same set), directly when the transaction made
  no call and self-destructed nothing. The account database's ``get_balance``,
  ``account_exists``, ``account_is_empty``, ``touch_account`` and address warm/cold marking
  skip re-validating a 20-byte address (any other value takes py-evm's path and error).
- **Receipts** get their logs bloom computed once, without ``BloomFilter`` objects
  (:func:`logs_bloom`, hashing with eth_hash's hasher minus its type check), and are not
  re-validated against it a moment later. Their ``Log`` and ``Receipt`` objects are built as
  rlp's ``BaseSerializable.__init__`` builds them (each field's attribute set to
  ``make_immutable(value)``) without its keyword merging, while those ``__init__``s are
  py-evm's and rlp's own.

Pinned to py-evm 0.12.1b1 (``pyproject.toml``): the overridden methods follow that version's
code line by line, minus the logging.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from eth._utils.address import generate_contract_address
from eth.abc import (
    AccountStorageDatabaseAPI,
    ComputationAPI,
    MessageAPI,
    ReceiptAPI,
    SignedTransactionAPI,
    StateAPI,
)
from eth.constants import CREATE_CONTRACT_ADDRESS, EMPTY_SHA3, GAS_SHA3WORD, UINT_256_MAX
from eth.db.account import IS_PRESENT_VALUE, AccountDB
from eth.db.journal import DELETE_WRAPPED, REVERT_TO_WRAPPED
from eth.exceptions import (
    ContractCreationCollision,
    FullStack,
    Halt,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfGas,
    WriteProtection,
)
from eth.rlp.accounts import Account
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm import mnemonics
from eth.vm.computation import NO_RESULT
from eth.vm.forks.berlin import constants as berlin_constants
from eth.vm.forks.berlin.logic import sload_eip2929
from eth.vm.forks.byzantium.constants import (
    EIP658_TRANSACTION_STATUS_CODE_FAILURE,
    EIP658_TRANSACTION_STATUS_CODE_SUCCESS,
)
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.london.storage import GAS_SCHEDULE_EIP3529
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState, PragueTransactionExecutor
from eth.vm.forks.spurious_dragon._utils import THREE as _THREE
from eth.vm.forks.spurious_dragon._utils import collect_touched_accounts
from eth.vm.interrupt import MissingBytecode
from eth.vm.logic import arithmetic, block, comparison, context, duplication, flow, swap
from eth.vm.logic import memory as memory_logic
from eth.vm.logic import sha3 as sha3_logic
from eth.vm.logic import stack as stack_logic
from eth.vm.logic.invalid import InvalidOpcode
from eth.vm.message import Message
from eth.vm.opcode import _FastOpcode
from eth.vm.stack import Stack
from eth.vm.state import BaseState
from eth_hash.auto import keccak
from eth_typing import Address
from eth_utils.hexadecimal import encode_hex
from eth_utils.logging import get_extended_debug_logger
from rlp.sedes.serializable import BaseSerializable, make_immutable

from collective.node.limits import CallTimeout, deadline
from collective.node.storage import BatchedAccountStorageDB, journal_set

_JUMPDEST_CACHE_LIMIT = 512
_PROGRAM_CACHE_BYTES = 2**22  # decoded programs kept, counted in bytes of code
_STACK_LIMIT = 1024
_INLINE_MEMORY_LIMIT = 2**32  # larger offsets take py-evm's path (and its errors)


class NodeStack(Stack):
    """py-evm's stack; popping integers without a generator per call."""

    def pop_ints(self, num_items: int) -> tuple[int, ...]:
        values = self.values
        if num_items == 2 and len(values) >= 2:
            first = values.pop()
            second = values.pop()
            return (
                first if first.__class__ is int else int.from_bytes(first, "big"),  # type: ignore[arg-type]
                second if second.__class__ is int else int.from_bytes(second, "big"),  # type: ignore[arg-type]
            )
        if num_items > len(values):
            raise InsufficientStack(f"Wanted {num_items} stack items, only had {len(values)}")
        popped = values[-num_items:]
        del values[-num_items:]
        popped.reverse()
        return tuple(
            item if item.__class__ is int else int.from_bytes(item, "big")  # type: ignore[arg-type]
            for item in popped
        )

    def pop1_int(self) -> int:
        try:
            item = self.values.pop()
        except IndexError:
            raise InsufficientStack("Wanted 1 stack item, had none") from None
        return item if item.__class__ is int else int.from_bytes(item, "big")  # type: ignore[arg-type]

    def push_int(self, value: int) -> None:
        values = self.values
        if len(values) >= _STACK_LIMIT:
            raise FullStack("Stack limit reached")
        if value.__class__ is not int or value < 0 or value > UINT_256_MAX:
            super().push_int(value)  # py-evm's validation and error
            return
        values.append(value)


class NodeComputation(PragueComputation):
    """Prague's computation with a leaner interpreter loop (see the module docstring)."""

    _analysis: ClassVar[dict[bytes, tuple[set[int], set[int]]]] = {}
    _table: ClassVar[_OpcodeTable | None] = None

    def __init__(self, state: StateAPI, message: MessageAPI, transaction_context: Any) -> None:
        super().__init__(state, message, transaction_context)
        self._stack = NodeStack()
        code = bytes(message.code)
        analysis = self._analysis.get(code)
        if analysis is None:
            if len(self._analysis) >= _JUMPDEST_CACHE_LIMIT:
                self._analysis.clear()
            analysis = self._analysis[code] = (set(), set())
        # CodeStream fills these lazily; every stream over the same code shares them
        stream: Any = self.code
        stream.valid_positions, stream.invalid_positions = analysis

    def extend_memory(self, start_position: int, size: int) -> None:
        # nothing to charge or grow when the range is already inside memory (memory is always
        # a whole number of 32-byte words); anything else takes py-evm's path
        if (
            size
            and start_position.__class__ is int
            and size.__class__ is int
            and start_position >= 0
            and size > 0
            and start_position + size <= len(self._memory)
        ):
            return
        super().extend_memory(start_position, size)

    @classmethod
    def _opcode_table(cls) -> _OpcodeTable:
        table = cls.__dict__.get("_table")
        if table is None:
            table = cls._table = _OpcodeTable(cls.opcodes)
        return table

    @classmethod
    def apply_computation(
        cls,
        state: StateAPI,
        message: MessageAPI,
        transaction_context: Any,
        parent_computation: ComputationAPI | None = None,
    ) -> ComputationAPI:
        # py-evm's BaseComputation.apply_computation with the opcode loop inlined
        with cls(state, message, transaction_context) as computation:
            if computation.is_origin_computation:
                computation.contracts_created = []
                if message.is_create:
                    cls.consume_initcode_gas_cost(computation)
            if parent_computation is not None:
                computation.contracts_created = parent_computation.contracts_created
            if message.is_create:
                computation.contracts_created.append(message.storage_address)
            precompile = computation.precompiles.get(message.code_address, NO_RESULT)
            if precompile is not NO_RESULT:
                if not message.is_delegation:
                    precompile(computation)
                return computation
            _run(computation, cls._opcode_table())
        return computation


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


# SLOAD and SSTORE: py-evm's Berlin/London functions with the account database called directly
_STOCK_SSTORE: Any = getattr(
    PragueComputation.opcodes[0x55], "logic_fn", None
)  # ensure_no_static(...)
_SSTORE_SCHEDULE = GAS_SCHEDULE_EIP3529
_COLD_SLOAD_COST = berlin_constants.COLD_SLOAD_COST
_WARM_STORAGE_READ_COST = berlin_constants.WARM_STORAGE_READ_COST
_STATE_STORAGE_METHODS = ("get_storage", "set_storage", "is_storage_warm", "mark_storage_warm")
_DB_STORAGE_METHODS = (*_STATE_STORAGE_METHODS, "warm_storage", "_is_warm", "_mark_warm")
_node_storage: dict[tuple[type, type], bool] = {}


def _storage_db(state: Any) -> NodeAccountDB | None:
    """The state's account database when the state's storage methods are py-evm's (they hand
    over to the database) and the database's are :class:`NodeAccountDB`'s; else None."""
    db = getattr(state, "_account_db", None)
    classes = (state.__class__, db.__class__)
    fast = _node_storage.get(classes)
    if fast is None:
        state_class, db_class = classes
        fast = _node_storage[classes] = (
            isinstance(db, NodeAccountDB)
            and all(
                getattr(state_class, name, None) is getattr(BaseState, name)
                for name in _STATE_STORAGE_METHODS
            )
            and all(
                getattr(db_class, name, None) is getattr(NodeAccountDB, name)
                for name in _DB_STORAGE_METHODS
            )
        )
    return db if fast else None


def _consume(meter: Any, amount: int, reason: Callable[[], str]) -> None:
    """``GasMeter.consume_gas`` of a non-negative amount; the reason is formatted only for
    the error."""
    remaining = meter.gas_remaining
    if amount > remaining:
        raise OutOfGas(f"Out of gas: Needed {amount} - Remaining {remaining} - Reason: {reason()}")
    meter.gas_remaining = remaining - amount


def _sload(computation: Any) -> None:
    """py-evm's ``sload_eip2929``: pop the slot, warm it, charge, read, push."""
    db = _storage_db(computation.state)
    if db is None:
        sload_eip2929(computation)
        return
    slot = computation.stack_pop1_int()
    address = computation.msg.storage_address
    cost = _COLD_SLOAD_COST if db.warm_storage(address, slot) else _WARM_STORAGE_READ_COST
    _consume(computation._gas_meter, cost, lambda: mnemonics.SLOAD)
    computation.stack_push_int(db.get_storage(address, slot))


def _sstore(computation: Any) -> None:
    """py-evm's Prague SSTORE: ``ensure_no_static(sstore_eip3529)``, that is
    ``sstore_eip2929_generic`` -> ``sstore_eip2200_generic`` -> ``net_sstore`` with London's
    schedule, minus the eagerly formatted gas reason."""
    db = _storage_db(computation.state)
    if db is None:
        _STOCK_SSTORE(computation)
        return
    msg = computation.msg
    if msg.is_static:
        raise WriteProtection("Cannot modify state while inside of a STATICCALL context")
    gas_remaining = computation.get_gas_remaining()
    if gas_remaining <= 2300:
        raise OutOfGas(
            "Net-metered SSTORE always fails below 2300 gas, per EIP-2200", gas_remaining
        )
    slot, value = computation.stack_pop_ints(2)
    address = msg.storage_address
    current_value = db.get_storage(address, slot)
    original_value = db.get_storage(address, slot, from_journal=False)
    schedule = _SSTORE_SCHEDULE
    gas_refund = 0
    if current_value == value:
        gas_cost = schedule.sload_gas
    elif original_value == current_value:
        if original_value == 0:
            gas_cost = schedule.sstore_set_gas
        else:
            gas_cost = schedule.sstore_reset_gas
            if value == 0:
                gas_refund += schedule.sstore_clears_schedule
    else:
        gas_cost = schedule.sload_gas
        if original_value != 0:
            if current_value == 0:
                gas_refund -= schedule.sstore_clears_schedule
            if value == 0:
                gas_refund += schedule.sstore_clears_schedule
        if original_value == value:
            if original_value == 0:
                gas_refund += schedule.sstore_set_gas - schedule.sload_gas
            else:
                gas_refund += schedule.sstore_reset_gas - schedule.sload_gas
    meter = computation._gas_meter
    _consume(
        meter,
        gas_cost,
        lambda: (
            f"SSTORE: {encode_hex(address)}[{slot}] -> {value} "
            f"(current: {current_value} / original: {original_value})"
        ),
    )
    if gas_refund:
        computation.refund_gas(gas_refund)
    db.set_storage(address, slot, value)
    if db.warm_storage(address, slot):
        _consume(meter, _COLD_SLOAD_COST, lambda: f"Implicit SLOAD during {mnemonics.SSTORE}")


def _rlp_int(value: int) -> bytes:
    if value == 0:
        return b"\x80"
    if value < 128:
        return bytes((value,))
    body = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(body),)) + body  # at most 32 bytes: short string


def encode_account(nonce: int, balance: int, storage_root: bytes, code_hash: bytes) -> bytes:
    """RLP of an account record (what ``rlp.encode(account, sedes=Account)`` gives)."""
    payload = b"".join(
        (_rlp_int(nonce), _rlp_int(balance), b"\xa0", storage_root, b"\xa0", code_hash)
    )
    length = len(payload)
    if length < 56:
        return bytes((0xC0 + length,)) + payload
    return bytes((0xF8, length)) + payload  # < 256: two 32-byte hashes and two <= 33-byte ints


def _storage_key(address: bytes, slot: int) -> bytes:
    # AccountDB._get_storage_tracker_key: the address, then int_to_big_endian(slot)
    return address + slot.to_bytes((slot.bit_length() + 7) // 8 or 1, "big")


class NodeAccountDB(AccountDB):
    """py-evm's account database; balance and nonce writes without the generic RLP path,
    storage reads, writes and warm/cold tracking without re-validating what the interpreter
    hands over, and storage tries updated once per block (:mod:`collective.node.storage`)."""

    def get_storage(self, address: Address, slot: int, from_journal: bool = True) -> int:
        if (
            address.__class__ is not bytes
            or len(address) != 20
            or slot.__class__ is not int
            or slot < 0
            or slot > UINT_256_MAX
        ):
            return super().get_storage(address, slot, from_journal)  # py-evm's errors
        store = self._account_stores.get(address)
        if store is None:
            store = self._get_address_store(address)
        return store.get(slot, from_journal)

    def set_storage(self, address: Address, slot: int, value: int) -> None:
        if (
            address.__class__ is not bytes
            or len(address) != 20
            or slot.__class__ is not int
            or slot < 0
            or slot > UINT_256_MAX
            or value.__class__ is not int
            or value < 0
            or value > UINT_256_MAX
        ):
            super().set_storage(address, slot, value)  # py-evm's errors
            return
        store = self._account_stores.get(address)
        if store is None:
            store = self._get_address_store(address)
        self._dirty_accounts.add(address)
        store.set(slot, value)

    def _is_warm(self, key: bytes) -> bool:
        # ``key in self._journal_accessed_state`` (JournalDB._exists), inlined
        accessed = self._journal_accessed_state
        journal = accessed._journal
        value = journal._current_values.get(key)
        if value is None:
            return not journal._ignore_wrapped_db and key in accessed._wrapped_db
        return value is not REVERT_TO_WRAPPED and value is not DELETE_WRAPPED

    def _mark_warm(self, key: bytes) -> None:
        # ``self._journal_accessed_state[key] = b""`` (Journal.__setitem__)
        journal_set(self._journal_accessed_state._journal, key, IS_PRESENT_VALUE)

    def is_storage_warm(self, address: Address, slot: int) -> bool:
        return self._is_warm(_storage_key(address, slot))

    def mark_storage_warm(self, address: Address, slot: int) -> None:
        key = _storage_key(address, slot)
        if not self._is_warm(key):
            self._mark_warm(key)

    def warm_storage(self, address: Address, slot: int) -> bool:
        """Mark the slot warm; whether it was cold (``is_storage_warm`` then
        ``mark_storage_warm``, as Berlin's ``_mark_storage_warm`` calls them)."""
        key = _storage_key(address, slot)
        if self._is_warm(key):
            return False
        self._mark_warm(key)
        return True

    # py-evm's account reads, minus re-validating an address that is 20 bytes already
    def get_balance(self, address: Address) -> int:
        if address.__class__ is not bytes or len(address) != 20:
            return super().get_balance(address)
        return self._get_account(address).balance  # type: ignore[no-any-return]

    def account_exists(self, address: Address) -> bool:
        if address.__class__ is not bytes or len(address) != 20:
            return super().account_exists(address)
        return self._get_encoded_account(address, from_journal=True) != b""

    def account_is_empty(self, address: Address) -> bool:
        # not account_has_code_or_nonce (nonce, then code hash) and a zero balance
        if address.__class__ is not bytes or len(address) != 20:
            return super().account_is_empty(address)
        account = self._get_account(address)
        return account.nonce == 0 and account.code_hash == EMPTY_SHA3 and account.balance == 0

    def touch_account(self, address: Address) -> None:
        if address.__class__ is not bytes or len(address) != 20:
            super().touch_account(address)
            return
        self._set_account(address, self._get_account(address))

    def is_address_warm(self, address: Address) -> bool:
        return self._is_warm(address)

    def mark_address_warm(self, address: Address) -> None:
        if not self._is_warm(address):
            self._mark_warm(address)

    def _get_address_store(self, address: Address) -> AccountStorageDatabaseAPI:
        store = self._account_stores.get(address)
        if store is None:
            storage_root = self._get_storage_root(address)
            store = BatchedAccountStorageDB(self._raw_store_db, storage_root, address)
            self._account_stores[address] = store
        return store

    def _put(
        self,
        address: Address,
        nonce: int,
        balance: int,
        account: Any,
        storage_root: bytes | None = None,
    ) -> None:
        storage_root = account.storage_root if storage_root is None else storage_root
        code_hash = account.code_hash
        self._account_cache[address] = Account(nonce, balance, storage_root, code_hash)
        self._journaltrie[address] = encode_account(nonce, balance, storage_root, code_hash)

    def _set_account(self, address: Address, account: Account) -> None:
        # py-evm's: cache it, journal its RLP (built directly when the fields are well-formed)
        nonce, balance = account.nonce, account.balance
        storage_root, code_hash = account.storage_root, account.code_hash
        if (
            nonce.__class__ is int
            and balance.__class__ is int
            and 0 <= nonce <= UINT_256_MAX
            and 0 <= balance <= UINT_256_MAX
            and storage_root.__class__ is bytes
            and code_hash.__class__ is bytes
            and len(storage_root) == 32
            and len(code_hash) == 32
        ):
            self._account_cache[address] = account
            self._journaltrie[address] = encode_account(nonce, balance, storage_root, code_hash)
            return
        super()._set_account(address, account)

    def get_code(self, address: Address) -> bytes:
        # py-evm's, asking whether the code's hash was read from the database without copying
        # every key read so far (``_get_accessed_node_hashes`` makes a frozenset per call)
        if (
            address.__class__ is not bytes
            or len(address) != 20
            or self.__class__._get_accessed_node_hashes is not AccountDB._get_accessed_node_hashes
        ):
            return super().get_code(address)
        code_hash = self.get_code_hash(address)
        if code_hash == EMPTY_SHA3:
            return b""
        try:
            code: bytes = self._journaldb[code_hash]
            return code
        except KeyError:
            raise MissingBytecode(code_hash) from KeyError
        finally:
            if code_hash in self._raw_store_db._keys_read:
                self._accessed_bytecodes.add(address)

    def _set_storage_root(self, address: Address, new_storage_root: Any) -> None:
        if new_storage_root.__class__ is not bytes or len(new_storage_root) != 32:
            super()._set_storage_root(address, new_storage_root)
            return
        account = self._get_account(address)
        self._put(address, account.nonce, account.balance, account, new_storage_root)

    def set_balance(self, address: Address, balance: int) -> None:
        if len(address) != 20 or address.__class__ is not bytes:
            super().set_balance(address, balance)
            return
        if balance.__class__ is not int or balance < 0 or balance > UINT_256_MAX:
            super().set_balance(address, balance)  # py-evm's validation error
            return
        account = self._get_account(address)
        self._put(address, account.nonce, balance, account)

    def set_nonce(self, address: Address, nonce: int) -> None:
        if len(address) != 20 or address.__class__ is not bytes:
            super().set_nonce(address, nonce)
            return
        if nonce.__class__ is not int or nonce < 0 or nonce >= 2**64:
            super().set_nonce(address, nonce)
            return
        account = self._get_account(address)
        self._put(address, nonce, account.balance, account)


class NodeExecutor(PragueTransactionExecutor):
    """Prague's transaction executor without the eagerly formatted debug line."""

    def build_evm_message(self, transaction: SignedTransactionAPI) -> MessageAPI:
        # py-evm's CancunTransactionExecutor.build_evm_message, minus the debug2 f-string
        state = self.vm_state
        london_gas_fee = transaction.gas * state.get_gas_price(transaction)
        blob_data_fee = (
            self.calc_data_fee(transaction)  # type: ignore[arg-type]
            if transaction.type_id == BLOB_TX_TYPE
            else 0
        )
        sender = transaction.sender
        state.delta_balance(sender, -1 * (london_gas_fee + blob_data_fee))
        state.increment_nonce(sender)
        msg_refund = self.calc_message_refund(transaction)
        message_gas = transaction.gas - transaction.intrinsic_gas
        if transaction.to == CREATE_CONTRACT_ADDRESS:
            contract_address = generate_contract_address(sender, state.get_nonce(sender) - 1)
            data = b""
            code = transaction.data
            is_delegation = False
        else:
            contract_address = None
            data = transaction.data
            code, delegation_address = self.get_code_at_address(transaction.to)
            is_delegation = delegation_address is not None
        return Message(
            gas=message_gas,
            to=transaction.to,
            sender=sender,
            value=transaction.value,
            data=data,
            code=code,
            create_address=contract_address,  # type: ignore[arg-type]
            refund=msg_refund,
            is_delegation=is_delegation,
        )

    def build_computation(
        self, message: MessageAPI, transaction: SignedTransactionAPI
    ) -> ComputationAPI:
        # py-evm's BerlinTransactionExecutor.build_computation, then Frontier's (the
        # collision's debug line formatted only when debug logging is on)
        state = self.vm_state
        state.mark_address_warm(transaction.sender)
        state.mark_address_warm(message.storage_address)
        for address, slots in transaction.access_list:
            state.mark_address_warm(address)
            for slot in slots:
                state.mark_storage_warm(address, slot)
        transaction_context = state.get_transaction_context(transaction)
        if message.is_create:
            if state.has_code_or_nonce(message.storage_address):
                computation = state.get_computation(message, transaction_context)
                computation.error = ContractCreationCollision(
                    "Address collision while creating contract: "
                    f"{encode_hex(message.storage_address)}"
                )
                return computation
            return state.computation_class.apply_create_message(state, message, transaction_context)
        return state.computation_class.apply_message(state, message, transaction_context)

    def finalize_computation(
        self, transaction: SignedTransactionAPI, computation: ComputationAPI
    ) -> ComputationAPI:
        # py-evm's SpuriousDragonTransactionExecutor.finalize_computation around Frontier's,
        # minus the debug lines (an encode_hex or two per transaction even with debug off)
        state = self.vm_state
        gas_price = state.get_transaction_context(transaction).gas_price
        gas_remaining = computation.get_gas_remaining()
        gas_used = transaction.gas - gas_remaining
        gas_refund = self.calculate_gas_refund(computation, gas_used)
        data_floor_gas = computation.data_floor_gas = self.calc_data_floor_gas(
            transaction, gas_used, gas_refund
        )
        gas_refund_amount = (gas_refund + gas_remaining - data_floor_gas) * gas_price
        if gas_refund_amount:
            state.delta_balance(computation.msg.sender, gas_refund_amount)
        gas_used = transaction.gas - gas_remaining - gas_refund + data_floor_gas
        transaction_fee = gas_used * state.get_tip(transaction)
        state.delta_balance(state.coinbase, transaction_fee)
        for account in computation.get_accounts_for_deletion():
            state.delete_account(account)
        # EIP-161 state clearing
        for account in _touched_accounts(computation):
            if state.account_exists(account) and state.account_is_empty(account):
                state.delete_account(account)
        return computation


def _touched_accounts(computation: Any) -> set[Address]:
    """py-evm's ``collect_touched_accounts(computation)`` (the same set, built in the same
    order), without the generator when nothing was self-destructed and no call was made."""
    if computation.children or computation.beneficiaries:
        touched: set[Address] = collect_touched_accounts(computation)
        return touched
    # the coinbase; no beneficiaries (``get_self_destruct_beneficiaries`` of no children and
    # no own is empty); the recipient, unless a create (or an error, bar the RIPEMD160 case)
    to = computation.msg.to
    if to == CREATE_CONTRACT_ADDRESS or (computation.is_error and to != _THREE):
        return {computation.state.coinbase}
    return {computation.state.coinbase, to}


class NodeState(PragueState):
    computation_class = NodeComputation
    transaction_executor_class = NodeExecutor
    account_db_class = NodeAccountDB
    logger = get_extended_debug_logger("eth.vm.state.NodeState")  # type: ignore[assignment]


class NodeVM(PragueVM):
    """Prague with the trimmed state, executor and computation; receipts trusted as built."""

    _state_class = NodeState

    @classmethod
    def validate_receipt(cls, receipt: Any) -> None:
        return None

    @classmethod
    def make_receipt(
        cls,
        base_header: Any,
        transaction: SignedTransactionAPI,
        computation: ComputationAPI,
        state: StateAPI,
    ) -> ReceiptAPI:
        # py-evm's ByzantiumVM.make_receipt -> transaction.make_receipt, with the logs bloom
        # computed here (one keccak per address and topic, no BloomFilter objects) and handed
        # to the receipt, which then does not compute it again
        gas_used = base_header.gas_used + cls.finalize_gas_used(transaction, computation)
        status = (
            EIP658_TRANSACTION_STATUS_CODE_FAILURE
            if computation.is_error
            else EIP658_TRANSACTION_STATUS_CODE_SUCCESS
        )
        entries = computation.get_log_entries()
        if _SERIALIZABLE_INIT:
            logs = [_serializable(Log, _LOG_ATTRS, entry) for entry in entries]
            receipt: ReceiptAPI = _serializable(
                Receipt, _RECEIPT_ATTRS, (status, gas_used, logs_bloom(entries), logs)
            )
        else:
            logs = [Log(address, topics, data) for address, topics, data in entries]
            receipt = Receipt(
                state_root=status, gas_used=gas_used, logs=logs, bloom=logs_bloom(entries)
            )
        type_id = transaction.type_id
        if type_id is None:
            return receipt
        builder: Any = transaction.receipt_builder  # type: ignore[attr-defined]
        typed: ReceiptAPI = builder.typed_receipt_class(type_id, receipt)
        return typed


# Log(address, topics, data) and Receipt(state_root, gas_used, logs, bloom) as their __init__
# builds them (rlp's BaseSerializable: each field's attribute set to make_immutable(value)),
# without merging keyword arguments and checking the count per object; used while those
# __init__s are py-evm's and rlp's own
_LOG_ATTRS: tuple[str, ...] = Log._meta.field_attrs  # type: ignore[attr-defined]
_RECEIPT_ATTRS: tuple[str, ...] = Receipt._meta.field_attrs  # type: ignore[attr-defined]
_SERIALIZABLE_INIT = (
    _LOG_ATTRS == ("_address", "_topics", "_data")
    and _RECEIPT_ATTRS == ("_state_root", "_gas_used", "_bloom", "_logs")
    and Log.__init__.__qualname__ == "Log.__init__"  # super().__init__(address, topics, data)
    and Receipt.__init__.__qualname__ == "Receipt.__init__"  # given a bloom: super().__init__
    and all(
        base.__init__ is BaseSerializable.__init__ for base in (Log.__mro__[1], Receipt.__mro__[1])
    )
)


def _serializable(cls: type, attrs: tuple[str, ...], values: Iterable[Any]) -> Any:
    built: Any = object.__new__(cls)
    built.__dict__.update(zip(attrs, map(make_immutable, values), strict=True))
    return built


def _bloom_bits(value: bytes) -> int:
    digest = keccak.hasher(value)  # eth_hash's keccak minus its type check: this is bytes
    return (
        (1 << (((digest[0] << 8) | digest[1]) & 2047))
        | (1 << (((digest[2] << 8) | digest[3]) & 2047))
        | (1 << (((digest[4] << 8) | digest[5]) & 2047))
    )


def logs_bloom(entries: Iterable[tuple[bytes, Iterable[int], bytes]]) -> int:
    """The 2048-bit logs bloom of ``(address, topics, data)`` entries, as eth-bloom computes
    it: three bits from the keccak of the address and of each 32-byte topic."""
    bloom = 0
    for address, topics, _ in entries:
        bloom |= _bloom_bits(address if address.__class__ is bytes else bytes(address))
        for topic in topics:
            bloom |= _bloom_bits(topic.to_bytes(32, "big"))
    return bloom


__all__ = [
    "NodeAccountDB",
    "NodeComputation",
    "NodeState",
    "NodeVM",
    "encode_account",
    "logs_bloom",
]
