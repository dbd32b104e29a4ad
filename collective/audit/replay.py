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
  (:func:`~collective.consent_state.consent_state`, the same rule the client, the receipts and
  the CLI use) is ``active``, the organization admitted and not suspended, and the use names
  the current policy version. A use by an identity after its deactivation
  (``DIDOwnerChanged`` to 0x0) is ``identity-deactivated``, whatever its consent says;
- every grant names the organization's current policy version covering its purpose;
- every grant's and withdrawal's ``agent`` (and a ``SignaturesCancelled``'s) spoke for the
  identity at that block: its owner then, or a ``sigAuth`` delegate appointed after the
  identity's latest owner change (each owner change starts a new delegate epoch, as the
  registry's ``validDelegate`` says) whose validity had not run out;
- every AccountRules status change came from a then-current admin (or, for a suspension or
  reinstatement, the then-current board).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from collective.audit.model import Violation
from collective.consent_state import ConsentState, consent_state

NULL = "0x" + "00" * 20
SIG_AUTH = "sigAuth"

NO_STATUS, ACTIVE, SUSPENDED = 0, 1, 2
_STATUS_AFTER = {
    "AccountAdmitted": ACTIVE,
    "AccountSuspended": SUSPENDED,
    "AccountReinstated": ACTIVE,
    "AccountRemoved": NO_STATUS,
}
MAX_VIOLATIONS = 10_000  # kept in the result; the count goes on

# The rule a use breaks when its consent is in this state.
_STATE_RULES = {
    ConsentState.NONE: "no-consent",
    ConsentState.WITHDRAWN: "consent-withdrawn",
    ConsentState.EXPIRED: "consent-expired",
    ConsentState.SUPERSEDED: "stale-policy",
    ConsentState.DEACTIVATED: "identity-deactivated",
}


class DataUse(NamedTuple):
    """``DataUsed``: an organization recorded a use of an identity's data."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    organization: str
    purpose: bytes
    category: bytes
    policy_version: int


class ConsentChange(NamedTuple):
    """``ConsentGranted`` (``granted``; expiry and policy version set) or ``ConsentWithdrawn``."""

    block: int
    log_index: int
    tx_hash: bytes
    granted: bool
    identity: str
    organization: str
    purpose: bytes
    category: bytes
    expiry: int | None
    policy_version: int | None
    agent: str


class SignaturesCancelled(NamedTuple):
    """``SignaturesCancelled``: a withdrawal with nothing active (it only voids signatures)."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    agent: str


class AccountChange(NamedTuple):
    """An AccountRules event: ``event`` (``AccountAdmitted``, ``AdminAdded``, ...) about
    ``account``, by ``actor``."""

    block: int
    log_index: int
    tx_hash: bytes
    event: str
    account: str
    actor: str


class PolicyChange(NamedTuple):
    """``PolicyPublished``: ``organization``'s policy ``version`` covering ``purposes``."""

    block: int
    log_index: int
    tx_hash: bytes
    organization: str
    version: int
    purposes: frozenset[bytes]


class OwnerChange(NamedTuple):
    """``DIDOwnerChanged``: ``identity``'s owner is now ``owner``; the zero address
    deactivates it for good."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    owner: str


class DelegateChange(NamedTuple):
    """``DIDDelegateChanged``: ``delegate`` of ``delegate_type`` (``"sigAuth"``,
    ``"veriKey"``) valid while the block's time is below ``valid_to`` (a revocation sets it
    to the revoking block's time)."""

    block: int
    log_index: int
    tx_hash: bytes
    identity: str
    delegate_type: str
    delegate: str
    valid_to: int


ReplayEvent = (
    DataUse
    | ConsentChange
    | SignaturesCancelled
    | AccountChange
    | PolicyChange
    | OwnerChange
    | DelegateChange
)


class Outcome(NamedTuple):
    """What :func:`replay` found: the violations (at most :data:`MAX_VIOLATIONS`), how many
    there were in all, and how many uses it checked."""

    violations: list[Violation]
    total: int
    uses: int


def replay(events: Iterable[ReplayEvent], timestamps: Mapping[int, int]) -> Outcome:
    """Replay ``events`` (in chain order) and check every rule; ``timestamps`` maps each
    block to its time (a use in a block missing there is ``block-missing``)."""
    state = _Replay(timestamps)
    state.run(events)
    return Outcome(state.violations, state.count, state.uses)


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


# A consent as the replay keeps it: (granted ever, active, expiry, version, where granted).
_Consent = tuple[bool, bool, int, int, int, int, bytes]
_NEVER = (False, False, 0, 0)


class _Replay:
    def __init__(self, timestamps: Mapping[int, int]) -> None:
        self.timestamps = timestamps
        self.status: dict[str, int] = {}
        self.current: dict[str, int] = {}
        self.covers: dict[tuple[str, int], frozenset[bytes]] = {}
        self.consents: dict[tuple[str, str, bytes, bytes], _Consent] = {}
        self.admins: set[str] = set()
        self.board: str | None = None
        # The registry: owners (absent: the identity itself; NULL: deactivated), the delegate
        # epoch (bumped by every owner change) and sigAuth delegates -> (valid_to, epoch).
        self.owners: dict[str, str] = {}
        self.epochs: dict[str, int] = {}
        self.delegates: dict[tuple[str, str], tuple[int, int]] = {}
        self.violations: list[Violation] = []
        self.count = 0
        self.uses = 0

    def flag(self, rule: str, message: str, event: ReplayEvent, **evidence: Any) -> None:
        self.count += 1
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(
                Violation(
                    rule=rule,
                    message=message,
                    block=int(event.block),
                    tx_hash=_hex(event.tx_hash),
                    log_index=int(event.log_index),
                    evidence=evidence,
                )
            )

    def run(self, events: Iterable[ReplayEvent]) -> None:
        handlers: dict[type, Callable[[Any], None]] = {
            ConsentChange: self._consent,
            SignaturesCancelled: self._cancelled,
            AccountChange: self._account,
            PolicyChange: self._policy,
            OwnerChange: self._owner,
            DelegateChange: self._delegate,
        }
        # Uses are most of the events: checked inline, with the same state function.
        consents, timestamps, status = self.consents, self.timestamps, self.status
        current, owners, active = self.current, self.owners, ConsentState.ACTIVE
        for event in events:
            if type(event) is DataUse:
                self.uses += 1
                block, _, _, identity, org, purpose, category, version = event
                consent = consents.get((identity, org, purpose, category))
                now = timestamps.get(block)
                state = None
                if now is not None:
                    granted, is_active, expiry, consented = consent[:4] if consent else _NEVER
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
                self._explain(event, consent, status.get(org, NO_STATUS), now, state)
                continue
            handler = handlers.get(type(event))
            if handler is None:
                raise TypeError(f"not a replay event: {event!r}")
            handler(event)

    # --- uses ---------------------------------------------------------------------------------

    def _explain(
        self,
        use: DataUse,
        consent: _Consent | None,
        org_status: int,
        now: int | None,
        state: ConsentState | None,
    ) -> None:
        org = use.organization
        what = f"use of {use.identity}'s {_hex(use.category)} for {_hex(use.purpose)} by {org}"
        evidence: dict[str, Any] = {"identity": use.identity, "organization": org}
        if consent is not None:
            evidence.update(
                consent_block=consent[4], consent_log_index=consent[5], consent_tx=_hex(consent[6])
            )
        if now is None or state is None:
            self.flag("block-missing", f"{what}: its block is not in the index", use, **evidence)
        elif state is ConsentState.DEACTIVATED:
            self.flag(
                "identity-deactivated",
                f"{what}: the identity was deactivated before it (DIDOwnerChanged to 0x0), so no "
                "consent of it covers any use",
                use,
                state=str(state),
                **evidence,
            )
        elif org_status == NO_STATUS:
            self.flag("org-not-admitted", f"{what}: the organization is not admitted", use)
        elif org_status == SUSPENDED:
            self.flag("org-suspended", f"{what}: the organization was suspended", use)
        elif state is not ConsentState.ACTIVE:
            assert consent is not None or state is ConsentState.NONE
            self.flag(
                _STATE_RULES[state],
                self._why(what, state, consent, org, now),
                use,
                state=str(state),
                **evidence,
                **self._facts(state, consent, org, now),
            )
        else:
            self.flag(
                "policy-mismatch",
                f"{what}: the use names policy v{use.policy_version}, the current one is "
                f"v{self.current.get(org)}",
                use,
                use_version=use.policy_version,
                current_version=self.current.get(org),
                **evidence,
            )

    def _why(
        self, what: str, state: ConsentState, consent: _Consent | None, org: str, now: int
    ) -> str:
        if state is ConsentState.NONE or consent is None:
            return f"{what}: no consent was ever granted"
        if state is ConsentState.WITHDRAWN:
            return f"{what}: the consent was withdrawn"
        if state is ConsentState.EXPIRED:
            return f"{what}: the consent expired at {consent[2]}, the block's time is {now}"
        return (
            f"{what}: the consent is superseded: it is under policy v{consent[3]}, the current "
            f"one is v{self.current.get(org)}"
        )

    def _facts(
        self, state: ConsentState, consent: _Consent | None, org: str, now: int
    ) -> dict[str, Any]:
        if consent is None:
            return {}
        if state is ConsentState.EXPIRED:
            return {"expiry": consent[2], "timestamp": now}
        if state is ConsentState.SUPERSEDED:
            return {"consent_version": consent[3], "current_version": self.current.get(org)}
        return {}

    # --- consents -----------------------------------------------------------------------------

    def _consent(self, change: ConsentChange) -> None:
        key = (change.identity, change.organization, change.purpose, change.category)
        verb = "granted a consent for" if change.granted else "withdrew a consent of"
        self._agent(change, verb, change.identity)
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
                    f"its current version covering purpose {_hex(change.purpose)}",
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
        self._agent(cancelled, "cancelled the signed requests of", cancelled.identity)

    def _agent(self, event: ConsentChange | SignaturesCancelled, verb: str, identity: str) -> None:
        """The agent of a grant, withdrawal or cancellation must speak for the identity at that
        block: its owner, or a sigAuth delegate of the current epoch still valid."""
        agent = event.agent
        owner = self.owners.get(identity, identity)
        if agent == owner and owner != NULL:
            return
        what = f"{agent} {verb} {identity}"
        evidence: dict[str, Any] = {"identity": identity, "agent": agent}
        if owner == NULL:
            self.flag(
                "identity-deactivated",
                f"{what}, which was deactivated before (nothing acts for it)",
                event,
                **evidence,
            )
            return
        appointed = self.delegates.get((identity, agent))
        now = self.timestamps.get(event.block)  # None: block-missing is reported elsewhere
        if appointed is not None and (now is None or now < appointed[0]):
            if appointed[1] == self.epochs.get(identity, 0):
                return
            self.flag(
                "stale-delegate",
                f"{what} as a sigAuth delegate appointed before the identity's owner changed "
                f"to {owner}: a delegate of a previous owner no longer speaks for it",
                event,
                owner=owner,
                **evidence,
            )
            return
        self.flag(
            "agent-not-authorized",
            f"{what}, but was neither its owner ({owner}) nor a valid sigAuth delegate then",
            event,
            owner=owner,
            delegate_valid_to=appointed[0] if appointed is not None else None,
            **evidence,
        )

    # --- the registry ---------------------------------------------------------------------------

    def _owner(self, change: OwnerChange) -> None:
        identity = change.identity
        if self.owners.get(identity) == NULL:
            self.flag(
                "identity-deactivated",
                f"the owner of {identity} changed to {change.owner} after it was deactivated",
                change,
                identity=identity,
                owner=change.owner,
            )
        self.owners[identity] = change.owner
        self.epochs[identity] = self.epochs.get(identity, 0) + 1

    def _delegate(self, change: DelegateChange) -> None:
        if change.delegate_type != SIG_AUTH:
            return
        key = (change.identity, change.delegate)
        self.delegates[key] = (change.valid_to, self.epochs.get(change.identity, 0))

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

    def _policy(self, change: PolicyChange) -> None:
        self.current[change.organization] = change.version
        self.covers[(change.organization, change.version)] = change.purposes


__all__ = [
    "MAX_VIOLATIONS",
    "AccountChange",
    "ConsentChange",
    "DataUse",
    "DelegateChange",
    "Outcome",
    "OwnerChange",
    "PolicyChange",
    "ReplayEvent",
    "SignaturesCancelled",
    "replay",
]
