"""The replay's input: one typed record per event the verifier checks, in chain order.

Each record carries its position (``block``, ``log_index``) and transaction first, so a mix
of them sorts into chain order as plain tuples. Addresses are lowercase ``0x`` text (as the
audit index stores them), purposes and categories 32-byte codes, times unix seconds.
"""

from __future__ import annotations

from typing import NamedTuple

NULL = "0x" + "00" * 20
"""The zero address: an identity whose owner changed to it is deactivated for good."""
SIG_AUTH = "sigAuth"
"""The ERC-1056 delegate type that may sign (and act) for an identity."""


class DataUse(NamedTuple):
    """``DataUsed``: an organization recorded a use of an identity's data."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    organization: str
    purpose: bytes
    category: bytes
    policy_version: int


class ConsentChange(NamedTuple):
    """``ConsentGranted`` (``granted``; expiry and policy version set) or ``ConsentWithdrawn``."""

    block: int
    log_index: int
    tx_hash: bytes
    granted: bool
    identity: str
    organization: str
    purpose: bytes
    category: bytes
    expiry: int | None
    policy_version: int | None
    agent: str


class SignaturesCancelled(NamedTuple):
    """``SignaturesCancelled``: a withdrawal with nothing active (it only voids signatures)."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    agent: str


class AccountChange(NamedTuple):
    """An AccountRules event: ``event`` (``AccountAdmitted``, ``AdminAdded``, ...) about
    ``account``, by ``actor``."""

    block: int
    log_index: int
    tx_hash: bytes
    event: str
    account: str
    actor: str


class PolicyChange(NamedTuple):
    """``PolicyPublished``: ``organization``'s policy ``version`` covering ``purposes``."""

    block: int
    log_index: int
    tx_hash: bytes
    organization: str
    version: int
    purposes: frozenset[bytes]


class OwnerChange(NamedTuple):
    """``DIDOwnerChanged``: ``identity``'s owner is now ``owner``; the zero address
    deactivates it for good."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    owner: str


class DelegateChange(NamedTuple):
    """``DIDDelegateChanged``: ``delegate`` of ``delegate_type`` (``"sigAuth"``,
    ``"veriKey"``) valid while the block's time is below ``valid_to`` (a revocation sets it
    to the revoking block's time)."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    delegate_type: str
    delegate: str
    valid_to: int


class ValidatorChange(NamedTuple):
    """``ValidatorPowerChanged``: the effective voting power of ``organization``'s validator,
    ed25519 key ``pub_key`` (``0x`` + 64 hex), is now ``power`` (0: out of the set)."""

    block: int
    log_index: int
    tx_hash: bytes
    organization: str
    pub_key: str
    power: int


class BoardExecution(NamedTuple):
    """``ProposalExecuted``: the board executed a proposal of ``action`` (the contract's
    ``Action`` number; 7 is ``SetValidator``) about ``target``."""

    block: int
    log_index: int
    tx_hash: bytes
    action: int
    target: str


class ErasureRequest(NamedTuple):
    """``ErasureRequested``: ``identity`` asked ``organization`` to erase its data, to be
    confirmed by ``due_at`` (unix s); ``agent`` (owner or sigAuth delegate) authorized it."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    organization: str
    due_at: int
    agent: str


class ErasureConfirmation(NamedTuple):
    """``ErasureConfirmed``: ``organization`` confirmed the erasure for ``identity`` with
    ``evidence_hash`` (``0x`` + 64 hex); ``late`` as the contract judged it."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    organization: str
    evidence_hash: str
    late: bool


class DisclosureConsentChange(NamedTuple):
    """``DisclosureConsentGranted`` (``granted``; expiry and the recipient's policy version
    set) or ``DisclosureConsentWithdrawn`` (``was_active`` False: it only voided pending
    signatures) of ``identity``'s consent that ``discloser`` pass its ``category`` data to
    ``recipient`` for ``purpose``; ``agent`` (owner or sigAuth delegate) authorized it."""

    block: int
    log_index: int
    tx_hash: bytes
    granted: bool
    identity: str
    discloser: str
    recipient: str
    purpose: bytes
    category: bytes
    expiry: int | None
    policy_version: int | None
    was_active: bool
    agent: str


class Disclosure(NamedTuple):
    """``DataDisclosed``: ``discloser`` passed ``identity``'s ``category`` data
    (``data_ref``, 32 bytes) to ``recipient`` for ``purpose``, under the recipient's policy
    ``policy_version``."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    discloser: str
    recipient: str
    purpose: bytes
    category: bytes
    data_ref: bytes
    policy_version: int


ReplayEvent = (
    DataUse
    | ConsentChange
    | SignaturesCancelled
    | AccountChange
    | PolicyChange
    | OwnerChange
    | DelegateChange
    | ValidatorChange
    | BoardExecution
    | ErasureRequest
    | ErasureConfirmation
    | DisclosureConsentChange
    | Disclosure
)


__all__ = [
    "NULL",
    "SIG_AUTH",
    "AccountChange",
    "BoardExecution",
    "ConsentChange",
    "DataUse",
    "DelegateChange",
    "Disclosure",
    "DisclosureConsentChange",
    "ErasureConfirmation",
    "ErasureRequest",
    "OwnerChange",
    "PolicyChange",
    "ReplayEvent",
    "SignaturesCancelled",
    "ValidatorChange",
]
