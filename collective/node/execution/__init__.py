"""The node's execution layer: py-evm's Prague VM with its hot path trimmed, behind one
interface.

Same rules, same results (tests run identical transactions through this VM and through stock
``PragueVM`` and compare state roots, receipts and gas), less Python per opcode and per
transaction. Measured on the consent-grant workload of ``benchmarks/node.py``, execution takes
under a third of the time it takes in stock py-evm.

Split along py-evm's own seams, so each file can be read beside the upstream file(s) it
mirrors (each module's docstring names them):

=====================  ==============================================================
``engine.py``          the interface the node calls (:class:`ExecutionEngine`)
``pyevm.py``           its py-evm implementation (:class:`Evm`): genesis, headers,
                       states, calls, estimates (``eth/chains/base.py``, ``eth/vm/base.py``)
``vm.py``              ``NodeVM`` and ``NodeState`` (``eth/vm/forks/prague/``)
``executor.py``        the transaction executor (``eth/vm/forks/*/state.py``)
``computation.py``     computation and stack (``eth/vm/computation.py``, ``eth/vm/stack.py``)
``interpreter.py``     the opcode loop (``BaseComputation.apply_computation``)
``opcodes.py``         which opcodes the loop runs itself (``eth/vm/logic/*.py``)
``storage_logic.py``   SLOAD and SSTORE (``eth/vm/forks/berlin/logic.py``,
                       ``eth/vm/logic/storage.py``)
``account.py``         the account database (``eth/db/account.py``)
``receipts.py``        receipts and logs blooms (``ByzantiumVM.make_receipt``)
``transactions.py``    decoding and sender recovery (``eth/vm/forks/prague/transactions.py``)
``trie.py``            ordered trie roots in one pass (``trie.HexaryTrie``)
``keccak.py``          a faster keccak-256 backend for ``eth_hash``
``upstream.py``        fingerprints of every upstream function copied, overridden or
                       bypassed (``tests/node/test_pyevm_drift.py`` checks them)
=====================  ==============================================================

The safety design: inline only py-evm's own functions (recognised by identity), fall back to
py-evm on anything unusual, prove it with differential tests at every gas amount and
block-hash replay on stock py-evm (``tests/node/test_node_fastvm*.py``,
``test_node_interpreter.py``). Pinned to py-evm 0.12.1b1 (``pyproject.toml``): the overridden
methods follow that version's code line by line, minus the logging.
"""

from __future__ import annotations

from eth.db.atomic import AtomicDB

from collective.node.execution.account import NodeAccountDB, encode_account
from collective.node.execution.computation import NodeComputation, NodeStack
from collective.node.execution.engine import (
    BlockBuilder,
    CallResult,
    ExecutionEngine,
    revert_data,
)
from collective.node.execution.executor import NodeExecutor
from collective.node.execution.pyevm import EMPTY_REQUESTS_HASH, VM_CLASS, Evm, base_fee
from collective.node.execution.receipts import logs_bloom
from collective.node.execution.revm import RevmEngine
from collective.node.execution.vm import NodeState, NodeVM

#: the execution engines by name, each a factory of (database, chain id[, VM class]) -> engine:
#: "py-evm" the reference; "revm" runs blocks' transactions in revm (:mod:`.revm`; raises
#: ConfigurationError when the ``collective_revm`` extension is not built)
ENGINES: dict[str, type[Evm]] = {"py-evm": Evm, "revm": RevmEngine}


def open_engine(db: AtomicDB, chain_id: int, name: str = "py-evm") -> ExecutionEngine:
    """The execution engine ``name`` (a key of :data:`ENGINES`) over ``db`` for the EIP-155
    ``chain_id``. Raises ``KeyError`` for an unknown name."""
    return ENGINES[name](db, chain_id)


__all__ = [
    "EMPTY_REQUESTS_HASH",
    "ENGINES",
    "VM_CLASS",
    "BlockBuilder",
    "CallResult",
    "Evm",
    "ExecutionEngine",
    "NodeAccountDB",
    "NodeComputation",
    "NodeExecutor",
    "NodeStack",
    "NodeState",
    "NodeVM",
    "base_fee",
    "encode_account",
    "logs_bloom",
    "open_engine",
    "revert_data",
]
