"""collective.audit against `collective node` (in process, --dev, over HTTP JSON-RPC)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collective.audit import report, sync, verify
from collective.chain import connect_rpc
from collective.deploy import deploy_suite
from tests.audit.audit_story import run_story
from tests.helpers import make_world

node = pytest.importorskip("collective.node")


@pytest.fixture(scope="module")
def node_url() -> Iterator[str]:
    from collective.node.server import serve_in_thread

    dev = node.Node(node.NodeConfig(dev=True))
    server = serve_in_thread(dev)
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        dev.close()


def test_sync_verify_report_and_revert_on_collective_node(node_url: str, tmp_path: Path) -> None:
    chain = connect_rpc(node_url, name="node")
    dev = chain.dev_accounts
    suite = deploy_suite(
        chain,
        dev[0],
        board_members=[a.address for a in dev[7:10]],
        threshold=2,
        manifest_path=tmp_path / "node.json",
    )
    w = make_world(chain, suite)
    story = run_story(w, flag=True)
    db = tmp_path / "audit.sqlite"
    result = sync(chain, suite, db)
    assert result.synced_to == chain.w3.eth.block_number and result.foreign == ()
    verdict = verify(db, chain=chain, deployment=suite)
    assert verdict.ok, verdict.violations
    found = report(db, subject=w.patient.address)
    assert [(u.tx_hash, u.log_index) for u in found.uses] == story.uses
    assert [u.flagged for u in found.uses] == [True, False, False]

    snapshot = chain.snapshot()
    w.grant(w.guardian, w.lab)
    w.use(w.lab, w.guardian.address)
    sync(chain, suite, db)
    chain.revert(snapshot)
    chain.mine(3)
    again = sync(chain, suite, db)
    assert len(again.reorgs) == 1 and again.reorgs[0].dropped_events == 2
    assert report(db, subject=w.guardian.address).uses == ()
    assert verify(db).ok
