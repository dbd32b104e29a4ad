"""Collective: a permissioned consent ledger on Ethereum-compatible chains."""

from typing import TYPE_CHECKING

from collective._lazy import lazy_names
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
    from collective.audit import Report, SyncResult, VerifyResult, Violation
    from collective.chain import Chain, connect
    from collective.client import Collective
    from collective.client.consent import (
        BatchResult,
        Consent,
        Granted,
        GrantItem,
        Skipped,
        Withdrawn,
    )
    from collective.client.datarefs import DataRefStore
    from collective.client.did import DidChange
    from collective.client.disclosure_records import (
        DisclosureConsent,
        DisclosureGranted,
        DisclosureItem,
        DisclosureRecord,
        DisclosuresRecorded,
        DisclosureWithdrawn,
        ToStop,
    )
    from collective.client.orgs import Organization, OrgChange
    from collective.client.oversight import Action, Proposal, Vote
    from collective.client.policies import Policy, PolicyPublished
    from collective.client.records import ChainEvent, ConsentEvent, ConsentKey, Flag, TxResult
    from collective.client.subject_records import HistoryRow
    from collective.client.subjects import Subject
    from collective.client.usage import UsageRecord, UseItem, UseRecorded
    from collective.deploy import Deployment, deploy_suite, load_deployment
    from collective.did import Did, DidDocument, format_did, parse_did, resolve
    from collective.ledger.disclosure_request import (
        DisclosureGrant,
        DisclosureWithdrawal,
        SignedDisclosureGrant,
        SignedDisclosureWithdrawal,
    )
    from collective.ledger.erasure_request import ErasureRequest, SignedErasure
    from collective.ledger.signing import GrantRequest, SignedRequest, WithdrawalRequest, code, sign

# Imported on first use, so `import collective` (and `collective --help`) stays fast.
_LAZY = {
    "Chain": "collective.chain",
    "Collective": "collective.client",
    # The result records (collective.client.records holds the ones the audit shares).
    "TxResult": "collective.client.records",
    "ChainEvent": "collective.client.records",
    "ConsentEvent": "collective.client.records",
    "ConsentKey": "collective.client.records",
    "Flag": "collective.client.records",
    "Consent": "collective.client.consent",
    "Granted": "collective.client.consent",
    "Withdrawn": "collective.client.consent",
    "BatchResult": "collective.client.consent",
    "Skipped": "collective.client.consent",
    "GrantItem": "collective.client.consent",
    "OrgChange": "collective.client.orgs",
    "Organization": "collective.client.orgs",
    "Policy": "collective.client.policies",
    "PolicyPublished": "collective.client.policies",
    "Action": "collective.client.oversight",
    "Proposal": "collective.client.oversight",
    "Vote": "collective.client.oversight",
    "UsageRecord": "collective.client.usage",
    "UseItem": "collective.client.usage",
    "UseRecorded": "collective.client.usage",
    "DidChange": "collective.client.did",
    "DataRefStore": "collective.client.datarefs",
    "Subject": "collective.client.subjects",
    # Data-subject rights (issue 13): erasure requests, onward disclosure, the subject's history.
    "ErasureRequest": "collective.ledger.erasure_request",
    "SignedErasure": "collective.ledger.erasure_request",
    "DisclosureGrant": "collective.ledger.disclosure_request",
    "DisclosureWithdrawal": "collective.ledger.disclosure_request",
    "SignedDisclosureGrant": "collective.ledger.disclosure_request",
    "SignedDisclosureWithdrawal": "collective.ledger.disclosure_request",
    "DisclosureItem": "collective.client.disclosure_records",
    "DisclosureRecord": "collective.client.disclosure_records",
    "DisclosuresRecorded": "collective.client.disclosure_records",
    "DisclosureConsent": "collective.client.disclosure_records",
    "DisclosureGranted": "collective.client.disclosure_records",
    "DisclosureWithdrawn": "collective.client.disclosure_records",
    "ToStop": "collective.client.disclosure_records",
    "HistoryRow": "collective.client.subject_records",
    "Report": "collective.audit",
    "SyncResult": "collective.audit",
    "VerifyResult": "collective.audit",
    "Violation": "collective.audit",
    "connect": "collective.chain",
    "Deployment": "collective.deploy",
    "deploy_suite": "collective.deploy",
    "load_deployment": "collective.deploy",
    "Did": "collective.did",
    "DidDocument": "collective.did",
    "format_did": "collective.did",
    "parse_did": "collective.did",
    "resolve": "collective.did",
    "GrantRequest": "collective.ledger.signing",
    "SignedRequest": "collective.ledger.signing",
    "WithdrawalRequest": "collective.ledger.signing",
    "code": "collective.ledger.signing",
    "sign": "collective.ledger.signing",
}


__getattr__ = lazy_names(globals(), _LAZY)


__all__ = [
    "NO_EXPIRY",
    "Action",
    "Address",
    "AuditError",
    "BatchResult",
    "BlockNumber",
    "Chain",
    "ChainError",
    "ChainEvent",
    "Code",
    "Collective",
    "CollectiveError",
    "CompilationError",
    "ConfigurationError",
    "Consent",
    "ConsentError",
    "ConsentEvent",
    "ConsentExpiredError",
    "ConsentId",
    "ConsentKey",
    "ConsentMissingError",
    "DataRefStore",
    "Deployment",
    "Did",
    "DidChange",
    "DidDocument",
    "DisclosureConsent",
    "DisclosureGrant",
    "DisclosureGranted",
    "DisclosureItem",
    "DisclosureRecord",
    "DisclosureWithdrawal",
    "DisclosureWithdrawn",
    "DisclosuresRecorded",
    "ErasureRequest",
    "Flag",
    "GrantItem",
    "GrantRequest",
    "Granted",
    "HistoryRow",
    "IdentityDeactivatedError",
    "InvalidInputError",
    "LogPosition",
    "NodeError",
    "NotFoundError",
    "NotPermittedError",
    "OrgChange",
    "Organization",
    "OrganizationSuspendedError",
    "Policy",
    "PolicyPublished",
    "Proposal",
    "Report",
    "SignatureError",
    "SignedDisclosureGrant",
    "SignedDisclosureWithdrawal",
    "SignedErasure",
    "SignedRequest",
    "Skipped",
    "StalePolicyError",
    "Subject",
    "SyncResult",
    "ToStop",
    "TransactionError",
    "TxHash",
    "TxResult",
    "UsageRecord",
    "UseItem",
    "UseRecorded",
    "VerifyResult",
    "Violation",
    "Vote",
    "WithdrawalRequest",
    "Withdrawn",
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
