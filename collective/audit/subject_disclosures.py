"""A person's disclosure consents on the audit index (``DisclosureLog.sol``), beside their
use consents in :meth:`SubjectReader.consents <collective.audit.subjects.SubjectReader.consents>`.

A disclosure consent, keyed by (identity, discloser, recipient, purpose, category), lets the
discloser pass the identity's data to the recipient (GDPR Art. 13(1)(e), Art. 19). Its state
follows the one rule of :mod:`collective.ledger.consent_state`, with the *recipient's*
current policy version (the version a disclosure grant agrees to), replayed from the index's
``events`` rows:

- granted, ``expiry``, ``policy_version``, ``granted_at``: the latest
  ``DisclosureConsentGranted`` (its block's time);
- ``active``: the latest of ``DisclosureConsentGranted`` / a ``DisclosureConsentWithdrawn``
  with ``wasActive`` is a grant (a withdrawal of nothing active only voids signed requests);
- deactivation, erasure requests, standing and the recipient's current policy: the facts the
  use consents are read with (the caller's one snapshot).

An erasure request to the discloser *or* the recipient ends every disclosure between them
(the contract's ``_erasureRequestedOfEither``); :attr:`IndexedDisclosureConsent.erasure` is the
one to the discloser when both were made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collective.ledger.consent_state import ConsentState, OrganizationStanding, consent_state

if TYPE_CHECKING:
    from collective.audit.subject_events import IndexedErasure

DISCLOSURE_CONSENT_EVENTS = ("DisclosureConsentGranted", "DisclosureConsentWithdrawn")
"""The events a disclosure consent's state is replayed from."""

Key = tuple[str, str, str, bytes, bytes]
"""(identity, discloser, recipient, purpose code, category code), addresses lowercase."""


@dataclass(frozen=True)
class DisclosureFacts:
    """What the events say of one disclosure consent: the first grant's position (block,
    log index), the stored flag, and the latest grant's expiry, recipient's policy version and
    block time (unix seconds)."""

    first: tuple[int, int]
    active: bool
    expiry: int
    policy_version: int
    granted_at: int


@dataclass(frozen=True)
class IndexedDisclosureConsent:
    """A disclosure consent at the latest indexed block.

    Addresses are lowercase ``0x`` text, ``purpose`` and ``category`` 32-byte codes, times
    unix seconds, ``expiry`` as stored (2**64 - 1 for never). ``policy_version`` and
    ``current_version`` are the recipient's; ``erasure`` is the identity's erasure request to
    the discloser or the recipient, made to ``erasure_organization``.
    """

    identity: str
    discloser: str
    recipient: str
    purpose: bytes
    category: bytes
    state: ConsentState
    active: bool
    expiry: int
    granted_at: int
    policy_version: int
    current_version: int
    discloser_status: OrganizationStanding
    recipient_status: OrganizationStanding
    erasure: IndexedErasure | None
    erasure_organization: str | None

    @property
    def covered(self) -> bool:
        """The contract's ``isDisclosureCovered`` at that block: active, both organizations
        active and no erasure requested of either."""
        return (
            self.state is ConsentState.ACTIVE
            and self.discloser_status == "active"
            and self.recipient_status == "active"
            and self.erasure is None
        )


def disclosure_facts(rows: list[tuple[Any, ...]]) -> dict[Key, DisclosureFacts]:
    """Each disclosure consent's :class:`DisclosureFacts`, replayed from ``rows``.

    Args:
        rows: (block, log_index, tx_hash, event, args as dict, block time) of
            :data:`DISCLOSURE_CONSENT_EVENTS` (others are skipped), in chain order; ``args``
            as the index keeps them (addresses and bytes32 as ``0x`` text, uints as ints).

    Returns:
        A dict in order of first grant (a withdrawal of a consent never granted is skipped).
    """
    facts: dict[Key, DisclosureFacts] = {}
    for block, log_index, _, event, args, ts in rows:
        if event not in DISCLOSURE_CONSENT_EVENTS:
            continue
        key: Key = (
            str(args["identity"]).lower(),
            str(args["discloser"]).lower(),
            str(args["recipient"]).lower(),
            bytes.fromhex(str(args["purpose"])[2:]),
            bytes.fromhex(str(args["category"])[2:]),
        )
        known = facts.get(key)
        if event == "DisclosureConsentGranted":
            first = (block, log_index) if known is None else known.first
            facts[key] = DisclosureFacts(
                first, True, int(args["expiry"]), int(args["policyVersion"]), int(ts)
            )
        elif known is not None and args.get("wasActive"):
            facts[key] = DisclosureFacts(
                known.first, False, known.expiry, known.policy_version, known.granted_at
            )
    return facts


def disclosure_consents(
    facts: Mapping[Key, DisclosureFacts],
    *,
    order: Mapping[str, int],
    current_versions: Mapping[str, int],
    standing: Mapping[str, OrganizationStanding],
    deactivated: set[str],
    erasures: Mapping[tuple[str, str], IndexedErasure],
    now: int,
) -> list[IndexedDisclosureConsent]:
    """The :class:`IndexedDisclosureConsent` of each consent in ``facts``, by identity in
    ``order``, then in order of first grant.

    Args:
        facts: :func:`disclosure_facts`' answer.
        order: identity (lowercase) -> its place in the request.
        current_versions: organization (lowercase) -> its current policy version (absent:
            none published).
        standing: organization -> its standing (absent: not admitted).
        deactivated: the deactivated identities (lowercase).
        erasures: (identity, organization) -> its erasure request.
        now: the latest indexed block's time (unix seconds).
    """
    found = []
    for key, fact in sorted(facts.items(), key=lambda item: (order[item[0][0]], item[1].first)):
        identity, discloser, recipient = key[:3]
        current = current_versions.get(recipient, 0)
        state = consent_state(
            granted=True,
            active=fact.active,
            expiry=fact.expiry,
            policy_version=fact.policy_version,
            current_version=current,
            deactivated=identity in deactivated,
            now=now,
        )
        to = next((o for o in (discloser, recipient) if (identity, o) in erasures), None)
        found.append(
            IndexedDisclosureConsent(
                *key,
                state=state,
                active=fact.active,
                expiry=fact.expiry,
                granted_at=fact.granted_at,
                policy_version=fact.policy_version,
                current_version=current,
                discloser_status=standing.get(discloser, "not admitted"),
                recipient_status=standing.get(recipient, "not admitted"),
                erasure=None if to is None else erasures[(identity, to)],
                erasure_organization=to,
            )
        )
    return found


__all__ = [
    "DISCLOSURE_CONSENT_EVENTS",
    "DisclosureFacts",
    "IndexedDisclosureConsent",
    "disclosure_consents",
    "disclosure_facts",
]
