"""Consent request links: what an organization asks a person to agree to, as a portal URL.

``collective consent request`` prints one; the portal's consent page reads it::

    {portal}/consent?org=0x…&purpose=dpv:ResearchAndDevelopment&category=dpv-pd:MedicalHealth
                    &version=1&hash=0x…(sha256 of the policy text)[&expiry=UNIX_SECONDS]

The link names the policy version *and its content hash*, so a link made for one text cannot
be reused for another: the page refuses a link whose hash is not the chain's for that version,
and the browser refuses a fetched document whose SHA-256 is not it. Everything in a link is
public (it is what the organization asks for); nothing in it identifies the person.

A link with ``&recipient=0x…`` asks for a *disclosure* consent (``DisclosureLog.sol``): that
``org`` may pass the data to the recipient; ``version`` and ``hash`` are then the recipient's
policy (:func:`collective.portal.disclosure_link.disclosure_link` makes one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from eth_utils.address import is_address, to_checksum_address

from collective.errors import InvalidInputError
from collective.ledger.vocab import term_code

if TYPE_CHECKING:
    from collective.client import Collective

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1


@dataclass(frozen=True)
class ConsentLink:
    """A consent request: ``organization`` (checksummed address) asks to use ``category``
    data for ``purpose`` (DPV names) under policy ``policy_version`` whose text has SHA-256
    ``policy_hash`` (``0x`` + 64 lowercase hex), until ``expiry`` (unix seconds, None for
    until withdrawn); with a ``recipient`` (checksummed), consent that the organization pass
    the data to it, under the recipient's policy version and hash."""

    organization: str
    purpose: str
    category: str
    policy_version: int
    policy_hash: str
    expiry: int | None = None
    recipient: str | None = None

    def query(self) -> dict[str, str]:
        """The link's query parameters, in the order the URL shows them."""
        params = {
            "org": self.organization,
            **({"recipient": self.recipient} if self.recipient else {}),
            "purpose": self.purpose,
            "category": self.category,
            "version": str(self.policy_version),
            "hash": self.policy_hash,
        }
        if self.expiry is not None:
            params["expiry"] = str(self.expiry)
        return params

    def url(self, portal: str) -> str:
        """The full link on the portal at ``portal`` (``http://host:port`` or
        ``https://host[/path]``, no trailing slash needed; ``""`` for a link relative to the
        portal's own root).

        Raises:
            InvalidInputError: ``portal`` is not an http(s) address (see :func:`portal_base`).
        """
        base = portal_base(portal) if portal else ""
        return f"{base}/consent?{urlencode(self.query())}"

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> ConsentLink:
        """Read a link's query parameters, each checked.

        Args:
            params: the query (``org``, ``purpose``, ``category``, ``version``, ``hash``,
                optional ``expiry`` and ``recipient``).

        Returns:
            The :class:`ConsentLink`.

        Raises:
            InvalidInputError: a parameter is missing or malformed (named in the message).
        """
        missing = [
            k for k in ("org", "purpose", "category", "version", "hash") if not params.get(k)
        ]
        if missing:
            raise InvalidInputError(
                f"this consent link is incomplete: it lacks {', '.join(missing)}",
                hint="ask the organization for the full link",
            )
        org = params["org"].strip()
        if not is_address(org):
            raise InvalidInputError(f"this consent link names {org!r}, which is not an address")
        recipient = params.get("recipient", "").strip() or None
        if recipient is not None and not is_address(recipient):
            raise InvalidInputError(
                f"this consent link names the recipient {recipient!r}, which is not an address"
            )
        purpose, category = params["purpose"].strip(), params["category"].strip()
        try:
            term_code(purpose, "purpose")
            term_code(category, "category")
        except InvalidInputError as exc:  # with a "did you mean"
            raise InvalidInputError(f"this consent link is not valid: {exc}") from None
        return cls(
            organization=to_checksum_address(org),
            purpose=purpose,
            category=category,
            policy_version=_uint(params["version"], "version", 1, UINT32_MAX),
            policy_hash=_hash(params["hash"]),
            expiry=None
            if not params.get("expiry")
            else _uint(params["expiry"], "expiry", 1, UINT64_MAX),
            recipient=None if recipient is None else to_checksum_address(recipient),
        )

    @classmethod
    def for_current_policy(
        cls,
        client: Collective,
        organization: str,
        purpose: str,
        category: str,
        *,
        expiry: int | None = None,
    ) -> ConsentLink:
        """The link for the organization's current policy, read from the chain.

        Args:
            client: a client on the ledger (read-only is enough).
            organization: the organization's address, account or DID.
            purpose, category: DPV names (checked against the vocabulary).
            expiry: unix seconds, None for until withdrawn.

        Raises:
            NotFoundError: the organization has published no policy.
            InvalidInputError: a bad address or term, or a purpose the current policy does
                not cover (a consent to it could not be granted).
            ChainError: the node could not be reached.
        """
        policy = client.policies.current(organization)
        if not client.policies.covers(organization, purpose):
            raise InvalidInputError(
                f"policy v{policy.version} of {policy.organization} does not cover {purpose}, "
                "so no one could consent to it",
                hint="publish a policy that covers the purpose first (`collective policy publish`)",
            )
        client.session.term(category, "category")
        return cls(
            organization=policy.organization,
            purpose=purpose,
            category=category,
            policy_version=policy.version,
            policy_hash=policy.content_hash.lower(),
            expiry=expiry,
        )


def portal_base(portal: str) -> str:
    """``portal``, a consent portal's address, checked and without a trailing slash: an
    absolute ``http://`` or ``https://`` URL with a host and no query or fragment (a link
    without a scheme, ``consent.example/consent?...``, would not open as a web page).

    Raises:
        InvalidInputError: no http(s) scheme, no host, or a query or fragment.
    """
    parts = urlsplit(portal.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(
            f"the portal address {portal!r} does not start with http:// or https://",
            hint="give the whole address, e.g. https://consent.example",
        )
    if parts.query or parts.fragment:
        raise InvalidInputError(
            f"the portal address {portal!r} has a query or fragment (after ? or #)",
            hint="give the portal's address only, e.g. https://consent.example",
        )
    return portal.strip().rstrip("/")


def _uint(text: str, name: str, low: int, high: int) -> int:
    value = text.strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidInputError(
            f"this consent link's {name} {text!r} is not a whole number in range"
        )
    return int(value)


def _hash(text: str) -> str:
    value = text.strip().lower()
    if len(value) != 66 or not value.startswith("0x"):
        raise InvalidInputError(f"this consent link's hash {text!r} is not 0x and 64 hex digits")
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        raise InvalidInputError(
            f"this consent link's hash {text!r} is not 0x and 64 hex digits"
        ) from None
    return value


__all__ = ["ConsentLink", "portal_base"]
