"""One notion of a consent's state, for the client, receipts, the CLI and the audit alike.

A consent, keyed by (identity, organization, purpose, category), is in exactly one state at a
block:

============  ===================================================================================
state         when
============  ===================================================================================
deactivated   the identity was deactivated (the registry's ``identityOwner`` is ``DEACTIVATED``)
withdrawn     it was granted, then withdrawn (and not granted again)
expired       granted, but the block's time is at or past its expiry
superseded    granted and unexpired, but under a policy version that is no longer the
              organization's current one (the organization published a newer version)
active        granted, unexpired, under the current policy version
none          never granted
============  ===================================================================================

When several apply, the first in the table wins: deactivated > withdrawn > expired >
superseded > active (``none`` only says nothing was ever granted).

The organization's standing is not part of the state: it belongs to the organization, not to
the consent. The contract's ``isCovered`` asks for both, and so does :attr:`ConsentStatus.covered`:
an active consent of a suspended (or removed) organization covers no use, and
:meth:`ConsentStatus.describe` says so separately ("active, but covers no use: organization
suspended").

:func:`consent_state` is the rule, on plain facts (the audit replays them from events);
:func:`read_status` reads the facts from the chain at one block. This module imports nothing
from the client or the receipts, so both can use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from eth_utils.address import to_checksum_address
from web3.types import BlockIdentifier

from collective.chain import Chain
from collective.deploy import LEDGER, Deployment
from collective.did.registry import DEACTIVATED

OrganizationStanding = Literal["active", "suspended", "not admitted"]
_STANDING: dict[int, OrganizationStanding] = {1: "active", 2: "suspended"}


class ConsentState(StrEnum):
    """The state of a consent at a block (see the module docstring for the rules)."""

    NONE = "none"
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    DEACTIVATED = "deactivated"


def consent_state(
    *,
    granted: bool,
    active: bool,
    expiry: int,
    policy_version: int,
    current_version: int | None,
    deactivated: bool,
    now: int,
) -> ConsentState:
    """The state of a consent from the facts at one block.

    ``granted``: a grant was ever made; ``active``: the stored flag (granted and not withdrawn
    since); ``expiry`` and ``policy_version``: the latest grant's; ``current_version``: the
    organization's current policy version (None or 0 when it has none); ``deactivated``: the
    identity is; ``now``: the block's timestamp. A consent covers a use until ``now`` reaches
    ``expiry``, as the contract's ``block.timestamp < expiry`` says.
    """
    if deactivated:
        return ConsentState.DEACTIVATED
    if not active:
        return ConsentState.WITHDRAWN if granted else ConsentState.NONE
    if now >= expiry:
        return ConsentState.EXPIRED
    if policy_version != current_version:
        return ConsentState.SUPERSEDED
    return ConsentState.ACTIVE


@dataclass(frozen=True)
class ConsentStatus:
    """A consent's state at ``block``, with the facts it follows from and the organization's
    standing. ``covered`` is the contract's ``isCovered``: an active consent and an active
    organization."""

    state: ConsentState
    organization_status: OrganizationStanding
    block: int
    timestamp: int
    granted_at: int
    expiry: int
    policy_version: int
    current_version: int
    nonce: int  # the consent's nonce: a signed request needs one at least this
    active: bool  # the stored flag: granted and not withdrawn since

    @property
    def covered(self) -> bool:
        """Would a use by the organization be covered at this block?"""
        return self.state is ConsentState.ACTIVE and self.organization_status == "active"

    @property
    def reason(self) -> str | None:
        """Why no use is covered ("organization suspended", "granted under policy v1, the
        organization's current policy is v2", "withdrawn", ...); None when one is."""
        if self.covered:
            return None
        if self.state is ConsentState.ACTIVE:
            return f"organization {self.organization_status}"
        return _why(self)

    def describe(self) -> str:
        """One line: the state and, when no use is covered, why.

        ``active: covers the organization's use`` · ``active, but covers no use: organization
        suspended`` · ``superseded: covers no use (granted under policy v1, the organization's
        current policy is v2)``
        """
        if self.covered:
            return "active: covers the organization's use"
        if self.state is ConsentState.ACTIVE:
            return f"active, but covers no use: {self.reason}"
        reason = self.reason
        if reason == self.state:
            return f"{self.state}: covers no use"
        return f"{self.state}: covers no use ({reason})"


def _why(status: ConsentStatus) -> str:
    state = status.state
    if state is ConsentState.EXPIRED:
        try:
            when = datetime.fromtimestamp(status.expiry, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, OSError, ValueError):
            when = f"unix time {status.expiry}"
        return f"expired at {when}"
    if state is ConsentState.SUPERSEDED:
        return (
            f"granted under policy v{status.policy_version}, the organization's current "
            f"policy is v{status.current_version}"
        )
    if state is ConsentState.DEACTIVATED:
        return "the identity was deactivated"
    return "never granted" if state is ConsentState.NONE else str(state)


def read_status(
    chain: Chain,
    deployment: Deployment,
    identity: str,
    organization: str,
    purpose: bytes,
    category: bytes,
    *,
    block: BlockIdentifier = "latest",
) -> ConsentStatus:
    """Read a consent's :class:`ConsentStatus` from the chain, every fact at one block.

    ``identity`` and ``organization`` are addresses, ``purpose`` and ``category`` 32-byte
    codes. ``block`` defaults to the latest; its timestamp is the time the expiry is compared
    with, except for ``"latest"``: then the later of it and the wall clock (an idle chain
    with instant sealing has an old latest block; the next block, which a use would be
    recorded in, is stamped when it is mined, so a consent past its expiry by the clock is
    expired).

    Returns:
        The :class:`ConsentStatus` at that block (state, standing, and the facts).

    Raises:
        NotFoundError: there is no block ``block``.
        ChainError: the node failed, or ``chain`` is not the deployment's chain.
    """
    bound = deployment.bind(chain) if deployment.chain is not chain else deployment
    ledger = bound.contract(LEDGER).functions
    rules = bound.contract("AccountRules").functions
    who, org = to_checksum_address(identity), to_checksum_address(organization)
    header = chain.get_block(block)
    number, timestamp = int(header["number"]), int(header["timestamp"])
    now = max(timestamp, int(time.time())) if block == "latest" else timestamp
    expiry, granted_at, version, nonce, active = chain.call(
        ledger.getConsent(who, org, purpose, category), block=number
    )
    current = int(chain.call(ledger.currentPolicyVersion(org), block=number))
    owner = str(chain.call(ledger.identityOwner(who), block=number))
    standing = _STANDING.get(int(chain.call(rules.statusOf(org), block=number)), "not admitted")
    state = consent_state(
        granted=int(granted_at) != 0,
        active=bool(active),
        expiry=int(expiry),
        policy_version=int(version),
        current_version=current,
        deactivated=owner.lower() == DEACTIVATED.lower(),
        now=now,
    )
    return ConsentStatus(
        state=state,
        organization_status=standing,
        block=number,
        timestamp=timestamp,
        granted_at=int(granted_at),
        expiry=int(expiry),
        policy_version=int(version),
        current_version=current,
        nonce=int(nonce),
        active=bool(active),
    )


__all__ = [
    "ConsentState",
    "ConsentStatus",
    "OrganizationStanding",
    "consent_state",
    "read_status",
]
