"""The onward disclosures of a report as text: the CSV rows and the table sections that
:mod:`collective.audit.render` adds to a report's own (disclosures, and the
disclosure-consent timeline)."""

from __future__ import annotations

from typing import Any

from collective.audit.model import Report
from collective.audit.render import short, when

DISCLOSURE_COLUMNS = [
    "time", "identity", "discloser", "recipient", "purpose", "category", "policy", "consent",
    "tx:log",
]  # fmt: skip
DISCLOSURE_CONSENT_COLUMNS = [
    "time", "action", "identity", "discloser", "recipient", "purpose", "category", "policy",
    "expiry", "agent",
]  # fmt: skip


def disclosure_csv_rows(report: Report) -> list[dict[str, Any]]:
    """The CSV rows (:data:`collective.audit.render.CSV_COLUMNS`) of the disclosures
    (``record`` ``disclose``, ``organization`` the discloser) and the disclosure-consent
    timeline (``disclosure-grant``, ``disclosure-withdraw``)."""
    rows: list[dict[str, Any]] = []
    for d in report.disclosures:
        c = d.consent
        rows.append(
            {
                "record": "disclose",
                "time": when(d.timestamp),
                "block": d.block,
                "tx_hash": d.tx_hash,
                "log_index": d.log_index,
                "identity": d.identity,
                "organization": d.discloser,
                "recipient": d.recipient,
                "purpose": d.purpose,
                "category": d.category,
                "policy_version": d.policy_version,
                "policy_hash": d.policy_hash,
                "data_ref": d.data_ref,
                "consent_block": c.block if c else None,
                "consent_tx": c.tx_hash if c else None,
                "consent_log_index": c.log_index if c else None,
                "expiry": c.expiry if c else None,
                "agent": c.agent if c else None,
            }
        )
    for e in report.disclosure_consents:
        rows.append(
            {
                "record": f"disclosure-{e.action}",
                "time": when(e.timestamp),
                "block": e.block,
                "tx_hash": e.tx_hash,
                "log_index": e.log_index,
                "identity": e.identity,
                "organization": e.discloser,
                "recipient": e.recipient,
                "purpose": e.purpose,
                "category": e.category,
                "policy_version": e.policy_version,
                "expiry": e.expiry,
                "agent": e.agent,
                "detail": None if e.was_active else "nothing active: pending signatures voided",
            }
        )
    return rows


def disclosure_sections(report: Report, scope: str) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The disclosures and disclosure-consent sections as (title, columns, rows); ``scope`` is
    the title's tail (``" of 0x..."``), except in an organization's report, whose
    disclosures are those it made or received, and the title says so."""
    if report.scope == "organization":
        scope = f" made or received by {report.target}"
    return [
        (
            f"disclosures{scope}",
            DISCLOSURE_COLUMNS,
            [
                [
                    when(d.timestamp),
                    d.identity,
                    d.discloser,
                    d.recipient,
                    d.purpose,
                    d.category,
                    f"v{d.policy_version} {short(d.policy_hash)}",
                    f"block {d.consent.block} log {d.consent.log_index}" if d.consent else "NONE",
                    f"{d.tx_hash}:{d.log_index}",
                ]
                for d in report.disclosures
            ],
        ),
        (
            "disclosure consents",
            DISCLOSURE_CONSENT_COLUMNS,
            [
                [
                    when(e.timestamp),
                    e.action if e.was_active else f"{e.action} (nothing active)",
                    e.identity,
                    e.discloser,
                    e.recipient,
                    e.purpose,
                    e.category,
                    "-" if e.policy_version is None else f"v{e.policy_version}",
                    ("never" if e.action == "grant" else "-") if e.expiry is None
                    else when(e.expiry),
                    e.agent,
                ]
                for e in report.disclosure_consents
            ],
        ),
    ]  # fmt: skip


__all__ = [
    "DISCLOSURE_COLUMNS",
    "DISCLOSURE_CONSENT_COLUMNS",
    "disclosure_csv_rows",
    "disclosure_sections",
]
