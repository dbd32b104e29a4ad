"""Data subjects with pairwise identities: one mnemonic, an unlinkable identity per organization.

    from collective.client.subjects import Subject

    subject, mnemonic = Subject.new(chain_id=hospital.chain.chain_id)   # show the words once
    subject = Subject.from_mnemonic(mnemonic, chain_id=31337).in_consortium(hospital)
    me = subject.identity_for(hospital.address)        # me.address, me.did, me.account
    signed = hospital.signing.sign_grant(hospital.address, purpose, category, signer=me.account)
    hospital.signing.relay(signed)                     # the organization pays; no ether needed
    rows = subject.history(hospital)                   # "who used my data", every identity

Each identity is derived as :mod:`collective.did.pairwise` says (BIP-32, hardened, from the
organization's address and the chain id), so the mnemonic regains every identity and its
current key. On chain each organization sees only the address it was given; nothing relates two
of them unless the subject links them itself: the same guardian for several identities, or one
account relaying (paying for) several identities' changes. Pass each organization's own client
as the relayer (a mapping) to keep relayed changes apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeAlias

from collective import did as _did
from collective.client.did import GUARDIAN_VALIDITY, DidChange
from collective.client.subject_history import HistoryRow, history
from collective.client.subject_records import Identity, IdentityOutcome
from collective.did import pairwise
from collective.errors import CollectiveError, InvalidInputError, NotFoundError
from collective.types import Address

if TYPE_CHECKING:
    from collective.client import Collective

Relayers: TypeAlias = "Collective | Mapping[str, Collective] | Mapping[Address, Collective]"
"""Who relays an "all at once" change: one client for every identity, or organization address
-> that organization's client."""

MAX_GENERATIONS = 1024
"""How many key generations :meth:`Subject.current` tries before it gives up: the number of
rotations an identity can take and still be regained from the mnemonic alone."""

ZERO_ADDRESS = "0x" + "00" * 20


class Subject:
    """A data subject holding one BIP-39 seed; derives an identity per organization.

    The seed is kept, never the mnemonic; ``repr`` shows neither.
    """

    def __init__(self, seed: bytes, *, chain_id: int, admitted: Sequence[str] = ()) -> None:
        """A subject from a 64-byte BIP-39 seed (see :meth:`from_mnemonic`).

        Args:
            seed: the seed (:func:`collective.did.pairwise.seed_of`).
            chain_id: the chain's EIP-155 id; identities differ per chain.
            admitted: the consortium's organizations in admission order, which places
                organizations whose index collides (:meth:`in_consortium` reads it).

        Raises:
            InvalidInputError: a seed that is not 64 bytes, or an address that is not one.
        """
        if len(seed) != 64:
            raise InvalidInputError(f"a BIP-39 seed is 64 bytes, not {len(seed)}")
        self._seed = seed
        self.chain_id = chain_id
        self.admitted: tuple[Address, ...] = tuple(pairwise.counters(chain_id, (), admitted))

    @classmethod
    def from_mnemonic(
        cls,
        mnemonic: str,
        *,
        chain_id: int,
        passphrase: str = "",
        admitted: Sequence[str] = (),
    ) -> Subject:
        """The subject a mnemonic (and optional BIP-39 passphrase) holds.

        Args:
            mnemonic: 12 to 24 English BIP-39 words.
            chain_id: the chain's EIP-155 id.
            passphrase: the BIP-39 passphrase ("" for none); another one is another subject.
            admitted: as :meth:`__init__`.

        Raises:
            InvalidInputError: not a valid mnemonic (the message never repeats its words).
        """
        return cls(pairwise.seed_of(mnemonic, passphrase), chain_id=chain_id, admitted=admitted)

    @classmethod
    def new(
        cls, *, chain_id: int, passphrase: str = "", words: int = pairwise.MNEMONIC_WORDS
    ) -> tuple[Subject, str]:
        """A new subject and its mnemonic, to be written down: it is returned only this once.

        Args:
            chain_id: the chain's EIP-155 id.
            passphrase: an optional BIP-39 passphrase.
            words: 12, 15, 18, 21 or 24 (default 24: 256 bits).

        Returns:
            ``(subject, mnemonic)``.

        Raises:
            InvalidInputError: an unsupported word count.
        """
        mnemonic = pairwise.new_mnemonic(words)
        return cls.from_mnemonic(mnemonic, chain_id=chain_id, passphrase=passphrase), mnemonic

    def in_consortium(self, client: Collective) -> Subject:
        """This subject placed in ``client``'s consortium: its admission order read from the
        chain (:func:`admission_order`), for organizations whose index collides.

        Raises:
            InvalidInputError: ``client`` is on another chain than the subject's.
            ChainError: the node could not be reached.
        """
        if client.chain.chain_id != self.chain_id:
            raise InvalidInputError(
                f"the subject's identities are for chain {self.chain_id}, the client is on "
                f"chain {client.chain.chain_id}"
            )
        return Subject(self._seed, chain_id=self.chain_id, admitted=admission_order(client))

    def identity_for(self, organization: str, *, generation: int = 0) -> Identity:
        """The subject's identity for ``organization`` (offline, deterministic).

        Args:
            organization: the organization's address.
            generation: which key of the identity (0: its own; n: after n rotations).

        Returns:
            The :class:`Identity`.

        Raises:
            InvalidInputError: not an address, or a generation outside [0, 2**31).
        """
        return self.identities([organization], generation=generation)[0]

    def identities(self, organizations: Iterable[str], *, generation: int = 0) -> list[Identity]:
        """The subject's identity for each organization, in the order given (an organization
        given twice, once).

        Args:
            organizations: addresses; those not admitted (:attr:`admitted`) are placed after
                the admitted ones in this order, for collision counters.
            generation: as :meth:`identity_for`.

        Raises:
            As :meth:`identity_for`.
        """
        placed = pairwise.counters(self.chain_id, self.admitted, organizations)
        out = []
        for org, counter in placed.items():
            own = pairwise.derivation_path(self.chain_id, org, counter=counter)
            path = pairwise.derivation_path(
                self.chain_id, org, counter=counter, generation=generation
            )
            key = pairwise.key_at(self._seed, path)
            address = Address((key if path == own else pairwise.key_at(self._seed, own)).address)
            out.append(
                Identity(
                    organization=org,
                    chain_id=self.chain_id,
                    address=address,
                    did=_did.format_did(address, self.chain_id),
                    counter=counter,
                    generation=generation,
                    path=path,
                    account=key,
                )
            )
        return out

    def key_of(self, identity: Identity, generation: int) -> Identity:
        """``identity`` with its key of another generation (same organization and address).

        Args:
            identity: one of this subject's identities.
            generation: the key generation (0: the identity's own key).

        Raises:
            InvalidInputError: a generation outside [0, 2**31).
        """
        path = pairwise.derivation_path(
            self.chain_id, identity.organization, counter=identity.counter, generation=generation
        )
        return replace(
            identity, generation=generation, path=path, account=pairwise.key_at(self._seed, path)
        )

    def current(self, client: Collective, organization: str) -> Identity:
        """The identity for ``organization`` with the key that owns it now on chain (the
        generation after the last rotation).

        Raises:
            NotFoundError: the identity was deactivated, or its owner is no key of this
                mnemonic (handed to another key), within :data:`MAX_GENERATIONS`.
            ChainError: the node could not be reached.
        """
        first = self.identity_for(organization)
        owner = client.did.owner(first.address).lower()
        if client.did.deactivated(first.address):
            raise NotFoundError(f"{first.did} was deactivated: no key acts for it any more")
        for generation in range(MAX_GENERATIONS):
            candidate = first if generation == 0 else self.key_of(first, generation)
            if candidate.account.address.lower() == owner:
                return candidate
        raise NotFoundError(
            f"{first.did} is owned by {client.did.owner(first.address)}, no key of this mnemonic",
            hint="it was handed to another key; that key's holder can act for it",
        )

    def history(
        self, client: Collective, organizations: Iterable[str] | None = None
    ) -> list[HistoryRow]:
        """ "Who used my data": the consent and use history of every pairwise identity, merged
        in chain order, each row naming the organization.

        Args:
            client: any client of the deployment (read-only is enough).
            organizations: whose identities (default: every organization ever admitted,
                :func:`admission_order`, removed ones included).

        Returns:
            :class:`~collective.client.subject_history.HistoryRow` s, oldest first.

        Raises:
            InvalidInputError: an address that is not one.
            ChainError: the node could not be reached.
        """
        orgs = _organizations(client, organizations)
        return history(client, self.identities(orgs))

    # --- changes to one identity, signed by its current key and relayed (gasless) -------------

    def add_guardian(
        self,
        relayer: Collective,
        organization: str,
        guardian: str,
        validity: int = GUARDIAN_VALIDITY,
    ) -> DidChange:
        """Let ``guardian`` sign consents for the identity for ``organization`` (a ``sigAuth``
        delegate), signed by its current key and relayed by ``relayer``.

        A guardian shared by several identities links them on chain (its address is a
        delegate of each); give each identity its own guardian key to keep them apart.

        Args:
            relayer: the client that sends (and pays for) the change.
            organization: the identity's organization.
            guardian: the guardian's address or DID.
            validity: seconds from the block's time (default a year).

        Raises:
            NotFoundError: as :meth:`current`.
            TransactionError: the registry refused it. ChainError: the node could not be
                reached.
        """
        me = self.current(relayer, organization)
        return relayer.did.add_delegate_signed(
            me.account, guardian, _did.SIG_AUTH, validity, identity=me.address
        )

    def rotate(self, relayer: Collective, organization: str) -> DidChange:
        """Hand the identity for ``organization`` to its next key generation (ERC-1056
        ``changeOwnerSigned``); its address and consents stay.

        Raises:
            As :meth:`add_guardian`.
        """
        me = self.current(relayer, organization)
        following = self.key_of(me, me.generation + 1)
        return relayer.did.change_owner_signed(
            me.account, following.account.address, identity=me.address
        )

    def deactivate(self, relayer: Collective, organization: str) -> DidChange:
        """Deactivate the identity for ``organization`` for good (owner to the zero address).

        Raises:
            As :meth:`add_guardian`.
        """
        me = self.current(relayer, organization)
        change = relayer.did.change_owner_signed(me.account, ZERO_ADDRESS, identity=me.address)
        return replace(change, change="deactivated")

    def add_guardian_all(
        self,
        relayers: Relayers,
        organizations: Iterable[str],
        guardian: str,
        validity: int = GUARDIAN_VALIDITY,
    ) -> list[IdentityOutcome]:
        """:meth:`add_guardian` for each organization's identity (a shared guardian links
        them; see there). Failures are named per identity; the rest go on."""
        return self._each(
            relayers, organizations, lambda c, o: self.add_guardian(c, o, guardian, validity)
        )

    def rotate_all(self, relayers: Relayers, organizations: Iterable[str]) -> list[IdentityOutcome]:
        """:meth:`rotate` every identity: one outcome per organization, in order; a failure
        (e.g. an identity already deactivated) is named in its outcome and the rest go on.

        Args:
            relayers: one client relaying every change, or organization address -> client
                (each organization relays its own identity's change, so no single sender
                links the identities on chain).
            organizations: whose identities.

        Raises:
            InvalidInputError: an address that is not one, or no relayer for an organization.
        """
        return self._each(relayers, organizations, self.rotate)

    def deactivate_all(
        self, relayers: Relayers, organizations: Iterable[str]
    ) -> list[IdentityOutcome]:
        """:meth:`deactivate` every identity (e.g. after the mnemonic leaked); as
        :meth:`rotate_all`."""
        return self._each(relayers, organizations, self.deactivate)

    def _each(
        self,
        relayers: Relayers,
        organizations: Iterable[str],
        change: Callable[[Collective, str], DidChange],
    ) -> list[IdentityOutcome]:
        mine = self.identities(organizations)
        clients = {me.organization: _relayer(relayers, me.organization) for me in mine}
        out = []
        for me in mine:
            try:
                done: DidChange | None = change(clients[me.organization], me.organization)
                error = None
            except CollectiveError as exc:
                done, error = None, str(exc)
            out.append(IdentityOutcome(me.organization, me.address, me.did, done, error))
        return out

    def __repr__(self) -> str:
        return f"Subject(chain {self.chain_id}, {len(self.admitted)} organizations admitted)"


def admission_order(client: Collective) -> list[Address]:
    """The consortium's organizations in the order they were first admitted (AccountRules'
    ``AccountAdmitted`` events; removals and re-admissions do not change it).

    Raises:
        ChainError: the node could not be reached.
    """
    session = client.session
    events = session.events(session.rules.events.AccountAdmitted())
    order: dict[Address, None] = {}
    for event in events:
        order.setdefault(Address(event.args["account"]), None)
    return list(order)


def _organizations(client: Collective, organizations: Iterable[str] | None) -> list[str]:
    if organizations is None:
        return list(admission_order(client))
    return [client.session.address(org, "organization") for org in organizations]


def _relayer(relayers: Relayers, organization: Address) -> Collective:
    if not isinstance(relayers, Mapping):
        return relayers
    for org, client in relayers.items():
        if org.lower() == organization.lower():
            return client
    raise InvalidInputError(f"no relayer for organization {organization}")


__all__ = [
    "MAX_GENERATIONS",
    "Identity",
    "IdentityOutcome",
    "Subject",
    "admission_order",
]
