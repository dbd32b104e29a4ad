"""The VM: py-evm's Prague VM and state with the node's computation, executor, account
database and receipts.

Mirrors ``eth/vm/forks/prague/__init__.py`` (``PragueVM``), ``eth/vm/forks/prague/state.py``
(``PragueState``) and ``eth/vm/base.py`` (``VM.validate_receipt``; ``make_receipt`` is
Byzantium's) of py-evm 0.12.1b1. Receipts are trusted as built (:mod:`.receipts` computes the
bloom once; py-evm's ``validate_receipt`` would recompute it).
"""

from __future__ import annotations

from typing import Any

from eth.abc import ComputationAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.state import PragueState
from eth_utils.logging import get_extended_debug_logger

from collective.node.execution.account import NodeAccountDB
from collective.node.execution.computation import NodeComputation
from collective.node.execution.executor import NodeExecutor
from collective.node.execution.receipts import make_receipt


class NodeState(PragueState):
    """Prague's state with the node's computation, executor and account database; its
    logger created once."""

    computation_class = NodeComputation
    transaction_executor_class = NodeExecutor
    account_db_class = NodeAccountDB
    logger = get_extended_debug_logger("eth.vm.state.NodeState")  # type: ignore[assignment]


class NodeVM(PragueVM):
    """Prague with the trimmed state, executor and computation; receipts trusted as built."""

    _state_class = NodeState

    @classmethod
    def validate_receipt(cls, receipt: Any) -> None:
        """Accept ``receipt`` as built (its bloom was computed from its logs a moment ago)."""
        return None

    @classmethod
    def make_receipt(
        cls,
        base_header: Any,
        transaction: SignedTransactionAPI,
        computation: ComputationAPI,
        state: StateAPI,
    ) -> ReceiptAPI:
        """The receipt of ``transaction`` applied on top of ``base_header`` (whose
        ``gas_used`` is the block's so far): :func:`.receipts.make_receipt`."""
        gas_used = base_header.gas_used + cls.finalize_gas_used(transaction, computation)
        return make_receipt(transaction, computation, gas_used)


__all__ = ["NodeState", "NodeVM"]
