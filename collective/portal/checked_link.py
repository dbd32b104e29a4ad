"""A consent link checked against the chain before the consent page shows it.

The page (``GET /consent``) shows a request only when the chain agrees with the link
(:func:`check_link`): the policy version it names is published, is still its owner's current
one, covers the purpose, and has the link's hash. The policy's *owner* is the organization
asking, or, for a disclosure consent (a link with ``recipient``; ``DisclosureLog.sol``), the
recipient: a disclosure grant agrees to the recipient's policy, the text saying what the
recipient does with the data. A disclosure link must also name two different organizations,
the discloser one that was admitted to the consortium.

A renewal (``&previous=N``, the version the person agreed to before, from "my consents") also
brings version N, so the page can show what changed: the browser fetches both texts and
checks each one's SHA-256 against the chain before it shows a line diff of them, and the
purposes the new version adds or drops are read from the chain here.

:func:`~collective.portal.disclosure_link.disclosure_link` makes a disclosure link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from collective.client.disclosure_consent import admitted_ever, distinct_parties
from collective.portal.consents import words
from collective.portal.links import UINT32_MAX, ConsentLink
from collective.portal.problems import PortalInputError
from collective.types import Address

if TYPE_CHECKING:
    from collective.client import Collective
    from collective.client.policies import Policy

_NEW_LINK = "ask the organization for a new link"


@dataclass(frozen=True)
class CheckedLink:
    """A link the chain agrees with: the ``link``, its ``policy`` (the organization's, or the
    recipient's for a disclosure consent) and, for a renewal, the ``previous`` version agreed
    to before and the purposes (DPV names) the new version ``added`` and ``dropped``."""

    link: ConsentLink
    policy: Policy
    previous: Policy | None = None
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    @property
    def policy_owner(self) -> str:
        """Whose policy the consent agrees to (checksummed): the recipient's for a
        disclosure consent, else the organization's."""
        return self.link.recipient or self.link.organization


def check_link(client: Collective, params: Mapping[str, str]) -> CheckedLink:
    """Read a consent link's query and check it against the chain.

    Args:
        client: a client on the ledger (read-only is enough).
        params: the page's query: the link's (:meth:`ConsentLink.from_query
            <collective.portal.links.ConsentLink.from_query>`) and an optional ``previous``
            (a renewal: the policy version agreed to before, older than the link's).

    Returns:
        The :class:`CheckedLink`.

    Raises:
        InvalidInputError: a malformed link; a version not published, not current, not
            covering the purpose or with another hash; a disclosure to the discloser itself or
            by an organization never admitted; a ``previous`` not older than the link's
            version or never published (NotFoundError).
        ChainError: the node could not be reached.
    """
    link = ConsentLink.from_query(params)
    owner = link.recipient or link.organization
    if link.recipient is not None:
        distinct_parties(Address(link.organization), Address(link.recipient))
        admitted_ever(client.session, link.organization, "the organization passing your data")
    policy = client.policies.get(owner, link.policy_version)
    if policy.content_hash.lower() != link.policy_hash:
        raise PortalInputError(
            "this link does not match the policy the organization published: the text it "
            "names is not the one on the ledger",
            hint="do not accept it; ask the organization for a new link",
        )
    current = client.policies.current_version(owner)
    if current != link.policy_version:
        raise PortalInputError(
            f"this link asks you to agree to policy version {link.policy_version}, but the "
            f"organization has since published version {current}",
            hint=_NEW_LINK,
        )
    if not client.policies.covers(owner, link.purpose):
        raise PortalInputError(
            f"the organization's policy does not cover {words(link.purpose)}", hint=_NEW_LINK
        )
    previous_text = params.get("previous", "").strip()
    if not previous_text:
        return CheckedLink(link, policy)
    if not previous_text.isdigit() or not 1 <= int(previous_text) <= UINT32_MAX:
        raise PortalInputError(f"previous {previous_text!r} is not a policy version (1, 2, ...)")
    if int(previous_text) >= link.policy_version:
        raise PortalInputError(
            f"previous version {previous_text} is not older than version {link.policy_version}",
            hint="open the renewal from “My consents” again",
        )
    previous = client.policies.get(owner, int(previous_text))
    added = tuple(p for p in policy.purposes if p not in previous.purposes)
    dropped = tuple(p for p in previous.purposes if p not in policy.purposes)
    return CheckedLink(link, policy, previous, added, dropped)


__all__ = ["CheckedLink", "check_link"]
