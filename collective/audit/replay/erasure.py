"""The replay's erasure rules (GDPR Art. 17; ``ErasureRegistry.sol``, issue 13 part 2).

- ``use-after-erasure-request``: a ``DataUsed`` by an organization for an identity that had
  asked it to erase its data (the contract refuses it: only a forged or rewritten index, or a
  broken contract, shows one);
- ``erasure-overdue``: a request still unconfirmed when its due time has passed by the
  index's latest block (the missing confirmation);
- ``erasure-confirmed-late``: a confirmation mined after its due time;
- ``erasure-confirmation-without-request``: a confirmation with no request before it;
- the request's agent must speak for the identity (:func:`check_agent`).
"""

from __future__ import annotations

from collective.audit.replay.identity import check_agent
from collective.audit.replay.records import DataUse, ErasureConfirmation, ErasureRequest
from collective.audit.replay.state import ReplayState


def requested(state: ReplayState, request: ErasureRequest) -> None:
    """Keep ``request`` (the first per identity and organization) and check its agent."""
    check_agent(state, request, "asked for erasure of", request.identity)
    state.erasures.setdefault((request.identity, request.organization), request)


def confirmed(state: ReplayState, confirmation: ErasureConfirmation) -> None:
    """Check ``confirmation`` against its request: one was made, and it is not late."""
    pair = (confirmation.identity, confirmation.organization)
    request = state.erasures.get(pair)
    if request is None:
        state.flag(
            "erasure-confirmation-without-request",
            f"{confirmation.organization} confirmed an erasure for {confirmation.identity}, "
            "who never asked it to erase anything",
            confirmation,
            identity=confirmation.identity,
            organization=confirmation.organization,
        )
        return
    state.erased_confirmed.add(pair)
    now = state.timestamps.get(confirmation.block)
    late = confirmation.late if now is None else now > request.due_at
    if late:
        state.flag(
            "erasure-confirmed-late",
            f"{confirmation.organization} confirmed the erasure for {confirmation.identity} "
            f"after its due time (unix {request.due_at}; requested in block {request.block})",
            confirmation,
            identity=confirmation.identity,
            organization=confirmation.organization,
            due_at=request.due_at,
            confirmed_at=now,
            requested_block=request.block,
        )


def use_after_request(state: ReplayState, use: DataUse, request: ErasureRequest) -> None:
    """Flag ``use``: its organization was asked (``request``) to erase the identity's data."""
    state.flag(
        "use-after-erasure-request",
        f"{use.organization} recorded a use of {use.identity}'s data after the identity asked "
        f"it to erase its data (block {request.block})",
        use,
        identity=use.identity,
        organization=use.organization,
        requested_block=request.block,
        requested_tx=request.tx_hash.hex(),
    )


def finish(state: ReplayState) -> None:
    """At the end of the replay: flag every request still unconfirmed past its due time, as
    of the latest indexed block's time."""
    if not state.erasures or not state.timestamps:
        return
    now = max(state.timestamps.values())
    for pair, request in state.erasures.items():
        if pair not in state.erased_confirmed and now > request.due_at:
            state.flag(
                "erasure-overdue",
                f"{request.organization} has not confirmed the erasure {request.identity} "
                f"asked for, due at unix {request.due_at} (latest block's time {now})",
                request,
                identity=request.identity,
                organization=request.organization,
                due_at=request.due_at,
                as_of=now,
            )


__all__ = ["confirmed", "finish", "requested", "use_after_request"]
