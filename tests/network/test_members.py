"""The README's recipe for real machines, on this one: a member makes its own keys with
``cometbft init``, the coordinator writes the genesis with ``collective network genesis`` from
the public parts only, and the member's node and cometbft run from those files."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import tomlkit
from click.testing import CliRunner

from collective.chain import connect_rpc
from collective.cli import cli
from collective.client import Collective
from collective.deploy import load_deployment
from collective.network.cometbft import cometbft_binary, run_cometbft
from collective.network.rpc import cometbft_status
from collective.testing.consortium import free_ports
from collective.testing.ports import wait_until_answers

ADMIN_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # dev account 1
ADMIN = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ORG = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _spawn(stack: ExitStack, command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    stack.callback(stop)
    return process


def test_a_member_runs_the_coordinators_genesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = cometbft_binary()
    member_home = tmp_path / "member" / "cometbft"  # the member's machine: its keys stay here
    run_cometbft(binary, "init", "--home", str(member_home))
    public = json.loads(run_cometbft(binary, "show-validator", "--home", str(member_home)))
    monkeypatch.setenv("COLLECTIVE_PRIVATE_KEY", ADMIN_KEY)
    out = tmp_path / "consortium"
    made = CliRunner().invoke(
        cli,
        ["network", "genesis", "--account", ADMIN, "--out", str(out), "--chain-id", "7001",
         "--member", f"{ORG}:{public['value']}"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output

    ports = free_ports(1)[0]
    (member_home / "config" / "genesis.json").write_text((out / "genesis.json").read_text())
    config_path = member_home / "config" / "config.toml"
    config = tomlkit.parse(config_path.read_text())
    config["proxy_app"] = f"tcp://127.0.0.1:{ports.abci}"
    config["rpc"]["laddr"] = f"tcp://127.0.0.1:{ports.cometbft_rpc}"  # type: ignore[index]
    config["p2p"]["laddr"] = f"tcp://127.0.0.1:{ports.p2p}"  # type: ignore[index]
    config_path.write_text(tomlkit.dumps(config))
    url = f"http://127.0.0.1:{ports.rpc}"
    with ExitStack() as stack:
        node = _spawn(
            stack,
            [sys.executable, "-c", "from collective.cli import main; main()", "node", "start",
             "--consensus", "cometbft", "--data-dir", str(tmp_path / "member" / "chain"),
             "--genesis", str(out / "ethereum-genesis.json"),
             "--abci", f"tcp://127.0.0.1:{ports.abci}",
             "--cometbft-rpc", f"http://127.0.0.1:{ports.cometbft_rpc}",
             "--host", "127.0.0.1", "--port", str(ports.rpc)],
            tmp_path / "node.log",
        )  # fmt: skip
        wait_until_answers(url, node)
        comet = _spawn(
            stack, [str(binary), "start", "--home", str(member_home)], tmp_path / "cometbft.log"
        )
        status = None
        for _ in range(600):
            assert comet.poll() is None, (tmp_path / "cometbft.log").read_text()[-2000:]
            status = cometbft_status(f"http://127.0.0.1:{ports.cometbft_rpc}")
            if status is not None and status.height >= 1:
                break
            time.sleep(0.1)
        assert status is not None and status.height >= 1 and status.voting_power == 10

        chain = connect_rpc(url)
        reader = Collective(chain, load_deployment(chain, out / "manifest.json"))
        assert reader.orgs.profile(ORG).active
        [validator] = reader.oversight.validators()
        assert (validator.organization, validator.pub_key_base64) == (ORG, public["value"])
