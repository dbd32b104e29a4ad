"""collective.audit on the embedded chain: sync, verify, report, look-alikes, forgeries,
interrupted syncs, reverts and retries."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

from collective.audit import (
    EmbeddedSource,
    history,
    open_index,
    render,
    report,
    sync,
    verify,
)
from collective.audit.source import Header, RangeTooLarge, Transient
from collective.build.artifacts import load_artifact
from collective.chain import Chain
from collective.deploy import Deployment
from collective.errors import AuditError
from tests.audit.audit_story import run_story
from tests.helpers import LAB_RESULTS, RESEARCH, World

TABLES = ("blocks", "events", "uses", "consents", "policies", "accounts", "flags", "foreign_logs")


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order: two indexes of one chain compare equal."""
    with open_index(path) as index:
        return {t: list(index.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2")) for t in TABLES}


def test_sync_verify_and_report_a_story(w: World, suite: Deployment, tmp_path: Path) -> None:
    story = run_story(w, flag=True)
    db = tmp_path / "audit.sqlite"
    result = sync(w.chain, suite, db)
    assert result.synced_to == w.chain.block_number()
    assert result.foreign == () and result.reorgs == ()
    assert result.events == len(dump(db)["events"]) + 3 + 3  # + uses + consent events

    verdict = verify(db, chain=w.chain, deployment=suite)
    assert verdict.ok, verdict.violations
    assert verdict.uses == 3
    assert len(verdict.code_checked) == 3

    found = report(db, subject=w.patient.address)
    assert [(u.tx_hash, u.log_index) for u in found.uses] == story.uses
    lab_first, lab_second, hospital = found.uses
    assert lab_first.organization == w.lab.address and hospital.organization == w.hospital.address
    assert lab_first.purpose == "dpv:ResearchAndDevelopment"
    assert lab_first.policy_version == 1 and lab_first.policy_hash is not None
    assert lab_first.consent is not None and lab_first.consent == lab_second.consent
    assert lab_first.consent.agent == w.patient.address
    assert lab_second.timestamp - lab_first.timestamp >= 3600
    assert [u.flagged for u in found.uses] == [True, False, False]
    assert [e.action for e in found.consents] == ["grant", "withdraw", "grant"]
    events = {(b.event, b.subject) for b in found.board}
    assert ("AccountSuspended", w.hospital.address) in events
    assert ("ProposalExecuted", w.hospital.address) in events
    assert len(found.flags) == 1 and found.flags[0].use is not None
    assert history(db, f"did:ethr:0x200cd:{w.patient.address}") == list(found.uses)

    by_org = report(db, organization=w.hospital.address)
    assert [u.tx_hash for u in by_org.uses] == [story.uses[2][0]]
    everything = report(db)
    assert len(everything.uses) == 3 and everything.scope == "all"

    data = json.loads(render(found, "json"))
    assert data["uses"][0]["consent"]["block"] == lab_first.consent.block
    csv_text = render(found, "csv")
    assert csv_text.splitlines()[0].startswith("record,time,block,tx_hash")
    assert csv_text.count("\nuse,") == 3 and csv_text.count("\nwithdraw,") == 1
    table = render(found, "table")
    assert "FLAGGED" in table and story.uses[2][0] in table
    page = render(found, "html")
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_sync_is_incremental(w: World, suite: Deployment, tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite"
    first = sync(w.chain, suite, db)
    w.grant(w.patient, w.lab)
    w.use(w.lab, w.patient.address)
    again = sync(w.chain, suite, db)
    assert again.blocks == 2 and again.events == 2
    assert sync(w.chain, suite, db).events == 0
    assert again.synced_to == first.synced_to + 2


def deploy_lookalike(w: World) -> Any:
    """A second ConsentLedger wired to the same AccountRules: same code, same events."""
    artifact = load_artifact("ConsentLedger")
    factory = w.chain.contract(artifact.abi, bytecode=artifact.bytecode)
    receipt = w.chain.transact(factory.constructor(w.rules.address), w.admin)
    return w.chain.contract(artifact.abi, receipt["contractAddress"])


def test_a_lookalike_contract_changes_no_verdict(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    w.grant(w.patient, w.lab)
    w.use(w.lab, w.patient.address)
    clean = tmp_path / "clean.sqlite"
    sync(w.chain, suite, clean)

    fake = deploy_lookalike(w)
    policy = fake.functions.publishPolicy(keccak(b"p"), "https://fake", [RESEARCH])
    w.tx(policy, w.lab)
    # On the look-alike: the patient withdraws the very consent the real ledger holds (a
    # withdrawal that, if indexed, would make the next real use uncovered), the lab records
    # a use of the stranger's data without any real consent.
    w.tx(
        fake.functions.grant(w.patient.address, w.lab.address, RESEARCH, LAB_RESULTS, 2**40, 1),
        w.patient,
    )
    w.tx(
        fake.functions.withdraw(w.patient.address, w.lab.address, RESEARCH, LAB_RESULTS), w.patient
    )
    w.tx(
        fake.functions.grant(w.stranger.address, w.lab.address, RESEARCH, LAB_RESULTS, 2**40, 1),
        w.stranger,
    )
    w.tx(fake.functions.recordUse(w.stranger.address, RESEARCH, LAB_RESULTS, b"\x02" * 32), w.lab)
    w.use(w.lab, w.patient.address)  # real, covered

    db = tmp_path / "audit.sqlite"
    result = sync(w.chain, suite, db)
    fake_address = fake.address.lower()
    assert {log.address for log in result.foreign} == {fake_address}
    assert sorted(log.event for log in result.foreign) == [
        "ConsentGranted", "ConsentGranted", "ConsentWithdrawn", "DataUsed", "PolicyPublished"
    ]  # fmt: skip

    verdict = verify(db, chain=w.chain, deployment=suite)
    assert verdict.ok, verdict.violations
    assert verdict.foreign == 5
    assert verify(clean).ok
    patient = report(db, subject=w.patient.address)
    assert [e.action for e in patient.consents] == ["grant"]
    assert len(patient.uses) == 2 and all(u.consent is not None for u in patient.uses)
    assert report(db, subject=w.stranger.address).uses == ()
    everything = report(db)
    assert len(everything.foreign) == 5
    assert "look-alike" in render(everything, "csv")


def forge_use(db: Path, block: int, log_index: int, identity: str, org: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO uses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (block, log_index, keccak(b"forged"), identity.lower(), org.lower(), RESEARCH,
             LAB_RESULTS, b"\x09" * 32, 1),
        )  # fmt: skip


def test_a_forged_use_row_is_caught(w: World, suite: Deployment, tmp_path: Path) -> None:
    w.grant(w.patient, w.lab)
    w.use(w.lab, w.patient.address)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    assert verify(db).ok
    block = w.chain.block_number()
    forge_use(db, block, 7, w.stranger.address, w.lab.address)

    verdict = verify(db)
    assert not verdict.ok
    rules = {v.rule: v for v in verdict.violations}
    assert set(rules) == {"no-consent", "index-integrity"}
    caught = rules["no-consent"]
    assert (caught.block, caught.log_index) == (block, 7)
    assert caught.tx_hash == "0x" + keccak(b"forged").hex()
    assert caught.evidence["identity"] == w.stranger.address.lower()
    assert rules["index-integrity"].block == block


def test_each_broken_rule_is_named(w: World, suite: Deployment, tmp_path: Path) -> None:
    """Forged uses at later blocks: expired, withdrawn, suspended, stale policy."""
    now = w.now()
    w.grant(w.patient, w.lab, expiry=now + 100)  # expires
    w.grant(w.guardian, w.lab)  # withdrawn below
    w.tx(
        w.ledger.functions.withdraw(w.guardian.address, w.lab.address, RESEARCH, LAB_RESULTS),
        w.guardian,
    )
    w.grant(w.stranger, w.hospital)  # the hospital gets suspended
    w.tx(w.rules.functions.suspend(w.hospital.address), w.admin)
    w.grant(w.members[0], w.lab)  # then the lab publishes v2: stale
    w.tx(w.ledger.functions.publishPolicy(keccak(b"v2"), "https://v2", [RESEARCH]), w.lab)
    w.chain.increase_time(1000)
    w.chain.mine(1)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    assert verify(db).ok
    block = w.chain.block_number()
    forge_use(db, block, 0, w.patient.address, w.lab.address)
    forge_use(db, block, 1, w.guardian.address, w.lab.address)
    forge_use(db, block, 2, w.stranger.address, w.hospital.address)
    forge_use(db, block, 3, w.members[0].address, w.lab.address)
    forge_use(db, block, 4, w.patient.address, w.admin.address)
    rules = [v.rule for v in verify(db).violations if v.rule != "index-integrity"]
    assert rules == [
        "consent-expired", "consent-withdrawn", "org-suspended", "stale-policy",
        "org-not-admitted",
    ]  # fmt: skip


class Interrupt(Exception):
    pass


def make_blocks(w: World, count: int) -> None:
    """``count`` blocks with events: grants and uses in turn."""
    w.grant(w.patient, w.lab)
    for i in range(count):
        w.use(w.lab, w.patient.address, ref=i.to_bytes(32, "big"))


def test_an_interrupted_sync_resumes_without_duplicate_or_gap(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    make_blocks(w, 12)
    whole = tmp_path / "whole.sqlite"
    sync(w.chain, suite, whole)
    db = tmp_path / "audit.sqlite"
    seen: list[tuple[int, int]] = []

    def stop_after_three(start: int, end: int) -> None:
        seen.append((start, end))
        if len(seen) == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        sync(w.chain, suite, db, initial_range=2, target_logs=2, on_range=stop_after_three)
    with open_index(db) as index:
        assert index.synced_to == seen[-1][1]
    resumed = sync(w.chain, suite, db, initial_range=2, target_logs=2)
    assert resumed.synced_to == w.chain.block_number()
    assert dump(db) == dump(whole)
    assert verify(db).ok


def test_an_interrupt_inside_a_range_write_leaves_the_index_consistent(
    w: World, suite: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_blocks(w, 6)
    whole = tmp_path / "whole.sqlite"
    sync(w.chain, suite, whole)
    db = tmp_path / "audit.sqlite"
    from collective.audit.store import AuditIndex

    real = AuditIndex.write_range
    calls = []

    def failing(self: AuditIndex, headers: Any, rows: Any, synced_to: int) -> None:
        calls.append(synced_to)
        if len(calls) == 2:  # die half-way through the second range's transaction
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT INTO blocks VALUES (?, ?, ?, ?, ?)", headers)
            self.db.execute("ROLLBACK")
            raise KeyboardInterrupt
        real(self, headers, rows, synced_to)

    monkeypatch.setattr(AuditIndex, "write_range", failing)
    with pytest.raises(KeyboardInterrupt):
        sync(w.chain, suite, db, initial_range=3, target_logs=3)
    monkeypatch.setattr(AuditIndex, "write_range", real)
    sync(w.chain, suite, db)
    assert dump(db) == dump(whole)


def test_a_revert_is_detected_and_reindexed(w: World, suite: Deployment, tmp_path: Path) -> None:
    w.grant(w.patient, w.lab)
    snapshot = w.chain.snapshot()
    w.use(w.lab, w.patient.address, ref=b"\x0a" * 32)
    w.use(w.lab, w.patient.address, ref=b"\x0b" * 32)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    w.chain.revert(snapshot)
    w.grant(w.patient, w.hospital)
    w.use(w.hospital, w.patient.address, ref=b"\x0c" * 32)
    w.chain.mine(2)
    result = sync(w.chain, suite, db)
    assert len(result.reorgs) == 1
    reorg = result.reorgs[0]
    assert reorg.dropped_blocks == 2 and reorg.dropped_events == 2
    refs = [u.data_ref for u in report(db, subject=w.patient.address).uses]
    assert refs == ["0x" + "0c" * 32]
    fresh = tmp_path / "fresh.sqlite"
    sync(w.chain, suite, fresh)
    assert dump(db) == dump(fresh)
    assert verify(db).ok


class Flaky:
    """A source that drops the connection now and then and refuses wide log queries."""

    def __init__(self, inner: EmbeddedSource, widest: int) -> None:
        self.inner = inner
        self.where = inner.where
        self.widest = widest
        self.calls = 0
        self.refused = 0

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.calls % 3 == 0:
            raise Transient("connection reset (test)")

    def head(self) -> int:
        self._maybe_fail()
        return self.inner.head()

    def headers(self, start: int, end: int) -> list[Header]:
        self._maybe_fail()
        return self.inner.headers(start, end)

    def logs(self, start: int, end: int, topics: Sequence[str]) -> list[dict[str, Any]]:
        self._maybe_fail()
        if end - start + 1 > self.widest:
            self.refused += 1
            raise RangeTooLarge("query returned more than 10000 results (test)")
        return self.inner.logs(start, end, topics)


def test_sync_retries_and_shrinks_ranges(w: World, suite: Deployment, tmp_path: Path) -> None:
    make_blocks(w, 8)
    whole = tmp_path / "whole.sqlite"
    sync(w.chain, suite, whole)
    flaky = Flaky(EmbeddedSource(w.chain), widest=4)
    db = tmp_path / "audit.sqlite"
    result = sync(w.chain, suite, db, source=flaky, initial_range=64, retry_wait=0.001)
    assert result.retries > 0 and flaky.refused > 0
    assert dump(db) == dump(whole)


def test_an_index_of_another_deployment_is_refused(
    chain: Chain, suite: Deployment, tmp_path: Path
) -> None:
    db = tmp_path / "audit.sqlite"
    sync(chain, suite, db)
    other = replace(suite, addresses={**suite.addresses, "ConsentLedger": "0x" + "11" * 20})
    with pytest.raises(AuditError, match="another deployment"):
        sync(chain, other, db)


def test_board_and_admission_rules(w: World, suite: Deployment, tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    block = w.chain.block_number()
    stranger = w.stranger.address.lower()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO events VALUES (?, 20, ?, 'AccountRules', 'AccountSuspended', '{}')",
            (block, keccak(b"suspend")),
        )
        conn.execute(
            "INSERT INTO accounts VALUES (?, 20, 'AccountSuspended', ?, ?)",
            (block, w.lab.address.lower(), stranger),
        )
        conn.execute(
            "INSERT INTO events VALUES (?, 21, ?, 'OversightBoard', 'UseFlagged', '{}')",
            (block, keccak(b"flag")),
        )
        conn.execute(
            "INSERT INTO flags VALUES (?, 21, ?, ?, ?, 0)",
            (block, keccak(b"no such use"), w.lab.address.lower(), keccak(b"why")),
        )
    rules = sorted(v.rule for v in verify(db).violations)
    assert rules == ["flag-unknown-use", "index-integrity", "unauthorized-status-change"]
