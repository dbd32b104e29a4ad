"""What a consent transaction's logs say: the grants, withdrawals and skipped items of a
receipt, and timeline entries, decoded with the suite's :class:`~collective.chain.codec.Codec`
(events from the suite's own ledger only, never a look-alike)."""

from __future__ import annotations

from typing import Any

from web3.types import TxReceipt

from collective.chain.codec import DecodedLog, consent_id
from collective.chain.revert import error_table
from collective.client.base import Session
from collective.client.records import (
    ConsentEvent,
    Granted,
    Skipped,
    Withdrawn,
    expiry_or_none,
    log_position,
    tx_fields,
)
from collective.ledger.vocab import name_of
from collective.types import ConsentId, TxHash


def granted(session: Session, receipt: TxReceipt) -> list[Granted]:
    """The consents a transaction granted (events from the suite's ledger only).

    Args:
        session: the session whose suite emitted the logs.
        receipt: the transaction receipt (web3's ``TxReceipt`` shape).

    Returns:
        One :class:`Granted` per ``ConsentGranted`` log, in log order.
    """
    fields = tx_fields(receipt)
    out = []
    for event in session.decoded(session.ledger.events.ConsentGranted(), receipt):
        a = event["args"]
        out.append(
            Granted(
                **fields,
                consent_id=_consent_id(a),
                identity=a["identity"],
                organization=a["organization"],
                purpose=name_of(a["purpose"]),
                category=name_of(a["category"]),
                expiry=expiry_or_none(int(a["expiry"])),
                policy_version=int(a["policyVersion"]),
                agent=a["agent"],
                log_index=int(event["logIndex"]),
            )
        )
    return out


def withdrawn(session: Session, receipt: TxReceipt) -> list[Withdrawn]:
    """The consents a transaction withdrew, and those where it only cancelled pending
    signatures (``was_active`` False), in log order.

    Args:
        session: the session whose suite emitted the logs.
        receipt: the transaction receipt (web3's ``TxReceipt`` shape).
    """
    fields = tx_fields(receipt)
    events = session.decoded(session.ledger.events.ConsentWithdrawn(), receipt)
    events += session.decoded(session.ledger.events.SignaturesCancelled(), receipt)
    events.sort(key=lambda e: int(e["logIndex"]))
    return [
        Withdrawn(
            **fields,
            consent_id=_consent_id(e["args"]),
            identity=e["args"]["identity"],
            organization=e["args"]["organization"],
            purpose=name_of(e["args"]["purpose"]),
            category=name_of(e["args"]["category"]),
            agent=e["args"]["agent"],
            log_index=int(e["logIndex"]),
            was_active=e["event"] == "ConsentWithdrawn",
        )
        for e in events
    ]


def skipped(session: Session, receipt: TxReceipt) -> list[Skipped]:
    """The items of a relayed signed batch that the contract skipped, with the reason.

    Args:
        session: the session whose suite emitted the logs.
        receipt: the transaction receipt (web3's ``TxReceipt`` shape).

    Returns:
        One :class:`Skipped` per ``SignedRequestSkipped`` log: the item's index, its
        consent id and the contract error's name (or its selector when unknown).
    """
    table = error_table()
    out = []
    for e in session.decoded(session.ledger.events.SignedRequestSkipped(), receipt):
        selector = bytes(e["args"]["reason"])
        known = table.get(selector)
        out.append(
            Skipped(
                index=int(e["args"]["index"]),
                consent_id=ConsentId("0x" + bytes(e["args"]["consentId"]).hex()),
                reason=known.name if known else "0x" + selector.hex(),
            )
        )
    return out


def timeline_entry(event: DecodedLog, timestamp: int) -> ConsentEvent:
    """The :class:`ConsentEvent` of a decoded ``ConsentGranted``/``ConsentWithdrawn`` log
    emitted in a block of time ``timestamp`` (unix seconds)."""
    a = event.args
    granted = event.event == "ConsentGranted"
    where = log_position(event)
    return ConsentEvent(
        block=where.block,
        tx_hash=TxHash(where.tx_hash),
        log_index=where.log_index,
        timestamp=timestamp,
        action="grant" if granted else "withdraw",
        identity=a["identity"],
        organization=a["organization"],
        purpose=name_of(a["purpose"]),
        category=name_of(a["category"]),
        expiry=expiry_or_none(int(a["expiry"])) if granted else None,
        policy_version=int(a["policyVersion"]) if granted else None,
        agent=a["agent"],
    )


def _consent_id(args: Any) -> ConsentId:
    return ConsentId(
        consent_id(args["identity"], args["organization"], args["purpose"], args["category"])
    )


__all__ = ["granted", "skipped", "timeline_entry", "withdrawn"]
