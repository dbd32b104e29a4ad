"""Relaying signed consent requests: an organization sends what a subject signed, and pays the gas.

:class:`RelayClient` checks that a request was signed for this chain and this ledger before it
sends it (ConsentRegistry's ``grantSigned`` / ``withdrawSigned`` and their batch forms check
the EIP-712 signature, nonce and deadline); :class:`~collective.client.signing.SigningClient`,
the client's ``signing``, adds the subject's side: signing them.
"""

from __future__ import annotations

from collections.abc import Sequence

from collective.client.base import Session, tx_fields
from collective.client.consent import BatchResult, ConsentClient, Granted, Withdrawn
from collective.errors import InvalidInputError
from collective.ledger.signing import SignedRequest


class RelayClient:
    """Relay signed grants and withdrawals from the client's account (which pays the gas)."""

    def __init__(self, session: Session, consent: ConsentClient) -> None:
        """Relay on the session's chain and ledger, from its sending account.

        Args:
            session: the client's session (chain, deployment, sending account).
            consent: the consent client, which decodes the relayed transactions' events.
        """
        self._s = session
        self._consent = consent

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


__all__ = ["RelayClient"]
