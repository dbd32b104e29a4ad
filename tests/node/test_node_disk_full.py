"""The disk fills up under a running node: a block cannot be committed. Writes get a JSON-RPC
error, reads keep working, and sealing resumes by itself when there is room again; every
transaction the node answered with a hash is sealed in the end.

Two ways to fill the disk, both real SQLite failures (``SQLITE_FULL``, "database or disk is
full"): a tiny tmpfs under the data directory, grown again with a remount (needs root and
``mount``; skipped elsewhere), and ``PRAGMA max_page_count`` on the node's connection, which
runs anywhere."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from collective.node import Node, NodeConfig
from collective.node.server import RpcServer, serve_in_thread
from tests.node.conftest import call


def _send(url: str, value: int = 1) -> dict[str, Any]:
    sender = call(url, "eth_accounts")["result"][0]
    tx = {"from": sender, "to": "0x" + "44" * 20, "value": hex(value), "gas": "0x5208"}
    return call(url, "eth_sendTransaction", tx)


def _fill(node: Node) -> None:
    conn = node.chain.store._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")


def _room(node: Node) -> None:
    node.chain.store._conn.execute("PRAGMA max_page_count=1073741823")


@pytest.fixture
def block_time_node(tmp_path: Path) -> Iterator[tuple[Node, RpcServer]]:
    node = Node(NodeConfig(dev=True, data_dir=tmp_path / "chain", block_time=0.3))
    server = serve_in_thread(node)
    yield node, server
    server.shutdown()
    server.server_close()
    node.close()


@pytest.fixture
def instant_node(tmp_path: Path) -> Iterator[tuple[Node, RpcServer]]:
    node = Node(NodeConfig(dev=True, data_dir=tmp_path / "chain"))
    server = serve_in_thread(node)
    yield node, server
    server.shutdown()
    server.server_close()
    node.close()


def _wait_receipt(url: str, tx_hash: str, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        receipt = call(url, "eth_getTransactionReceipt", tx_hash)["result"]
        if receipt is not None:
            return receipt
        time.sleep(0.1)
    return None


def _check_full_then_room(
    node: Node, url: str, fill: Callable[[], None], room: Callable[[], None]
) -> None:
    head = int(call(url, "eth_blockNumber")["result"], 16)
    fill()
    first = _send(url)  # answered: admitted before the node learns the disk is full
    answered = [first["result"]] if "result" in first else []
    deadline = time.monotonic() + 10
    refused = None
    while time.monotonic() < deadline:  # once a seal has failed, new writes are refused
        reply = _send(url, 2)
        if "error" in reply:
            refused = reply["error"]
            break
        answered.append(reply["result"])
        time.sleep(0.2)
    assert refused is not None, "a write was never refused while the disk was full"
    assert refused["code"] == -32000 and "cannot store blocks" in refused["message"], refused
    assert "full" in refused["message"], refused
    # reads keep working, many times over
    for _ in range(20):
        assert int(call(url, "eth_blockNumber")["result"], 16) == head
        assert call(url, "eth_getBlockByNumber", hex(head), False)["result"] is not None
        assert "result" in call(url, "eth_getBalance", "0x" + "44" * 20, "latest")
    room()
    for tx_hash in answered:  # sealing resumes by itself: nothing answered is lost
        receipt = _wait_receipt(url, tx_hash)
        assert receipt is not None and receipt["status"] == "0x1", tx_hash
    deadline = time.monotonic() + 10
    while "error" in (reply := _send(url, 3)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "result" in reply, reply
    assert _wait_receipt(url, reply["result"]) is not None


@pytest.mark.parametrize("mode", ["instant", "block_time"])
def test_disk_full_refuses_writes_serves_reads_and_resumes(
    mode: str, request: pytest.FixtureRequest
) -> None:
    node, server = request.getfixturevalue(f"{mode}_node")
    assert "result" in _send(server.url)  # a block or two on disk before the disk fills
    time.sleep(0.5)
    _check_full_then_room(node, server.url, lambda: _fill(node), lambda: _room(node))


def _can_mount() -> bool:
    return (
        os.geteuid() == 0
        and subprocess.run(["which", "mount"], capture_output=True).returncode == 0
    )


def test_disk_full_on_a_real_filesystem(tmp_path: Path) -> None:
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {made.stderr.decode().strip()}")
    try:
        node = Node(NodeConfig(dev=True, data_dir=mount_point / "chain", sync="normal"))
        server = serve_in_thread(node)
        try:
            url = server.url

            def fill() -> None:
                # take the rest of the filesystem, leaving the node no room for a block
                with open(mount_point / "ballast", "wb", buffering=0) as ballast:
                    try:
                        while True:
                            ballast.write(b"\0" * 4096)
                    except OSError:
                        pass

            def room() -> None:
                (mount_point / "ballast").unlink()

            _check_full_then_room(node, url, fill, room)
        finally:
            server.shutdown()
            server.server_close()
            node.close()
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
