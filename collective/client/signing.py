"""Gasless consent: a subject signs Grant / Withdrawal typed data, an organization relays it.

The subject (the identity's owner, or a ``sigAuth`` delegate such as a guardian) signs an
EIP-712 message bound to this chain and this ledger, with a deadline. A grant names the policy
version and its content hash (read from the chain), so it agrees to the text, not a number.
The nonce is max(the consent's nonce, the signing time in unix milliseconds): a request signed
later carries a larger nonce, and the contract lets the subject's later intent win whatever
order relayers use. The signature travels as JSON
(:meth:`~collective.ledger.signing.SignedRequest.to_json`) to any admitted account, which relays it
and pays the gas. A signature works once; a later withdrawal (direct, or signed and relayed
even when nothing is active) cancels every request signed before it.

The nonce and deadline rules, and the chain time they count from, are
:mod:`collective.client.nonces` (re-exported here); relaying is
:class:`~collective.client.relaying.RelayClient`, which :class:`SigningClient` extends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from collective.client.consent import Term, Who, _expiry, consent_key
from collective.client.nonces import (
    DEFAULT_DEADLINE,
    NONCE_CLOCK_SKEW,
    NONCE_STEP,
    chain_now,
    issue_nonce,
    relay_deadline,
    request_deadline,
    signing_deadline,
)
from collective.client.policies import Policies, Policy
from collective.client.relaying import RelayClient
from collective.errors import ConsentError
from collective.ledger.signing import GrantRequest, SignedRequest, WithdrawalRequest, sign


@dataclass(frozen=True)
class PolicyGrant:
    """A signed grant and the published policy version it agrees to: ``policy`` holds the
    text's SHA-256 (``content_hash``) and where to read it (``uri``), to show the subject."""

    signed: SignedRequest
    policy: Policy


class SigningClient(RelayClient):
    """Sign requests as a subject; relay signed requests as an organization (the relay
    methods are :class:`~collective.client.relaying.RelayClient`'s)."""

    def sign_grant(
        self,
        organization: Who,
        purpose: Term,
        category: Term,
        *,
        identity: Who | None = None,
        signer: LocalAccount | None = None,
        expiry: int | None = None,
        policy_version: int | None = None,
        policy_hash: bytes | None = None,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedRequest:
        """Sign a grant and return it (relay it with :meth:`relay`).

        ``signer`` defaults to the client's account, ``identity`` to the signer;
        ``policy_version`` to the organization's current one and ``policy_hash`` to that
        version's content hash on chain (give both, and ``nonce`` and ``deadline``, to sign
        fully offline); ``nonce`` to max(consent nonce, now in unix ms); ``deadline`` (unix
        seconds) to an hour from the latest block; ``expiry`` (unix seconds) to none.

        Args:
            organization, purpose, category: as :meth:`ConsentClient.grant`.
            identity: whose consent (default: the signer).
            signer: the key that signs (the identity's owner or a ``sigAuth`` delegate).
            expiry: unix seconds, None for never.
            policy_version, policy_hash: the version agreed to and its 32-byte content hash.
            nonce: the request's nonce (unix ms scale, see :meth:`next_nonce`).
            deadline: the last unix second a relay may be mined in.

        Returns:
            The :class:`~collective.ledger.signing.SignedRequest` (EIP-712 typed data and
            signature).

        Raises:
            ConsentError: the policy version is not published (a subject can only agree to a
                text that exists).
            NotFoundError: the organization has published no policy.
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ConfigurationError: no signer (a read-only client without ``signer``).
            ChainError: the node could not be reached.
        """
        key = self._signer(signer)
        who, org, p, c = consent_key(
            identity if identity is not None else key, organization, purpose, category, self._s
        )
        version = self._consent._version(org, policy_version)
        latest = functools.cache(self._s.chain.latest_timestamp)  # one block read per signature
        request = GrantRequest(
            identity=who,
            organization=org,
            purpose=p,
            category=c,
            expiry=_expiry(expiry),
            policy_version=version,
            policy_hash=self._policy_hash(org, version) if policy_hash is None else policy_hash,
            nonce=self._nonce(who, org, p, c, latest) if nonce is None else nonce,
            deadline=signing_deadline(deadline, latest),
        )
        return self._sign(key, request)

    def sign_policy_grant(
        self,
        organization: Who,
        purpose: Term,
        category: Term,
        *,
        identity: Who | None = None,
        signer: LocalAccount | None = None,
        expiry: int | None = None,
        policy_version: int | None = None,
        read_hash: str | None = None,
        deadline: int | None = None,
    ) -> PolicyGrant:
        """Sign a grant to a published policy text: the version given (default: the
        organization's current one), checked against the hash of the text the subject read.

        Args:
            organization, purpose, category: as :meth:`ConsentClient.grant`.
            identity: whose consent (default: the signer).
            signer: the key that signs (default: the client's account).
            expiry: unix seconds, None for never.
            policy_version: the version agreed to (default: the current one).
            read_hash: the content hash (``0x`` + 64 hex, any case) of the text the subject
                read; None to agree to whatever that version published.
            deadline: the last unix second a relay may be mined in (default: an hour from
                the latest block).

        Returns:
            A :class:`PolicyGrant`: the signed request and the :class:`Policy` it agrees to.

        Raises:
            NotFoundError: the organization has published no policy, or no such version.
            ConsentError: ``read_hash`` is not that version's published hash.
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a term outside the DPV vocabulary (unless ``custom_terms``).
            ConfigurationError: no signer (a read-only client without ``signer``).
            ChainError: the node could not be reached.
        """
        policies = Policies(self._s)
        published = (
            policies.get(organization, policy_version)
            if policy_version is not None
            else policies.current(organization)
        )
        if read_hash is not None and published.content_hash.lower() != read_hash.lower():
            raise ConsentError(
                f"policy version {published.version} of {published.organization} has the text "
                f"{published.content_hash}, not the {read_hash} you read",
                hint=f"read the published text at {published.uri} before consenting",
            )
        signed = self.sign_grant(
            organization,
            purpose,
            category,
            identity=identity,
            signer=signer,
            expiry=expiry,
            policy_version=published.version,
            policy_hash=bytes.fromhex(published.content_hash[2:]),
            deadline=deadline,
        )
        return PolicyGrant(signed, published)

    def sign_withdrawal(
        self,
        organization: Who,
        purpose: Term,
        category: Term,
        *,
        identity: Who | None = None,
        signer: LocalAccount | None = None,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedRequest:
        """Sign a withdrawal (same defaults as :meth:`sign_grant`). Relayed, it withdraws the
        consent, or with nothing active cancels every grant signed before it.

        Returns:
            The :class:`~collective.ledger.signing.SignedRequest`.

        Raises:
            As :meth:`sign_grant` (no policy is read).
        """
        key = self._signer(signer)
        who, org, p, c = consent_key(
            identity if identity is not None else key, organization, purpose, category, self._s
        )
        latest = functools.cache(self._s.chain.latest_timestamp)  # one block read per signature
        request = WithdrawalRequest(
            identity=who,
            organization=org,
            purpose=p,
            category=c,
            nonce=self._nonce(who, org, p, c, latest) if nonce is None else nonce,
            deadline=signing_deadline(deadline, latest),
        )
        return self._sign(key, request)

    def _sign(self, key: LocalAccount, request: GrantRequest | WithdrawalRequest) -> SignedRequest:
        return sign(
            key,
            request,
            chain_id=self._s.chain.chain_id,
            verifying_contract=self._s.ledger.address,
        )

    def _signer(self, signer: LocalAccount | None) -> LocalAccount:
        return signer if signer is not None else self._s.sender

    def _nonce(
        self,
        identity: str,
        organization: str,
        purpose: bytes,
        category: bytes,
        latest: Callable[[], int] | None = None,
    ) -> int:
        """max(the consent's nonce, now in unix ms, one past the last nonce this process issued
        for the consent): requests signed later carry larger nonces even within one
        millisecond, or when the chain's clock (which direct calls write) runs ahead. A local
        clock more than the contract's NONCE_CLOCK_SKEW (10 min) ahead of the chain's is held
        back to the chain's time, and the result never exceeds what the contract accepts
        (max(chain ms + NONCE_CLOCK_SKEW, consent nonce + NONCE_STEP)), so the request stays
        relayable. ``latest()`` gives the latest block's time (unix seconds; default: read it)."""
        stored = self._s.call(
            self._s.ledger.functions.getConsent(identity, organization, purpose, category)
        )
        key = (self._s.chain.chain_id, self._s.ledger.address, identity, organization)
        chain_ms = (latest or self._s.chain.latest_timestamp)() * 1000
        return issue_nonce((*key, purpose, category), int(stored[3]), chain_ms)

    def next_nonce(self, identity: Who, organization: Who, purpose: Term, category: Term) -> int:
        """The nonce :meth:`sign_grant` / :meth:`sign_withdrawal` would sign with now, for a
        request an external wallet signs (e.g. from
        :func:`~collective.ledger.signing.typed_data_json`):
        max(the consent's nonce, now in unix ms held to the chain's clock, one past the last
        this process issued). Each call issues a new one.

        Args:
            identity, organization, purpose, category: the consent (as :meth:`sign_grant`).

        Returns:
            The nonce (unix milliseconds scale).

        Raises:
            InvalidInputError: as :func:`~.consent.consent_key`.
            ChainError: the node could not be reached.
        """
        return self._nonce(*consent_key(identity, organization, purpose, category, self._s))

    def policy_hash(self, organization: Who, version: int | None = None) -> bytes:
        """The content hash (32 bytes) of ``organization``'s policy ``version`` (default: the
        current one), the value a signed grant must carry.

        Args:
            organization: the organization's address, account or DID.
            version: a published policy version (default: the current one).

        Raises:
            ConsentError: that version is not published.
            NotFoundError: the organization has published no policy.
            ChainError: the node could not be reached.
        """
        org = self._s.address(organization, "organization")
        return self._policy_hash(org, self._consent._version(org, version))

    def _policy_hash(self, organization: str, version: int) -> bytes:
        content_hash, _, _ = self._s.call(self._s.ledger.functions.policy(organization, version))
        return bytes(content_hash)


__all__ = [
    "DEFAULT_DEADLINE",
    "NONCE_CLOCK_SKEW",
    "NONCE_STEP",
    "PolicyGrant",
    "SigningClient",
    "chain_now",
    "issue_nonce",
    "relay_deadline",
    "request_deadline",
]
