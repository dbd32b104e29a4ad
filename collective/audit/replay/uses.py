"""Why a use was not covered: the rule it breaks and the evidence, as a sentence."""

from __future__ import annotations

from typing import Any

from collective.audit.replay.records import DataUse
from collective.audit.replay.state import NO_STATUS, SUSPENDED, Consent, ReplayState, hex_
from collective.ledger.consent_state import ConsentState

# The rule a use breaks when its consent is in this state.
STATE_RULES = {
    ConsentState.NONE: "no-consent",
    ConsentState.WITHDRAWN: "consent-withdrawn",
    ConsentState.EXPIRED: "consent-expired",
    ConsentState.SUPERSEDED: "stale-policy",
    ConsentState.DEACTIVATED: "identity-deactivated",
}


def explain(
    state_: ReplayState,
    use: DataUse,
    consent: Consent | None,
    org_status: int,
    now: int | None,
    state: ConsentState | None,
) -> None:
    """Flag the rule ``use`` breaks (it was not covered): its block is missing, its identity
    deactivated, its organization not admitted or suspended, its consent in ``state``
    (:func:`~collective.ledger.consent_state.consent_state`), or its policy version not current.

    Args:
        state_: the replay's state, flagged on.
        use: the use.
        consent: the consent it names, as the replay keeps it (None: never granted).
        org_status: the organization's status then (:data:`NO_STATUS` ...).
        now: the block's time (unix seconds), None when the block is not indexed.
        state: the consent's state at ``now`` (None when ``now`` is).
    """
    org = use.organization
    what = f"use of {use.identity}'s {hex_(use.category)} for {hex_(use.purpose)} by {org}"
    evidence: dict[str, Any] = {"identity": use.identity, "organization": org}
    if consent is not None:
        evidence.update(
            consent_block=consent[4], consent_log_index=consent[5], consent_tx=hex_(consent[6])
        )
    if now is None or state is None:
        state_.flag("block-missing", f"{what}: its block is not in the index", use, **evidence)
    elif state is ConsentState.DEACTIVATED:
        state_.flag(
            "identity-deactivated",
            f"{what}: the identity was deactivated before it (DIDOwnerChanged to 0x0), so no "
            "consent of it covers any use",
            use,
            state=str(state),
            **evidence,
        )
    elif org_status == NO_STATUS:
        state_.flag("org-not-admitted", f"{what}: the organization is not admitted", use)
    elif org_status == SUSPENDED:
        state_.flag("org-suspended", f"{what}: the organization was suspended", use)
    elif state is not ConsentState.ACTIVE:
        assert consent is not None or state is ConsentState.NONE
        state_.flag(
            STATE_RULES[state],
            _why(state_, what, state, consent, org, now),
            use,
            state=str(state),
            **evidence,
            **_facts(state_, state, consent, org, now),
        )
    else:
        state_.flag(
            "policy-mismatch",
            f"{what}: the use names policy v{use.policy_version}, the current one is "
            f"v{state_.current.get(org)}",
            use,
            use_version=use.policy_version,
            current_version=state_.current.get(org),
            **evidence,
        )


def _why(
    state_: ReplayState, what: str, state: ConsentState, consent: Consent | None, org: str, now: int
) -> str:
    if state is ConsentState.NONE or consent is None:
        return f"{what}: no consent was ever granted"
    if state is ConsentState.WITHDRAWN:
        return f"{what}: the consent was withdrawn"
    if state is ConsentState.EXPIRED:
        return f"{what}: the consent expired at {consent[2]}, the block's time is {now}"
    return (
        f"{what}: the consent is superseded: it is under policy v{consent[3]}, the current "
        f"one is v{state_.current.get(org)}"
    )


def _facts(
    state_: ReplayState, state: ConsentState, consent: Consent | None, org: str, now: int
) -> dict[str, Any]:
    if consent is None:
        return {}
    if state is ConsentState.EXPIRED:
        return {"expiry": consent[2], "timestamp": now}
    if state is ConsentState.SUPERSEDED:
        return {"consent_version": consent[3], "current_version": state_.current.get(org)}
    return {}


__all__ = ["STATE_RULES", "explain"]
