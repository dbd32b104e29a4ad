"""What ``collective network start`` and ``status`` do when the network's ports are not its
own: another program (often another network written on the same ports) answers there, or
the validators already run. Fast tests: the network folder is written by hand, stand-ins
(a sleeping process under a pid file, a small JSON-RPC server) take the place of the
validators' processes, and nothing real is started."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from collective.cli import cli
from collective.network import NetworkLayout, ValidatorLayout
from collective.network.control import COMETBFT_FILES
from collective.network.processes import Service, alive, start_time
from collective.testing.consortium import free_ports

ANSWERS: dict[str, Any] = {
    "eth_blockNumber": "0x13",
    "status": {
        "sync_info": {"latest_block_height": "19", "latest_app_hash": "AB", "catching_up": False},
        "validator_info": {"voting_power": "10"},
    },
    "net_info": {"n_peers": "3"},
}


class _Answer(BaseHTTPRequestHandler):
    """Answers every JSON-RPC call from :data:`ANSWERS`, like a running validator would."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps(
            {"jsonrpc": "2.0", "id": request["id"], "result": ANSWERS[request["method"]]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def network(tmp_path: Path) -> NetworkLayout:
    """A stopped 2-validator network on free ports, written without cometbft."""
    root = tmp_path / "net"
    validators = tuple(
        ValidatorLayout(
            index=i,
            organization=f"0x{i:040x}",
            node_id=f"{i:040x}",
            address=f"{i:040X}",
            pub_key="A" * 43 + "=",
            power=10,
            ports=ports,
            root=root,
        )
        for i, ports in enumerate(free_ports(2), start=1)
    )
    for v in validators:
        v.data_dir.mkdir(parents=True)
        (v.home / "config").mkdir(parents=True)
        for name in COMETBFT_FILES:
            (v.home / "config" / name).write_text("{}\n")
    layout = NetworkLayout(root, 4242, "collective-4242", f"0x{0:040x}", "never", validators)
    layout.save()
    layout.genesis_path.write_text("{}\n")
    return layout


@pytest.fixture
def answering(network: NetworkLayout) -> Iterator[list[ThreadingHTTPServer]]:
    """Another program answering JSON-RPC on every validator's JSON-RPC and CometBFT RPC port."""
    servers = [
        ThreadingHTTPServer(("127.0.0.1", port), _Answer)
        for v in network.validators
        for port in (v.ports.rpc, v.ports.cometbft_rpc)
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def _pid_files(network: NetworkLayout) -> list[Path]:
    return sorted(network.root.glob("validator-*/*.pid"))


def test_start_refuses_ports_another_program_holds(network: NetworkLayout) -> None:
    taken = network.validators[1].ports.rpc
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        result = CliRunner().invoke(cli, ["network", "start", str(network.root)])
    assert result.exit_code == 1, result.output
    assert f"port {taken} (validator-2's JSON-RPC) in use by another program" in result.output
    assert "--base-port" in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert _pid_files(network) == []  # nothing was started
    assert not any(v.folder.joinpath("node.log").exists() for v in network.validators)


def test_start_refuses_another_network_answering_on_its_ports(
    network: NetworkLayout, answering: list[ThreadingHTTPServer]
) -> None:
    result = CliRunner().invoke(cli, ["network", "start", str(network.root)])
    assert result.exit_code == 1, result.output
    assert "ports " in result.output and "and 0 more" not in result.output
    assert "Traceback" not in result.output
    assert _pid_files(network) == []


def test_start_of_a_network_missing_a_validator_folder(network: NetworkLayout) -> None:
    shutil.rmtree(network.validators[1].folder)
    result = CliRunner().invoke(cli, ["network", "start", str(network.root)])
    assert result.exit_code == 1, result.output
    assert f"the network in {network.root} is incomplete: validator-2," in result.output
    assert "init --force" in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert _pid_files(network) == []


def test_status_asks_only_its_own_processes(
    network: NetworkLayout, answering: list[ThreadingHTTPServer]
) -> None:
    result = CliRunner().invoke(cli, ["network", "status", str(network.root), "--json"])
    assert result.exit_code == 0, result.output
    for row in json.loads(result.output)["validators"]:
        assert row["state"] == "stopped"
        assert (row["height"], row["head"], row["peers"], row["votingPower"]) == (None,) * 4


@pytest.fixture
def stand_ins(network: NetworkLayout) -> Iterator[None]:
    """A sleeping process of its own session under every pid file: the validators "run"."""
    processes = []
    try:
        for v in network.validators:
            for kind in ("node", "cometbft"):
                process = subprocess.Popen(["sleep", "60"], start_new_session=True)
                processes.append(process)
                Service(v, kind).pid_file.write_text(f"{process.pid} {start_time(process.pid)}\n")
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_start_says_which_validators_were_already_running(
    network: NetworkLayout, answering: list[ThreadingHTTPServer], stand_ins: None
) -> None:
    result = CliRunner().invoke(cli, ["network", "start", str(network.root)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("validators 1, 2 were already running\n")
    assert "started" not in result.output
    one = CliRunner().invoke(cli, ["network", "start", str(network.root), "--validator", "2"])
    assert one.output.startswith("validator 2 was already running\n"), one.output


def test_start_that_times_out_says_how_long_it_waited(
    network: NetworkLayout, stand_ins: None
) -> None:
    result = CliRunner().invoke(cli, ["network", "start", str(network.root), "--timeout", "1"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(
        "error: validator-1's node was not ready within 1 s (a busy machine may need a longer "
        "--timeout)"
    )
    assert "Traceback" not in result.output


def test_a_failure_shows_the_log_of_this_start_only(network: NetworkLayout, tmp_path: Path) -> None:
    fake = tmp_path / "cometbft"
    fake.write_text("#!/bin/sh\necho this start failed\nexit 1\n")
    fake.chmod(0o755)
    service = Service(network.validators[0], "cometbft")
    service.log_file.write_text("an earlier start's last words\n")
    pid = service.spawn(fake)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:  # subprocess may reap it first
        time.sleep(0.05)
    assert service.log_tail() == "this start failed\n"
    assert "an earlier start" in service.log_file.read_text()  # the log is kept whole


def test_status_without_a_quorum_says_transactions_wait(network: NetworkLayout) -> None:
    stand_in = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        Service(network.validators[0], "cometbft").pid_file.write_text(
            f"{stand_in.pid} {start_time(stand_in.pid)}\n"
        )
        result = CliRunner().invoke(cli, ["network", "status", str(network.root)])
        assert result.exit_code == 0, result.output
        assert "no quorum: the running validators hold 10 of 20 voting power" in result.stderr
        stand_in.kill()
        stand_in.wait()
        stopped = CliRunner().invoke(cli, ["network", "status", str(network.root)])
        assert "no quorum" not in stopped.stderr  # all stopped: the table says it
    finally:
        stand_in.kill()
        stand_in.wait()
