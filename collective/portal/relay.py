"""The relay endpoint's logic: take a person's signed request, check it, send it, report.

A request is relayed only when all of these hold, in this order (the cheap checks first: a
malformed or foreign request costs the relayer no node call, a replay one ``eth_call``):

1. the body is at most :data:`MAX_BODY` bytes of JSON in the shape
   :meth:`SignedRequest.to_json <collective.ledger.signing.SignedRequest.to_json>` writes
   (``kind`` ``grant`` or ``withdrawal``), :class:`~collective.ledger.erasure_request.
   SignedErasure` writes (``kind`` ``erasure``: GDPR Art. 17) or
   :mod:`collective.ledger.disclosure_request`'s signed requests write (``kind``
   ``disclosure-grant`` or ``disclosure-withdrawal``: onward disclosure, GDPR Art. 13(1)(e)),
   every field in range, a low-s signature, v 27/28, that recovers to the named signer
   (their ``from_json`` checks it);
2. it was signed for this chain id and this ledger's address (EIP-712 domain);
3. the client address still has a token
   (:class:`~collective.portal.ratelimit.TokenBucket`);
4. the contract would accept it now: a dry run (``eth_call`` as the relayer, no gas) of the
   very call the relay sends. A replayed or superseded signature is refused by the chain
   (``InvalidNonce``; a second erasure request of the same pair
   ``ErasureAlreadyRequested``), an expired one (``SignatureExpired``), a signer without
   authority (``SignerNotAuthorized``), a disclosure grant under a recipient's policy that
   is not current (``PolicyNotCurrent``);
5. the identity still has a token, keyed by (identity, signer): anyone can sign a request
   that *names* an identity, so keying on the identity alone would let a stranger drain a
   person's budget. The token is taken only after the dry run, so what the chain refuses
   anyway (a replay, a stranger's request) never touches it: a flood of replays cannot lock
   a person out of withdrawing (GDPR Art. 7(3): withdrawing as easy as giving); it costs
   the sender's client-address token and one ``eth_call`` each;
6. the relayer sends it (gas estimation first; a request overtaken between the dry run and
   the send is refused there the same way, at no gas).

The relayer (the portal's ``--relayer`` account) pays the gas; the person needs no ether.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collective.client.consent import Granted, Withdrawn
from collective.client.disclosure_records import DisclosureGranted, DisclosureWithdrawn
from collective.client.erasure import ErasureRequested
from collective.errors import ConsentError
from collective.ledger.disclosure_request import (
    SignedDisclosure,
    SignedDisclosureGrant,
    SignedDisclosureWithdrawal,
    load_signed_disclosure,
)
from collective.ledger.erasure_request import SignedErasure
from collective.ledger.signing import SignedRequest
from collective.portal.problems import PortalInputError
from collective.portal.ratelimit import RateLimits, RelayBuckets

if TYPE_CHECKING:
    from collective.client import Collective

MAX_BODY = 8_192
"""Bytes a relay request may have: a signed request is ~1 KB of JSON."""


Signed = SignedRequest | SignedErasure | SignedDisclosure
"""What the endpoint relays: a signed grant or withdrawal, a signed erasure request, or a
signed disclosure grant or withdrawal."""
_DISCLOSURE_KINDS = (SignedDisclosureGrant.KIND, SignedDisclosureWithdrawal.KIND)


@dataclass(frozen=True)
class Relayed:
    """What a relay did: ``kind`` (``grant``, ``withdrawal``, ``erasure``,
    ``disclosure-grant``, ``disclosure-withdrawal``), whose and with which organization (a
    disclosure's discloser), the transaction (hash, block, gas paid by the relayer) and the
    kind's own fields in ``details`` (a consent's id, purpose and category; a withdrawal's
    ``wasActive``; an erasure's ``dueAt``, unix seconds; a disclosure's ``recipient``,
    purpose, category and the recipient's ``policyVersion`` granted)."""

    kind: str
    identity: str
    organization: str
    tx_hash: str
    block_number: int
    gas_used: int
    details: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The endpoint's answer (camelCase keys, as the page's JavaScript reads them)."""
        return {
            "kind": self.kind,
            "identity": self.identity,
            "organization": self.organization,
            "txHash": self.tx_hash,
            "blockNumber": self.block_number,
            "gasUsed": self.gas_used,
            **self.details,
        }


class Relayer:
    """Checks and relays signed consent requests for one ledger, paid by one account.

    Args:
        client: a :class:`~collective.Collective` acting as the relaying account (an
            admitted, active organization: the contract requires it).
        limits: the per-identity and per-client rate limits.
    """

    def __init__(self, client: Collective, limits: RateLimits | None = None) -> None:
        self._client = client
        self._buckets = RelayBuckets(limits)

    def parse(self, body: bytes) -> Signed:
        """Steps 1 and 2: the signed request in ``body``, for this chain and ledger.

        Raises:
            PortalInputError: too large, not UTF-8, malformed (a field missing or out of range,
                a high-s signature, one that does not recover to its signer), or another chain
                or ledger.
        """
        text = body_text(body, "a signed request", "sign it again on the portal's page")
        kind = _kind(text)
        try:
            signed: Signed
            if kind == SignedErasure.KIND:
                signed = SignedErasure.from_json(text)
            elif kind in _DISCLOSURE_KINDS:
                signed = load_signed_disclosure(text)
            else:
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

    def admit(self, signed: Signed, client_address: str) -> None:
        """Steps 3 to 5: take a token for the client address, dry-run the request on the
        chain, then take one for the identity (see the module docstring for why in this
        order).

        Raises:
            RateLimited: a bucket is empty (the client address's token is spent even when the
                chain refuses the request or the identity's bucket is empty: a refused
                request still counts against its sender).
            SignatureError, ConsentError, TransactionError: the chain would refuse it (as
                :meth:`relay`); the identity's token is untouched.
            ChainError: the node could not be reached.
        """
        self._buckets.take_client(client_address)
        self._dry_run(signed)
        identity, signer = signed.request.identity.lower(), signed.signer.lower()
        key = f"identity:{identity}:{signer}"
        self._buckets.take_identity(key, "too many requests for this identity")

    def _dry_run(self, signed: Signed) -> None:
        """Step 4: run the call the relay would send as an ``eth_call`` from the relayer
        (raises as the send would: the revert decoded to its typed error)."""
        session = self._client.session
        fn = getattr(session.ledger.functions, _function(signed))(*signed.call_args())
        self._client.chain.call(fn, sender=session.sender.address)

    def relay(self, body: bytes, client_address: str) -> Relayed:
        """Steps 1 to 6 for one request body from ``client_address``.

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
        if isinstance(signed, SignedErasure):
            return _erasure(self._client.erasure.relay(signed))
        if isinstance(signed, SignedDisclosureGrant | SignedDisclosureWithdrawal):
            return _disclosure(self._client.disclosure.relay(signed))
        return _consent(self._client.signing.relay(signed))


def body_text(body: bytes, what: str, hint: str) -> str:
    """``body``, a relay request's raw body, as text.

    Args:
        body: the bytes read (:func:`~collective.portal.api.read_body` stops just past
            :data:`MAX_BODY`).
        what: what the body should be, for the message ("a signed request").
        hint: what to do when it is not UTF-8.

    Raises:
        PortalInputError: more than :data:`MAX_BODY` bytes, or not UTF-8.
    """
    if len(body) > MAX_BODY:
        raise PortalInputError(f"{what} is at most {MAX_BODY} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise PortalInputError(
            f"the request body is not UTF-8 text, so it is not {what}", hint=hint
        ) from None


def _function(signed: Signed) -> str:
    """The ledger function that relays ``signed``."""
    if isinstance(signed, SignedErasure):
        return "requestErasureSigned"
    if isinstance(signed, SignedDisclosureGrant):
        return "grantDisclosureSigned"
    if isinstance(signed, SignedDisclosureWithdrawal):
        return "withdrawDisclosureSigned"
    return "grantSigned" if signed.kind == "grant" else "withdrawSigned"


def _kind(text: str) -> object:
    """The ``kind`` of a JSON object, or None (the parsers report what else is wrong)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data.get("kind") if isinstance(data, dict) else None


def _relayed(kind: str, result: Any, organization: object, details: dict[str, Any]) -> Relayed:
    """The :class:`Relayed` answer of a mined request: ``result`` is the client's record of
    it (``identity``, ``tx_hash``, ``block_number``, ``gas_used``)."""
    return Relayed(
        kind=kind,
        identity=str(result.identity),
        organization=str(organization),
        tx_hash=str(result.tx_hash),
        block_number=int(result.block_number),
        gas_used=int(result.gas_used),
        details=details,
    )


def _consent(result: Granted | Withdrawn) -> Relayed:
    details: dict[str, Any] = {
        "consentId": str(result.consent_id),
        "purpose": result.purpose,
        "category": result.category,
    }
    if isinstance(result, Withdrawn):
        details["wasActive"] = result.was_active
    kind = "withdrawal" if isinstance(result, Withdrawn) else "grant"
    return _relayed(kind, result, result.organization, details)


def _erasure(result: ErasureRequested) -> Relayed:
    return _relayed("erasure", result, result.organization, {"dueAt": result.due_at})


def _disclosure(result: DisclosureGranted | DisclosureWithdrawn) -> Relayed:
    details: dict[str, Any] = {
        "recipient": str(result.recipient),
        "purpose": result.purpose,
        "category": result.category,
    }
    if isinstance(result, DisclosureWithdrawn):
        details["wasActive"] = result.was_active
        kind = "disclosure-withdrawal"
    else:
        details["policyVersion"] = result.policy_version
        kind = "disclosure-grant"
    return _relayed(kind, result, result.discloser, details)


__all__ = ["MAX_BODY", "Relayed", "Relayer", "Signed", "body_text"]
