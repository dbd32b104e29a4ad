"""My consents: every consent of a person's identities, in the state a person reads.

The browser derives the person's pairwise identities (one per organization, from the
mnemonic it keeps) and asks for their addresses only; the portal reads each identity's
consents from the chain (:meth:`ConsentClient.by_subject
<collective.client.consent.ConsentClient.by_subject>`, the one notion of state in
:mod:`collective.ledger.consent_state`) and the identity's erasure request to the
organization (:meth:`ErasureClient.status <collective.client.erasure.ErasureClient.status>`).

States shown: ``active``, ``withdrawn``, ``expired``, ``superseded`` (the organization
published a newer policy), ``deactivated`` (the identity was deactivated) and ``erased`` (the
person asked the organization to erase its data: from then on no consent with it covers a
use; the row carries the request's due time and the organization's confirmation).

Privacy: an identity address is pseudonymous, but one request naming the identities of every
admitted organization tells the portal's operator that they belong together (the page says
that it asks the portal about each of the person's codes). The chain itself never links them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils.address import is_address, to_checksum_address

from collective.portal.links import ConsentLink
from collective.portal.problems import PortalInputError

if TYPE_CHECKING:
    from collective.client import Collective
    from collective.client.erasure import Erasure
    from collective.client.records import Consent

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


def words(term: str) -> str:
    """A DPV term in plain words: ``dpv:ResearchAndDevelopment`` -> ``research and
    development``; a ``0x`` code (a term outside the vocabulary) is returned as it is."""
    if term.startswith("0x"):
        return term
    name = term.rpartition(":")[2].replace("/", " ")
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return spaced.lower()


@dataclass(frozen=True)
class ConsentRow:
    """One consent as the page lists it (see :meth:`as_json`)."""

    consent: Consent
    state: str
    erasure: Erasure
    renew: str | None = None  # a superseded consent: the link to read and accept the new text

    def as_json(self) -> dict[str, Any]:
        """The row for the page: addresses, DPV names and their plain words, the state and its
        sentence, the fields a signed withdrawal needs (nonce), times in unix seconds (expiry
        None for never; large integers as decimal strings)."""
        c = self.consent
        return {
            "consentId": str(c.consent_id),
            "identity": c.identity,
            "organization": c.organization,
            "purpose": c.purpose,
            "purposeWords": words(c.purpose),
            "category": c.category,
            "categoryWords": words(c.category),
            "state": self.state,
            "stateWords": STATE_WORDS.get(self.state, self.state),
            "covered": c.covered,
            "canWithdraw": c.active and self.state != "deactivated",
            "expiry": None if c.expiry is None else str(c.expiry),
            "grantedAt": c.granted_at,
            "policyVersion": c.policy_version,
            "nonce": str(c.nonce),
            "erasureRequested": self.erasure.requested,
            "erasureDueAt": self.erasure.due_at or None,
            "erasureConfirmedAt": self.erasure.confirmed_at or None,
            "canErase": not self.erasure.requested and self.state != "deactivated",
            "renew": self.renew,
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
        if not is_address(value):
            raise PortalInputError(f"{value!r} is not an identity address")
        seen.setdefault(to_checksum_address(value), None)
    return list(seen)


def my_consents(client: Collective, identities: list[str]) -> list[ConsentRow]:
    """Every consent the identities ever granted, in its state now.

    Args:
        client: a client on the ledger (read-only is enough).
        identities: checksummed identity addresses (:func:`parse_identities`).

    Returns:
        One :class:`ConsentRow` per consent, by identity then in order of first grant.

    Raises:
        ChainError: the node could not be reached.
    """
    rows: list[ConsentRow] = []
    erasures: dict[tuple[str, str], Erasure] = {}
    for identity in identities:
        for consent in client.consent.by_subject(identity):
            pair = (consent.identity, consent.organization)
            if pair not in erasures:
                erasures[pair] = client.erasure.status(*pair)
            state = consent.state
            if erasures[pair].requested and state in ("active", "expired", "superseded"):
                state = "erased"
            renew = renewal_link(client, consent) if state == "superseded" else None
            rows.append(ConsentRow(consent, state, erasures[pair], renew))
    return rows


def renewal_link(client: Collective, consent: Consent) -> str | None:
    """The portal path (``/consent?...``) asking to renew a superseded consent under the
    organization's current policy, with its expiry; None when the current policy no longer
    covers the purpose (nothing to renew to).

    Raises:
        ChainError: the node could not be reached.
    """
    if not client.policies.covers(consent.organization, consent.purpose):
        return None
    policy = client.policies.current(consent.organization)
    link = ConsentLink(
        organization=consent.organization,
        purpose=consent.purpose,
        category=consent.category,
        policy_version=policy.version,
        policy_hash=policy.content_hash.lower(),
        expiry=consent.expiry,
    )
    return link.url("")


__all__ = [
    "MAX_IDENTITIES",
    "STATE_WORDS",
    "ConsentRow",
    "my_consents",
    "parse_identities",
    "renewal_link",
    "words",
]
