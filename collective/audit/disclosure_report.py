"""The onward disclosures of a report: each ``DataDisclosed`` with the disclosure consent it
relied on and the recipient's policy, and the disclosure-consent timeline (grants and
withdrawals), read from the audit index's ``events`` table.

A subject's report holds the disclosures of its data; an organization's those it made or
received; the whole record's all of them.
"""

from __future__ import annotations

import json
from typing import Any

from collective.audit.model import ConsentRef, DisclosureConsentEntry, DisclosureEntry
from collective.audit.store import AuditIndex
from collective.chain.codec import checksum
from collective.client.records import expiry_or_none
from collective.ledger.vocab import name_of
from collective.types import Address, TxHash

_EVENTS = (
    "SELECT e.block, e.log_index, e.tx_hash, e.event, e.args, b.timestamp FROM events e "
    "LEFT JOIN blocks b ON b.number = e.block WHERE e.event IN "
    "('DisclosureConsentGranted', 'DisclosureConsentWithdrawn', 'DataDisclosed') {scope} "
    "ORDER BY e.block, e.log_index"
)
_SCOPES = {
    "subject": "AND lower(json_extract(e.args, '$.identity')) = :target",
    "organization": "AND (lower(json_extract(e.args, '$.discloser')) = :target "
    "OR lower(json_extract(e.args, '$.recipient')) = :target)",
}
Key = tuple[str, str, str, str, str]  # identity, discloser, recipient, purpose, category (lower)


def _address(value: Any) -> Address:
    return Address(checksum(str(value)))


def _key(args: dict[str, Any]) -> Key:
    return (
        str(args["identity"]).lower(),
        str(args["discloser"]).lower(),
        str(args["recipient"]).lower(),
        str(args["purpose"]).lower(),
        str(args["category"]).lower(),
    )


def _term(value: Any) -> str:
    return name_of(bytes.fromhex(str(value)[2:]))


def disclosure_records(
    index: AuditIndex, scope: str, target: str | None
) -> tuple[list[DisclosureEntry], list[DisclosureConsentEntry]]:
    """The disclosures and the disclosure-consent timeline in ``scope``, in chain order.

    Args:
        index: an open audit index.
        scope: ``"subject"`` (``target`` is the identity), ``"organization"`` (``target``
            disclosed or received) or ``"all"``.
        target: a lowercase ``0x`` address, or None for ``"all"``.

    Returns:
        (:class:`~collective.audit.model.DisclosureEntry` s, each with the grant it relied
        on, computed over the consent events in the same scope;
        :class:`~collective.audit.model.DisclosureConsentEntry` s).
    """
    query = _EVENTS.format(scope=_SCOPES.get(scope, ""))
    rows = index.db.execute(query, {"target": target} if scope in _SCOPES else {})
    policies: dict[tuple[str, int], tuple[str, str]] = {}
    relied: dict[Key, ConsentRef | None] = {}
    disclosures: list[DisclosureEntry] = []
    timeline: list[DisclosureConsentEntry] = []
    for block, log_index, tx_hash, event, text, ts in rows:
        args: dict[str, Any] = json.loads(text)
        where = (int(block), TxHash("0x" + bytes(tx_hash).hex()), int(log_index), int(ts or 0))
        identity, discloser, recipient = (
            _address(args[name]) for name in ("identity", "discloser", "recipient")
        )
        purpose, category = _term(args["purpose"]), _term(args["category"])
        if event == "DataDisclosed":
            version = int(args["policyVersion"])
            policy = _policy(index, policies, str(args["recipient"]).lower(), version)
            disclosures.append(
                DisclosureEntry(
                    *where,
                    identity,
                    discloser,
                    recipient,
                    purpose,
                    category,
                    data_ref=str(args["dataRef"]).lower(),
                    policy_version=version,
                    policy_hash=policy[0] if policy else None,
                    policy_uri=policy[1] if policy else None,
                    consent=relied.get(_key(args)),
                )
            )
            continue
        grant = event == "DisclosureConsentGranted"
        expiry = expiry_or_none(int(args["expiry"])) if grant else None
        version = int(args["policyVersion"]) if grant else 0
        agent = _address(args["agent"])
        timeline.append(
            DisclosureConsentEntry(
                *where,
                "grant" if grant else "withdraw",
                identity,
                discloser,
                recipient,
                purpose,
                category,
                expiry=expiry,
                policy_version=version if grant else None,
                was_active=grant or bool(args["wasActive"]),
                agent=agent,
            )
        )
        relied[_key(args)] = ConsentRef(*where, expiry, version, agent) if grant else None
    return disclosures, timeline


def _policy(
    index: AuditIndex, cache: dict[tuple[str, int], tuple[str, str]], org: str, version: int
) -> tuple[str, str] | None:
    """``org``'s policy ``version`` as (content hash ``0x`` hex, URI), or None if unpublished."""
    if (org, version) not in cache:
        row = index.db.execute(
            "SELECT content_hash, uri FROM policies WHERE organization = ? AND version = ?",
            (org, version),
        ).fetchone()
        if row is None:
            return None
        cache[(org, version)] = ("0x" + bytes(row[0]).hex(), str(row[1]))
    return cache[(org, version)]


__all__ = ["disclosure_records"]
