"""What the demo tells: its steps as they happen, and the patient's history as table rows.

A :class:`Narration` records each :class:`Step` into the :class:`DemoReport` and hands it to
the listener at once (``collective demo`` prints it); :func:`history_rows` turns the patient's
history read from the chain into the rows the report holds and the CLI shows as a table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount

from collective.client import Collective
from collective.client.subject_history import identity_history
from collective.client.subject_records import (
    DISCLOSE,
    DISCLOSURE_GRANT,
    DISCLOSURE_WITHDRAW,
    ERASURE_CONFIRM,
    ERASURE_REQUEST,
    GRANT,
    USE,
    WITHDRAW,
)


@dataclass(frozen=True)
class Step:
    """One thing that happened: a title, readable lines, and the facts as data."""

    title: str
    lines: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)
    refused: bool = False


@dataclass
class DemoReport:
    """Everything the demo did, in order."""

    network: str
    chain_id: int
    steps: list[Step] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    transactions: int = 0


Listener = Callable[[Step], None]


class Narration:
    """Tells the steps of one run: each goes into ``report`` and, at once, to ``on_step``."""

    def __init__(self, report: DemoReport, on_step: Listener | None = None) -> None:
        """Tell into ``report``.

        Args:
            report: the report the steps are appended to.
            on_step: called with each :class:`Step` as soon as it is told (None: nobody).
        """
        self.report = report
        self.on_step = on_step

    def step(self, title: str, *lines: str, refused: bool = False, **data: Any) -> None:
        """Tell one step.

        Args:
            title: what happened, in one line.
            lines: the details, one readable line each.
            refused: True when the step is the contract refusing something.
            data: the step's facts as JSON-able values (``collective demo --json``).
        """
        done = Step(title, tuple(lines), data, refused)
        self.report.steps.append(done)
        if self.on_step is not None:
            self.on_step(done)


_WHAT = {
    GRANT: "consent granted",
    WITHDRAW: "consent withdrawn",
    USE: "data used",
    DISCLOSE: "data disclosed",
    DISCLOSURE_GRANT: "disclosure consented",
    DISCLOSURE_WITHDRAW: "disclosure consent withdrawn",
    ERASURE_REQUEST: "erasure requested",
    ERASURE_CONFIRM: "erasure confirmed",
}


def history_rows(
    subject: Collective, names: Mapping[str, str], accounts: Mapping[str, LocalAccount]
) -> list[dict[str, Any]]:
    """The subject's history (consents, uses, disclosures, erasure) read from the chain's
    events, as table rows in chain order.

    Args:
        subject: a client acting as the subject whose history is read.
        names: organization address -> the name to show for it.
        accounts: the demo's role name -> account; an agent (such as a guardian) is shown by
            its role name.

    Returns:
        One dict per event with the string keys ``time`` (UTC, ``YYYY-MM-DD HH:MM:SS``),
        ``block`` (int), ``what``, ``organization``, ``purpose``, ``category``, ``by`` and
        ``data`` (the data reference or evidence hash, cut to 14 characters).

    Raises:
        ChainError: the node could not be reached.
    """
    rows: list[dict[str, Any]] = []
    for row in identity_history(subject, subject.address, names=names):
        what = _WHAT.get(row.action, row.action)
        if row.policy_version is not None:
            what += f" (policy v{row.policy_version})"
        organization = row.organization_name or row.organization
        if row.recipient is not None:
            organization += f" -> {row.recipient_name or row.recipient}"
        if row.agent is not None:
            by = _who(row.agent, accounts)
        else:
            by = row.organization_name or row.organization
        data = row.data_ref or row.evidence_hash or ""
        rows.append(
            {
                "block": row.block,
                "time": datetime.fromtimestamp(row.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "what": what,
                "organization": organization,
                "purpose": row.purpose,
                "category": row.category,
                "by": by,
                "data": data[:14] + "..." if data else "",
            }
        )
    return rows


def _who(address: str, accounts: Mapping[str, LocalAccount]) -> str:
    for name, account in accounts.items():
        if account.address == address:
            return name
    return address


__all__ = ["DemoReport", "Listener", "Narration", "Step", "history_rows"]
