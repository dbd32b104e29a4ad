"""The computation: py-evm's Prague computation and stack, run by the node's interpreter loop.

Mirrors ``eth/vm/computation.py`` (``BaseComputation.apply_computation``, ``extend_memory``),
``eth/vm/stack.py`` (``Stack``) and ``eth/vm/forks/prague/computation.py`` of py-evm 0.12.1b1:

- ``apply_computation`` is py-evm's with the opcode loop replaced by :func:`.interpreter._run`.
- **Stack and memory.** Popping integers needs no generator; touching memory that is already
  allocated skips the expansion-cost arithmetic (there is nothing to charge).
- Jump-destination analysis (``CodeStream``'s valid and invalid positions) is shared by every
  stream over the same code.

Fingerprints of the upstream methods overridden here: :mod:`.upstream`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth.abc import ComputationAPI, MessageAPI, StateAPI
from eth.constants import UINT_256_MAX
from eth.exceptions import FullStack, InsufficientStack
from eth.vm.computation import NO_RESULT
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.stack import Stack

from collective.node.execution.interpreter import _run
from collective.node.execution.opcodes import _OpcodeTable

_JUMPDEST_CACHE_LIMIT = 512
_STACK_LIMIT = 1024


class NodeStack(Stack):
    """py-evm's stack; popping integers without a generator per call."""

    def pop_ints(self, num_items: int) -> tuple[int, ...]:
        """Pop ``num_items`` values as ints, top first (``Stack.pop_ints``); raises
        ``InsufficientStack`` when there are fewer."""
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
        """Pop the top value as an int (``Stack.pop1_int``); raises ``InsufficientStack``."""
        try:
            item = self.values.pop()
        except IndexError:
            raise InsufficientStack("Wanted 1 stack item, had none") from None
        return item if item.__class__ is int else int.from_bytes(item, "big")  # type: ignore[arg-type]

    def push_int(self, value: int) -> None:
        """Push an int in 0..2**256-1 (``Stack.push_int``); raises ``FullStack`` at 1,024
        items, and py-evm's ``ValidationError`` for anything but such an int."""
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
        """py-evm's computation of ``message`` on ``state``, with the node's stack and the
        code's jump-destination analysis shared with every earlier computation of that code."""
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
        """Grow memory to cover ``size`` bytes from ``start_position``, charging py-evm's fee
        (``BaseComputation.extend_memory``); raises ``OutOfGas`` or py-evm's validation
        errors as it does."""
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
        """Run ``message`` on ``state`` (py-evm's ``BaseComputation.apply_computation`` with
        the opcode loop of :mod:`.interpreter`): the finished computation, its error (if any)
        recorded in it as py-evm records it. Raises what py-evm's would let through
        (``CallTimeout`` from an RPC call's deadline, missing-data interrupts)."""
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


__all__ = ["NodeComputation", "NodeStack"]
