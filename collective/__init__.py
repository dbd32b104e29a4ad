"""Collective: a permissioned consent ledger on Ethereum-compatible chains."""

from typing import TYPE_CHECKING, Any

from collective.errors import (
    AuditError,
    ChainError,
    CollectiveError,
    CompilationError,
    ConfigurationError,
    ConsentError,
    ConsentExpiredError,
    ConsentMissingError,
    IdentityDeactivatedError,
    InvalidInputError,
    NodeError,
    NotFoundError,
    NotPermittedError,
    OrganizationSuspendedError,
    SignatureError,
    StalePolicyError,
    TransactionError,
)
from collective.types import (
    NO_EXPIRY,
    Address,
    BlockNumber,
    Code,
    ConsentId,
    LogPosition,
    TxHash,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from collective.chain import Chain, connect
    from collective.client import Collective, TxResult
    from collective.deploy import Deployment, deploy_suite, load_deployment
    from collective.did import Did, DidDocument, format_did, parse_did, resolve
    from collective.signing import GrantRequest, SignedRequest, WithdrawalRequest, code, sign

# Imported on first use, so `import collective` (and `collective --help`) stays fast.
_LAZY = {
    "Chain": "collective.chain",
    "Collective": "collective.client",
    "TxResult": "collective.client",
    "connect": "collective.chain",
    "Deployment": "collective.deploy",
    "deploy_suite": "collective.deploy",
    "load_deployment": "collective.deploy",
    "Did": "collective.did",
    "DidDocument": "collective.did",
    "format_did": "collective.did",
    "parse_did": "collective.did",
    "resolve": "collective.did",
    "GrantRequest": "collective.signing",
    "SignedRequest": "collective.signing",
    "WithdrawalRequest": "collective.signing",
    "code": "collective.signing",
    "sign": "collective.signing",
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
    "NO_EXPIRY",
    "Address",
    "AuditError",
    "BlockNumber",
    "Chain",
    "ChainError",
    "Code",
    "Collective",
    "CollectiveError",
    "CompilationError",
    "ConfigurationError",
    "ConsentError",
    "ConsentExpiredError",
    "ConsentId",
    "ConsentMissingError",
    "Deployment",
    "Did",
    "DidDocument",
    "GrantRequest",
    "IdentityDeactivatedError",
    "InvalidInputError",
    "LogPosition",
    "NodeError",
    "NotFoundError",
    "NotPermittedError",
    "OrganizationSuspendedError",
    "SignatureError",
    "SignedRequest",
    "StalePolicyError",
    "TransactionError",
    "TxHash",
    "TxResult",
    "WithdrawalRequest",
    "__version__",
    "code",
    "connect",
    "deploy_suite",
    "format_did",
    "load_deployment",
    "parse_did",
    "resolve",
    "sign",
]
