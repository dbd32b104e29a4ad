"""The relay endpoint's logic: take a person's signed request, check it, send it, report.

A request is relayed only when all of these hold, in this order (the cheap checks first, so
a flood costs the relayer no node calls):

1. the body is at most :data:`MAX_BODY` bytes of JSON in the shape
   :meth:`SignedRequest.to_json <collective.ledger.signing.SignedRequest.to_json>` writes
   (``kind`` ``grant`` or ``withdrawal``; every field in range; a low-s signature, v 27/28,
   that recovers to the named signer): :meth:`SignedRequest.from_json` checks it;
2. it was signed for this chain id and this ledger's address (EIP-712 domain);
3. the client address and the identity each still have a token
   (:class:`~collective.portal.ratelimit.TokenBucket`);
4. the contract accepts it (gas estimation first, so a refused request costs no gas): a
   replayed or superseded signature is refused by the chain (``InvalidNonce``), an expired
   one (``SignatureExpired``), a signer without authority (``SignerNotAuthorized``).

The relayer (the portal's ``--relayer`` account) pays the gas; the person needs no ether.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collective.client.consent import Granted, Withdrawn
from collective.errors import ConsentError
from collective.ledger.signing import SignedRequest
from collective.portal.problems import PortalInputError, RateLimited
from collective.portal.ratelimit import RateLimits, TokenBucket

if TYPE_CHECKING:
    from collective.client import Collective

MAX_BODY = 8_192
"""Bytes a relay request may have: a signed request is ~1 KB of JSON."""


@dataclass(frozen=True)
class Relayed:
    """What a relay did: the kind (``grant`` / ``withdrawal``), the consent, and the
    transaction (hash, block, gas paid by the relayer)."""

    kind: str
    consent_id: str
    identity: str
    organization: str
    purpose: str
    category: str
    tx_hash: str
    block_number: int
    gas_used: int
    was_active: bool | None = None  # a withdrawal: was a consent active (else it only cancelled)

    def as_json(self) -> dict[str, Any]:
        """The endpoint's answer (camelCase keys, as the page's JavaScript reads them)."""
        return {
            "kind": self.kind,
            "consentId": self.consent_id,
            "identity": self.identity,
            "organization": self.organization,
            "purpose": self.purpose,
            "category": self.category,
            "txHash": self.tx_hash,
            "blockNumber": self.block_number,
            "gasUsed": self.gas_used,
            "wasActive": self.was_active,
        }


class Relayer:
    """Checks and relays signed consent requests for one ledger, paid by one account.

    Args:
        client: a :class:`~collective.Collective` acting as the relaying account (an
            admitted, active organization: the contract requires it).
        limits: the per-identity and per-client rate limits.
    """

    def __init__(self, client: Collective, limits: RateLimits | None = None) -> None:
        limits = limits or RateLimits()
        self._client = client
        self._per_identity = TokenBucket(*limits.per_identity)
        self._per_client = TokenBucket(*limits.per_client)

    def parse(self, body: bytes) -> SignedRequest:
        """Steps 1 and 2: the signed request in ``body``, for this chain and ledger.

        Raises:
            PortalInputError: too large, not UTF-8, malformed (a field missing or out of range,
                a high-s signature, one that does not recover to its signer), or another chain
                or ledger.
        """
        if len(body) > MAX_BODY:
            raise PortalInputError(f"a signed request is at most {MAX_BODY} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PortalInputError("the request body is not UTF-8 text") from None
        try:
            signed = SignedRequest.from_json(text)
        except ConsentError as exc:  # malformed or badly signed: nothing reached the chain
            raise PortalInputError(exc.message, hint=exc.hint) from None
        chain_id = self._client.chain.chain_id
        ledger = self._client.session.ledger.address
        if signed.chain_id != chain_id or signed.verifying_contract.lower() != ledger.lower():
            raise PortalInputError(
                f"the request was signed for chain {signed.chain_id} and ledger "
                f"{signed.verifying_contract}, but this portal relays for chain {chain_id} and "
                f"ledger {ledger}",
                hint="open the consent link on this portal and sign again",
            )
        return signed

    def admit(self, signed: SignedRequest, client_address: str) -> None:
        """Step 3: take a token for the client address and one for the identity.

        Raises:
            RateLimited: either bucket is empty (nothing is taken from the other).
        """
        wait = self._per_client.take(f"client:{client_address}")
        if wait:
            raise RateLimited("too many requests from your network address", retry_after=wait)
        wait = self._per_identity.take(f"identity:{signed.request.identity.lower()}")
        if wait:
            raise RateLimited("too many requests for this identity", retry_after=wait)

    def relay(self, body: bytes, client_address: str) -> Relayed:
        """Steps 1 to 4 for one request body from ``client_address``.

        Args:
            body: the raw request body (JSON of a signed request).
            client_address: the HTTP client's IP address (the rate limit's key).

        Returns:
            The :class:`Relayed` result once the transaction is mined.

        Raises:
            PortalInputError, InvalidInputError: malformed, or another chain or ledger.
            RateLimited: over a limit.
            SignatureError: the chain refused the signature (replayed, expired, superseded,
                no authority); ConsentError / TransactionError otherwise refused.
            ChainError: the node could not be reached.
        """
        signed = self.parse(body)
        self.admit(signed, client_address)
        result = self._client.signing.relay(signed)
        return _relayed(result)


def _relayed(result: Granted | Withdrawn) -> Relayed:
    withdrawn = isinstance(result, Withdrawn)
    return Relayed(
        kind="withdrawal" if withdrawn else "grant",
        consent_id=str(result.consent_id),
        identity=str(result.identity),
        organization=str(result.organization),
        purpose=str(result.purpose),
        category=str(result.category),
        tx_hash=str(result.tx_hash),
        block_number=int(result.block_number),
        gas_used=int(result.gas_used),
        was_active=result.was_active if isinstance(result, Withdrawn) else None,
    )


__all__ = ["MAX_BODY", "Relayed", "Relayer"]
