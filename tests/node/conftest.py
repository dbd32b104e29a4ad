"""Fixtures for `collective node` tests.

- ``dev_node``: an in-process --dev node (in memory) serving HTTP on a free port, one per module.
- ``node_chain``: a :class:`~collective.chain.Chain` on it with the suite deployed once;
  each test is reverted to that state (evm_snapshot / evm_revert).
- ``spawn_node``: start `collective node start` as a subprocess.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collective.chain import Chain, connect_rpc
from collective.deploy import Deployment
from collective.node import Node, NodeConfig
from collective.node.server import RpcServer, serve_in_thread
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NodeProcess:
    def __init__(self, args: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from collective.cli import main; main()", "node", "start",
             "--port", str(self.port), *args],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"node exited: {err[-1500:]}")
            try:
                if "result" in call(self.url, "eth_blockNumber"):
                    return
            except (requests.RequestException, json.JSONDecodeError):
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("node did not answer within 60 s")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.kill()


@pytest.fixture
def spawn_node() -> Iterator[Callable[[list[str]], NodeProcess]]:
    started: list[NodeProcess] = []

    def spawn(args: list[str]) -> NodeProcess:
        process = NodeProcess(args)
        started.append(process)
        return process

    try:
        yield spawn
    finally:
        for process in started:
            process.stop()
