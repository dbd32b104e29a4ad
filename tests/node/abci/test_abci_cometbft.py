"""End to end: the real CometBFT v0.38 binary drives an Application through AbciServer.

A one-validator chain (`cometbft init`) with a tiny key=value store application: a transaction
broadcast with CometBFT's RPC goes through CheckTx, PrepareProposal, ProcessProposal,
FinalizeBlock and Commit, and the app hash the application returned for a block is in the
header of the next one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import tomlkit

from collective.errors import ConfigurationError
from collective.network.cometbft import cometbft_binary
from collective.node.abci import AbciServer, Application, types_pb2
from collective.testing.ports import free_port

abci = types_pb2


class KeyValueStore(Application):
    """key=value transactions; the app hash is the SHA-256 of the sorted committed pairs.
    Records which ABCI methods CometBFT called."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.committed: dict[bytes, bytes] = {}
        self.pending: dict[bytes, bytes] = {}
        self.height = 0
        self.app_hash = b""
        self.app_hashes: dict[int, bytes] = {}
        self.lock = threading.Lock()

    def _record(self, name: str) -> None:
        with self.lock:
            self.calls.append(name)

    @staticmethod
    def _parse(tx: bytes) -> tuple[bytes, bytes] | None:
        key, sep, value = tx.partition(b"=")
        return (key, value) if sep and key else None

    def info(self, request: abci.RequestInfo) -> abci.ResponseInfo:
        self._record("info")
        return abci.ResponseInfo(
            data="kvstore", last_block_height=self.height, last_block_app_hash=self.app_hash
        )

    def init_chain(self, request: abci.RequestInitChain) -> abci.ResponseInitChain:
        self._record("init_chain")
        return abci.ResponseInitChain()

    def check_tx(self, request: abci.RequestCheckTx) -> abci.ResponseCheckTx:
        self._record("check_tx")
        if self._parse(request.tx) is None:
            return abci.ResponseCheckTx(code=1, log="not key=value")
        return abci.ResponseCheckTx(code=0)

    def prepare_proposal(
        self, request: abci.RequestPrepareProposal
    ) -> abci.ResponsePrepareProposal:
        self._record("prepare_proposal")
        return super().prepare_proposal(request)

    def process_proposal(
        self, request: abci.RequestProcessProposal
    ) -> abci.ResponseProcessProposal:
        self._record("process_proposal")
        ok = all(self._parse(tx) is not None for tx in request.txs)
        status = abci.ResponseProcessProposal.ACCEPT if ok else abci.ResponseProcessProposal.REJECT
        return abci.ResponseProcessProposal(status=status)

    def finalize_block(self, request: abci.RequestFinalizeBlock) -> abci.ResponseFinalizeBlock:
        self._record("finalize_block")
        self.pending = dict(self.committed)
        results = []
        for tx in request.txs:
            pair = self._parse(tx)
            assert pair is not None
            self.pending[pair[0]] = pair[1]
            results.append(abci.ExecTxResult(code=0))
        digest = hashlib.sha256()
        for key in sorted(self.pending):
            digest.update(key + b"=" + self.pending[key] + b"\n")
        self.app_hash = digest.digest()
        self.height = request.height
        self.app_hashes[request.height] = self.app_hash
        return abci.ResponseFinalizeBlock(tx_results=results, app_hash=self.app_hash)

    def commit(self, request: abci.RequestCommit) -> abci.ResponseCommit:
        self._record("commit")
        self.committed = self.pending
        return abci.ResponseCommit()


def configure(home: Path, proxy_app: str, rpc_port: int, p2p_port: int) -> None:
    """Point CometBFT at the ABCI server, on free ports, with short timeouts."""
    path = home / "config" / "config.toml"
    config: Any = tomlkit.parse(path.read_text())
    config["proxy_app"] = proxy_app
    config["abci"] = "socket"
    config["log_level"] = "info"
    config["rpc"]["laddr"] = f"tcp://127.0.0.1:{rpc_port}"
    config["p2p"]["laddr"] = f"tcp://127.0.0.1:{p2p_port}"
    consensus = config["consensus"]
    consensus["timeout_propose"] = "500ms"
    consensus["timeout_prevote"] = "200ms"
    consensus["timeout_precommit"] = "200ms"
    consensus["timeout_commit"] = "200ms"
    consensus["create_empty_blocks"] = False  # a block only for a tx, and one to carry its hash
    path.write_text(tomlkit.dumps(config))


def rpc(port: int, method: str, **params: Any) -> Any:
    reply = requests.post(
        f"http://127.0.0.1:{port}",
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        timeout=15,
    )
    body = reply.json()
    assert "error" not in body, body
    return body["result"]


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(params=["tcp", "unix"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[KeyValueStore, int]]:
    """A one-validator CometBFT chain (past block 1) on a KeyValueStore served over TCP or a
    Unix socket. Yields the app and the RPC port; stops cometbft and the server whatever
    happens, and prints the end of cometbft's log (shown by pytest when the test failed)."""
    try:
        binary = cometbft_binary()  # $COLLECTIVE_COMETBFT, .venv/bin, PATH; version checked
    except ConfigurationError as exc:
        pytest.skip(str(exc))
    home = tmp_path / "cometbft"
    subprocess.run(
        [str(binary), "init", "--home", str(home)], check=True, capture_output=True, timeout=30
    )
    log_path = tmp_path / "cometbft.log"
    with contextlib.ExitStack() as cleanup:
        # A Unix socket path must stay under ~100 bytes: not in pytest's long tmp_path.
        socket_dir = Path(tempfile.mkdtemp(prefix="abci", dir="/tmp"))
        cleanup.callback(shutil.rmtree, socket_dir, ignore_errors=True)
        app = KeyValueStore()
        unix = f"unix://{socket_dir}/app.sock"
        server = AbciServer(app, "tcp://127.0.0.1:0" if request.param == "tcp" else unix)
        server.start()
        cleanup.callback(server.close)
        rpc_port, p2p_port = free_port(), free_port()
        configure(home, server.address, rpc_port, p2p_port)
        cleanup.callback(lambda: print(log_path.read_text()[-5000:]))
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(binary), "start", "--home", str(home)], stdout=log, stderr=subprocess.STDOUT
            )
        cleanup.callback(stop, process)
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, "cometbft exited"
            assert time.monotonic() < deadline, "cometbft's RPC did not answer in 15 s"
            try:
                if int(rpc(rpc_port, "status")["sync_info"]["latest_block_height"]) >= 1:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        yield app, rpc_port


def test_a_transaction_goes_through_every_abci_call_and_the_app_hash_lands_in_the_next_header(
    chain: tuple[KeyValueStore, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "collective.node.abci")
    app, port = chain
    assert app.calls[:2] == ["info", "init_chain"]  # the handshake of a new chain
    refused = rpc(port, "broadcast_tx_sync", tx=base64.b64encode(b"no equals sign").decode())
    assert refused["code"] == 1 and refused["log"] == "not key=value"

    committed = rpc(port, "broadcast_tx_commit", tx=base64.b64encode(b"color=blue").decode())
    assert committed["check_tx"]["code"] == 0
    assert committed["tx_result"]["code"] == 0
    height = int(committed["height"])
    assert height >= 2
    for name in ("check_tx", "prepare_proposal", "process_proposal", "finalize_block", "commit"):
        assert name in app.calls, name

    deadline = time.monotonic() + 10
    while int(rpc(port, "status")["sync_info"]["latest_block_height"]) < height + 1:
        assert time.monotonic() < deadline, "no block after the transaction's"
        time.sleep(0.1)
    header = rpc(port, "block", height=str(height + 1))["block"]["header"]
    assert bytes.fromhex(header["app_hash"]) == app.app_hashes[height]
    assert app.committed == {b"color": b"blue"}
    block = rpc(port, "block", height=str(height))["block"]
    assert [base64.b64decode(tx) for tx in block["data"]["txs"]] == [b"color=blue"]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("collective.node")] == []
