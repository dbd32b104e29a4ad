"""The public names of `collective`: every name in __all__ resolves, and nothing is missing."""

from __future__ import annotations

import collective


def test_all_public_names_resolve() -> None:
    for name in collective.__all__:
        assert getattr(collective, name) is not None, name


def test_public_api_is_complete() -> None:
    expected = {
        "CollectiveError",
        "ConfigurationError",
        "CompilationError",
        "ChainError",
        "TransactionError",
        "ConsentError",
        "ConsentExpiredError",
        "ConsentMissingError",
        "IdentityDeactivatedError",
        "StalePolicyError",
        "SignatureError",
        "OrganizationSuspendedError",
        "NotPermittedError",
        "AuditError",
        "NodeError",
        "InvalidInputError",
        "NotFoundError",
        "NO_EXPIRY",
        "Address",
        "BlockNumber",
        "Code",
        "ConsentId",
        "LogPosition",
        "TxHash",
        "Chain",
        "Collective",
        "TxResult",
        "connect",
        "Deployment",
        "deploy_suite",
        "load_deployment",
        "GrantRequest",
        "WithdrawalRequest",
        "SignedRequest",
        "sign",
        "code",
        "Did",
        "DidDocument",
        "parse_did",
        "format_did",
        "resolve",
        "__version__",
    }
    assert set(collective.__all__) == expected


def test_errors_share_one_root() -> None:
    for name in collective.__all__:
        value = getattr(collective, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, collective.CollectiveError), name
