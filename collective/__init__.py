"""Collective: a permissioned consent ledger on Ethereum-compatible chains."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from collective.chain import Chain, connect
    from collective.deploy import Deployment, deploy_suite, load_deployment

# Imported on first use, so `import collective` (and `collective --help`) stays fast.
_LAZY = {
    "Chain": "collective.chain",
    "connect": "collective.chain",
    "Deployment": "collective.deploy",
    "deploy_suite": "collective.deploy",
    "load_deployment": "collective.deploy",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'collective' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AuditError",
    "Chain",
    "ChainError",
    "CollectiveError",
    "CompilationError",
    "ConfigurationError",
    "ConsentError",
    "Deployment",
    "NodeError",
    "NotPermittedError",
    "TransactionError",
    "__version__",
    "connect",
    "deploy_suite",
    "load_deployment",
]
