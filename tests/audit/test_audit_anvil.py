"""collective.audit against anvil over JSON-RPC: evm_revert re-indexing and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from collective.audit import open_index, report, sync, verify
from collective.chain import Chain
from collective.cli import cli
from collective.deploy import Deployment
from tests.audit.audit_story import run_story
from tests.helpers import World, deploy_consortium, make_world


@pytest.fixture
def anvil_world(anvil_chain: Chain, tmp_path: Path) -> Iterator[tuple[World, Deployment]]:
    suite = deploy_consortium(anvil_chain, tmp_path / "anvil.json", fresh=True)
    yield make_world(anvil_chain, suite), suite


def rows(path: Path) -> dict[str, list[object]]:
    with open_index(path) as index:
        return {
            t: list(index.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2"))
            for t in ("blocks", "events", "uses", "consents", "policies", "accounts")
        }


def test_an_anvil_revert_is_detected_and_reindexed(
    anvil_world: tuple[World, Deployment], tmp_path: Path
) -> None:
    w, suite = anvil_world
    w.grant(w.patient, w.lab)
    snapshot = w.chain.snapshot()
    w.use(w.lab, w.patient.address, ref=b"\x0a" * 32)
    w.use(w.lab, w.patient.address, ref=b"\x0b" * 32)
    db = tmp_path / "audit.sqlite"
    before = sync(w.chain, suite, db)
    assert before.events > 0 and before.reorgs == ()

    w.chain.revert(snapshot)  # evm_revert: the two uses are gone
    w.grant(w.patient, w.hospital)
    w.use(w.hospital, w.patient.address, ref=b"\x0c" * 32)
    w.chain.mine(3)
    after = sync(w.chain, suite, db)
    assert len(after.reorgs) == 1
    assert after.reorgs[0].dropped_events == 2
    assert after.reorgs[0].fork_block == before.synced_to - 2
    assert [u.data_ref for u in report(db, subject=w.patient.address).uses] == ["0x" + "0c" * 32]
    fresh = tmp_path / "fresh.sqlite"
    sync(w.chain, suite, fresh)
    assert rows(db) == rows(fresh)
    verdict = verify(db, chain=w.chain, deployment=suite)
    assert verdict.ok, verdict.violations


def test_the_cli_syncs_verifies_and_reports(
    anvil: str, anvil_world: tuple[World, Deployment], tmp_path: Path
) -> None:
    w, suite = anvil_world
    story = run_story(w, flag=True)
    runner = CliRunner()
    db = tmp_path / "audit.sqlite"
    where = ["--rpc", anvil, "--manifest", str(suite.manifest_path), "--db", str(db)]

    synced = runner.invoke(cli, ["audit", "sync", *where, "--json"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.output)["synced_to"] == w.chain.block_number()

    checked = runner.invoke(cli, ["audit", "verify", *where])
    assert checked.exit_code == 0, checked.output
    assert "verified: every recorded use was covered" in checked.output

    shown = runner.invoke(cli, ["audit", "report", *where, "--subject", w.patient.address])
    assert shown.exit_code == 0, shown.output
    assert story.uses[0][0] in shown.output and "FLAGGED" in shown.output

    out = tmp_path / "patient.csv"
    csv_args = ["--subject", w.patient.address, "--format", "csv", "--out", str(out)]
    written = runner.invoke(cli, ["audit", "report", *where, *csv_args])
    assert written.exit_code == 0, written.output
    assert out.read_text().count("\nuse,") == 3

    both = runner.invoke(cli, ["audit", "report", *where, "--subject", "0x1", "--all"])
    assert both.exit_code == 2

    # A forged row: verify exits 1 and names the rule, the block and the log index.
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO uses SELECT block, log_index + 50, tx_hash, ?, organization, purpose, "
            "category, data_ref, policy_version FROM uses LIMIT 1",
            (w.stranger.address.lower(),),
        )
    failed = runner.invoke(cli, ["audit", "verify", *where, "--json"])
    assert failed.exit_code == 1
    verdict = json.loads(failed.output)
    assert verdict["ok"] is False
    assert {v["rule"] for v in verdict["violations"]} == {"no-consent", "index-integrity"}


def test_cli_verify_without_an_index_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["audit", "verify", "--offline", "--db", str(tmp_path / "none.sqlite")]
    )
    assert result.exit_code == 1
    assert "run `collective audit sync` first" in result.output
