"""A subject's own "who used my data" report over all of their pairwise identities.

Each identity's grants, withdrawals (:meth:`ConsentClient.timeline`) and recorded uses
(:meth:`UsageClient.history`), its onward disclosures (``DataDisclosed``: who passed what to
whom, when and why, under which of the recipient's policy versions) and disclosure-consent
grants and withdrawals, and its erasure requests and their confirmations (``ErasureRequested``,
``ErasureConfirmed``) are read from the chain's events, filtered on the identity alone (so an
event by any organization shows, not only by the one the identity was made for), and merged in
chain order. Only the subject, who holds the mnemonic, can gather them: on chain the
identities are unrelated addresses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from collective.chain.codec import DecodedLog, checksum
from collective.client.records import expiry_or_none
from collective.client.subject_records import (
    DISCLOSE,
    DISCLOSURE_GRANT,
    DISCLOSURE_WITHDRAW,
    ERASURE_CONFIRM,
    ERASURE_REQUEST,
    USE,
    HistoryRow,
)
from collective.ledger.vocab import name_of
from collective.types import Address

if TYPE_CHECKING:
    from collective.client import Collective
    from collective.client.subject_records import Identity

# event -> the history's action for it
_EVENTS = {
    "DataDisclosed": DISCLOSE,
    "DisclosureConsentGranted": DISCLOSURE_GRANT,
    "DisclosureConsentWithdrawn": DISCLOSURE_WITHDRAW,
    "ErasureRequested": ERASURE_REQUEST,
    "ErasureConfirmed": ERASURE_CONFIRM,
}


def history(
    client: Collective,
    identities: Sequence[Identity],
    names: Mapping[str, str] | None = None,
) -> list[HistoryRow]:
    """Every grant, withdrawal, use, disclosure, disclosure-consent change and erasure request
    or confirmation of the given identities, merged in chain order.

    Args:
        client: any client of the deployment (read-only is enough).
        identities: the subject's pairwise identities.
        names: organization address (any case) -> a name to show for it (e.g. the keystore's
            handles); an address missing here keeps ``organization_name`` /
            ``recipient_name`` None.

    Returns:
        The :class:`~collective.client.subject_records.HistoryRow` s, ordered by (block, log
        index).

    Raises:
        ChainError: the node could not be reached.
    """
    rows: list[HistoryRow] = []
    for me in identities:
        rows += identity_history(client, me.address, me.organization, names)
    rows.sort(key=lambda row: (row.block, row.log_index))
    return rows


def identity_history(
    client: Collective,
    identity: str,
    identity_for: str | None = None,
    names: Mapping[str, str] | None = None,
) -> list[HistoryRow]:
    """The same report for one identity, pairwise or not (a subject with one address for
    every organization, as the demo's patient).

    Args:
        client: any client of the deployment (read-only is enough).
        identity: the identity's address (``0x`` + 40 hex).
        identity_for: the organization a pairwise identity was made for (None: not pairwise).
        names: as :func:`history`.

    Returns:
        The :class:`~collective.client.subject_records.HistoryRow` s, ordered by (block, log
        index).

    Raises:
        InvalidInputError: ``identity`` is not an address.
        ChainError: the node could not be reached.
    """
    me = client.session.address(identity, "identity")
    made_for = None if identity_for is None else Address(checksum(identity_for))
    known = {address.lower(): name for address, name in (names or {}).items()}
    rows: list[HistoryRow] = []
    for event in client.consent.timeline(identity=me):
        rows.append(
            HistoryRow(
                timestamp=event.timestamp,
                block=event.block,
                log_index=event.log_index,
                tx_hash=str(event.tx_hash),
                action=event.action,
                organization=Address(event.organization),
                identity=me,
                identity_for=made_for,
                purpose=event.purpose,
                category=event.category,
                expiry=event.expiry,
                policy_version=event.policy_version,
                organization_name=known.get(event.organization.lower()),
                agent=Address(event.agent),
            )
        )
    for use in client.usage.history(identity=me):
        rows.append(
            HistoryRow(
                timestamp=use.timestamp,
                block=use.where.block,
                log_index=use.where.log_index,
                tx_hash=str(use.where.tx_hash),
                action=USE,
                organization=Address(use.organization),
                identity=me,
                identity_for=made_for,
                purpose=use.purpose,
                category=use.category,
                data_ref=use.data_ref,
                policy_version=use.policy_version,
                organization_name=known.get(use.organization.lower()),
            )
        )
    session = client.session
    ledger = session.ledger.events
    logs: list[DecodedLog] = []
    for event_name in _EVENTS:
        logs += session.events(getattr(ledger, event_name)(), {"identity": me})
    times = session.block_times(log.block_number for log in logs)
    rows += [_row(log, times[log.block_number], me, made_for, known) for log in logs]
    rows.sort(key=lambda row: (row.block, row.log_index))
    return rows


def _row(
    log: DecodedLog,
    timestamp: int,
    me: Address,
    made_for: Address | None,
    known: Mapping[str, str],
) -> HistoryRow:
    """One history row of a disclosure, disclosure-consent or erasure event."""
    args: Mapping[str, Any] = log.args
    action = _EVENTS[log.event]
    erasure = action in (ERASURE_REQUEST, ERASURE_CONFIRM)
    org = Address(checksum(str(args["organization" if erasure else "discloser"])))
    recipient = None if erasure else Address(checksum(str(args["recipient"])))
    version = args.get("policyVersion")
    evidence = args.get("evidenceHash")
    return HistoryRow(
        timestamp=timestamp,
        block=log.block_number,
        log_index=log.log_index,
        tx_hash=str(log.tx_hash),
        action=action,
        organization=org,
        identity=me,
        identity_for=made_for,
        purpose="" if erasure else name_of(bytes(args["purpose"])),
        category="" if erasure else name_of(bytes(args["category"])),
        expiry=expiry_or_none(int(args["expiry"])) if action == DISCLOSURE_GRANT else None,
        data_ref="0x" + bytes(args["dataRef"]).hex() if action == DISCLOSE else None,
        recipient=recipient,
        policy_version=None if version is None else int(version),
        due_at=int(args["dueAt"]) if action == ERASURE_REQUEST else None,
        evidence_hash=None if evidence is None else "0x" + bytes(evidence).hex(),
        organization_name=known.get(org.lower()),
        recipient_name=None if recipient is None else known.get(recipient.lower()),
        agent=Address(checksum(str(args["agent"]))) if "agent" in args else None,
    )


__all__ = ["HistoryRow", "history", "identity_history"]
