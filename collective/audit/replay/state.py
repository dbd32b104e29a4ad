"""The replay's state: what the ledger's rules depend on, and the violations found so far.

:class:`ReplayState` keeps each organization's status (AccountRules), its current policy
version and the purposes each version covers, each consent, the admins and the board, the
DID registry's owners, delegate epochs and ``sigAuth`` delegates, the erasure requests and
their confirmations, each disclosure consent, and the current
transaction's validator changes awaiting their cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collective.audit.model import Violation
from collective.audit.replay.records import ErasureRequest, ReplayEvent, ValidatorChange

NO_STATUS, ACTIVE, SUSPENDED = 0, 1, 2
"""An organization's AccountRules status: never admitted (or removed), active, suspended."""
MAX_VIOLATIONS = 10_000  # kept in the result; the count goes on

# A consent as the replay keeps it: (granted ever, active, expiry, version, where granted).
Consent = tuple[bool, bool, int, int, int, int, bytes]
NEVER = (False, False, 0, 0)
"""The first four fields of a consent that was never granted."""


def hex_(value: bytes) -> str:
    """``value`` as ``0x`` hex."""
    return "0x" + bytes(value).hex()


class ReplayState:
    """The ledger's state while replaying, and the violations found.

    Args:
        timestamps: block number -> its time (unix seconds); a block missing here makes a
            use in it ``block-missing``.
    """

    def __init__(self, timestamps: Mapping[int, int]) -> None:
        self.timestamps = timestamps
        self.status: dict[str, int] = {}
        self.current: dict[str, int] = {}
        self.covers: dict[tuple[str, int], frozenset[bytes]] = {}
        self.consents: dict[tuple[str, str, bytes, bytes], Consent] = {}
        # Disclosure consents by (identity, discloser, recipient, purpose, category).
        self.disclosure_consents: dict[tuple[str, str, str, bytes, bytes], Consent] = {}
        self.admins: set[str] = set()
        self.board: str | None = None
        # The registry: owners (absent: the identity itself; NULL: deactivated), the delegate
        # epoch (bumped by every owner change) and sigAuth delegates -> (valid_to, epoch).
        self.owners: dict[str, str] = {}
        self.epochs: dict[str, int] = {}
        self.delegates: dict[tuple[str, str], tuple[int, int]] = {}
        # The validator changes of the transaction being replayed still without a cause, and
        # the organizations a cause (board SetValidator, suspension, ...) named in it.
        self.validator_tx: bytes | None = None
        self.validator_pending: list[ValidatorChange] = []
        self.validator_causes: set[str] = set()
        # Erasure requests by (identity, organization), and those confirmed.
        self.erasures: dict[tuple[str, str], ErasureRequest] = {}
        self.erased_confirmed: set[tuple[str, str]] = set()
        self.violations: list[Violation] = []
        self.count = 0
        self.uses = 0
        self.disclosures = 0

    def flag(self, rule: str, message: str, event: ReplayEvent, **evidence: Any) -> None:
        """Record that ``event`` breaks ``rule`` (kept up to :data:`MAX_VIOLATIONS`; all are
        counted in :attr:`count`)."""
        self.count += 1
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(
                Violation(
                    rule=rule,
                    message=message,
                    block=int(event.block),
                    tx_hash=hex_(event.tx_hash),
                    log_index=int(event.log_index),
                    evidence=evidence,
                )
            )


__all__ = ["ACTIVE", "MAX_VIOLATIONS", "NEVER", "NO_STATUS", "SUSPENDED", "Consent", "ReplayState"]
