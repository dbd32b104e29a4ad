"""The replay's input read out of the audit index: one indexed query per table, as
:mod:`collective.audit.replay` records, merged into chain order.

The bulk tables (``uses``, ``consents``) map straight onto :class:`DataUse` and
:class:`ConsentChange`; the rest come from the generic ``events`` table (arguments as JSON,
addresses lowercased like the other tables, bytes32 codes as ``0x`` hex).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from typing import Any

from collective.audit.replay import (
    AccountChange,
    BoardExecution,
    ConsentChange,
    DataUse,
    DelegateChange,
    Disclosure,
    DisclosureConsentChange,
    ErasureConfirmation,
    ErasureRequest,
    OwnerChange,
    PolicyChange,
    ReplayEvent,
    SignaturesCancelled,
    ValidatorChange,
)
from collective.audit.store import AuditIndex

_USES = (
    "SELECT block, log_index, tx_hash, identity, organization, purpose, category, "
    "policy_version FROM uses ORDER BY block, log_index"
)
_CONSENTS = (
    "SELECT block, log_index, tx_hash, granted, identity, organization, purpose, category, "
    "expiry, policy_version, agent FROM consents ORDER BY block, log_index"
)
_ACCOUNTS = (
    "SELECT a.block, a.log_index, e.tx_hash, a.event, a.account, a.actor FROM accounts a "
    "JOIN events e USING (block, log_index) ORDER BY a.block, a.log_index"
)
_POLICIES = (
    "SELECT p.block, p.log_index, e.tx_hash, p.organization, p.version, p.purposes "
    "FROM policies p JOIN events e USING (block, log_index) ORDER BY p.block, p.log_index"
)
_REGISTRY = (
    "SELECT block, log_index, tx_hash, event, args FROM events WHERE event IN "
    "('DIDOwnerChanged', 'DIDDelegateChanged', 'SignaturesCancelled') "
    "ORDER BY block, log_index"
)
_ERASURES = (
    "SELECT block, log_index, tx_hash, event, args FROM events WHERE event IN "
    "('ErasureRequested', 'ErasureConfirmed') ORDER BY block, log_index"
)
_DISCLOSURES = (
    "SELECT block, log_index, tx_hash, event, args FROM events WHERE event IN "
    "('DisclosureConsentGranted', 'DisclosureConsentWithdrawn', 'DataDisclosed') "
    "ORDER BY block, log_index"
)
_VALIDATORS = (
    "SELECT block, log_index, tx_hash, event, args FROM events WHERE event IN "
    "('ValidatorPowerChanged', 'ProposalExecuted') ORDER BY block, log_index"
)


def _policies(rows: Iterable[tuple[Any, ...]]) -> Iterator[PolicyChange]:
    for block, log_index, tx, org, version, purposes in rows:
        codes = frozenset(bytes.fromhex(p[2:]) for p in json.loads(purposes))
        yield PolicyChange(block, log_index, tx, org, int(version), codes)


def _registry(rows: Iterable[tuple[Any, ...]]) -> Iterator[ReplayEvent]:
    """The registry's owner and delegate changes and the ledger's signature cancellations,
    from the generic events table (args as JSON, addresses lowercased like the other tables)."""
    for block, log_index, tx, event, text in rows:
        args = json.loads(text)
        identity = str(args["identity"]).lower()
        if event == "DIDOwnerChanged":
            yield OwnerChange(block, log_index, tx, identity, str(args["owner"]).lower())
        elif event == "DIDDelegateChanged":
            raw = bytes.fromhex(str(args["delegateType"])[2:])
            yield DelegateChange(
                block,
                log_index,
                tx,
                identity,
                raw.rstrip(b"\0").decode("utf-8", errors="replace"),
                str(args["delegate"]).lower(),
                int(args["validTo"]),
            )
        else:
            yield SignaturesCancelled(block, log_index, tx, identity, str(args["agent"]).lower())


def _validators(rows: Iterable[tuple[Any, ...]]) -> Iterator[ReplayEvent]:
    """The validator set's changes and the board's executions, from the events table."""
    for block, log_index, tx, event, text in rows:
        args = json.loads(text)
        if event == "ValidatorPowerChanged":
            org, key = str(args["organization"]).lower(), str(args["pubKey"])
            yield ValidatorChange(block, log_index, tx, org, key, int(args["power"]))
        else:
            target = str(args["target"]).lower()
            yield BoardExecution(block, log_index, tx, int(args["action"]), target)


def _erasures(rows: Iterable[tuple[Any, ...]]) -> Iterator[ReplayEvent]:
    """Erasure requests and confirmations (ErasureRegistry), from the events table."""
    for block, log_index, tx, event, text in rows:
        args = json.loads(text)
        identity, org = str(args["identity"]).lower(), str(args["organization"]).lower()
        if event == "ErasureRequested":
            agent = str(args["agent"]).lower()
            yield ErasureRequest(block, log_index, tx, identity, org, int(args["dueAt"]), agent)
        else:
            evidence = str(args["evidenceHash"])
            yield ErasureConfirmation(
                block, log_index, tx, identity, org, evidence, bool(args["late"])
            )


def _code(value: object) -> bytes:
    """A bytes32 argument stored as ``0x`` hex in the events table."""
    return bytes.fromhex(str(value)[2:])


def _disclosures(rows: Iterable[tuple[Any, ...]]) -> Iterator[ReplayEvent]:
    """Disclosure consents and disclosures (DisclosureLog), from the events table."""
    for block, log_index, tx, event, text in rows:
        args = json.loads(text)
        parties = (
            str(args["identity"]).lower(),
            str(args["discloser"]).lower(),
            str(args["recipient"]).lower(),
            _code(args["purpose"]),
            _code(args["category"]),
        )
        if event == "DataDisclosed":
            ref, version = _code(args["dataRef"]), int(args["policyVersion"])
            yield Disclosure(block, log_index, tx, *parties, ref, version)
            continue
        granted = event == "DisclosureConsentGranted"
        yield DisclosureConsentChange(
            block,
            log_index,
            tx,
            granted,
            *parties,
            int(args["expiry"]) if granted else None,
            int(args["policyVersion"]) if granted else None,
            granted or bool(args["wasActive"]),
            str(args["agent"]).lower(),
        )


def replay_events(index: AuditIndex) -> Iterator[ReplayEvent]:
    """Every event the replay needs, as :mod:`collective.audit.replay` records, in chain
    order (one indexed query per table, merged).

    Args:
        index: an open audit index.

    Returns:
        An iterator of replay records (lazily read).
    """
    db = index.db
    return heapq.merge(
        map(DataUse._make, db.execute(_USES)),
        map(ConsentChange._make, db.execute(_CONSENTS)),
        map(AccountChange._make, db.execute(_ACCOUNTS)),
        _policies(db.execute(_POLICIES)),
        _registry(db.execute(_REGISTRY)),
        _validators(db.execute(_VALIDATORS)),
        _erasures(db.execute(_ERASURES)),
        _disclosures(db.execute(_DISCLOSURES)),
    )


__all__ = ["replay_events"]
