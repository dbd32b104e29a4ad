"""A person's history on the audit index: "who used my data".

:func:`history_rows` reads every grant, withdrawal, use, disclosure, disclosure-consent change
and erasure request or confirmation naming some identities from the index's ``consents``,
``uses`` and ``events`` tables, as the :class:`~collective.client.subject_records.HistoryRow`
records :func:`collective.client.subject_history.identity_history` reads from the chain (GDPR
Art. 15(1)(c): the recipients of the person's data). :meth:`SubjectReader.history
<collective.audit.subjects.SubjectReader.history>` runs it in one read transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from collective.audit.subject_events import identity_events, marks
from collective.chain.codec import checksum
from collective.client.records import expiry_or_none
from collective.client.subject_records import (
    DISCLOSE,
    DISCLOSURE_GRANT,
    DISCLOSURE_WITHDRAW,
    ERASURE_CONFIRM,
    ERASURE_REQUEST,
    GRANT,
    USE,
    WITHDRAW,
    HistoryRow,
)
from collective.ledger.vocab import name_of
from collective.types import Address

HISTORY_EVENTS = {
    "DataDisclosed": DISCLOSE,
    "DisclosureConsentGranted": DISCLOSURE_GRANT,
    "DisclosureConsentWithdrawn": DISCLOSURE_WITHDRAW,
    "ErasureRequested": ERASURE_REQUEST,
    "ErasureConfirmed": ERASURE_CONFIRM,
}
"""The ``events`` rows a history reads, and the action each one is."""


def history_rows(db: sqlite3.Connection, who: list[str]) -> list[HistoryRow]:
    """Every row of history naming one of ``who`` (lowercase ``0x`` addresses), in chain
    order (block, then log index), with ``identity_for`` and the organizations' names None.

    Args:
        db: a connection to the audit index, inside the caller's read transaction.
        who: the identities.
    """
    rows: list[HistoryRow] = []
    for (
        block,
        log_index,
        tx,
        granted,
        identity,
        org,
        p,
        c,
        expiry,
        version,
        agent,
        ts,
    ) in db.execute(
        "SELECT c.block, c.log_index, c.tx_hash, c.granted, c.identity, "
        "c.organization, c.purpose, c.category, c.expiry, c.policy_version, c.agent, "
        f"b.timestamp FROM consents c JOIN blocks b ON b.number = c.block "
        f"WHERE c.identity IN ({marks(who)})",
        who,
    ):
        rows.append(
            _row(
                GRANT if granted else WITHDRAW,
                (block, log_index, tx, ts),
                org,
                identity,
                purpose=name_of(bytes(p)),
                category=name_of(bytes(c)),
                expiry=expiry_or_none(expiry) if granted else None,
                policy_version=int(version) if granted else None,
                agent=Address(checksum(agent)),
            )
        )
    for block, log_index, tx, identity, org, p, c, ref, version, ts in db.execute(
        "SELECT u.block, u.log_index, u.tx_hash, u.identity, u.organization, u.purpose, "
        "u.category, u.data_ref, u.policy_version, b.timestamp FROM uses u "
        f"JOIN blocks b ON b.number = u.block WHERE u.identity IN ({marks(who)})",
        who,
    ):
        rows.append(
            _row(
                USE,
                (block, log_index, tx, ts),
                org,
                identity,
                purpose=name_of(bytes(p)),
                category=name_of(bytes(c)),
                data_ref="0x" + bytes(ref).hex(),
                policy_version=int(version),
            )
        )
    rows += [_event_row(*row) for row in identity_events(db, who, HISTORY_EVENTS)]
    rows.sort(key=lambda row: (row.block, row.log_index))
    return rows


def _row(
    action: str, at: tuple[int, int, bytes, int], org: str, identity: str, **facts: Any
) -> HistoryRow:
    """A history row of ``action`` at ``at`` (block, log index, transaction hash, block
    time), between ``org`` and ``identity`` (``0x`` addresses, any case), with ``facts`` (the
    action's other :class:`HistoryRow` fields)."""
    block, log_index, tx, ts = at
    return HistoryRow(
        timestamp=int(ts),
        block=block,
        log_index=log_index,
        tx_hash="0x" + bytes(tx).hex(),
        action=action,
        organization=Address(checksum(org)),
        identity=Address(checksum(identity)),
        identity_for=None,
        **facts,
    )


def _event_row(
    block: int, log_index: int, tx: bytes, event: str, args: dict[str, Any], ts: int
) -> HistoryRow:
    """The history row of a disclosure, disclosure-consent or erasure event (its arguments as
    the index keeps them: addresses and bytes32 as ``0x`` text)."""
    action = HISTORY_EVENTS[event]
    erasure = action in (ERASURE_REQUEST, ERASURE_CONFIRM)
    version = args.get("policyVersion")
    evidence = args.get("evidenceHash")
    return _row(
        action,
        (block, log_index, tx, ts),
        str(args["organization" if erasure else "discloser"]),
        str(args["identity"]),
        purpose="" if erasure else name_of(bytes.fromhex(str(args["purpose"])[2:])),
        category="" if erasure else name_of(bytes.fromhex(str(args["category"])[2:])),
        expiry=expiry_or_none(int(args["expiry"])) if action == DISCLOSURE_GRANT else None,
        data_ref=str(args["dataRef"]).lower() if action == DISCLOSE else None,
        recipient=None if erasure else Address(checksum(str(args["recipient"]))),
        policy_version=None if version is None else int(version),
        due_at=int(args["dueAt"]) if action == ERASURE_REQUEST else None,
        evidence_hash=None if evidence is None else str(evidence).lower(),
        agent=Address(checksum(str(args["agent"]))) if "agent" in args else None,
    )


__all__ = ["HISTORY_EVENTS", "history_rows"]
