"""Who used my data: the history of a person's identities, as a table and as CSV or JSON.

Every grant, withdrawal, use, onward disclosure, disclosure-consent change and erasure
request or confirmation of the identities the browser names, read from the portal's audit
index (:meth:`SubjectReader.history <collective.audit.subjects.SubjectReader.history>`: the
rows of :func:`collective.client.subject_history.identity_history`, the same report as
``collective subject history``, without a node call), in chain order, each with its action
and terms in plain words.
:func:`as_csv` writes the same rows for a download (RFC 4180, a header line).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from collective.portal.consents import words

if TYPE_CHECKING:
    from collective.audit.subjects import SubjectReader
    from collective.client.subject_records import HistoryRow

ACTION_WORDS = {
    "grant": "you gave consent",
    "withdraw": "you took consent back",
    "use": "used your data",
    "disclose": "passed your data on",
    "disclosure-grant": "you let it pass your data on",
    "disclosure-withdraw": "you stopped it passing your data on",
    "erasure-request": "you asked it to erase your data",
    "erasure-confirm": "confirmed it erased your data",
}
"""Each history action in plain words (the organization is the subject of the sentence)."""

COLUMNS = (
    "time",
    "action",
    "actionWords",
    "organization",
    "purpose",
    "purposeWords",
    "category",
    "categoryWords",
    "recipient",
    "policyVersion",
    "dataRef",
    "identity",
    "block",
    "logIndex",
    "txHash",
)
"""The fields of a row, in the CSV's column order."""


def row_json(row: HistoryRow) -> dict[str, Any]:
    """One history row for the page and the downloads (keys: :data:`COLUMNS`; ``time`` in
    unix seconds; absent values None)."""
    return {
        "time": row.timestamp,
        "action": row.action,
        "actionWords": ACTION_WORDS.get(row.action, row.action),
        "organization": row.organization,
        "purpose": row.purpose or None,
        "purposeWords": words(row.purpose) if row.purpose else None,
        "category": row.category or None,
        "categoryWords": words(row.category) if row.category else None,
        "recipient": row.recipient,
        "policyVersion": row.policy_version,
        "dataRef": row.data_ref,
        "identity": row.identity,
        "block": row.block,
        "logIndex": row.log_index,
        "txHash": row.tx_hash,
    }


def history(reader: SubjectReader, identities: list[str]) -> list[dict[str, Any]]:
    """The identities' history in chain order (:func:`row_json` rows), as of the latest
    indexed block.

    Args:
        reader: a reader of the portal's audit index.
        identities: checksummed identity addresses
            (:func:`~collective.portal.consents.parse_identities`).

    Raises:
        AuditError: nothing is indexed yet.
    """
    return [row_json(row) for row in reader.history(identities)]


def as_csv(rows: list[dict[str, Any]]) -> str:
    """``rows`` as CSV text: a header of :data:`COLUMNS`, then one line per row (empty
    cells for None)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row[key] is None else row[key] for key in COLUMNS})
    return out.getvalue()


__all__ = ["ACTION_WORDS", "COLUMNS", "as_csv", "history", "row_json"]
