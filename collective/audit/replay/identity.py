"""Who speaks for an identity: the DID registry's owners and ``sigAuth`` delegates (ERC-1056).

An agent of a grant, withdrawal or cancellation must be the identity's owner at that block, or
a ``sigAuth`` delegate appointed after the identity's latest owner change (each owner change
starts a new delegate epoch, as the registry's ``validDelegate`` says) still valid then.
"""

from __future__ import annotations

from typing import Any

from collective.audit.replay.records import (
    NULL,
    SIG_AUTH,
    ConsentChange,
    DelegateChange,
    DisclosureConsentChange,
    ErasureRequest,
    OwnerChange,
    SignaturesCancelled,
)
from collective.audit.replay.state import ReplayState


def check_agent(
    state: ReplayState,
    event: ConsentChange | SignaturesCancelled | ErasureRequest | DisclosureConsentChange,
    verb: str,
    identity: str,
) -> None:
    """The agent of a grant, withdrawal, cancellation, erasure request or disclosure-consent
    change must speak for the identity at that block: its owner, or a sigAuth delegate of the
    current epoch still valid."""
    agent = event.agent
    owner = state.owners.get(identity, identity)
    if agent == owner and owner != NULL:
        return
    what = f"{agent} {verb} {identity}"
    evidence: dict[str, Any] = {"identity": identity, "agent": agent}
    if owner == NULL:
        state.flag(
            "identity-deactivated",
            f"{what}, which was deactivated before (nothing acts for it)",
            event,
            **evidence,
        )
        return
    appointed = state.delegates.get((identity, agent))
    now = state.timestamps.get(event.block)  # None: block-missing is reported elsewhere
    if appointed is not None and (now is None or now < appointed[0]):
        if appointed[1] == state.epochs.get(identity, 0):
            return
        state.flag(
            "stale-delegate",
            f"{what} as a sigAuth delegate appointed before the identity's owner changed "
            f"to {owner}: a delegate of a previous owner no longer speaks for it",
            event,
            owner=owner,
            **evidence,
        )
        return
    state.flag(
        "agent-not-authorized",
        f"{what}, but was neither its owner ({owner}) nor a valid sigAuth delegate then",
        event,
        owner=owner,
        delegate_valid_to=appointed[0] if appointed is not None else None,
        **evidence,
    )


def owner_changed(state: ReplayState, change: OwnerChange) -> None:
    """``DIDOwnerChanged``: a new owner and a new delegate epoch; a change after a
    deactivation is ``identity-deactivated``."""
    identity = change.identity
    if state.owners.get(identity) == NULL:
        state.flag(
            "identity-deactivated",
            f"the owner of {identity} changed to {change.owner} after it was deactivated",
            change,
            identity=identity,
            owner=change.owner,
        )
    state.owners[identity] = change.owner
    state.epochs[identity] = state.epochs.get(identity, 0) + 1


def delegate_changed(state: ReplayState, change: DelegateChange) -> None:
    """``DIDDelegateChanged``: remember a ``sigAuth`` delegate's validity and epoch."""
    if change.delegate_type != SIG_AUTH:
        return
    key = (change.identity, change.delegate)
    state.delegates[key] = (change.valid_to, state.epochs.get(change.identity, 0))


__all__ = ["check_agent", "delegate_changed", "owner_changed"]
