"""The link asking a person for a disclosure consent (``collective consent request --org
DISCLOSER --recipient ORG``): a :class:`~collective.portal.links.ConsentLink` with a
``recipient``, under the recipient's current policy (``DisclosureLog.sol``: a disclosure grant
agrees to the recipient's policy version and hash).

Like :mod:`collective.portal.links`, this module needs no web server installed (the command
line imports it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collective.client.disclosure_consent import admitted_ever, distinct_parties
from collective.portal.links import ConsentLink
from collective.types import Address

if TYPE_CHECKING:
    from collective.client import Collective


def disclosure_link(
    client: Collective,
    discloser: str,
    recipient: str,
    purpose: str,
    category: str,
    *,
    expiry: int | None = None,
) -> ConsentLink:
    """The link asking a person to consent that ``discloser`` pass their ``category`` data
    to ``recipient`` for ``purpose``, under the recipient's current policy (its version and
    hash read from the chain).

    Args:
        client: a client on the ledger (read-only is enough).
        discloser, recipient: addresses, accounts or DIDs.
        purpose, category: DPV names (checked against the vocabulary).
        expiry: unix seconds, None for until withdrawn.

    Raises:
        InvalidInputError: a bad address or term; the same organization twice; a discloser
            never admitted; a purpose the recipient's current policy does not cover.
        NotFoundError: the recipient has published no policy.
        ChainError: the node could not be reached.
    """
    disc = admitted_ever(client.session, discloser, "discloser")
    asked = ConsentLink.for_current_policy(client, recipient, purpose, category, expiry=expiry)
    distinct_parties(disc, Address(asked.organization))
    return ConsentLink(
        organization=disc,
        purpose=asked.purpose,
        category=asked.category,
        policy_version=asked.policy_version,
        policy_hash=asked.policy_hash,
        expiry=expiry,
        recipient=asked.organization,
    )


__all__ = ["disclosure_link"]
