"""``verify``: re-derive the ledger's state from the index alone and check every recorded use.

The replay walks the suite's events in chain order (block, log index) and keeps its own state:
organization status from AccountRules (admitted, suspended, reinstated, removed), each
organization's current policy version and the purposes it covers, and each consent keyed by
(identity, organization, purpose, category). Every ``DataUsed`` must have been covered at its
block, exactly as the contract's rule says:

====================  ===========================================================
rule                  broken when, at the use's block
====================  ===========================================================
org-not-admitted      the organization was never admitted, or was removed
org-suspended         the organization was suspended (and not reinstated)
no-consent            no consent for the four-part key was ever granted
consent-withdrawn     the consent was withdrawn and not granted again
consent-expired       the block's timestamp is at or past the consent's expiry
stale-policy          the consent names an older policy version than the current one
policy-mismatch       the use's policyVersion is not the organization's current one
grant-not-current     a grant names a version that is not current or does not cover
                      its purpose
====================  ===========================================================

Board and admission events are checked too: an account's admission or removal must come from
a then-current admin, a suspension or reinstatement from an admin or the then-current board
(``unauthorized-status-change``), and every ``UseFlagged`` must name a use in the index
(``flag-unknown-use``).

Besides the replay: the indexed blocks must form one parent-hash chain with no gap from the
first block to ``synced_to``; every event row must sit in an indexed block whose event count
agrees (a row inserted into or deleted from the index shows here); and, given a chain, the
code at each manifest address must be the audited artifacts' (immutables masked).
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from collective.audit.model import VerifyResult, Violation
from collective.audit.store import AuditIndex, open_index
from collective.chain import Chain
from collective.deploy import CONTRACTS, Deployment, verify_code
from collective.errors import ChainError

NO_STATUS, ACTIVE, SUSPENDED = 0, 1, 2
_STATUS_AFTER = {
    "AccountAdmitted": ACTIVE,
    "AccountSuspended": SUSPENDED,
    "AccountReinstated": ACTIVE,
    "AccountRemoved": NO_STATUS,
}
MAX_VIOLATIONS = 10_000  # kept in the result; the count goes on


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


# What the replay reads, by kind (0 uses, 1 consents, 2 accounts, 3 policies), each in chain order.
_STREAM_QUERIES = (
    "SELECT block, log_index, tx_hash, identity, organization, purpose, category, "
    "policy_version FROM uses ORDER BY block, log_index",
    "SELECT block, log_index, tx_hash, granted, identity, organization, purpose, "
    "category, expiry, policy_version FROM consents ORDER BY block, log_index",
    "SELECT a.block, a.log_index, e.tx_hash, a.event, a.account, a.actor FROM accounts a "
    "JOIN events e USING (block, log_index) ORDER BY a.block, a.log_index",
    "SELECT p.block, p.log_index, e.tx_hash, p.organization, p.version, p.purposes "
    "FROM policies p JOIN events e USING (block, log_index) "
    "ORDER BY p.block, p.log_index",
)


def _tagged(kind: int, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    return ((row[0], row[1], kind, row) for row in rows)


def _stream(index: AuditIndex) -> Iterator[tuple[Any, ...]]:
    """Every event as (block, log_index, kind, row), in chain order."""
    return heapq.merge(
        *(_tagged(kind, index.db.execute(sql)) for kind, sql in enumerate(_STREAM_QUERIES))
    )


class _Replay:
    def __init__(self, timestamps: dict[int, int]) -> None:
        self.timestamps = timestamps
        self.status: dict[str, int] = {}
        self.current: dict[str, int] = {}
        self.covers: dict[tuple[str, int], frozenset[bytes]] = {}
        # key -> (active, expiry, policy_version, block, log_index, tx_hash)
        self.consents: dict[tuple[str, str, bytes, bytes], tuple[Any, ...]] = {}
        self.admins: set[str] = set()
        self.board: str | None = None
        self.violations: list[Violation] = []
        self.count = 0
        self.uses = 0

    def flag(self, rule: str, message: str, row: tuple[Any, ...], **evidence: Any) -> None:
        self.count += 1
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(
                Violation(
                    rule=rule,
                    message=message,
                    block=int(row[0]),
                    tx_hash=_hex(row[2]),
                    log_index=int(row[1]),
                    evidence=evidence,
                )
            )

    def run(self, stream: Iterator[tuple[Any, ...]]) -> None:
        status, current, consents, timestamps = (
            self.status,
            self.current,
            self.consents,
            self.timestamps,
        )
        for _block, _index, kind, row in stream:
            if kind == 0:  # DataUsed
                self.uses += 1
                _b, _i, _tx, identity, org, purpose, category, version = row
                consent = consents.get((identity, org, purpose, category))
                org_status = status.get(org, NO_STATUS)
                now = timestamps.get(row[0])
                if (
                    org_status == ACTIVE
                    and consent is not None
                    and consent[0]
                    and now is not None
                    and now < consent[1]
                    and consent[2] == current.get(org)
                    and version == consent[2]
                ):
                    continue
                self._explain(row, consent, org_status, now)
            elif kind == 1:  # ConsentGranted / ConsentWithdrawn
                _b, _i, tx, granted, identity, org, purpose, category, expiry, version = row
                key = (identity, org, purpose, category)
                if granted:
                    consents[key] = (True, expiry, version, row[0], row[1], tx)
                    covered = self.covers.get((org, version), frozenset())
                    if version != current.get(org) or purpose not in covered:
                        self.flag(
                            "grant-not-current",
                            f"a consent was granted under policy v{version} of {org}, which "
                            f"is not its current version covering purpose {_hex(purpose)}",
                            row,
                            organization=org,
                            policy_version=version,
                            current_version=current.get(org),
                        )
                else:
                    found = consents.get(key)
                    if found is not None:
                        consents[key] = (False, *found[1:])
                    else:
                        consents[key] = (False, 0, 0, row[0], row[1], tx)
            elif kind == 2:  # AccountRules
                self._account_event(row)
            else:  # PolicyPublished
                org, version, purposes = row[3], int(row[4]), json.loads(row[5])
                current[org] = version
                self.covers[(org, version)] = frozenset(bytes.fromhex(p[2:]) for p in purposes)

    def _account_event(self, row: tuple[Any, ...]) -> None:
        event, account, actor = row[3], row[4], row[5]
        if event == "AdminAdded":
            self.admins.add(account)
        elif event == "AdminRemoved":
            self.admins.discard(account)
        elif event == "BoardChanged":
            self.board = account
        if event in _STATUS_AFTER:
            allowed = actor in self.admins or (
                event in ("AccountSuspended", "AccountReinstated") and actor == self.board
            )
            if not allowed:
                self.flag(
                    "unauthorized-status-change",
                    f"{event} of {account} by {actor}, who was neither an admin nor (for a "
                    "suspension or reinstatement) the board",
                    row,
                    account=account,
                    actor=actor,
                )
            self.status[account] = _STATUS_AFTER[event]

    def _explain(
        self,
        row: tuple[Any, ...],
        consent: tuple[Any, ...] | None,
        org_status: int,
        now: int | None,
    ) -> None:
        _b, _i, _tx, identity, org, purpose, category, version = row
        what = f"use of {identity}'s {_hex(category)} for {_hex(purpose)} by {org}"
        evidence: dict[str, Any] = {"identity": identity, "organization": org}
        if consent is not None:
            evidence.update(
                consent_block=consent[3],
                consent_log_index=consent[4],
                consent_tx=_hex(consent[5]),
            )
        if now is None:
            self.flag("block-missing", f"{what}: its block is not in the index", row, **evidence)
        elif org_status == NO_STATUS:
            self.flag("org-not-admitted", f"{what}: the organization is not admitted", row)
        elif org_status == SUSPENDED:
            self.flag("org-suspended", f"{what}: the organization was suspended", row)
        elif consent is None:
            self.flag("no-consent", f"{what}: no consent was ever granted", row, **evidence)
        elif not consent[0]:
            self.flag("consent-withdrawn", f"{what}: the consent was withdrawn", row, **evidence)
        elif now >= consent[1]:
            self.flag(
                "consent-expired",
                f"{what}: the consent expired at {consent[1]}, the block's time is {now}",
                row,
                expiry=consent[1],
                timestamp=now,
                **evidence,
            )
        elif consent[2] != self.current.get(org):
            self.flag(
                "stale-policy",
                f"{what}: the consent is under policy v{consent[2]}, the current one is "
                f"v{self.current.get(org)}",
                row,
                consent_version=consent[2],
                current_version=self.current.get(org),
                **evidence,
            )
        else:
            self.flag(
                "policy-mismatch",
                f"{what}: the use names policy v{version}, the current one is "
                f"v{self.current.get(org)}",
                row,
                use_version=version,
                current_version=self.current.get(org),
                **evidence,
            )


def _check_blocks(index: AuditIndex) -> list[Violation]:
    """One parent-hash chain from the first block to synced_to, event counts per block."""
    out: list[Violation] = []
    first, top = index.first_block, index.synced_to
    if first is None or top is None:
        return out
    previous_number: int | None = None
    previous_hash: bytes | None = None
    previous_time = 0
    expected = first
    for number, block_hash, parent, timestamp in index.db.execute(
        "SELECT number, hash, parent_hash, timestamp FROM blocks ORDER BY number"
    ):
        if number != expected:
            out.append(
                Violation(
                    "block-gap",
                    f"blocks {expected}..{number - 1} are missing from the index",
                    block=expected,
                )
            )
        elif previous_hash is not None and bytes(parent) != previous_hash:
            out.append(
                Violation(
                    "parent-hash",
                    f"block {number}'s parent hash {_hex(parent)} is not block "
                    f"{previous_number}'s hash {_hex(previous_hash)}",
                    block=number,
                    evidence={"parent_hash": _hex(parent), "previous_hash": _hex(previous_hash)},
                )
            )
        if timestamp < previous_time:
            out.append(
                Violation(
                    "timestamp-order", f"block {number} is older than its parent", block=number
                )
            )
        previous_number, previous_hash, previous_time = number, bytes(block_hash), timestamp
        expected = number + 1
    if expected != top + 1:
        out.append(
            Violation(
                "block-gap",
                f"the index claims blocks up to {top} but holds them up to {expected - 1}",
                block=expected,
            )
        )
    counts = index.db.execute(
        "SELECT b.number, b.log_count, coalesce(e.n, 0) FROM blocks b LEFT JOIN "
        "(SELECT block, count(*) AS n FROM all_events GROUP BY block) e ON e.block = b.number "
        "WHERE b.log_count != coalesce(e.n, 0) "
        "UNION ALL SELECT e.block, NULL, e.n FROM "
        "(SELECT block, count(*) AS n FROM all_events GROUP BY block) e "
        "LEFT JOIN blocks b ON b.number = e.block WHERE b.number IS NULL"
    )
    for number, recorded, found in counts:
        message = (
            f"block {number} is not indexed but {found} events claim it"
            if recorded is None
            else f"block {number} had {recorded} events of the suite when indexed, the index "
            f"now holds {found}"
        )
        out.append(
            Violation(
                "index-integrity",
                message,
                block=int(number),
                evidence={"recorded": recorded, "found": found},
            )
        )
    return out


def _check_flags(index: AuditIndex) -> list[Violation]:
    """Every UseFlagged names a use in the index: keccak256(abi.encode(txHash, logIndex))."""
    from collective.audit.report import use_ref

    flags = list(
        index.db.execute(
            "SELECT f.block, f.log_index, e.tx_hash, f.use_ref, f.organization FROM flags f "
            "JOIN events e USING (block, log_index) ORDER BY f.block, f.log_index"
        )
    )
    out: list[Violation] = []
    for org in sorted({row[4] for row in flags}):
        refs = {
            use_ref(tx, log_index)
            for tx, log_index in index.db.execute(
                "SELECT tx_hash, log_index FROM uses WHERE organization = ?", (org,)
            )
        }
        for block, log_index, tx, ref, flagged_org in flags:
            if flagged_org == org and bytes(ref) not in refs:
                out.append(
                    Violation(
                        "flag-unknown-use",
                        f"the board flagged use {_hex(ref)} of {org}, which recorded no such use",
                        block=block,
                        tx_hash=_hex(tx),
                        log_index=log_index,
                        evidence={"use_ref": _hex(ref), "organization": org},
                    )
                )
    return out


def _check_code(chain: Chain, deployment: Deployment, index: AuditIndex) -> list[Violation]:
    out: list[Violation] = []
    for name in CONTRACTS:
        address = deployment.address(name)
        indexed = index.addresses.get(name)
        if indexed is not None and indexed != address.lower():
            out.append(
                Violation(
                    "manifest-mismatch",
                    f"the index was built for {name} at {indexed}, the manifest says {address}",
                    evidence={"contract": name, "indexed": indexed, "manifest": address},
                )
            )
        try:
            verify_code(chain, name, address, deployment.config)
        except ChainError as exc:
            out.append(
                Violation(
                    "code-mismatch",
                    exc.message,
                    evidence={"contract": name, "address": address},
                )
            )
    return out


def verify(
    db: AuditIndex | Path | str,
    *,
    chain: Chain | None = None,
    deployment: Deployment | None = None,
) -> VerifyResult:
    """Replay the index and check every use, the block chain and (with ``chain`` and
    ``deployment``) the code at each manifest address. Returns the verdict; never raises for
    a violation (the CLI exits non-zero on one)."""
    started = time.monotonic()
    index = db if isinstance(db, AuditIndex) else open_index(db)
    try:
        replay = _Replay(index.timestamps())
        replay.run(_stream(index))
        violations = _check_blocks(index)
        violations += replay.violations
        violations += _check_flags(index)
        checked: tuple[str, ...] = ()
        if chain is not None and deployment is not None:
            violations += _check_code(chain, deployment, index)
            checked = tuple(deployment.address(name) for name in CONTRACTS)
        events = sum(index.count(t) for t in ("events", "uses", "consents"))
        violations.sort(key=lambda v: (v.block is None, v.block or 0, v.log_index or 0))
        return VerifyResult(
            db=str(index.path),
            synced_to=index.synced_to,
            events=events,
            uses=replay.uses,
            blocks=index.count("blocks"),
            code_checked=checked,
            violations=tuple(violations),
            foreign=index.count("foreign_logs"),
            seconds=time.monotonic() - started,
        )
    finally:
        if not isinstance(db, AuditIndex):
            index.close()


__all__ = ["verify"]
