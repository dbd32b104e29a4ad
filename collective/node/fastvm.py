"""Deprecated: moved to :mod:`collective.node.execution` (split along py-evm's seams); this
module re-exports its old names for one release."""

from collective._moved import warn_deprecated
from collective.node.execution.account import NodeAccountDB, encode_account
from collective.node.execution.computation import NodeComputation, NodeStack
from collective.node.execution.executor import NodeExecutor
from collective.node.execution.receipts import logs_bloom
from collective.node.execution.vm import NodeState, NodeVM

warn_deprecated(
    "collective.node.fastvm moved to collective.node.execution", "collective.node.fastvm"
)

__all__ = [
    "NodeAccountDB",
    "NodeComputation",
    "NodeExecutor",
    "NodeStack",
    "NodeState",
    "NodeVM",
    "encode_account",
    "logs_bloom",
]
