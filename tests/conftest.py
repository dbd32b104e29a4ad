"""Shared fixtures: the embedded chain with the suite deployed once, and an anvil node.

- ``chain``: the session's embedded :class:`~collective.chain.Chain` (ten dev accounts), reset
  to the state right after deployment when each test ends (snapshot / revert).
- ``suite``: the :class:`~collective.deploy.Deployment` on it. ``dev_accounts[0]`` deployed it
  and is the AccountRules admin; the OversightBoard members are ``dev_accounts[7:10]`` with
  threshold 2.
- ``anvil``: the URL of an anvil node (npm ``@foundry-rs/anvil``) started once per session on
  127.0.0.1 and stopped at the end. Tests using it are marked ``anvil`` automatically.
- ``anvil_chain``: a :class:`Chain` on that node, reverted after each test.
- ``dev_server``: an in-process ``collective node --dev`` (in memory) serving HTTP on a free
  port, one per module; ``node_chain`` / ``node_suite``: a :class:`Chain` on it with the suite
  deployed once, each test reverted to that state (evm_snapshot / evm_revert).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collective.chain import Chain, connect_embedded, connect_rpc
from collective.deploy import Deployment
from collective.node import Node, NodeConfig
from collective.node.server import RpcServer, serve_in_thread
from collective.testing.anvil import find_anvil, run_anvil
from tests.helpers import World, deploy_consortium, make_world

REPO = Path(__file__).resolve().parents[1]


def _reverting(chain: Chain) -> Iterator[Chain]:
    """``chain`` for one test; every change the test made is undone after it
    (snapshot / revert: ``evm_snapshot`` / ``evm_revert`` on a node)."""
    snapshot = chain.snapshot()
    try:
        yield chain
    finally:
        chain.revert(snapshot)


@pytest.fixture(scope="session")
def _embedded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Chain, Deployment]:
    chain = connect_embedded()
    suite = deploy_consortium(chain, tmp_path_factory.mktemp("deployments") / "embedded.json")
    return chain, suite


@pytest.fixture
def chain(_embedded: tuple[Chain, Deployment]) -> Iterator[Chain]:
    """The embedded chain with the suite deployed; changes are undone after the test."""
    yield from _reverting(_embedded[0])


@pytest.fixture
def suite(chain: Chain, _embedded: tuple[Chain, Deployment]) -> Deployment:
    """The suite on ``chain``: ``suite.contract("ConsentLedger")`` etc."""
    return _embedded[1]


@pytest.fixture(scope="session")
def anvil() -> Iterator[str]:
    """URL of an anvil node started for this test session."""
    if find_anvil() is None:
        pytest.skip("anvil is not installed: run `npm ci` (package @foundry-rs/anvil)")
    with run_anvil() as url:
        yield url


@pytest.fixture
def anvil_chain(anvil: str) -> Iterator[Chain]:
    """A connection to the session's anvil node; its state is reverted after the test."""
    yield from _reverting(connect_rpc(anvil, name="anvil"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "anvil" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.anvil)


@pytest.fixture
def w(chain: Chain, suite: Deployment) -> World:
    """The embedded suite with two admitted organizations that published policy v1."""
    return make_world(chain, suite)


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
    yield from _reverting(_deployed[0])


@pytest.fixture
def node_suite(node_chain: Chain, _deployed: tuple[Chain, Deployment]) -> Deployment:
    return _deployed[1]
