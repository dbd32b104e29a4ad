"""Fixtures for `collective node` tests.

- ``dev_node``: an in-process --dev node (in memory) serving HTTP on a free port, one per module.
- ``node_chain``: a :class:`~collective.chain.Chain` on it with the suite deployed once;
  each test is reverted to that state (evm_snapshot / evm_revert).
- ``spawn_node``: start `collective node start` as a subprocess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collective.chain import Chain, connect_rpc
from collective.deploy import Deployment
from collective.node import Node, NodeConfig
from collective.node.server import RpcServer, serve_in_thread
from collective.testing import NodeProcess
from tests.helpers import deploy_consortium

REPO = Path(__file__).resolve().parents[2]


def call(url: str, method: str, *params: Any) -> dict[str, Any]:
    reply = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
    )
    result: dict[str, Any] = reply.json()
    return result


@pytest.fixture(scope="module")
def dev_server() -> Iterator[RpcServer]:
    node = Node(NodeConfig(dev=True))
    server = serve_in_thread(node)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        node.close()


@pytest.fixture(scope="module")
def _deployed(
    dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Chain, Deployment]:
    chain = connect_rpc(dev_server.url, name="node")
    suite = deploy_consortium(chain, tmp_path_factory.mktemp("node-deploy") / "node.json")
    return chain, suite


@pytest.fixture
def node_chain(_deployed: tuple[Chain, Deployment]) -> Iterator[Chain]:
    chain, _ = _deployed
    snap = chain.snapshot()
    try:
        yield chain
    finally:
        chain.revert(snap)


@pytest.fixture
def node_suite(node_chain: Chain, _deployed: tuple[Chain, Deployment]) -> Deployment:
    return _deployed[1]


@pytest.fixture
def spawn_node() -> Iterator[Callable[[list[str]], NodeProcess]]:
    started: list[NodeProcess] = []

    def spawn(args: list[str]) -> NodeProcess:
        process = NodeProcess(*args)
        started.append(process)
        return process

    try:
        yield spawn
    finally:
        for process in started:
            process.stop()
