"""Operator mistakes and orderly stops against a `collective node` in a subprocess: a data
directory in use, a stop with transactions in the pool, a damaged database. Nothing the node
answered for is lost, and nothing damaged is served."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.node.conftest import REPO, NodeProcess, call


def _send(url: str) -> str:
    sender = call(url, "eth_accounts")["result"][0]
    tx = {"from": sender, "to": "0x" + "44" * 20, "value": "0x1"}
    reply = call(url, "eth_sendTransaction", tx)
    assert "result" in reply, reply
    tx_hash: str = reply["result"]
    return tx_hash


def _receipt(url: str, tx_hash: str) -> Any:
    return call(url, "eth_getTransactionReceipt", tx_hash)["result"]


def _start(*args: str) -> subprocess.CompletedProcess[str]:
    """`collective node start` that is expected to exit (refused) at once."""
    return subprocess.run(
        [sys.executable, "-c", "from collective.cli import main; main()", "node", "start",
         "--port", "0", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_second_node_on_a_data_dir_is_refused_naming_the_holder(
    tmp_path: Path, spawn_node: Callable[[list[str]], NodeProcess]
) -> None:
    data_dir = tmp_path / "chain"
    first = spawn_node(["--data-dir", str(data_dir), "--dev"])
    tx_hash = _send(first.url)
    assert _receipt(first.url, tx_hash) is not None
    second = _start("--data-dir", str(data_dir), "--dev")
    assert second.returncode != 0
    assert f"process {first.process.pid}" in second.stderr, second.stderr
    assert "in use" in second.stderr and "--data-dir" in second.stderr
    first.stop()
    again = spawn_node(["--data-dir", str(data_dir), "--dev"])
    receipt = _receipt(again.url, tx_hash)
    assert receipt is not None and receipt["status"] == "0x1"


def test_orderly_stop_seals_every_answered_transaction(
    tmp_path: Path, spawn_node: Callable[[list[str]], NodeProcess]
) -> None:
    data_dir = tmp_path / "chain"
    # a block time far beyond the test: only the stop can seal them
    node = spawn_node(["--data-dir", str(data_dir), "--dev", "--block-time", "600"])
    hashes = [_send(node.url) for _ in range(5)]
    assert all(_receipt(node.url, tx_hash) is None for tx_hash in hashes)  # still pending
    node.process.terminate()  # SIGTERM: an orderly stop
    assert node.process.wait(timeout=30) == 0
    again = spawn_node(["--data-dir", str(data_dir), "--dev", "--block-time", "600"])
    for tx_hash in hashes:
        receipt = _receipt(again.url, tx_hash)
        assert receipt is not None and receipt["status"] == "0x1", tx_hash


def test_an_emptied_database_is_refused_not_restarted_at_block_zero(
    tmp_path: Path, spawn_node: Callable[[list[str]], NodeProcess]
) -> None:
    data_dir = tmp_path / "chain"
    node = spawn_node(["--data-dir", str(data_dir), "--dev"])
    _send(node.url)
    node.stop()
    database = data_dir / "chain.sqlite"
    assert (data_dir / "genesis.json").is_file() and database.stat().st_size > 0
    database.write_bytes(b"")  # truncated: a full disk, a bad copy, a slip of the hand
    refused = _start("--data-dir", str(data_dir), "--dev")
    assert refused.returncode != 0
    assert f"the chain database {database} is damaged" in refused.stderr, refused.stderr
    assert "backup" in refused.stderr and "--data-dir" in refused.stderr
    assert database.stat().st_size == 0  # left as found
