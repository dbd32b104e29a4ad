"""My consents: every consent of a person's identities, in the state a person reads.

The browser derives the person's pairwise identities (one per organization, from the
mnemonic it keeps) and asks for their addresses only; the portal reads each identity's
consents, the organizations' current policies and standing, the identities' deactivation
and their erasure requests from its audit index
(:meth:`SubjectReader.consents <collective.audit.subjects.SubjectReader.consents>`, the one
notion of state in :mod:`collective.ledger.consent_state`), as of the latest indexed block,
which :class:`~collective.portal.index.PortalIndex` keeps in step with the chain: a request
costs a few SQLite queries and no node call.

States shown: ``active``, ``withdrawn``, ``expired``, ``superseded`` (the organization
published a newer policy), ``deactivated`` (the identity was deactivated) and ``erased`` (the
person asked the organization to erase its data: from then on no consent with it covers a
use; the row carries the request's due time and the organization's confirmation).

A row has no nonce: the page reads the consent's nonce from the chain (``/api/consent``)
right before it signs a withdrawal.

Privacy: an identity address is pseudonymous, but one request naming the identities of every
admitted organization tells the portal's operator that they belong together (the page says
that it asks the portal about each of the person's codes). The chain itself never links them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from eth_utils.address import is_address, to_checksum_address

from collective.chain.codec import checksum, consent_id
from collective.client.records import expiry_or_none
from collective.ledger.consent_state import ConsentState
from collective.ledger.vocab import name_of
from collective.portal.links import ConsentLink
from collective.portal.problems import PortalInputError

if TYPE_CHECKING:
    from collective.audit.subject_disclosures import IndexedDisclosureConsent
    from collective.audit.subjects import IndexedConsent, IndexedPolicy, SubjectConsents

MAX_IDENTITIES = 256
"""Identities one "my consents" request may name."""

STATE_WORDS = {
    "active": "Active: the organization may use this data for this purpose.",
    "withdrawn": "Withdrawn: you took this consent back.",
    "expired": "Expired: the time you agreed to has passed.",
    "superseded": "Paused: the organization changed its policy; it may not use this data "
    "until you agree to the new version.",
    "deactivated": "Ended: this identity was closed.",
    "erased": "Ended: you asked the organization to erase your data.",
    "none": "Never given.",
}
"""Each state in plain words, as the page shows it."""


@lru_cache(maxsize=4096)
def words(term: str) -> str:
    """A DPV term in plain words: ``dpv:ResearchAndDevelopment`` -> ``research and
    development``; a ``0x`` code (a term outside the vocabulary) is returned as it is
    (cached: every answer repeats the same few terms)."""
    if term.startswith("0x"):
        return term
    name = term.rpartition(":")[2].replace("/", " ")
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return spaced.lower()


@dataclass(frozen=True)
class ConsentRow:
    """One consent as the page lists it (see :meth:`as_json`): the indexed consent, its
    state as the page says it (``erased`` when the person asked the organization to erase
    its data) and, for a superseded consent, the link to read and accept the new text."""

    consent: IndexedConsent
    state: str
    renew: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The row for the page: addresses (checksummed), DPV names and their plain words,
        the state and its sentence, times in unix seconds (expiry None for never; large
        integers as decimal strings)."""
        c = self.consent
        erasure = c.erasure
        identity, organization = checksum(c.identity), checksum(c.organization)
        return {
            "consentId": consent_id(identity, organization, c.purpose, c.category),
            "identity": identity,
            "organization": organization,
            **row_terms(c, self.state, STATE_WORDS),
            "erasureRequested": erasure is not None,
            "erasureDueAt": None if erasure is None else erasure.due_at or None,
            "erasureConfirmedAt": None if erasure is None else erasure.confirmed_at or None,
            "canErase": erasure is None and self.state != "deactivated",
            "renew": self.renew,
        }


def row_terms(
    consent: IndexedConsent | IndexedDisclosureConsent, state: str, state_words: dict[str, str]
) -> dict[str, Any]:
    """What a use or a disclosure consent's row says alike: the DPV purpose and category
    names and their plain words, ``state`` (as :func:`page_state` says it) and its sentence
    from ``state_words``, ``covered``, ``canWithdraw``, the expiry (None for never, else
    unix seconds as a decimal string), ``grantedAt`` (unix seconds) and the policy version
    agreed to."""
    purpose, category = name_of(consent.purpose), name_of(consent.category)
    expiry = expiry_or_none(consent.expiry)
    return {
        "purpose": purpose,
        "purposeWords": words(purpose),
        "category": category,
        "categoryWords": words(category),
        "state": state,
        "stateWords": state_words.get(state, state),
        "covered": consent.covered,
        "canWithdraw": consent.active and state != "deactivated",
        "expiry": None if expiry is None else str(expiry),
        "grantedAt": consent.granted_at,
        "policyVersion": consent.policy_version,
    }


def parse_identities(values: list[str]) -> list[str]:
    """The identity addresses a request names, checksummed, duplicates dropped.

    Raises:
        PortalInputError: none, more than :data:`MAX_IDENTITIES`, or one not an address.
    """
    if not values:
        raise PortalInputError("name at least one identity (?identity=0x...)")
    if len(values) > MAX_IDENTITIES:
        raise PortalInputError(f"at most {MAX_IDENTITIES} identities per request")
    seen: dict[str, None] = {}
    for value in values:
        address = _identity(value)
        if address is None:
            raise PortalInputError(f"{value!r} is not an identity address")
        seen.setdefault(address, None)
    return list(seen)


@lru_cache(maxsize=65536)
def _identity(value: str) -> str | None:
    """``value`` checksummed, or None when it is not an address (cached: a person's page
    names the same identities at every reload, and checksums cost a hash each)."""
    return to_checksum_address(value) if is_address(value) else None


def consent_rows(found: SubjectConsents) -> list[ConsentRow]:
    """The page's rows of the indexed consents ``found``, in their order.

    Args:
        found: :meth:`SubjectReader.consents
            <collective.audit.subjects.SubjectReader.consents>`'s answer.

    Returns:
        One :class:`ConsentRow` per consent.
    """
    rows: list[ConsentRow] = []
    for consent in found.consents:
        state = page_state(consent.state, consent.erasure is not None)
        renew = None
        if state == "superseded":
            renew = renewal_link(consent, found.policies.get(consent.organization))
        rows.append(ConsentRow(consent, state, renew))
    return rows


_ERASABLE = (ConsentState.ACTIVE, ConsentState.EXPIRED, ConsentState.SUPERSEDED)
"""The states a requested erasure ends (the page says ``erased``)."""


def page_state(state: ConsentState, erasure_requested: bool) -> str:
    """A consent's state as the page says it: ``erased`` for an active, expired or superseded
    consent whose data the person asked to erase (GDPR Art. 17: no use is covered from the
    request on), otherwise the state's name. Disclosure consents read the same."""
    shown = str(state)
    if erasure_requested and state in _ERASABLE:
        return "erased"
    return shown


def renewal_link(consent: IndexedConsent, policy: IndexedPolicy | None) -> str | None:
    """The portal path (``/consent?...``) asking to renew a superseded consent under the
    organization's current ``policy``, with its expiry; None when there is no current policy
    or it no longer covers the purpose (nothing to renew to)."""
    return renewal_path(
        policy, consent.organization, consent.purpose, consent.category, consent.expiry
    )


def renewal_path(
    policy: IndexedPolicy | None,
    organization: str,
    purpose: bytes,
    category: bytes,
    expiry: int,
    recipient: str | None = None,
) -> str | None:
    """The portal path (``/consent?...``, with ``&recipient=`` for a disclosure consent)
    asking to agree to ``policy`` (the current policy of the organization whose policy the
    consent is under) for ``purpose`` and ``category`` (32-byte codes) until ``expiry`` (the
    index's stored value); None when there is no policy or it does not cover the purpose."""
    if policy is None or purpose not in policy.purposes:
        return None
    link = ConsentLink(
        organization=checksum(organization),
        purpose=name_of(purpose),
        category=name_of(category),
        policy_version=policy.version,
        policy_hash="0x" + policy.content_hash.hex(),
        expiry=expiry_or_none(expiry),
        recipient=None if recipient is None else checksum(recipient),
    )
    return link.url("")


__all__ = [
    "MAX_IDENTITIES",
    "STATE_WORDS",
    "ConsentRow",
    "consent_rows",
    "page_state",
    "parse_identities",
    "renewal_link",
    "renewal_path",
    "row_terms",
    "words",
]
