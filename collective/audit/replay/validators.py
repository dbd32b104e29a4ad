"""Validator power changes must have a cause in their own transaction.

AccountRules emits ``ValidatorPowerChanged`` only from ``setValidator`` (which only the board
calls, in an executed ``SetValidator`` proposal: its ``ProposalExecuted`` follows the change
in the same transaction) and from ``suspend``, ``reinstate`` and ``remove`` (whose
``AccountSuspended`` / ``AccountReinstated`` / ``AccountRemoved`` precedes it). A change about
an organization that no such event of its transaction names is ``validator-unexplained``:
the validator set moved in a way the contracts do not allow (or the index was altered).
"""

from __future__ import annotations

from collective.audit.replay.records import AccountChange, BoardExecution, ValidatorChange
from collective.audit.replay.state import ReplayState

SET_VALIDATOR = 7
"""OversightBoard's ``Action.SetValidator``."""
CAUSES = frozenset({"AccountSuspended", "AccountReinstated", "AccountRemoved"})
"""The AccountRules events that change a validator's effective power."""


def validator_changed(state: ReplayState, change: ValidatorChange) -> None:
    """Note ``change``: explained at once by an earlier cause in its transaction, or kept
    until the transaction ends (a board execution comes after the change it causes)."""
    _enter(state, change.tx_hash)
    if change.organization not in state.validator_causes:
        state.validator_pending.append(change)


def board_executed(state: ReplayState, execution: BoardExecution) -> None:
    """An executed ``SetValidator`` explains its target's changes in the transaction."""
    if execution.action == SET_VALIDATOR:
        _cause(state, execution.tx_hash, execution.target)


def account_changed(state: ReplayState, change: AccountChange) -> None:
    """A suspension, reinstatement or removal explains its account's changes after it."""
    if change.event in CAUSES:
        _cause(state, change.tx_hash, change.account)


def finish(state: ReplayState) -> None:
    """Flag what is still unexplained when the replay ends (call once, after the events)."""
    _enter(state, None)


def _cause(state: ReplayState, tx_hash: bytes, organization: str) -> None:
    _enter(state, tx_hash)
    state.validator_causes.add(organization)
    state.validator_pending = [c for c in state.validator_pending if c.organization != organization]


def _enter(state: ReplayState, tx_hash: bytes | None) -> None:
    """Move on to transaction ``tx_hash``: the previous one's unexplained changes are flagged."""
    if tx_hash == state.validator_tx:
        return
    for change in state.validator_pending:
        state.flag(
            "validator-unexplained",
            f"the validator {change.pub_key} of {change.organization} went to power "
            f"{change.power} with no executed board SetValidator, suspension, reinstatement "
            "or removal of the organization in the same transaction",
            change,
            organization=change.organization,
            pub_key=change.pub_key,
            power=change.power,
        )
    state.validator_tx = tx_hash
    state.validator_pending = []
    state.validator_causes = set()
