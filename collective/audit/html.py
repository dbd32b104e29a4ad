"""A report as one self-contained HTML page: summary, an inline-SVG timeline, and tables.

The timeline has one lane per consent (organization, purpose, category): a green bar while
the consent was in force (grant to withdrawal, expiry or the end of the index), a dot per
use (red when the board flagged it or no consent stood behind it), and a dashed line per
board or admission action. Nothing is loaded from the network; a few lines of inline script
count what was drawn into the page's ``data-*`` attributes (what the CI check reads after
rendering the page in headless Chromium).
"""

from __future__ import annotations

from html import escape
from typing import Any

from collective.audit.model import Report
from collective.audit.render import report_tables, when

MAX_DRAWN = 2_000  # uses drawn on the timeline; the tables hold up to MAX_ROWS
MAX_ROWS = 5_000
WIDTH = 960
LEFT = 320
LANE = 26
TOP = 34

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1f24}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.meta{color:#57606a} dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}
dt{font-weight:600} table{border-collapse:collapse;font-size:12px;width:100%}
th,td{border-bottom:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td:first-child{white-space:nowrap}
td{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;
word-break:break-all} .bad{color:#cf222e;font-weight:600} .note{color:#57606a}
svg text{font:11px system-ui,sans-serif;fill:#1b1f24} .lane{fill:#f6f8fa}
.consent{fill:#2da44e;opacity:.55} .use{fill:#0969da} .use.flagged,.use.uncovered{fill:#cf222e}
.board{stroke:#8250df;stroke-dasharray:4 3} .withdraw{stroke:#cf222e;stroke-width:2}
"""

SCRIPT = """
(function(){
  var svg = document.getElementById('timeline');
  var b = document.body;
  b.dataset.uses = svg ? svg.querySelectorAll('circle.use').length : 0;
  b.dataset.flagged = svg ? svg.querySelectorAll('circle.use.flagged').length : 0;
  b.dataset.lanes = svg ? svg.querySelectorAll('rect.lane').length : 0;
  b.dataset.rows = document.querySelectorAll('table tbody tr').length;
  b.dataset.rendered = 'yes';
  var out = document.getElementById('drawn');
  if (out) out.textContent = b.dataset.uses + ' uses drawn on ' + b.dataset.lanes + ' lanes';
})();
"""


def _term(name: str) -> str:
    """A short label for a DPV name or a raw 0x code."""
    if name.startswith("0x"):
        return name[:8] + "…"
    short = name.split(":")[-1].split("/")[-1]
    return short if len(short) <= 16 else short[:15] + "…"


def _timeline(report: Report) -> str:
    uses = report.uses[:MAX_DRAWN]
    times = [u.timestamp for u in uses] + [e.timestamp for e in report.consents]
    times += [b.timestamp for b in report.board]
    times = [t for t in times if t]
    if not times:
        return '<p class="note">nothing to draw</p>'
    start, end = min(times), max(times)
    span = max(1, end - start)
    start -= span // 50 + 1
    end += span // 50 + 1
    span = end - start
    plot = WIDTH - LEFT - 20

    def x(t: int) -> float:
        return LEFT + plot * (min(max(t, start), end) - start) / span

    lanes: dict[tuple[str, str, str], int] = {}
    for e in report.consents:
        lanes.setdefault((e.organization, e.purpose, e.category), len(lanes))
    for u in uses:
        lanes.setdefault((u.organization, u.purpose, u.category), len(lanes))
    height = TOP + LANE * len(lanes) + 30
    parts: list[str] = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="consents and uses over time">'
    ]
    for (org, purpose, category), lane in lanes.items():
        y = TOP + lane * LANE
        label = f"{org[:6]}…{org[-4:]} {_term(purpose)} / {_term(category)}"
        parts.append(f'<rect class="lane" x="{LEFT}" y="{y}" width="{plot}" height="{LANE - 4}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 15}" text-anchor="end">{escape(label)}'
            f"<title>{escape(org)} {escape(purpose)} {escape(category)}</title></text>"
        )
    # Consent bars: from each grant to the next withdrawal/grant of the key, its expiry, or the end.
    open_grants: dict[tuple[str, str, str], tuple[int, int]] = {}

    def close(key: tuple[str, str, str], until: int) -> None:
        found = open_grants.pop(key, None)
        if found is None:
            return
        since, expiry = found
        stop = min(until, expiry) if expiry else until
        y = TOP + lanes[key] * LANE + 3
        parts.append(
            f'<rect class="consent" x="{x(since):.1f}" y="{y}" '
            f'width="{max(1.0, x(stop) - x(since)):.1f}" height="{LANE - 10}">'
            f"<title>consent from {when(since)} to {when(stop)}</title></rect>"
        )

    for e in report.consents:
        key: tuple[str, str, str] = (e.organization, e.purpose, e.category)
        close(key, e.timestamp)
        if e.action == "grant":
            open_grants[key] = (e.timestamp, e.expiry or 0)
        else:
            y = TOP + lanes[key] * LANE
            parts.append(
                f'<line class="withdraw" x1="{x(e.timestamp):.1f}" x2="{x(e.timestamp):.1f}" '
                f'y1="{y}" y2="{y + LANE - 4}"><title>withdrawn {when(e.timestamp)}</title></line>'
            )
    for key in list(open_grants):
        close(key, end)
    for b in report.board:
        parts.append(
            f'<line class="board" x1="{x(b.timestamp):.1f}" x2="{x(b.timestamp):.1f}" '
            f'y1="{TOP - 8}" y2="{height - 24}"><title>{escape(b.event)} '
            f"{escape(str(b.subject))} {when(b.timestamp)}</title></line>"
        )
    for u in uses:
        cy = TOP + lanes[(u.organization, u.purpose, u.category)] * LANE + LANE / 2 - 2
        kind = "use flagged" if u.flagged else ("use uncovered" if u.consent is None else "use")
        parts.append(
            f'<circle class="{kind}" cx="{x(u.timestamp):.1f}" cy="{cy:.1f}" r="4">'
            f"<title>{when(u.timestamp)} {escape(u.organization)} {escape(u.purpose)} "
            f"(policy v{u.policy_version})</title></circle>"
        )
    for i in range(5):
        t = start + span * i // 4
        anchor = ("start", "middle", "middle", "middle", "end")[i]
        parts.append(
            f'<text x="{x(t):.1f}" y="{height - 8}" text-anchor="{anchor}">'
            f"{escape(when(t)[:16])}</text>"
        )
    parts.append(f'<text x="{LEFT}" y="14">consents (green), uses (dots), board (dashed)</text>')
    parts.append("</svg>")
    note = ""
    if len(report.uses) > MAX_DRAWN:
        note = f'<p class="note">the first {MAX_DRAWN:,} of {len(report.uses):,} uses are drawn</p>'
    return "".join(parts) + note


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows[:MAX_ROWS]:
        cells = []
        for cell in row:
            text = "-" if cell is None else str(cell)
            bad = text in ("NONE", "FLAGGED")
            cells.append(
                f'<td class="bad">{escape(text)}</td>' if bad else f"<td>{escape(text)}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = ""
    if len(rows) > MAX_ROWS:
        note = f'<p class="note">{MAX_ROWS:,} of {len(rows):,} rows shown; use --format csv</p>'
    if not rows:
        return f'<h2>{escape(title)}</h2><p class="note">none</p>'
    return (
        f"<h2>{escape(title)}</h2><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{note}"
    )


def to_html(report: Report) -> str:
    """The report as one self-contained HTML document (inline styles, SVG timeline and
    script; no external resources)."""
    scope = {"subject": "subject", "organization": "organization", "all": "the whole record"}
    heading = f"Audit report: {scope[report.scope]}"
    if report.target:
        heading += f" {report.target}"
    uncovered = sum(1 for u in report.uses if u.consent is None)
    flagged = sum(1 for u in report.uses if u.flagged)
    summary = [
        ("chain id", report.chain_id),
        ("indexed up to block", report.synced_to),
        ("data uses", len(report.uses)),
        ("uses without a consent", uncovered),
        ("uses flagged by the board", flagged),
        ("consent events", len(report.consents)),
        ("disclosures", len(report.disclosures)),
        ("disclosures without a consent", sum(1 for d in report.disclosures if d.consent is None)),
        ("disclosure-consent events", len(report.disclosure_consents)),
        ("board and admission events", len(report.board)),
    ]
    if report.scope == "all":
        summary.append(("look-alike logs ignored", len(report.foreign)))
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in summary)
    tables = "".join(_table(*section) for section in report_tables(report))
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{STYLE}</style></head>"
        f'<body data-scope="{escape(report.scope)}">'
        f"<h1>{escape(heading)}</h1>"
        '<p class="meta">Collective audit: every event read from the chain\'s logs, from the '
        "suite's own addresses only.</p>"
        f'<dl id="summary">{dl}</dl>'
        f'<h2>Timeline</h2><p class="note" id="drawn"></p>{_timeline(report)}'
        f"{tables}<script>{SCRIPT}</script></body></html>\n"
    )


__all__ = ["to_html"]
