"""Deprecated: moved to :mod:`collective.node.execution` (``pyevm``, ``engine``,
``transactions``); this module re-exports its old names for one release."""

from eth_utils.exceptions import ValidationError

from collective._moved import warn_deprecated
from collective.node.execution.engine import CallResult, revert_data
from collective.node.execution.pyevm import (
    EMPTY_REQUESTS_HASH,
    VM_CLASS,
    ZERO_ADDRESS,
    Evm,
    base_fee,
)
from collective.node.execution.transactions import (
    NodeTransactionBuilder,
    NodeTypedTransaction,
    _decode_dynamic_fee,
)
from collective.node.execution.vm import NodeVM
from collective.node.senders import signing_message

warn_deprecated("collective.node.evm moved to collective.node.execution", "collective.node.evm")

__all__ = [
    "EMPTY_REQUESTS_HASH",
    "VM_CLASS",
    "ZERO_ADDRESS",
    "CallResult",
    "Evm",
    "NodeTransactionBuilder",
    "NodeTypedTransaction",
    "NodeVM",
    "ValidationError",
    "_decode_dynamic_fee",
    "base_fee",
    "revert_data",
    "signing_message",
]
