"""My disclosure consents: each consent a person gave that one organization pass their data
to another (``DisclosureLog.sol``), as the "my consents" page lists it beside the use consents
(:mod:`collective.portal.consents`), from the same audit-index snapshot.

A row names the discloser and the recipient, the purpose and category, the state (the
use-consent states, judged against the *recipient's* policy: ``superseded`` when the
recipient published a newer version; ``erased`` when the person asked the discloser or the
recipient to erase their data), the recipient's policy version agreed to and its current
one, and, when superseded, the link to read the recipient's new policy and renew. The page
withdraws one with a signed ``DisclosureWithdrawal`` (``/api/disclosure`` gives the nonce).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils.crypto import keccak

from collective.chain.codec import checksum
from collective.portal.consents import page_state, renewal_path, row_terms

if TYPE_CHECKING:
    from collective.audit.subject_disclosures import IndexedDisclosureConsent
    from collective.audit.subjects import IndexedPolicy, SubjectConsents

DISCLOSURE_STATE_WORDS = {
    "active": "Active: the first organization may pass this data to the second for this purpose.",
    "withdrawn": "Withdrawn: you took this consent back; no more of this data may be passed.",
    "expired": "Expired: the time you agreed to has passed.",
    "superseded": "Paused: the receiving organization changed its policy; nothing may be "
    "passed until you agree to the new version.",
    "deactivated": "Ended: this identity was closed.",
    "erased": "Ended: you asked one of these organizations to erase your data.",
}
"""Each state of a disclosure consent in plain words, as the page shows it."""


def disclosure_consent_id(
    identity: str, discloser: str, recipient: str, purpose: bytes, category: bytes
) -> str:
    """The ledger's disclosure consent id, ``0x`` hex: keccak256(abi.encode(identity,
    discloser, recipient, purpose, category)), as ``DisclosureLog.disclosureConsentId``
    computes it (addresses ``0x`` + 40 hex, codes 32 bytes)."""
    words32 = [bytes(12) + bytes.fromhex(a[2:]) for a in (identity, discloser, recipient)]
    return "0x" + keccak(b"".join(words32) + bytes(purpose) + bytes(category)).hex()


@dataclass(frozen=True)
class DisclosureRow:
    """One disclosure consent as the page lists it (see :meth:`as_json`)."""

    consent: IndexedDisclosureConsent
    state: str
    renew: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The row for the page: addresses checksummed, DPV names and their plain words,
        the state and its sentence, the recipient's policy version agreed to and its current
        one, times in unix seconds (expiry None for never, as a decimal string otherwise)."""
        c = self.consent
        identity, discloser, recipient = (
            checksum(a) for a in (c.identity, c.discloser, c.recipient)
        )
        erasure = c.erasure
        return {
            "consentId": disclosure_consent_id(
                c.identity, c.discloser, c.recipient, c.purpose, c.category
            ),
            "identity": identity,
            "discloser": discloser,
            "recipient": recipient,
            **row_terms(c, self.state, DISCLOSURE_STATE_WORDS),
            "currentPolicyVersion": c.current_version,
            "erasureOrganization": None
            if c.erasure_organization is None
            else checksum(c.erasure_organization),
            "erasureConfirmedAt": None if erasure is None else erasure.confirmed_at or None,
            "renew": self.renew,
        }


def disclosure_rows(found: SubjectConsents) -> list[DisclosureRow]:
    """The page's rows of the indexed disclosure consents in ``found``, in their order.

    Args:
        found: :meth:`SubjectReader.consents
            <collective.audit.subjects.SubjectReader.consents>`'s answer.
    """
    rows = []
    for consent in found.disclosures:
        state = page_state(consent.state, consent.erasure is not None)
        renew = None
        if state == "superseded":
            renew = disclosure_renewal(consent, found.policies.get(consent.recipient))
        rows.append(DisclosureRow(consent, state, renew))
    return rows


def disclosure_renewal(
    consent: IndexedDisclosureConsent, policy: IndexedPolicy | None
) -> str | None:
    """The portal path (``/consent?...&recipient=...``) asking to renew a superseded
    disclosure consent under the recipient's current ``policy``, with its expiry (the page
    adds ``&previous=`` the version agreed to, to show what changed); None when the recipient
    has no current policy or it no longer covers the purpose."""
    return renewal_path(
        policy,
        consent.discloser,
        consent.purpose,
        consent.category,
        consent.expiry,
        recipient=consent.recipient,
    )


__all__ = [
    "DISCLOSURE_STATE_WORDS",
    "DisclosureRow",
    "disclosure_consent_id",
    "disclosure_renewal",
    "disclosure_rows",
]
