"""Erasure (GDPR Art. 17): a subject asks an organization to erase its data; it confirms.

    patient.erasure.request(lab.address)                      # as the identity's owner
    signed = patient.erasure.sign(lab.address)                # or signed offline ...
    hospital.erasure.relay(signed)                            # ... and relayed by anyone admitted
    lab.erasure.pending()                                     # requests awaiting confirmation
    lab.erasure.confirm(patient.address, evidence_document)   # forgets the secret, then confirms

From the request's block the ledger refuses every use by that organization for that identity
and none of the identity's consents with it covers (``ErasureRegistry.sol``); the request is
final for the pair (the subject uses a new pairwise identity to deal with the organization
again). The organization confirms by the due time (default 30 days, set by a consortium
admin) with the SHA-256 of its erasure evidence; :meth:`ErasureClient.confirm` first destroys
the subject's data-reference secret (:meth:`~collective.client.datarefs.DataRefStore.forget`)
when the client has a store, so its past references on chain can no longer be linked.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from collective.client.base import Session
from collective.client.disclosure_consent import admitted_ever
from collective.client.records import TxResult, Who, tx_fields
from collective.client.signing import chain_now, request_deadline
from collective.client.usage import UsageClient
from collective.errors import InvalidInputError
from collective.ledger.erasure_request import ErasureRequest, SignedErasure, sign_erasure
from collective.types import Address

DEFAULT_DEADLINE = 3600  # seconds a signed erasure request stays relayable


@dataclass(frozen=True)
class ErasureRequested(TxResult):
    """A mined erasure request: whose, of which organization, due when (unix s), signed or
    sent by ``agent`` (the identity's owner or a ``sigAuth`` delegate)."""

    identity: Address
    organization: Address
    due_at: int
    agent: Address


@dataclass(frozen=True)
class ErasureConfirmed(TxResult):
    """A mined confirmation: ``evidence_hash`` (``0x`` + 64 hex) as recorded, ``late`` if after
    the due time, ``secret_destroyed`` if the client's store held the subject's secret."""

    identity: Address
    organization: Address
    evidence_hash: str
    late: bool
    secret_destroyed: bool


@dataclass(frozen=True)
class Erasure:
    """The stored state of an (identity, organization) erasure; times are unix seconds, 0 for
    not yet (``requested_at`` 0: never requested)."""

    identity: Address
    organization: Address
    requested_at: int
    due_at: int
    confirmed_at: int

    @property
    def requested(self) -> bool:
        """Whether an erasure was requested (uses are refused, consents ended)."""
        return self.requested_at != 0

    @property
    def confirmed(self) -> bool:
        """Whether the organization confirmed it."""
        return self.confirmed_at != 0


@dataclass(frozen=True)
class PendingErasure:
    """A request still awaiting confirmation: requested in ``block`` at ``requested_at``, due
    at ``due_at`` (unix s); ``overdue`` if the due time passed (at the latest block)."""

    identity: Address
    organization: Address
    requested_at: int
    due_at: int
    block: int
    overdue: bool


def evidence_hash(evidence: str | bytes) -> bytes:
    """The SHA-256 (32 bytes) of an erasure evidence document (text is UTF-8 encoded)."""
    data = evidence.encode() if isinstance(evidence, str) else evidence
    return hashlib.sha256(data).digest()


class ErasureClient:
    """Request erasure as a subject (directly or signed); list and confirm as an organization."""

    def __init__(self, session: Session, usage: UsageClient) -> None:
        """Args: session: the facade's session; usage: its usage client, whose
        data-reference store (``usage.data_refs``, read at each confirmation) holds the
        secrets :meth:`confirm` destroys."""
        self._s = session
        self._usage = usage

    def request(self, organization: Who, *, identity: Who | None = None) -> ErasureRequested:
        """Ask ``organization`` to erase ``identity``'s data, as the identity's owner.

        Args:
            organization: the organization's address, account or DID.
            identity: whose data (default: the client's account).

        Returns:
            The :class:`ErasureRequested`.

        Raises:
            InvalidInputError: an address or DID that is not one (or of another network), or
                an organization never admitted.
            ConfigurationError: a read-only client.
            NotPermittedError: the sender is not the identity's owner.
            ConsentError: the pair was already asked (ErasureAlreadyRequested), or the
                identity is deactivated.
            ChainError: the node could not be reached.
        """
        org = admitted_ever(self._s, organization, "organization")
        who = self._s.address(identity if identity is not None else self._s.sender, "identity")
        receipt = self._s.transact(self._s.ledger.functions.requestErasure(who, org))
        return self._requested(receipt)

    def sign(
        self,
        organization: Who,
        *,
        identity: Who | None = None,
        signer: LocalAccount | None = None,
        deadline: int | None = None,
    ) -> SignedErasure:
        """Sign (EIP-712, ``ErasureRegistry.ErasureRequest``) a request for anyone admitted to
        relay; nothing is sent.

        Args:
            organization: the organization's address, account or DID.
            identity: whose data (default: the signer).
            signer: the identity's owner or a ``sigAuth`` delegate (default: the client's).
            deadline: the last unix second a relay may be mined in (default: in an hour).

        Returns:
            The :class:`~collective.ledger.erasure_request.SignedErasure` (``to_json()``).

        Raises:
            InvalidInputError: an address or DID that is not one, an organization never
                admitted, or a deadline in the past.
            ConfigurationError: no signer (read-only client and none given).
            ChainError: the node could not be reached.
        """
        account = signer or self._s.sender
        org = admitted_ever(self._s, organization, "organization")
        who = self._s.address(identity if identity is not None else account, "identity")
        until = request_deadline(self._s.chain, deadline, DEFAULT_DEADLINE)
        return sign_erasure(
            account,
            ErasureRequest(who, org, until),
            chain_id=self._s.chain.chain_id,
            verifying_contract=self._s.ledger.address,
        )

    def relay(self, signed: SignedErasure) -> ErasureRequested:
        """Send a signed request from the client's account (admitted, active; it pays).

        Returns:
            The :class:`ErasureRequested`.

        Raises:
            InvalidInputError: signed for another chain or ledger.
            NotPermittedError: the client's account is not an active organization.
            SignatureError: expired, malformed, or signed without authority.
            ConsentError: already requested, or the identity is deactivated.
            ChainError: the node could not be reached.
        """
        signed.require_domain(self._s.chain.chain_id, self._s.ledger.address)
        fn = self._s.ledger.functions.requestErasureSigned(*signed.call_args())
        return self._requested(self._s.transact(fn))

    def confirm(
        self, identity: Who, evidence: str | bytes, *, hashed: bool = False
    ) -> ErasureConfirmed:
        """Confirm, as the organization asked, that ``identity``'s data is erased. First
        destroys the subject's data-reference secret when the client has a store.

        Args:
            identity: the subject's address, account or DID.
            evidence: the erasure evidence document (its SHA-256 goes on chain), or with
                ``hashed`` its 32-byte hash (bytes or ``0x`` hex).
            hashed: ``evidence`` already is the hash.

        Returns:
            The :class:`ErasureConfirmed`.

        Raises:
            InvalidInputError: a bad address, or a hash that is not 32 bytes.
            ConsentError: no request of this organization for the identity
                (NoErasureRequest), or already confirmed.
            ConfigurationError: a read-only client, or the store cannot be written.
            ChainError: the node could not be reached.
        """
        who = self._s.address(identity, "identity")
        digest = _hash_of(evidence) if hashed else evidence_hash(evidence)
        org = Address(self._s.sender.address)
        state = self.status(who, org)
        destroyed = False
        store = self._usage.data_refs
        if state.requested and not state.confirmed and store is not None:
            destroyed = store.forget(org, who)
        receipt = self._s.transact(self._s.ledger.functions.confirmErasure(who, digest))
        (log,) = self._s.decoded(self._s.ledger.events.ErasureConfirmed(), receipt)
        return ErasureConfirmed(
            **tx_fields(receipt),
            identity=who,
            organization=org,
            evidence_hash="0x" + digest.hex(),
            late=bool(log.args["late"]),
            secret_destroyed=destroyed,
        )

    def status(self, identity: Who, organization: Who) -> Erasure:
        """The stored erasure of (identity, organization).

        Raises:
            InvalidInputError: an address or DID that is not one.
            ChainError: the node could not be reached.
        """
        who = self._s.address(identity, "identity")
        org = self._s.address(organization, "organization")
        requested, due, confirmed = self._s.call(self._s.ledger.functions.getErasure(who, org))
        return Erasure(who, org, int(requested), int(due), int(confirmed))

    def pending(self, organization: Who | None = None) -> list[PendingErasure]:
        """Requests to ``organization`` (default: the client's account) not yet confirmed, in
        request order, each with its due time and whether it is overdue now (by the later of
        the latest block's time and the wall clock, :func:`~.signing.chain_now`).

        Raises:
            InvalidInputError: an address or DID that is not one.
            ConfigurationError: a read-only client and no organization given.
            ChainError: the node could not be reached.
        """
        org = self._s.address(
            organization if organization is not None else self._s.sender, "organization"
        )
        logs = self._s.events(self._s.ledger.events.ErasureRequested(), {"organization": org})
        now = chain_now(self._s.chain)  # overdue by the clock even if no block was mined
        out = []
        for log in logs:
            state = self.status(log.args["identity"], org)
            if state.confirmed:
                continue
            out.append(
                PendingErasure(
                    state.identity,
                    org,
                    state.requested_at,
                    state.due_at,
                    log.block_number,
                    now > state.due_at,
                )
            )
        return out

    def period(self) -> int:
        """The period (seconds) a new request gives the organization to confirm.

        Raises:
            ChainError: the node could not be reached.
        """
        return int(self._s.call(self._s.ledger.functions.erasurePeriod()))

    def _requested(self, receipt: TxReceipt) -> ErasureRequested:
        (log,) = self._s.decoded(self._s.ledger.events.ErasureRequested(), receipt)
        args = log.args
        return ErasureRequested(
            **tx_fields(receipt),
            identity=Address(args["identity"]),
            organization=Address(args["organization"]),
            due_at=int(args["dueAt"]),
            agent=Address(args["agent"]),
        )


def _hash_of(value: str | bytes) -> bytes:
    raw = b""
    if isinstance(value, bytes):
        raw = value
    else:
        with contextlib.suppress(ValueError):
            raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise InvalidInputError(
            "an evidence hash is 32 bytes (0x + 64 hex digits)",
            hint="or pass the evidence document itself, without hashed=True",
        )
    return raw


__all__ = [
    "Erasure",
    "ErasureClient",
    "ErasureConfirmed",
    "ErasureRequested",
    "PendingErasure",
    "evidence_hash",
]
