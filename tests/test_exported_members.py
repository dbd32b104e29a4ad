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
        "DataRefStore",
        "Subject",
        "HistoryRow",
        "ErasureRequest",
        "SignedErasure",
        "DisclosureGrant",
        "DisclosureWithdrawal",
        "SignedDisclosureGrant",
        "SignedDisclosureWithdrawal",
        "DisclosureItem",
        "DisclosureRecord",
        "DisclosuresRecorded",
        "DisclosureConsent",
        "DisclosureGranted",
        "DisclosureWithdrawn",
        "ToStop",
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
        "ChainEvent",
        "ConsentEvent",
        "ConsentKey",
        "Flag",
        "Consent",
        "Granted",
        "Withdrawn",
        "BatchResult",
        "Skipped",
        "GrantItem",
        "OrgChange",
        "Organization",
        "Policy",
        "PolicyPublished",
        "Action",
        "Proposal",
        "Vote",
        "UsageRecord",
        "UseItem",
        "UseRecorded",
        "DidChange",
        "Report",
        "SyncResult",
        "VerifyResult",
        "Violation",
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


def test_the_client_and_the_audit_share_their_records() -> None:
    """One ConsentEvent, one Flag, one LogPosition (issue 11 item 4)."""
    import collective.audit
    import collective.client.consent
    import collective.client.oversight
    import collective.types

    assert collective.ConsentEvent is collective.audit.ConsentEvent
    assert collective.ConsentEvent is collective.client.consent.ConsentEvent
    assert collective.Flag is collective.audit.Flag is collective.client.oversight.Flag
    assert collective.LogPosition is collective.audit.LogPosition is collective.types.LogPosition
