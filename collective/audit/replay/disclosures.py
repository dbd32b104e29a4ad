"""The replay's onward-disclosure rules (Kantara "third-party disclosure", GDPR Art. 13(1)(e);
``DisclosureLog.sol``, issue 13 part 1).

A disclosure consent is replayed exactly as a use consent (grants, withdrawals, expiry by the
block's time; the nonce plays no part), keyed by (identity, discloser, recipient, purpose,
category), and its state at a block is :func:`~collective.ledger.consent_state.consent_state`'s,
with the recipient's version covering the purpose as the current one (the contract's
``_coverage[recipient][purpose]``). Each ``DataDisclosed`` must pass the contract's
``recordDisclosure`` checks at its block; the first one it fails is flagged:

==================================  ============================================================
rule                                broken when, at the disclosure's block
==================================  ============================================================
disclosure-by-inactive-organization the discloser, or else the recipient, is not admitted or is
                                    suspended
disclosure-after-erasure-request    the identity had asked the discloser or the recipient to
                                    erase its data
disclosure-after-deactivation       the identity was deactivated (DIDOwnerChanged to 0x0)
disclosure-without-consent          no active, unexpired disclosure consent (never granted,
                                    withdrawn, or expired)
disclosure-stale-policy             the consent's version is not the recipient's current one
                                    covering the purpose, or the event names another version
==================================  ============================================================

A grant must name the recipient's current version covering its purpose
(``disclosure-grant-not-current``), and the agent of every grant and withdrawal must speak for
the identity (:func:`~collective.audit.replay.identity.check_agent`). The contract refuses all
of these: only a forged index or a broken contract shows one.
"""

from __future__ import annotations

from typing import Any

from collective.audit.replay.identity import check_agent
from collective.audit.replay.records import NULL, Disclosure, DisclosureConsentChange
from collective.audit.replay.state import ACTIVE, NEVER, SUSPENDED, ReplayState, hex_
from collective.ledger.consent_state import ConsentState, consent_state

_NOT_ACTIVE = {ConsentState.NONE, ConsentState.WITHDRAWN, ConsentState.EXPIRED}


def coverage(state: ReplayState, organization: str, purpose: bytes) -> int:
    """``organization``'s current policy version if it covers ``purpose``, else 0 (the
    contract's ``_coverage[organization][purpose]``)."""
    current = state.current.get(organization, 0)
    return current if current and purpose in state.covers.get((organization, current), ()) else 0


def consent_changed(state: ReplayState, change: DisclosureConsentChange) -> None:
    """Apply a disclosure-consent grant or withdrawal: check its agent and (a grant) that it
    names the recipient's current version covering its purpose."""
    verb = "granted a disclosure consent for" if change.granted else "withdrew one of"
    check_agent(state, change, verb, change.identity)
    key = (change.identity, change.discloser, change.recipient, change.purpose, change.category)
    where = (change.block, change.log_index, change.tx_hash)
    if not change.granted:
        found = state.disclosure_consents.get(key)
        state.disclosure_consents[key] = (
            (found[0], False, *found[2:]) if found is not None else (False, False, 0, 0, *where)
        )
        return
    version = int(change.policy_version or 0)
    state.disclosure_consents[key] = (True, True, int(change.expiry or 0), version, *where)
    covering = coverage(state, change.recipient, change.purpose)
    if version == 0 or version != covering:
        state.flag(
            "disclosure-grant-not-current",
            f"a disclosure consent to {change.recipient} was granted under its policy "
            f"v{version}, which is not its current version covering purpose "
            f"{hex_(change.purpose)}",
            change,
            identity=change.identity,
            recipient=change.recipient,
            policy_version=version,
            current_version=state.current.get(change.recipient),
        )


def disclosed(state: ReplayState, event: Disclosure) -> None:
    """Check one ``DataDisclosed`` against the contract's rules at its block; flag the first
    rule it breaks (the module docstring's table)."""
    state.disclosures += 1
    identity, discloser, recipient = event.identity, event.discloser, event.recipient
    what = (
        f"disclosure of {identity}'s {hex_(event.category)} for {hex_(event.purpose)} by "
        f"{discloser} to {recipient}"
    )
    evidence: dict[str, Any] = {"identity": identity}
    evidence.update(discloser=discloser, recipient=recipient)
    now = state.timestamps.get(event.block)
    if now is None:
        state.flag("block-missing", f"{what}: its block is not in the index", event, **evidence)
        return
    for role, party in (("discloser", discloser), ("recipient", recipient)):
        status = state.status.get(party)
        if status != ACTIVE:
            standing = "suspended" if status == SUSPENDED else "not admitted"
            state.flag(
                "disclosure-by-inactive-organization",
                f"{what}: the {role} was {standing}",
                event,
                organization=party,
                standing=standing,
                **evidence,
            )
            return
    for party in (discloser, recipient):
        request = state.erasures.get((identity, party))
        if request is not None:
            state.flag(
                "disclosure-after-erasure-request",
                f"{what}: the identity had asked {party} to erase its data (block {request.block})",
                event,
                organization=party,
                requested_block=request.block,
                requested_tx=hex_(request.tx_hash),
                **evidence,
            )
            return
    key = (identity, discloser, recipient, event.purpose, event.category)
    consent = state.disclosure_consents.get(key)
    granted, active, expiry, version = consent[:4] if consent else NEVER
    if consent is not None:
        evidence.update(
            consent_block=consent[4], consent_log_index=consent[5], consent_tx=hex_(consent[6])
        )
    covering = coverage(state, recipient, event.purpose)
    found = consent_state(
        granted=granted,
        active=active,
        expiry=expiry,
        policy_version=version,
        current_version=covering,
        deactivated=state.owners.get(identity) == NULL,
        now=now,
    )
    if found is ConsentState.DEACTIVATED:
        state.flag(
            "disclosure-after-deactivation",
            f"{what}: the identity was deactivated before it (DIDOwnerChanged to 0x0)",
            event,
            **evidence,
        )
    elif found in _NOT_ACTIVE:
        why = {
            ConsentState.NONE: "no disclosure consent was ever granted",
            ConsentState.WITHDRAWN: "the disclosure consent was withdrawn",
            ConsentState.EXPIRED: f"the disclosure consent expired at {expiry}, the block's "
            f"time is {now}",
        }[found]
        state.flag(
            "disclosure-without-consent", f"{what}: {why}", event, state=str(found), **evidence
        )
    elif found is ConsentState.SUPERSEDED or event.policy_version != version:
        state.flag(
            "disclosure-stale-policy",
            f"{what}: the consent is under the recipient's policy v{version}, the disclosure "
            f"names v{event.policy_version}, and the recipient's current version covering the "
            f"purpose is v{covering}",
            event,
            consent_version=version,
            disclosed_version=event.policy_version,
            current_version=covering,
            **evidence,
        )


__all__ = ["consent_changed", "coverage", "disclosed"]
