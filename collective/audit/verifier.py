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

A ``ValidatorPowerChanged`` needs its cause in the same transaction: an executed board
``SetValidator`` about the organization, or its suspension, reinstatement or removal
(``validator-unexplained``).

Erasure (GDPR Art. 17, :mod:`~collective.audit.replay.erasure`): a use by an organization an
identity had asked to erase its data is ``use-after-erasure-request``; a request unconfirmed
past its due time at the latest indexed block is ``erasure-overdue``, a confirmation after it
``erasure-confirmed-late``, one without a request ``erasure-confirmation-without-request``.

Onward disclosure (:mod:`~collective.audit.replay.disclosures`): disclosure consents are
replayed as use consents, and a ``DataDisclosed`` not covered at its block is
``disclosure-without-consent``, ``disclosure-stale-policy``,
``disclosure-by-inactive-organization``, ``disclosure-after-erasure-request`` or
``disclosure-after-deactivation``; a grant not under the recipient's current version covering
its purpose is ``disclosure-grant-not-current``.

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

import time
from pathlib import Path

from collective.audit.model import VerifyResult, Violation
from collective.audit.readers import replay_events
from collective.audit.replay import replay
from collective.audit.store import AuditIndex, open_index
from collective.chain import Chain
from collective.client.oversight import use_ref
from collective.deploy import CONTRACTS, Deployment, verify_code
from collective.errors import ChainError


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


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
    ``deployment``) the code at each manifest address.

    Args:
        db: an open :class:`~collective.audit.store.AuditIndex` or a path to one.
        chain: the chain, to compare the code at the manifest's addresses.
        deployment: the manifest the index was built for (with ``chain``).

    Returns:
        The :class:`~collective.audit.model.VerifyResult`; ``ok`` when nothing is violated.
        A violation is never raised (the CLI exits non-zero on one).

    Raises:
        AuditError: ``db`` cannot be opened.
        ChainError: the code could not be read from ``chain``.
    """
    started = time.monotonic()
    index = db if isinstance(db, AuditIndex) else open_index(db)
    try:
        outcome = replay(replay_events(index), index.timestamps())
        violations = _check_blocks(index)
        violations += outcome.violations
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
            uses=outcome.uses,
            disclosures=outcome.disclosures,
            blocks=index.count("blocks"),
            code_checked=checked,
            violations=tuple(violations),
            foreign=index.count("foreign_logs"),
            seconds=time.monotonic() - started,
        )
    finally:
        if not isinstance(db, AuditIndex):
            index.close()


__all__ = ["replay_events", "verify"]
