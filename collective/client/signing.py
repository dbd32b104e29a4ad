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
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from collective.chain.connection import Chain
from collective.client.base import Session, tx_fields
from collective.client.consent import (
    BatchResult,
    ConsentClient,
    Granted,
    Term,
    Who,
    Withdrawn,
    _expiry,
    consent_key,
)
from collective.client.policies import Policies, Policy
from collective.errors import ConsentError, InvalidInputError
from collective.ledger.signing import GrantRequest, SignedRequest, WithdrawalRequest, sign

DEFAULT_DEADLINE = 3600  # seconds a signature stays relayable
NONCE_CLOCK_SKEW = 600_000  # ms a signed nonce may run ahead of the block time (the contract's)
NONCE_STEP = 1_000  # how far a signed nonce may run ahead of the consent's (the contract's)

# The last nonce this process signed per consent, so two requests signed in a row are ordered.
_ISSUED: dict[tuple[object, ...], int] = {}
_ISSUED_LOCK = threading.Lock()


def issue_nonce(key: tuple[object, ...], stored: int, chain_ms: int) -> int:
    """The nonce to sign a request for one consent with: max(``stored``, the local clock in
    unix ms held to ``chain_ms`` + NONCE_CLOCK_SKEW / 2, one past the last nonce this process
    issued under ``key``), never past what ConsentRegistry's ``_nonceCeiling`` accepts now
    (max(``stored`` + NONCE_STEP, ``chain_ms`` + NONCE_CLOCK_SKEW)). Use consents and
    disclosure consents follow the same rule.

    Args:
        key: the consent, with the chain id and ledger (a tuple of any hashables).
        stored: the consent's nonce on chain.
        chain_ms: the latest block's time in unix milliseconds.

    Returns:
        The nonce, also remembered under ``key`` so the next one is larger.
    """
    with _ISSUED_LOCK:
        clock = min(time.time_ns() // 1_000_000, chain_ms + NONCE_CLOCK_SKEW // 2)
        nonce = max(stored, clock, _ISSUED.get(key, -1) + 1)
        nonce = min(nonce, max(stored + NONCE_STEP, chain_ms + NONCE_CLOCK_SKEW))
        _ISSUED[key] = nonce
    return nonce


@dataclass(frozen=True)
class PolicyGrant:
    """A signed grant and the published policy version it agrees to: ``policy`` holds the
    text's SHA-256 (``content_hash``) and where to read it (``uri``), to show the subject."""

    signed: SignedRequest
    policy: Policy


class SigningClient:
    """Sign requests as a subject; relay signed requests as an organization."""

    def __init__(self, session: Session, consent: ConsentClient) -> None:
        self._s = session
        self._consent = consent

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
            deadline=self._deadline(deadline, latest),
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
            deadline=self._deadline(deadline, latest),
        )
        return self._sign(key, request)

    def relay(self, signed: SignedRequest) -> Granted | Withdrawn:
        """Send one signed request from the client's account (which pays the gas).

        Args:
            signed: a request signed for this chain and ledger.

        Returns:
            The :class:`Granted` or :class:`Withdrawn` record.

        Raises:
            InvalidInputError: the request was signed for another chain or ledger.
            SignatureError: the contract refused the signature (expired, replayed,
                superseded, bad, or its signer has no authority).
            TransactionError: the contract refused it otherwise.
            ChainError: the node could not be reached.
        """
        self._check(signed)
        if signed.kind == "grant":
            return self._consent.granted(self._s.send("grantSigned", *signed.call_args()))[0]
        return self._consent.withdrawn(self._s.send("withdrawSigned", *signed.call_args()))[0]

    def relay_grant(self, signed: SignedRequest) -> Granted:
        """:meth:`relay` for a signed grant; InvalidInputError for anything else (raises as
        :meth:`relay`)."""
        result = self.relay(self._expect(signed, "grant"))
        assert isinstance(result, Granted)
        return result

    def relay_withdrawal(self, signed: SignedRequest) -> Withdrawn:
        """:meth:`relay` for a signed withdrawal; InvalidInputError for anything else (raises
        as :meth:`relay`)."""
        result = self.relay(self._expect(signed, "withdrawal"))
        assert isinstance(result, Withdrawn)
        return result

    @staticmethod
    def _expect(signed: SignedRequest, kind: str) -> SignedRequest:
        if signed.kind != kind:
            raise InvalidInputError(f"expected a signed {kind}, got a signed {signed.kind}")
        return signed

    def relay_batch(self, signed: Sequence[SignedRequest]) -> BatchResult:
        """Relay many signed grants, or many signed withdrawals, in one transaction.

        An item the contract refuses (already used, superseded, expired, badly signed) is
        skipped and listed in the result's ``skipped``; the others apply.

        Args:
            signed: signed grants only, or signed withdrawals only.

        Returns:
            A :class:`BatchResult`: the applied items and the skipped ones with the reason.

        Raises:
            InvalidInputError: an empty or mixed batch, or one signed for another chain or
                ledger.
            TransactionError: the contract refused the whole transaction.
            ChainError: the node could not be reached.
        """
        if not signed:
            raise InvalidInputError("nothing to relay")
        kinds = {s.kind for s in signed}
        if len(kinds) != 1:
            raise InvalidInputError("a relayed batch holds only grants or only withdrawals")
        for item in signed:
            self._check(item)
        items = [s.batch_item() for s in signed]
        if kinds == {"grant"}:
            receipt = self._s.send("grantSignedBatch", items)
            return BatchResult(
                **tx_fields(receipt),
                items=tuple(self._consent.granted(receipt)),
                skipped=tuple(self._consent.skipped(receipt)),
            )
        receipt = self._s.send("withdrawSignedBatch", items)
        return BatchResult(
            **tx_fields(receipt),
            items=tuple(self._consent.withdrawn(receipt)),
            skipped=tuple(self._consent.skipped(receipt)),
        )

    def _check(self, signed: SignedRequest) -> None:
        if signed.chain_id != self._s.chain.chain_id:
            raise InvalidInputError(
                f"the request was signed for chain {signed.chain_id}, but this is chain "
                f"{self._s.chain.chain_id}",
                hint="ask the subject to sign it again for this network",
            )
        ledger = self._s.ledger.address
        if signed.verifying_contract.lower() != ledger.lower():
            raise InvalidInputError(
                f"the request was signed for ledger {signed.verifying_contract}, not {ledger}",
                hint="ask the subject to sign it again for this deployment",
            )

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

    @staticmethod
    def _deadline(deadline: int | None, latest: Callable[[], int]) -> int:
        """``deadline`` (unix seconds), else :data:`DEFAULT_DEADLINE` from now (as
        :func:`relay_deadline`; ``latest()`` gives the latest block's time)."""
        if deadline is not None:
            return deadline
        return max(latest(), int(time.time())) + DEFAULT_DEADLINE


def chain_now(chain: Chain) -> int:
    """Now on ``chain`` (unix seconds): the later of its latest block's time and the wall
    clock (an idle chain with instant sealing has an old latest block; its next one, where
    anything sent now lands, is stamped with the time it is mined).

    Raises:
        ChainError: the node could not be reached.
    """
    return max(chain.latest_timestamp(), int(time.time()))


def request_deadline(chain: Chain, deadline: int | None, default: int) -> int:
    """The deadline (unix seconds) to sign a disclosure or erasure request with:
    ``deadline``, else ``default`` seconds from now (:func:`relay_deadline`).

    Raises:
        InvalidInputError: ``deadline`` is already past by :func:`chain_now` (on an idle
            chain, by the clock: the request could never be relayed).
        ChainError: the node could not be reached.
    """
    now = chain_now(chain)
    until = now + default if deadline is None else deadline
    if until < now:
        raise InvalidInputError(f"the deadline (unix {until}) is already past (now {now})")
    return until


def relay_deadline(chain: Chain, valid_for: int) -> int:
    """The last unix second a signed request may be relayed in, ``valid_for`` seconds from
    now: from the wall clock or the chain's latest block, whichever is later (an idle chain
    with instant sealing has an old latest block; its next one is stamped with the time it
    is mined, so counting from the old block would give a request already near its end).

    Args:
        chain: the connection to read the latest block's time from.
        valid_for: seconds the request stays relayable.

    Raises:
        ChainError: the node could not be reached.
    """
    return chain_now(chain) + valid_for


__all__ = [
    "DEFAULT_DEADLINE",
    "NONCE_CLOCK_SKEW",
    "NONCE_STEP",
    "PolicyGrant",
    "SigningClient",
    "chain_now",
    "relay_deadline",
    "request_deadline",
]
