"""The records of :mod:`collective.client.subjects`: a pairwise identity, and what an "all at
once" change did to one."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from collective.client.did import DidChange
from collective.types import Address


@dataclass(frozen=True)
class Identity:
    """One pairwise identity: the organization it is for, its address (the identity, fixed for
    life), its DID on the chain, and one key of it.

    ``account`` is the key at ``path`` (generation ``generation``; generation 0's address is
    ``address``). ``counter`` is the collision counter (:func:`collective.did.pairwise.counters`).
    """

    organization: Address
    chain_id: int
    address: Address
    did: str
    counter: int
    generation: int
    path: str
    account: LocalAccount = field(repr=False, compare=False)


@dataclass(frozen=True)
class IdentityOutcome:
    """What an "all at once" change did to one identity: the :class:`DidChange`, or ``error``
    (the refusal's one-line message) when it failed."""

    organization: Address
    identity: Address
    did: str
    change: DidChange | None
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether the change went through."""
        return self.error is None


__all__ = ["Identity", "IdentityOutcome"]
