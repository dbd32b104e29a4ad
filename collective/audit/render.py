"""Reports as text: a plain table, CSV, JSON, or one self-contained HTML page.

``render(report, "table" | "csv" | "json" | "html")``. The CSV is one table: one row per
use, grant, withdrawal, disclosure (``disclose``; ``organization`` is the discloser),
disclosure-consent grant or withdrawal, board action, flag and look-alike log, told apart by
``record``. The
HTML (:mod:`collective.audit.html`) needs no network: styles, the SVG timeline and a few lines
of script are inline.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from collective.audit.model import ConsentEvent, Report
from collective.chain.jsonints import jsonable
from collective.errors import InvalidInputError
from collective.types import NO_EXPIRY  # noqa: F401  (0.1 exported it from here)

FORMATS = ("table", "csv", "json", "html")


def when(timestamp: int | None) -> str:
    """A Unix time (seconds) as ISO 8601 UTC (``2026-01-31 12:00:00Z``); ``-`` for None or
    0, ``never`` for one past the calendar (the no-expiry sentinel)."""
    if not timestamp:
        return "-"
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "never" if timestamp >= 2**40 else str(timestamp)


def _expires(event: ConsentEvent) -> str:
    """A timeline entry's expiry column: ``never`` for a grant without one, ``-`` for a
    withdrawal."""
    if event.expiry is None:
        return "never" if event.action == "grant" else "-"
    return when(event.expiry)


def to_jsonable(value: Any) -> Any:
    """Dataclasses as dicts, tuples as lists, bytes as 0x hex, and integers by the rule of
    :mod:`collective.chain.jsonints`: a decimal string when JavaScript cannot hold it exactly."""
    if isinstance(value, int) and not isinstance(value, bool):
        return jsonable(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def to_json(report: Report) -> str:
    """``report`` as indented JSON (integers JavaScript cannot hold as decimal strings)."""
    return json.dumps(to_jsonable(report), indent=2, sort_keys=True)


CSV_COLUMNS = (
    "record",
    "time",
    "block",
    "tx_hash",
    "log_index",
    "identity",
    "organization",
    "purpose",
    "category",
    "policy_version",
    "policy_hash",
    "data_ref",
    "consent_block",
    "consent_tx",
    "consent_log_index",
    "expiry",
    "agent",
    "flagged",
    "detail",
    "recipient",
)


def csv_rows(report: Report) -> list[dict[str, Any]]:
    """The report as flat rows (CSV columns), in chain order."""
    from collective.audit.render_disclosures import disclosure_csv_rows

    rows: list[dict[str, Any]] = []
    for u in report.uses:
        c = u.consent
        rows.append(
            {
                "record": "use",
                "time": when(u.timestamp),
                "block": u.block,
                "tx_hash": u.tx_hash,
                "log_index": u.log_index,
                "identity": u.identity,
                "organization": u.organization,
                "purpose": u.purpose,
                "category": u.category,
                "policy_version": u.policy_version,
                "policy_hash": u.policy_hash,
                "data_ref": u.data_ref,
                "consent_block": c.block if c else None,
                "consent_tx": c.tx_hash if c else None,
                "consent_log_index": c.log_index if c else None,
                "expiry": c.expiry if c else None,
                "agent": c.agent if c else None,
                "flagged": "yes" if u.flagged else "no",
            }
        )
    for e in report.consents:
        rows.append(
            {
                "record": e.action,
                "time": when(e.timestamp),
                "block": e.block,
                "tx_hash": e.tx_hash,
                "log_index": e.log_index,
                "identity": e.identity,
                "organization": e.organization,
                "purpose": e.purpose,
                "category": e.category,
                "policy_version": e.policy_version,
                "expiry": e.expiry,
                "agent": e.agent,
            }
        )
    rows += disclosure_csv_rows(report)
    for b in report.board:
        rows.append(
            {
                "record": "board",
                "time": when(b.timestamp),
                "block": b.block,
                "tx_hash": b.tx_hash,
                "log_index": b.log_index,
                "organization": b.subject,
                "detail": f"{b.contract}.{b.event} "
                + " ".join(f"{k}={v}" for k, v in sorted(b.details.items())),
            }
        )
    for f in report.flags:
        rows.append(
            {
                "record": "flag",
                "time": when(f.timestamp),
                "block": f.block,
                "tx_hash": f.tx_hash,
                "log_index": f.log_index,
                "organization": f.organization,
                "detail": f"proposal {f.proposal_id} flagged use "
                + (f"{f.use.tx_hash}:{f.use.log_index}" if f.use else f.use_ref)
                + f" (reason {f.reason_hash})",
            }
        )
    for g in report.foreign:
        rows.append(
            {
                "record": "look-alike",
                "block": g.block,
                "tx_hash": g.tx_hash,
                "log_index": g.log_index,
                "detail": f"{g.event} from {g.address}, not a manifest address: ignored",
            }
        )
    rows.sort(key=lambda r: (r["block"], r["log_index"]))
    return rows


def to_csv(report: Report) -> str:
    """``report`` as one CSV table (:func:`csv_rows`, with a header row)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(report):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def short(text: str | None) -> str:
    if not text:
        return "-"
    return text if len(text) <= 14 else f"{text[:8]}…{text[-4:]}"


def text_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table: ``title``, a header of ``columns``, then ``rows``."""
    if not rows:
        return f"{title}: none\n"
    cells = [[("-" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(columns)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines) + "\n"


USE_COLUMNS = [
    "time", "identity", "organization", "purpose", "category", "policy", "consent", "tx:log",
    "flag",
]  # fmt: skip
CONSENT_COLUMNS = [
    "time", "action", "identity", "organization", "purpose", "category", "policy", "expiry",
    "agent",
]  # fmt: skip


def report_tables(report: Report) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The report's sections as (title, columns, rows), shared by the text and CLI tables."""
    from collective.audit.render_disclosures import disclosure_sections

    who = f" of {report.target}" if report.scope == "subject" else ""
    by = f" by {report.target}" if report.scope == "organization" else ""
    sections: list[tuple[str, list[str], list[list[Any]]]] = [
        (
            f"data uses{who}{by}",
            USE_COLUMNS,
            [
                [
                    when(u.timestamp),
                    u.identity,
                    u.organization,
                    u.purpose,
                    u.category,
                    f"v{u.policy_version} {short(u.policy_hash)}",
                    f"block {u.consent.block} log {u.consent.log_index}" if u.consent else "NONE",
                    f"{u.tx_hash}:{u.log_index}",
                    "FLAGGED" if u.flagged else "",
                ]
                for u in report.uses
            ],
        ),
        (
            "consent timeline",
            CONSENT_COLUMNS,
            [
                [
                    when(e.timestamp),
                    e.action,
                    e.identity,
                    e.organization,
                    e.purpose,
                    e.category,
                    "-" if e.policy_version is None else f"v{e.policy_version}",
                    _expires(e),
                    e.agent,
                ]
                for e in report.consents
            ],
        ),
        *disclosure_sections(report, f"{who}{by}"),
        (
            "board and admission",
            ["time", "event", "subject", "details", "tx:log"],
            [
                [
                    when(b.timestamp),
                    f"{b.contract}.{b.event}",
                    b.subject,
                    " ".join(f"{k}={v}" for k, v in sorted(b.details.items())),
                    f"{b.tx_hash}:{b.log_index}",
                ]
                for b in report.board
            ],
        ),
        (
            "flags",
            ["time", "organization", "proposal", "use", "reason"],
            [
                [
                    when(f.timestamp),
                    f.organization,
                    f.proposal_id,
                    f"{f.use.tx_hash}:{f.use.log_index}" if f.use else f.use_ref,
                    f.reason_hash,
                ]
                for f in report.flags
            ],
        ),
    ]  # fmt: skip
    if report.scope == "all":
        sections.append(
            (
                "look-alike logs (ignored)",
                ["block", "address", "event", "tx:log"],
                [
                    [g.block, g.address, g.event, f"{g.tx_hash}:{g.log_index}"]
                    for g in report.foreign
                ],
            )
        )
    return sections


def to_table(report: Report) -> str:
    """``report`` as plain text tables, one per section."""
    return "\n".join(text_table(*section) for section in report_tables(report))


def render(report: Report, fmt: str) -> str:
    """``report`` as ``fmt``: one of :data:`FORMATS` (``table``, ``csv``, ``json``,
    ``html``).

    Raises:
        InvalidInputError: an unknown format.
    """
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "table":
        return to_table(report)
    if fmt == "html":
        from collective.audit.html import to_html

        return to_html(report)
    raise InvalidInputError(f"unknown report format {fmt!r}", hint=f"choose {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "csv_rows",
    "render",
    "report_tables",
    "short",
    "text_table",
    "to_jsonable",
    "when",
]
