"""``report`` and ``history``: what the index says about a subject, an organization or all.

A subject's report holds every use of its data (who, when, purpose, category, the policy
version and its content hash, and the grant the use relied on), its consent timeline (grants
and withdrawals), the board and admission events about the organizations that used its data,
the board's flags on its uses, and every onward disclosure of its data with its
disclosure-consent timeline (:mod:`~collective.audit.disclosure_report`). ``history`` is the
uses alone, for scripts and the benchmark (one indexed query per table).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from collective.audit.disclosure_report import disclosure_records
from collective.audit.events import BOARD_ACTIONS
from collective.audit.model import BoardAction, ConsentRef, ForeignLog, Report, UseEntry
from collective.audit.store import AuditIndex, open_index
from collective.chain.codec import checksum
from collective.client.base import address_of
from collective.client.oversight import use_ref
from collective.client.records import ConsentEvent, Flag, expiry_or_none
from collective.did import DidNetworks, network_id
from collective.errors import InvalidInputError
from collective.ledger.vocab import name_of
from collective.types import Address, LogPosition, TxHash


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _tx(value: bytes) -> TxHash:
    return TxHash("0x" + bytes(value).hex())


def _address(value: str) -> Address:
    return Address(checksum(value))


def normalize_address(
    text: str,
    what: str = "subject",
    chain_id: int | None = None,
    networks: DidNetworks | None = None,
) -> str:
    """A did:ethr DID or an address as the index stores it (lowercase 0x hex).

    A DID must be anchored on the index's chain ``chain_id`` (its networks: ``networks``, by
    default from hardhat.config.json): one of another network is refused with
    InvalidInputError naming the DID, its network and the chain."""
    value = text.strip()
    known = networks
    if known is None and chain_id is not None and value.startswith("did:") and network_id(value):
        known = DidNetworks.of(chain_id)  # hardhat.config.json read only for such a DID
    return address_of(value, what, known).lower()


_USE_COLUMNS = (
    "u.block, u.log_index, u.tx_hash, u.identity, u.organization, u.purpose, u.category, "
    "u.data_ref, u.policy_version, b.timestamp"
)
_CONSENT_COLUMNS = (
    "c.block, c.log_index, c.tx_hash, c.granted, c.identity, c.organization, c.purpose, "
    "c.category, c.expiry, c.policy_version, c.agent, b.timestamp"
)


def _build_uses(
    index: AuditIndex,
    use_rows: list[tuple[Any, ...]],
    consent_rows: list[tuple[Any, ...]],
) -> list[UseEntry]:
    """Uses with the grant each relied on (the last grant of its key before it), the policy
    and whether the board flagged it."""
    orgs = sorted({row[4] for row in use_rows})
    policies: dict[tuple[str, int], tuple[bytes, str]] = {}
    for org_chunk in _chunks(orgs, 500):
        marks = ", ".join("?" * len(org_chunk))
        for org, version, content_hash, uri in index.db.execute(
            f"SELECT organization, version, content_hash, uri FROM policies "
            f"WHERE organization IN ({marks})",
            org_chunk,
        ):
            policies[(org, int(version))] = (bytes(content_hash), uri)
    refs = {use_ref(row[2], row[1]): (row[0], row[1]) for row in use_rows}
    flagged: set[tuple[int, int]] = set()
    ref_list = list(refs)
    for ref_chunk in _chunks(ref_list, 500):
        marks = ", ".join("?" * len(ref_chunk))
        for (ref,) in index.db.execute(
            f"SELECT use_ref FROM flags WHERE use_ref IN ({marks})", ref_chunk
        ):
            flagged.add(refs[bytes(ref)])
    grants = sorted(consent_rows, key=lambda r: (r[0], r[1]))
    state: dict[tuple[str, str, bytes, bytes], tuple[Any, ...] | None] = {}
    out: list[UseEntry] = []
    position = 0
    for row in use_rows:
        block, log_index, tx_hash, identity, org, purpose, category, data, version, ts = row
        while position < len(grants) and (grants[position][0], grants[position][1]) < (
            block,
            log_index,
        ):
            grant = grants[position]
            key = (grant[4], grant[5], bytes(grant[6]), bytes(grant[7]))
            state[key] = grant if grant[3] else None
            position += 1
        relied = state.get((identity, org, bytes(purpose), bytes(category)))
        policy = policies.get((org, int(version)))
        out.append(
            UseEntry(
                block=block,
                tx_hash=_tx(tx_hash),
                log_index=log_index,
                timestamp=int(ts or 0),
                identity=_address(identity),
                organization=_address(org),
                purpose=name_of(bytes(purpose)),
                category=name_of(bytes(category)),
                data_ref=_hex(data),
                policy_version=int(version),
                policy_hash=_hex(policy[0]) if policy else None,
                policy_uri=policy[1] if policy else None,
                consent=None
                if relied is None
                else ConsentRef(
                    block=relied[0],
                    tx_hash=_tx(relied[2]),
                    log_index=relied[1],
                    timestamp=int(relied[11] or 0),
                    expiry=expiry_or_none(int(relied[8])),
                    policy_version=int(relied[9]),
                    agent=_address(relied[10]),
                ),
                flagged=(block, log_index) in flagged,
            )
        )
    return out


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _consent_event(row: tuple[Any, ...]) -> ConsentEvent:
    return ConsentEvent(
        block=row[0],
        tx_hash=_tx(row[2]),
        log_index=row[1],
        timestamp=int(row[11] or 0),
        action="grant" if row[3] else "withdraw",
        identity=_address(row[4]),
        organization=_address(row[5]),
        purpose=name_of(bytes(row[6])),
        category=name_of(bytes(row[7])),
        expiry=expiry_or_none(row[8]),
        policy_version=None if row[9] is None else int(row[9]),
        agent=_address(row[10]),
    )


def _where(scope: str, column: str) -> str:
    return {
        "subject": f"WHERE {column}.identity = ?",
        "organization": f"WHERE {column}.organization = ?",
    }.get(scope, "")


def _uses_and_consents(
    index: AuditIndex, scope: str, target: str | None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    params: tuple[Any, ...] = () if target is None else (target,)
    use_rows = list(
        index.db.execute(
            f"SELECT {_USE_COLUMNS} FROM uses u LEFT JOIN blocks b ON b.number = u.block "
            f"{_where(scope, 'u')} ORDER BY u.block, u.log_index",
            params,
        )
    )
    consent_rows = list(
        index.db.execute(
            f"SELECT {_CONSENT_COLUMNS} FROM consents c LEFT JOIN blocks b ON b.number = c.block "
            f"{_where(scope, 'c')} ORDER BY c.block, c.log_index",
            params,
        )
    )
    return use_rows, consent_rows


def history(db: AuditIndex | Path | str, subject: str) -> list[UseEntry]:
    """Every use of ``subject``'s data, oldest first, with the consent each relied on and its
    policy.

    Args:
        db: an open :class:`~collective.audit.store.AuditIndex` or a path to one.
        subject: a did:ethr DID or an address.

    Returns:
        The :class:`~collective.audit.model.UseEntry` records.

    Raises:
        InvalidInputError: ``subject`` is not an address or a DID, or a DID of another
            network than the index's chain.
        AuditError: ``db`` cannot be opened.
    """
    index = db if isinstance(db, AuditIndex) else open_index(db)
    try:
        target = normalize_address(subject, chain_id=index.chain_id)
        use_rows, consent_rows = _uses_and_consents(index, "subject", target)
        return _build_uses(index, use_rows, consent_rows)
    finally:
        if not isinstance(db, AuditIndex):
            index.close()


def _board(index: AuditIndex, orgs: set[str] | None) -> list[BoardAction]:
    """AccountRules and OversightBoard events, about ``orgs`` only when given."""
    out: list[BoardAction] = []
    rows = index.db.execute(
        "SELECT e.block, e.log_index, e.tx_hash, e.contract, e.event, e.args, b.timestamp "
        "FROM events e LEFT JOIN blocks b ON b.number = e.block "
        "WHERE e.contract IN ('AccountRules', 'OversightBoard') ORDER BY e.block, e.log_index"
    )
    for block, log_index, tx_hash, contract, event, args_text, ts in rows:
        args: dict[str, Any] = json.loads(args_text or "{}")
        subject = (
            args.get("account")
            or args.get("target")
            or args.get("organization")
            or args.get("member")
            or args.get("admin")
            or args.get("board")
        )
        if orgs is not None and (subject is None or subject.lower() not in orgs):
            continue
        if (
            "action" in args
            and isinstance(args["action"], int)
            and args["action"] < len(BOARD_ACTIONS)
        ):
            args["action"] = BOARD_ACTIONS[args["action"]]
        details = {k: v for k, v in args.items() if isinstance(v, str | int) or v is None}
        out.append(
            BoardAction(
                block=block,
                tx_hash=_tx(tx_hash),
                log_index=log_index,
                timestamp=int(ts or 0),
                contract=contract,
                event=event,
                subject=subject,
                details=details,
            )
        )
    return out


def _flags(index: AuditIndex, uses: list[UseEntry], scope: str, target: str | None) -> list[Flag]:
    by_ref = {
        use_ref(u.tx_hash, u.log_index): LogPosition(u.block, u.tx_hash, u.log_index) for u in uses
    }
    query = (
        "SELECT f.block, f.log_index, e.tx_hash, f.use_ref, f.organization, f.reason_hash, "
        "f.proposal_id, b.timestamp FROM flags f JOIN events e USING (block, log_index) "
        "LEFT JOIN blocks b ON b.number = f.block"
    )
    params: tuple[Any, ...] = ()
    if scope == "organization":
        query += " WHERE f.organization = ?"
        params = (target,)
    out = []
    for block, log_index, tx_hash, ref, org, reason, proposal, ts in index.db.execute(
        query + " ORDER BY f.block, f.log_index", params
    ):
        use = by_ref.get(bytes(ref))
        if scope == "subject" and use is None:
            continue
        out.append(
            Flag(
                block=block,
                tx_hash=_tx(tx_hash),
                log_index=log_index,
                timestamp=int(ts or 0),
                use_ref=_hex(ref),
                organization=_address(org),
                reason_hash=_hex(reason),
                proposal_id=int(proposal),
                use=use,
            )
        )
    return out


def report(
    db: AuditIndex | Path | str,
    *,
    subject: str | None = None,
    organization: str | None = None,
) -> Report:
    """The report on ``subject``, or on ``organization``, or (neither) on everything in the
    index.

    Args:
        db: an open :class:`~collective.audit.store.AuditIndex` or a path to one.
        subject: a did:ethr DID or an address.
        organization: a did:ethr DID or an address.

    Returns:
        The :class:`~collective.audit.model.Report`: uses, consent timeline
        (:class:`~collective.ConsentEvent`), board actions, flags, look-alike logs,
        disclosures and the disclosure-consent timeline.

    Raises:
        InvalidInputError: both ``subject`` and ``organization``, one that is not an
            address or a DID, or a DID of another network than the index's chain.
        AuditError: ``db`` cannot be opened.
    """
    if subject is not None and organization is not None:
        raise InvalidInputError("a report is about a subject or an organization, not both")
    index = db if isinstance(db, AuditIndex) else open_index(db)
    try:
        if subject is not None:
            scope, target = "subject", normalize_address(subject, chain_id=index.chain_id)
        elif organization is not None:
            target = normalize_address(organization, "organization", chain_id=index.chain_id)
            scope = "organization"
        else:
            scope, target = "all", None
        use_rows, consent_rows = _uses_and_consents(index, scope, target)
        uses = _build_uses(index, use_rows, consent_rows)
        disclosures, disclosure_consents = disclosure_records(index, scope, target)
        if scope == "subject":
            parties = {d.discloser.lower() for d in disclosures}
            parties |= {d.recipient.lower() for d in disclosures}
            orgs: set[str] | None = (
                {row[4] for row in use_rows} | {row[5] for row in consent_rows} | parties
            )
        elif scope == "organization":
            orgs = {target} if target else set()
        else:
            orgs = None
        foreign = [
            ForeignLog(block, _tx(tx), log_index, address, event)
            for block, log_index, tx, address, event in index.db.execute(
                "SELECT block, log_index, tx_hash, address, event FROM foreign_logs "
                "ORDER BY block, log_index"
            )
        ]
        return Report(
            scope=scope,
            target=None if target is None else checksum(target),
            chain_id=index.chain_id,
            synced_to=index.synced_to,
            uses=tuple(uses),
            consents=tuple(_consent_event(row) for row in consent_rows),
            board=tuple(_board(index, orgs)),
            flags=tuple(_flags(index, uses, scope, target)),
            foreign=tuple(foreign) if scope == "all" else (),
            disclosures=tuple(disclosures),
            disclosure_consents=tuple(disclosure_consents),
        )
    finally:
        if not isinstance(db, AuditIndex):
            index.close()


__all__ = ["history", "normalize_address", "report", "use_ref"]
