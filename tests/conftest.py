"""Shared fixtures: the embedded chain with the suite deployed once, and an anvil node.

- ``chain``: the session's embedded :class:`~collective.chain.Chain` (ten dev accounts), reset
  to the state right after deployment when each test ends (snapshot / revert).
- ``suite``: the :class:`~collective.deploy.Deployment` on it. ``dev_accounts[0]`` deployed it
  and is the AccountRules admin; the OversightBoard members are ``dev_accounts[7:10]`` with
  threshold 2.
- ``anvil``: the URL of an anvil node (npm ``@foundry-rs/anvil``) started once per session on
  127.0.0.1 and stopped at the end. Tests using it are marked ``anvil`` automatically.
- ``anvil_chain``: a :class:`Chain` on that node, reverted after each test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collective.chain import Chain, connect_embedded, connect_rpc
from collective.deploy import Deployment, deploy_suite
from tests.helpers import World, make_world

REPO = Path(__file__).resolve().parents[1]
ANVIL_BINARIES = (
    REPO / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
    REPO / "node_modules" / ".bin" / "anvil",
)
BOARD_THRESHOLD = 2


@pytest.fixture(scope="session")
def _embedded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Chain, Deployment]:
    chain = connect_embedded()
    dev = chain.dev_accounts
    suite = deploy_suite(
        chain,
        dev[0],
        board_members=[account.address for account in dev[7:10]],
        threshold=BOARD_THRESHOLD,
        manifest_path=tmp_path_factory.mktemp("deployments") / "embedded.json",
    )
    return chain, suite


@pytest.fixture
def chain(_embedded: tuple[Chain, Deployment]) -> Iterator[Chain]:
    """The embedded chain with the suite deployed; changes are undone after the test."""
    embedded, _ = _embedded
    snapshot = embedded.snapshot()
    try:
        yield embedded
    finally:
        embedded.revert(snapshot)


@pytest.fixture
def suite(chain: Chain, _embedded: tuple[Chain, Deployment]) -> Deployment:
    """The suite on ``chain``: ``suite.contract("ConsentLedger")`` etc."""
    return _embedded[1]


def _anvil_binary() -> Path | None:
    env = os.environ.get("ANVIL")
    candidates = [Path(env)] if env else []
    candidates += list(ANVIL_BINARIES)
    if found := shutil.which("anvil"):
        candidates.append(Path(found))
    return next((path for path in candidates if path.is_file() and os.access(path, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        reply = requests.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1
        )
        return reply.ok and "result" in reply.json()
    except (requests.RequestException, ValueError):
        return False


def _start_anvil(binary: Path) -> tuple[subprocess.Popen[bytes], str]:
    last_error = ""
    for _ in range(3):  # another process may grab the free port first: try another
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_error = (process.stderr.read() if process.stderr else b"").decode()[-500:]
                break
            if _answers(url):
                return process, url
            time.sleep(0.05)
        else:
            process.kill()
            process.wait()
            last_error = "it did not answer within 20 s"
    pytest.fail(f"anvil ({binary}) did not start: {last_error}")


@pytest.fixture(scope="session")
def anvil() -> Iterator[str]:
    """URL of an anvil node started for this test session."""
    binary = _anvil_binary()
    if binary is None:
        pytest.skip("anvil is not installed: run `npm ci` (package @foundry-rs/anvil)")
    process, url = _start_anvil(binary)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


@pytest.fixture
def anvil_chain(anvil: str) -> Iterator[Chain]:
    """A connection to the session's anvil node; its state is reverted after the test."""
    connected = connect_rpc(anvil, name="anvil")
    snapshot = connected.snapshot()
    try:
        yield connected
    finally:
        connected.revert(snapshot)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "anvil" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.anvil)


@pytest.fixture
def w(chain: Chain, suite: Deployment) -> World:
    """The embedded suite with two admitted organizations that published policy v1."""
    return make_world(chain, suite)
