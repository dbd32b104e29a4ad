"""Disclosure consents, the subject's side of onward disclosure (``DisclosureLog.sol``): grant
and withdraw directly as the identity's owner, or sign (EIP-712 ``DisclosureGrant`` /
``DisclosureWithdrawal``) for any admitted organization to relay.

A grant agrees to the *recipient's* policy version (default: its current one) and, signed, to
that version's content hash read from the chain. A signed request's nonce is max(the consent's
stored nonce, the signing time in unix ms), held to the chain's clock, exactly as for use
consents (:mod:`collective.client.signing`), so the subject's later intent wins whatever order
relayers use; a withdrawal voids every request signed before it.
"""

from __future__ import annotations

from typing import overload

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from collective.client import disclosure_records as rec_
from collective.client.base import Session
from collective.client.disclosure_records import DisclosureGranted, DisclosureWithdrawn, Key
from collective.client.records import Term, Who
from collective.client.signing import DEFAULT_DEADLINE, issue_nonce, request_deadline
from collective.errors import InvalidInputError, NotFoundError
from collective.ledger.disclosure_request import (
    DisclosureGrant,
    DisclosureWithdrawal,
    SignedDisclosure,
    SignedDisclosureGrant,
    SignedDisclosureWithdrawal,
)
from collective.types import NO_EXPIRY, Address


class DisclosureConsents:
    """Grant, withdraw, sign and relay disclosure consents (the base of
    :class:`~collective.client.disclosure.DisclosureClient`)."""

    def __init__(self, session: Session) -> None:
        """Args: session: the facade's session."""
        self._s = session

    def grant(
        self,
        discloser: Who,
        recipient: Who,
        purpose: Term,
        category: Term,
        *,
        identity: Who | None = None,
        expiry: int | None = None,
        policy_version: int | None = None,
    ) -> DisclosureGranted:
        """Grant (or renew) consent that ``discloser`` pass ``category`` data to ``recipient``
        for ``purpose``, sent by the identity's owner (``grantDisclosure``).

        Args:
            discloser, recipient: addresses, accounts or DIDs.
            purpose, category: DPV names or 32-byte codes.
            identity: whose consent (default: the sender).
            expiry: unix seconds it ends (default: never).
            policy_version: the recipient's version agreed to (default: its current one).

        Returns:
            The :class:`DisclosureGranted`.

        Raises:
            InvalidInputError: a bad address, DID or term; a discloser never admitted, or
                the same as the recipient.
            NotFoundError: the recipient has published no policy.
            ConfigurationError: a read-only client.
            ConsentError: the version does not cover the purpose (PolicyNotCurrent), expiry
                in the past, identity deactivated.
            NotPermittedError: the sender is not the identity's owner.
            ChainError: the node could not be reached.
        """
        who, disc, rec, p, c = self._key(identity, discloser, recipient, purpose, category)
        distinct_parties(disc, rec)
        admitted_ever(self._s, disc, "discloser")
        version = self._version(rec, policy_version)
        exp = NO_EXPIRY if expiry is None else int(expiry)
        receipt = self._s.send("grantDisclosure", who, disc, rec, p, c, exp, version)
        return self.granted(receipt)[0]

    def withdraw(
        self,
        discloser: Who,
        recipient: Who,
        purpose: Term,
        category: Term,
        *,
        identity: Who | None = None,
    ) -> DisclosureWithdrawn:
        """Withdraw a disclosure consent, sent by the identity's owner; also voids every
        signed request for it made before (``was_active`` False if nothing was active).

        Raises:
            As :meth:`grant` (NotPermittedError: not the owner).
        """
        key = self._key(identity, discloser, recipient, purpose, category)
        return self.withdrawn(self._s.send("withdrawDisclosure", *key))[0]

    def sign_grant(
        self,
        discloser: Who,
        recipient: Who,
        purpose: Term,
        category: Term,
        *,
        identity: Who | None = None,
        signer: LocalAccount | None = None,
        expiry: int | None = None,
        policy_version: int | None = None,
        deadline: int | None = None,
    ) -> SignedDisclosureGrant:
        """Sign (EIP-712 ``DisclosureGrant``) a grant for anyone admitted to relay; nothing
        is sent. The policy hash is the recipient's version's, read from the chain; the nonce
        max(stored nonce, unix ms), as for use consents (:mod:`collective.client.signing`).

        Args:
            discloser, recipient, purpose, category, identity, expiry, policy_version: as
                :meth:`grant` (``identity`` default: the signer).
            signer: the identity's owner or a ``sigAuth`` delegate (default: the client's).
            deadline: the last unix second a relay may be mined in (default: in an hour).

        Returns:
            The :class:`~collective.ledger.disclosure_request.SignedDisclosureGrant`.

        Raises:
            InvalidInputError: a bad address, DID or term; a discloser never admitted, or
                the same as the recipient; a deadline already past; a version that is not
                the recipient's current one or does not cover the purpose (the relay would
                be refused: PolicyNotCurrent).
            NotFoundError: the recipient has published no policy, or not that version.
            ConfigurationError: no signer.
            ChainError: the node could not be reached.
        """
        account = signer or self._s.sender
        key = self._key(
            identity if identity is not None else account, discloser, recipient, purpose, category
        )
        distinct_parties(key[1], key[2])
        admitted_ever(self._s, key[1], "discloser")
        version = self._version(key[2], policy_version)
        content_hash, _, _ = self._s.call(self._s.ledger.functions.policy(key[2], version))
        if bytes(content_hash) == bytes(32):
            raise NotFoundError(
                f"recipient {key[2]} has published no policy version {version}",
                hint="agree to a published version; `collective policy history` lists them",
            )
        self._covering(key[2], key[3], version, purpose)
        now = self._s.chain.latest_timestamp()
        request = DisclosureGrant(
            *key,
            expiry=NO_EXPIRY if expiry is None else int(expiry),
            policy_version=version,
            policy_hash=bytes(content_hash),
            nonce=self._nonce(key, now),
            deadline=self._deadline(deadline),
        )
        return SignedDisclosureGrant.sign(
            account,
            request,
            chain_id=self._s.chain.chain_id,
            verifying_contract=self._s.ledger.address,
        )

    def sign_withdrawal(
        self,
        discloser: Who,
        recipient: Who,
        purpose: Term,
        category: Term,
        *,
        identity: Who | None = None,
        signer: LocalAccount | None = None,
        deadline: int | None = None,
    ) -> SignedDisclosureWithdrawal:
        """Sign (EIP-712 ``DisclosureWithdrawal``) a withdrawal; defaults as
        :meth:`sign_grant`. Relayed, it withdraws, or voids every grant signed before it.

        Raises:
            As :meth:`sign_grant` (no policy is read).
        """
        account = signer or self._s.sender
        key = self._key(
            identity if identity is not None else account, discloser, recipient, purpose, category
        )
        now = self._s.chain.latest_timestamp()
        request = DisclosureWithdrawal(
            *key, nonce=self._nonce(key, now), deadline=self._deadline(deadline)
        )
        return SignedDisclosureWithdrawal.sign(
            account,
            request,
            chain_id=self._s.chain.chain_id,
            verifying_contract=self._s.ledger.address,
        )

    @overload
    def relay(self, signed: SignedDisclosureGrant) -> DisclosureGranted: ...
    @overload
    def relay(self, signed: SignedDisclosureWithdrawal) -> DisclosureWithdrawn: ...
    @overload
    def relay(self, signed: SignedDisclosure) -> DisclosureGranted | DisclosureWithdrawn: ...

    def relay(self, signed: SignedDisclosure) -> DisclosureGranted | DisclosureWithdrawn:
        """Send a signed grant or withdrawal from the client's account (admitted, active;
        it pays the gas).

        Returns:
            The :class:`DisclosureGranted` or :class:`DisclosureWithdrawn`.

        Raises:
            InvalidInputError: signed for another chain or ledger.
            NotPermittedError: the client's account is not an active organization.
            SignatureError: expired, replayed, superseded, or signed without authority.
            ConsentError: the contract refused the grant otherwise.
            ChainError: the node could not be reached.
        """
        signed.require_domain(self._s.chain.chain_id, self._s.ledger.address)
        if isinstance(signed, SignedDisclosureGrant):
            return self.granted(self._s.send("grantDisclosureSigned", *signed.call_args()))[0]
        return self.withdrawn(self._s.send("withdrawDisclosureSigned", *signed.call_args()))[0]

    # --- decoding ------------------------------------------------------------------------------

    def granted(self, receipt: TxReceipt) -> list[DisclosureGranted]:
        """The ``DisclosureConsentGranted`` events of a transaction, in log order."""
        events = self._s.decoded(self._s.ledger.events.DisclosureConsentGranted(), receipt)
        return [rec_.granted(e, receipt) for e in events]

    def withdrawn(self, receipt: TxReceipt) -> list[DisclosureWithdrawn]:
        """The ``DisclosureConsentWithdrawn`` events of a transaction, in log order."""
        events = self._s.decoded(self._s.ledger.events.DisclosureConsentWithdrawn(), receipt)
        return [rec_.withdrawn(e, receipt) for e in events]

    # --- helpers -------------------------------------------------------------------------------

    def _key(
        self, identity: Who | None, discloser: Who, recipient: Who, purpose: Term, category: Term
    ) -> Key:
        s = self._s
        return (
            s.address(identity if identity is not None else s.sender, "identity"),
            s.address(discloser, "discloser"),
            s.address(recipient, "recipient"),
            s.term(purpose, "purpose"),
            s.term(category, "category"),
        )

    def _version(self, recipient: Address, given: int | None) -> int:
        if given is not None:
            return given
        version = int(self._s.call(self._s.ledger.functions.currentPolicyVersion(recipient)))
        if version == 0:
            raise NotFoundError(
                f"recipient {recipient} has not published a policy, so no disclosure to it "
                "can be consented to yet",
                hint="the recipient must publish one first, with `collective policy publish`",
            )
        return version

    def _covering(self, recipient: Address, code: bytes, version: int, purpose: Term) -> None:
        """Refuse to sign a grant the contract would refuse when relayed (PolicyNotCurrent):
        ``version`` must be the recipient's current one, and it must cover the purpose."""
        fns = self._s.ledger.functions
        current = int(self._s.call(fns.currentPolicyVersion(recipient)))
        name = purpose if isinstance(purpose, str) else "0x" + bytes(purpose).hex()
        if version != current:
            raise InvalidInputError(
                f"policy version {version} is not recipient {recipient}'s current version "
                f"({current})",
                hint=f"sign for version {current} (leave out --policy-version)",
            )
        if not self._s.call(fns.currentPolicyCovers(recipient, code)):
            raise InvalidInputError(
                f"recipient {recipient}'s current policy (v{current}) does not cover purpose "
                f"{name}",
                hint="consent to a purpose its policy covers (`collective policy show`)",
            )

    def _nonce(self, key: Key, chain_now: int) -> int:
        """max(stored nonce, now in unix ms held to the chain's clock, one past the last this
        process issued), capped at what the contract accepts, exactly as
        :meth:`collective.client.signing.SigningClient._nonce` for use consents."""
        stored = int(self._s.call(self._s.ledger.functions.getDisclosureConsent(*key))[3])
        issued_key = (self._s.chain.chain_id, self._s.ledger.address, "disclosure", *key)
        return issue_nonce(issued_key, stored, chain_now * 1000)

    def _deadline(self, deadline: int | None) -> int:
        return request_deadline(self._s.chain, deadline, DEFAULT_DEADLINE)


def admitted_ever(session: Session, organization: Who, role: str) -> Address:
    """``organization`` as an address, refused unless it is or once was admitted (the
    contract takes any address as a discloser or an organization asked to erase: a
    mistyped one would make a consent nobody can use, or a request nobody answers).

    Args:
        session: the client's session.
        organization: an address, account or DID.
        role: what it is, for the message (e.g. ``"discloser"``).

    Raises:
        InvalidInputError: a bad address or DID, or one never admitted.
        ChainError: the node could not be reached.
    """
    org = session.address(organization, role)
    rules = session.rules
    if int(session.call(rules.functions.statusOf(org))) == 0 and not session.events(
        rules.events.AccountAdmitted(), {"account": org}
    ):
        raise InvalidInputError(
            f"{role} {org} has never been admitted to the consortium",
            hint="check the address (`collective org list` lists the organizations)",
        )
    return org


def distinct_parties(discloser: Address, recipient: Address) -> None:
    """Refuse a disclosure (or a consent to one) from an organization to itself: that is a
    use, not an onward disclosure (the contract takes it; see issue 13 part 1).

    Raises:
        InvalidInputError: ``discloser`` and ``recipient`` (checksummed) are the same.
    """
    if discloser == recipient:
        raise InvalidInputError(
            f"the discloser and the recipient are the same organization ({discloser}): "
            "a disclosure passes data to another organization",
            hint="name the organization that receives the data as RECIPIENT, or record an "
            "organization's own use with `collective use record`",
        )


__all__ = ["DisclosureConsents", "admitted_ever", "distinct_parties"]
