"""Collective: a permissioned consent ledger on Ethereum-compatible chains."""

from collective.errors import (
    AuditError,
    ChainError,
    CollectiveError,
    CompilationError,
    ConfigurationError,
    ConsentError,
    NodeError,
    NotPermittedError,
    TransactionError,
)

__version__ = "0.1.0"

__all__ = [
    "AuditError",
    "ChainError",
    "CollectiveError",
    "CompilationError",
    "ConfigurationError",
    "ConsentError",
    "NodeError",
    "NotPermittedError",
    "TransactionError",
    "__version__",
]
