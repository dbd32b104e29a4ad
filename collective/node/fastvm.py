"""py-evm's Prague VM with its hot path trimmed: :class:`NodeVM`.

Same rules, same results (tests run identical transactions through this VM and through stock
``PragueVM`` and compare state roots, receipts and gas), less Python per opcode and per
transaction. Measured on the consent-grant workload of ``benchmarks/node.py``, execution takes
about half the time it takes in stock py-evm. What changes:

- **Interpreter loop.** Each opcode's constant gas is charged inline instead of through
  ``_FastOpcode.__call__`` -> ``Computation.consume_gas`` -> ``GasMeter.consume_gas``, and the
  code is read directly instead of through a generator.
- **JUMPDEST analysis** of a contract's code is kept per code and shared by every computation
  that runs it, instead of being redone for each message.
- **Stack and memory.** PUSH, DUP, SWAP, POP and JUMPDEST run inside the loop (py-evm's own
  functions for them are recognised by identity; anything else is called as usual), and so do
  MSTORE and MLOAD within already allocated memory; popping
  integers needs no generator; touching memory that is already allocated skips the
  expansion-cost arithmetic (there is nothing to charge); MSTORE/MLOAD that grow memory charge
  py-evm's memory fee inline.
- **Arithmetic and jumps.** ADD, SUB, AND, OR, XOR, EQ, LT, GT, SHL, SHR, ISZERO, PUSH0, JUMP
  and JUMPI run inside the loop too (py-evm's functions recognised by identity, same results
  and errors; anything short of operands goes to py-evm's function, which raises).
- **Storage tries** are updated once per block (:mod:`collective.node.storage`).
- **Accounts.** Balance and nonce updates build the account record and its RLP directly
  (four per transaction: gas purchase, nonce, refund, tip) instead of through
  ``Serializable.copy`` and the generic encoder.
- **No eager debug strings.** py-evm formats a debug line per transaction (hex of the whole
  contract code, a keccak of the calldata) even when debug logging is off; the node's
  executor builds the message without it, and the state's logger is created once.
- Receipts are not re-validated against the bloom py-evm computed from them a moment before.

Pinned to py-evm 0.12.1b1 (``pyproject.toml``): the overridden methods follow that version's
code line by line, minus the logging.
"""

from __future__ import annotations

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
from eth.constants import CREATE_CONTRACT_ADDRESS, UINT_256_MAX
from eth.db.account import AccountDB
from eth.exceptions import (
    FullStack,
    Halt,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfGas,
)
from eth.rlp.accounts import Account
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.computation import NO_RESULT
from eth.vm.forks.byzantium.constants import (
    EIP658_TRANSACTION_STATUS_CODE_FAILURE,
    EIP658_TRANSACTION_STATUS_CODE_SUCCESS,
)
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState, PragueTransactionExecutor
from eth.vm.logic import arithmetic, comparison, duplication, flow, swap
from eth.vm.logic import memory as memory_logic
from eth.vm.logic import stack as stack_logic
from eth.vm.logic.invalid import InvalidOpcode
from eth.vm.message import Message
from eth.vm.opcode import _FastOpcode
from eth.vm.stack import Stack
from eth_hash.auto import keccak
from eth_typing import Address
from eth_utils.logging import get_extended_debug_logger

from collective.node.storage import BatchedAccountStorageDB

_JUMPDEST_CACHE_LIMIT = 512
_OpcodeEntry = tuple[int | None, Callable[..., Any], str, int, Any]
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
    _table: ClassVar[dict[int, _OpcodeEntry] | None] = None

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
    def _opcode_table(cls) -> dict[int, _OpcodeEntry]:
        table = cls.__dict__.get("_table")
        if table is None:
            table = {}
            for value, opcode in cls.opcodes.items():
                if type(opcode) is _FastOpcode:  # constant gas, then the logic function
                    kind, arg = _inline_kind(value, opcode.logic_fn)
                    table[value] = (opcode.gas_cost, opcode.logic_fn, opcode.mnemonic, kind, arg)
                else:  # charges its own (dynamic) gas
                    table[value] = (None, opcode, "", _CALL, 0)
            cls._table = table
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


# How the loop runs an opcode: call its logic function, or do what py-evm's function for it
# does (same gas first, same stack effect, same errors) without the calls.
(
    _CALL,
    _LOGIC,
    _PUSH,
    _DUP,
    _SWAP,
    _POP,
    _NOTHING,
    _MSTORE,
    _MLOAD,
    _BINARY,
    _ISZERO,
    _JUMP,
    _JUMPI,
) = range(13)
_M = UINT_256_MAX

# py-evm's two-operand functions (first popped, second popped) -> result, each exactly its
# logic function's arithmetic; results are already in 0 .. 2**256-1
_BINARY_OPS: dict[Callable[..., Any], Callable[[int, int], int]] = {
    arithmetic.add: lambda a, b: (a + b) & _M,
    arithmetic.sub: lambda a, b: (a - b) & _M,
    arithmetic.shl: lambda a, b: 0 if a >= 256 else (b << a) & _M,
    arithmetic.shr: lambda a, b: 0 if a >= 256 else b >> a,
    comparison.and_op: lambda a, b: a & b,
    comparison.or_op: lambda a, b: a | b,
    comparison.xor: lambda a, b: a ^ b,
    comparison.eq: lambda a, b: 1 if a == b else 0,
    comparison.lt: lambda a, b: 1 if a < b else 0,
    comparison.gt: lambda a, b: 1 if a > b else 0,
}


def _inline_kind(value: int, logic: Callable[..., Any]) -> tuple[int, Any]:
    """Inline only py-evm's own stack, memory, arithmetic and JUMPDEST functions, recognised
    by identity."""
    binary = _BINARY_OPS.get(logic)
    if binary is not None:
        return _BINARY, binary
    if logic is comparison.iszero:
        return _ISZERO, 0
    if value == 0x56 and logic is flow.jump:
        return _JUMP, 1
    if value == 0x57 and logic is flow.jumpi:
        return _JUMPI, 2
    if value == 0x5F and logic is stack_logic.push0:
        return _PUSH, 0
    if 0x60 <= value <= 0x7F and logic is getattr(stack_logic, f"push{value - 0x5F}", None):
        return _PUSH, value - 0x5F
    if 0x80 <= value <= 0x8F and logic is getattr(duplication, f"dup{value - 0x7F}", None):
        return _DUP, value - 0x7F
    if 0x90 <= value <= 0x9F and logic is getattr(swap, f"swap{value - 0x8F}", None):
        return _SWAP, value - 0x8F
    if value == 0x50 and logic is stack_logic.pop:
        return _POP, 0
    if value == 0x5B and logic is flow.jumpdest:
        return _NOTHING, 0
    if value == 0x52 and logic is memory_logic.mstore:
        return _MSTORE, 0
    if value == 0x51 and logic is memory_logic.mload:
        return _MLOAD, 0
    return _LOGIC, 0


def _run(computation: Any, table: dict[int, _OpcodeEntry]) -> None:
    meter = computation._gas_meter
    stream = computation.code
    values = computation._stack.values
    raw = stream._raw_code_bytes
    size = len(raw)
    try:
        while True:
            pc = stream.program_counter
            if pc >= size:
                return  # running off the end is STOP
            stream.program_counter = pc + 1
            entry = table.get(raw[pc])
            if entry is None:
                InvalidOpcode(raw[pc])(computation=computation)
                continue
            cost, logic, name, kind, arg = entry
            if kind == _CALL:
                logic(computation=computation)
                continue
            if cost > meter.gas_remaining:  # type: ignore[operator]
                raise OutOfGas(
                    f"Out of gas: Needed {cost} - Remaining {meter.gas_remaining} - Reason: {name}"
                )
            meter.gas_remaining -= cost
            if kind == _LOGIC:
                logic(computation)
            elif kind == _PUSH:  # push_XX: the next `arg` bytes, zero-padded past the end
                start = pc + 1
                data = raw[start : start + arg]
                stream.program_counter = start + arg
                if len(values) > 1023:
                    raise FullStack("Stack limit reached")
                values.append(data if len(data) == arg else data.ljust(arg, b"\x00"))
            elif kind == _BINARY:
                if len(values) >= 2:
                    first = values.pop()
                    second = values.pop()
                    values.append(
                        arg(
                            first if first.__class__ is int else int.from_bytes(first, "big"),
                            second if second.__class__ is int else int.from_bytes(second, "big"),
                        )
                    )
                else:
                    logic(computation)  # py-evm raises InsufficientStack
            elif kind == _ISZERO:
                if values:
                    top = values[-1]
                    if top.__class__ is not int:
                        top = int.from_bytes(top, "big")
                    values[-1] = 1 if top == 0 else 0
                else:
                    logic(computation)
            elif kind in (_JUMP, _JUMPI):
                if len(values) < arg:
                    logic(computation)  # py-evm raises InsufficientStack
                    continue
                dest = values.pop()
                if dest.__class__ is not int:
                    dest = int.from_bytes(dest, "big")
                if kind == _JUMPI:
                    check = values.pop()
                    if not (check if check.__class__ is int else int.from_bytes(check, "big")):
                        continue
                stream.program_counter = dest
                if (raw[dest] if dest < size else 0) != 0x5B:
                    raise InvalidJumpDestination("Invalid Jump Destination")
                if not stream.is_valid_opcode(dest):
                    raise InvalidInstruction("Jump resulted in invalid instruction")
            elif kind == _DUP:
                if len(values) > 1023:
                    raise FullStack("Stack limit reached")
                try:
                    values.append(values[-arg])
                except IndexError:
                    raise InsufficientStack(f"Insufficient stack items for DUP{arg}") from None
            elif kind == _SWAP:
                index = -arg - 1
                try:
                    values[-1], values[index] = values[index], values[-1]
                except IndexError:
                    raise InsufficientStack(f"Insufficient stack items for SWAP{arg}") from None
            elif kind == _POP:
                try:
                    values.pop()
                except IndexError:
                    raise InsufficientStack("Wanted 1 stack item, had none") from None
            elif kind in (_MSTORE, _MLOAD):
                # within allocated memory there is no expansion to charge: do it here;
                # anything else (growth, bad offsets, short stack) goes to py-evm's function
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
                        if fee <= meter.gas_remaining:  # else py-evm raises OutOfGas
                            try:
                                memory.extend(bytes(new_size - old_size))
                            except BufferError:  # exported buffer: py-evm copies it
                                pass
                            else:
                                meter.gas_remaining -= fee
                    if offset + 32 <= len(memory):
                        if kind == _MLOAD:
                            values[-1] = bytes(memory[offset : offset + 32])
                            continue
                        if len(values) >= 2:
                            values.pop()
                            item = values.pop()
                            memory[offset : offset + 32] = (
                                item.to_bytes(32, "big")
                                if item.__class__ is int
                                else item.rjust(32, b"\x00")[-32:]
                            )
                            continue
                logic(computation)
    except Halt:
        return


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


class NodeAccountDB(AccountDB):
    """py-evm's account database; balance and nonce writes without the generic RLP path, and
    storage tries updated once per block (:mod:`collective.node.storage`)."""

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


def _bloom_bits(value: bytes) -> int:
    digest = keccak(value)
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
        bloom |= _bloom_bits(address)
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
