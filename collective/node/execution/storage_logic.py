"""SLOAD and SSTORE as the interpreter runs them: py-evm's functions with the account database
called directly.

Mirrors ``eth/vm/forks/berlin/logic.py`` (``sload_eip2929``, ``sstore_eip2929_generic``,
``_mark_storage_warm``), ``eth/vm/logic/storage.py`` (``sstore_eip2200_generic``,
``net_sstore``) and ``eth/vm/forks/london/storage.py`` (``sstore_eip3529``, the EIP-3529
schedule) of py-evm 0.12.1b1. When SLOAD and SSTORE are py-evm's Berlin ``sload_eip2929`` and
Prague's ``ensure_no_static(sstore_eip3529)``, and the state's storage methods are py-evm's
handing over to :class:`~.account.NodeAccountDB`, they run here as py-evm's functions do,
step for step (pop, warm/cold marking, gas, read or write, refund, the implicit cold-SLOAD
charge after the write), calling the account database directly; the SSTORE gas reason is
formatted only for its ``OutOfGas``. Anything else takes py-evm's own function.

Fingerprints of the upstream functions followed here: :mod:`.upstream`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth.exceptions import OutOfGas, WriteProtection
from eth.vm import mnemonics
from eth.vm.forks.berlin import constants as berlin_constants
from eth.vm.forks.berlin.logic import sload_eip2929
from eth.vm.forks.london.storage import GAS_SCHEDULE_EIP3529
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.state import BaseState
from eth_utils.hexadecimal import encode_hex

from collective.node.execution.account import NodeAccountDB

# Prague's SSTORE: ensure_no_static(sstore_eip3529)
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
