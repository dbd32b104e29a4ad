"""collective.audit against `collective node` (in process, --dev, over HTTP JSON-RPC)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from collective.audit import report, sync, verify
from collective.audit.source import Header, RpcSource
from collective.chain import connect_rpc
from collective.deploy import deploy_suite
from tests.audit.audit_story import run_story
from tests.helpers import deploy_consortium, make_world

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
    suite = deploy_consortium(chain, tmp_path / "node.json")
    w = make_world(chain, suite)
    story = run_story(w, flag=True)
    db = tmp_path / "audit.sqlite"
    result = sync(chain, suite, db)
    assert result.synced_to == chain.block_number() and result.foreign == ()
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


class Restarting:
    """Reads through ``inner``; on the second log query the node's HTTP server goes down and
    comes back on the same port half a second later (a node restart)."""

    def __init__(self, inner: RpcSource, restart: Callable[[], None]) -> None:
        self.inner = inner
        self.where = inner.where
        self.restart = restart
        self.queries = 0

    def head(self) -> int:
        return self.inner.head()

    def headers(self, start: int, end: int) -> list[Header]:
        return self.inner.headers(start, end)

    def logs(self, start: int, end: int, topics: Sequence[str]) -> list[dict[str, Any]]:
        self.queries += 1
        if self.queries == 2:
            self.restart()
            self.inner.close()  # the next request needs a new connection: refused
        return self.inner.logs(start, end, topics)


def test_sync_rides_out_a_node_restart(tmp_path: Path) -> None:
    from collective.node.server import RpcServer, serve_in_thread

    dev_node = node.Node(node.NodeConfig(dev=True))
    servers = [serve_in_thread(dev_node)]
    port = servers[0].server_address[1]

    def restart() -> None:
        servers[-1].shutdown()
        servers[-1].server_close()

        def back() -> None:
            server = RpcServer(dev_node, "127.0.0.1", port)
            servers.append(server)
            threading.Thread(target=server.serve_forever, daemon=True).start()

        threading.Timer(0.5, back).start()

    try:
        chain = connect_rpc(servers[0].url, name="node")
        suite = deploy_suite(chain, chain.dev_accounts[0], manifest_path=tmp_path / "node.json")
        w = make_world(chain, suite)
        w.grant(w.patient, w.lab)
        for i in range(6):
            w.use(w.lab, w.patient.address, ref=i.to_bytes(32, "big"))
        source = Restarting(RpcSource(servers[0].url, timeout=5), restart)
        db = tmp_path / "audit.sqlite"
        result = sync(
            chain, suite, db, source=source, initial_range=4, target_logs=2, retry_wait=0.1
        )
        assert result.retries > 0
        assert result.synced_to == chain.block_number()
        assert len(report(db, subject=w.patient.address).uses) == 6
        assert verify(db).ok
    finally:
        servers[-1].shutdown()
        servers[-1].server_close()
        dev_node.close()
