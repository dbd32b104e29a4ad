"""The verifier's model: typed events in chain order, replayed into the ledger's rules.

:func:`verify <collective.audit.verifier.verify>` reads these records out of the index;
anything else (a test, another indexer) can build them by hand and call :func:`replay`. Each
record carries its position (``block``, ``log_index``) and transaction first, so a mix of
them sorts into chain order as plain tuples. Addresses are lowercase ``0x`` text (as the
index stores them), purposes and categories 32-byte codes.

What the replay keeps, event by event: each organization's status (AccountRules), its current
policy version and the purposes it covers, each consent (identity, organization, purpose,
category), and each identity's owner, delegate epoch and ``sigAuth`` delegates (the
registry's ``DIDOwnerChanged`` / ``DIDDelegateChanged``). What it checks:

- every ``DataUsed`` was covered at its block: the consent's state there
  (:func:`~collective.ledger.consent_state.consent_state`, the same rule the client, the
  receipts and the CLI use) is ``active``, the organization admitted and not suspended, and
  the use names the current policy version. A use by an identity after its deactivation
  (``DIDOwnerChanged`` to 0x0) is ``identity-deactivated``, whatever its consent says;
- every grant names the organization's current policy version covering its purpose;
- every grant's and withdrawal's ``agent`` (and a ``SignaturesCancelled``'s) spoke for the
  identity at that block: its owner then, or a ``sigAuth`` delegate appointed after the
  identity's latest owner change (each owner change starts a new delegate epoch, as the
  registry's ``validDelegate`` says) whose validity had not run out;
- every AccountRules status change came from a then-current admin (or, for a suspension or
  reinstatement, the then-current board);
- the erasure rules of :mod:`~collective.audit.replay.erasure`: no use after an identity asked
  the organization to erase its data, and every request confirmed by its due time;
- the onward-disclosure rules of :mod:`~collective.audit.replay.disclosures`: each disclosure
  consent replayed as a use consent, and every ``DataDisclosed`` covered at its block;
- every ``ValidatorPowerChanged`` has its cause in its own transaction: an executed board
  ``SetValidator`` about the organization, or its suspension, reinstatement or removal
  (:mod:`~collective.audit.replay.validators`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from collective.audit.model import Violation
from collective.audit.replay import disclosures, erasure, validators
from collective.audit.replay.identity import check_agent, delegate_changed, owner_changed
from collective.audit.replay.records import (
    NULL,
    SIG_AUTH,
    AccountChange,
    BoardExecution,
    ConsentChange,
    DataUse,
    DelegateChange,
    Disclosure,
    DisclosureConsentChange,
    ErasureConfirmation,
    ErasureRequest,
    OwnerChange,
    PolicyChange,
    ReplayEvent,
    SignaturesCancelled,
    ValidatorChange,
)
from collective.audit.replay.state import (
    ACTIVE,
    MAX_VIOLATIONS,
    NEVER,
    NO_STATUS,
    SUSPENDED,
    ReplayState,
    hex_,
)
from collective.audit.replay.uses import explain
from collective.ledger.consent_state import ConsentState, consent_state

_STATUS_AFTER = {
    "AccountAdmitted": ACTIVE,
    "AccountSuspended": SUSPENDED,
    "AccountReinstated": ACTIVE,
    "AccountRemoved": NO_STATUS,
}


class Outcome(NamedTuple):
    """What :func:`replay` found: the violations (at most :data:`MAX_VIOLATIONS`), how many
    there were in all, and how many uses and disclosures it checked."""

    violations: list[Violation]
    total: int
    uses: int
    disclosures: int = 0


def replay(events: Iterable[ReplayEvent], timestamps: Mapping[int, int]) -> Outcome:
    """Replay ``events`` (in chain order) and check every rule.

    Args:
        events: the typed records of :mod:`~collective.audit.replay.records`, in chain order.
        timestamps: block number -> its time (unix seconds); a use in a block missing there
            is ``block-missing``.

    Returns:
        The violations (at most :data:`MAX_VIOLATIONS`), their count and the uses and
        disclosures checked.

    Raises:
        TypeError: an item of ``events`` is not a replay record.
    """
    state = _Replay(timestamps)
    state.run(events)
    return Outcome(state.violations, state.count, state.uses, state.disclosures)


class _Replay(ReplayState):
    """The replay: dispatches each event to the rule that checks it."""

    def run(self, events: Iterable[ReplayEvent]) -> None:
        """Replay ``events`` in chain order, flagging each rule broken."""
        handlers: dict[type, Callable[[Any], None]] = {
            ConsentChange: self._consent,
            SignaturesCancelled: self._cancelled,
            AccountChange: self._account,
            PolicyChange: self._policy,
            OwnerChange: lambda change: owner_changed(self, change),
            DelegateChange: lambda change: delegate_changed(self, change),
            ValidatorChange: lambda change: validators.validator_changed(self, change),
            BoardExecution: lambda execution: validators.board_executed(self, execution),
            ErasureRequest: lambda request: erasure.requested(self, request),
            ErasureConfirmation: lambda confirmation: erasure.confirmed(self, confirmation),
            DisclosureConsentChange: lambda change: disclosures.consent_changed(self, change),
            Disclosure: lambda disclosure: disclosures.disclosed(self, disclosure),
        }
        # Uses are most of the events: checked inline, with the same state function.
        consents, timestamps, status = self.consents, self.timestamps, self.status
        current, owners, active = self.current, self.owners, ConsentState.ACTIVE
        erasures = self.erasures
        for event in events:
            if type(event) is DataUse:
                self.uses += 1
                block, _, _, identity, org, purpose, category, version = event
                if erasures and (request := erasures.get((identity, org))) is not None:
                    erasure.use_after_request(self, event, request)
                    continue
                consent = consents.get((identity, org, purpose, category))
                now = timestamps.get(block)
                state = None
                if now is not None:
                    granted, is_active, expiry, consented = consent[:4] if consent else NEVER
                    latest = current.get(org)
                    state = consent_state(
                        granted=granted,
                        active=is_active,
                        expiry=expiry,
                        policy_version=consented,
                        current_version=latest,
                        deactivated=owners.get(identity) == NULL,
                        now=now,
                    )
                    if state is active and status.get(org) == ACTIVE and version == latest:
                        continue
                explain(self, event, consent, status.get(org, NO_STATUS), now, state)
                continue
            handler = handlers.get(type(event))
            if handler is None:
                raise TypeError(f"not a replay event: {event!r}")
            handler(event)
        validators.finish(self)
        erasure.finish(self)

    # --- consents -----------------------------------------------------------------------------

    def _consent(self, change: ConsentChange) -> None:
        key = (change.identity, change.organization, change.purpose, change.category)
        verb = "granted a consent for" if change.granted else "withdrew a consent of"
        check_agent(self, change, verb, change.identity)
        where = (change.block, change.log_index, change.tx_hash)
        if change.granted:
            version = int(change.policy_version or 0)
            self.consents[key] = (True, True, int(change.expiry or 0), version, *where)
            org = change.organization
            covered = self.covers.get((org, version), frozenset())
            if version != self.current.get(org) or change.purpose not in covered:
                self.flag(
                    "grant-not-current",
                    f"a consent was granted under policy v{version} of {org}, which is not "
                    f"its current version covering purpose {hex_(change.purpose)}",
                    change,
                    organization=org,
                    policy_version=version,
                    current_version=self.current.get(org),
                )
        else:
            found = self.consents.get(key)
            if found is not None:
                self.consents[key] = (found[0], False, *found[2:])
            else:
                self.consents[key] = (False, False, 0, 0, *where)

    def _cancelled(self, cancelled: SignaturesCancelled) -> None:
        check_agent(self, cancelled, "cancelled the signed requests of", cancelled.identity)

    # --- organizations and policies -------------------------------------------------------------

    def _account(self, change: AccountChange) -> None:
        event, account, actor = change.event, change.account, change.actor
        if event == "AdminAdded":
            self.admins.add(account)
        elif event == "AdminRemoved":
            self.admins.discard(account)
        elif event == "BoardChanged":
            self.board = account
        if event in _STATUS_AFTER:
            allowed = actor in self.admins or (
                event in ("AccountSuspended", "AccountReinstated") and actor == self.board
            )
            if not allowed:
                self.flag(
                    "unauthorized-status-change",
                    f"{event} of {account} by {actor}, who was neither an admin nor (for a "
                    "suspension or reinstatement) the board",
                    change,
                    account=account,
                    actor=actor,
                )
            self.status[account] = _STATUS_AFTER[event]
            validators.account_changed(self, change)

    def _policy(self, change: PolicyChange) -> None:
        self.current[change.organization] = change.version
        self.covers[(change.organization, change.version)] = change.purposes


__all__ = [
    "MAX_VIOLATIONS",
    "NULL",
    "SIG_AUTH",
    "AccountChange",
    "BoardExecution",
    "ConsentChange",
    "DataUse",
    "DelegateChange",
    "Disclosure",
    "DisclosureConsentChange",
    "ErasureConfirmation",
    "ErasureRequest",
    "Outcome",
    "OwnerChange",
    "PolicyChange",
    "ReplayEvent",
    "SignaturesCancelled",
    "ValidatorChange",
    "replay",
]
