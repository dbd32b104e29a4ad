"""The records of :mod:`collective.client.subjects`: a pairwise identity, what an "all at
once" change did to one, and one row of the subject's "who used my data" history."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from collective.client.did import DidChange
from collective.types import Address


@dataclass(frozen=True)
class Identity:
    """One pairwise identity: the organization it is for, its address (the identity, fixed for
    life), its DID on the chain, and one key of it.

    ``account`` is the key at ``path`` (generation ``generation``; generation 0's address is
    ``address``). ``counter`` is the collision counter (:func:`collective.did.pairwise.counters`).
    """

    organization: Address
    chain_id: int
    address: Address
    did: str
    counter: int
    generation: int
    path: str
    account: LocalAccount = field(repr=False, compare=False)


@dataclass(frozen=True)
class IdentityOutcome:
    """What an "all at once" change did to one identity: the :class:`DidChange`, or ``error``
    (the refusal's one-line message) when it failed."""

    organization: Address
    identity: Address
    did: str
    change: DidChange | None
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether the change went through."""
        return self.error is None


# The actions of a HistoryRow.
GRANT, WITHDRAW, USE = "grant", "withdraw", "use"
DISCLOSE, DISCLOSURE_GRANT, DISCLOSURE_WITHDRAW = (
    "disclose",
    "disclosure-grant",
    "disclosure-withdraw",
)
ERASURE_REQUEST, ERASURE_CONFIRM = "erasure-request", "erasure-confirm"


@dataclass(frozen=True)
class HistoryRow:
    """One event of the subject's history, in chain order.

    ``timestamp``: its block's time (unix seconds); ``block``, ``log_index``, ``tx_hash``: where
    it sits; ``action``: :data:`GRANT`, :data:`WITHDRAW`, :data:`USE`, :data:`DISCLOSE`,
    :data:`DISCLOSURE_GRANT`, :data:`DISCLOSURE_WITHDRAW`, :data:`ERASURE_REQUEST` or
    :data:`ERASURE_CONFIRM`; ``organization``: the organization the event names (the one that
    used the data, was granted consent, disclosed it, or was asked to erase it); ``identity``:
    the pairwise identity's address; ``identity_for``: the organization that identity was made
    for (differs from ``organization`` only if another organization acted on it; None for an
    identity that is not pairwise); ``purpose``, ``category``: DPV names (empty for an erasure);
    ``expiry``: a grant's (unix seconds, None for never or not a grant); ``data_ref``: a use's
    or disclosure's 32-byte reference (``0x`` + 64 hex); ``recipient``: whom a disclosure (or a
    disclosure consent) passes the data to; ``policy_version``: a grant's, a use's, or (a
    disclosure and a disclosure grant) the recipient's version agreed to; ``due_at``: an erasure
    request's deadline (unix seconds); ``evidence_hash``: an erasure confirmation's (``0x`` + 64
    hex); ``organization_name`` and ``recipient_name``: the names the caller gave those
    addresses (None when it gave none); ``agent``: who authorized a consent change or an
    erasure request (the identity's owner or a delegate such as a guardian; None for a use, a
    disclosure or a confirmation).
    """

    timestamp: int
    block: int
    log_index: int
    tx_hash: str
    action: str
    organization: Address
    identity: Address
    identity_for: Address | None
    purpose: str
    category: str
    expiry: int | None = None
    data_ref: str | None = None
    recipient: Address | None = None
    policy_version: int | None = None
    due_at: int | None = None
    evidence_hash: str | None = None
    organization_name: str | None = None
    recipient_name: str | None = None
    agent: Address | None = None


__all__ = [
    "DISCLOSE",
    "DISCLOSURE_GRANT",
    "DISCLOSURE_WITHDRAW",
    "ERASURE_CONFIRM",
    "ERASURE_REQUEST",
    "GRANT",
    "USE",
    "WITHDRAW",
    "HistoryRow",
    "Identity",
    "IdentityOutcome",
]
