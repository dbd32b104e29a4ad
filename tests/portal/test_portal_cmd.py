"""``collective portal``: it serves the portal from its own process on the chain it is given,
and refuses a relayer that may not relay with one clear line."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from collective.cli import cli
from collective.testing.ports import free_port
from tests.portal.conftest import REPO, Ledger


def _args(ledger: Ledger, *more: str) -> list[str]:
    manifest = str(ledger.admin.deployment.manifest_path)
    return ["portal", "--rpc", ledger.node, "--manifest", manifest, *more]


def test_the_command_serves_the_portal(ledger: Ledger, bundle: object, tmp_path: Path) -> None:
    port = free_port()
    index = tmp_path / "portal-index.db"
    options = ["--relayer", "2", "--port", str(port), "--index", str(index)]
    command = [sys.executable, "-c", "from collective.cli import main; main()",
               *_args(ledger, *options)]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/api/config", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the portal did not answer within 60 s"
                time.sleep(0.2)
        assert page.json()["relayer"] == ledger.lab.address
        assert page.json()["ledger"] == ledger.lab.session.ledger.address
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr:
            assert "Traceback" not in process.stderr.read()
            process.stderr.close()
    assert index.is_file() and index.stat().st_size > 0  # --index: kept after the portal stops


def test_an_index_in_a_missing_folder_is_one_clear_error(ledger: Ledger, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "index.db"
    result = CliRunner().invoke(cli, _args(ledger, "--relayer", "2", "--index", str(missing)))
    assert result.exit_code == 1
    assert f"the folder {missing.parent} does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_relayer_that_is_no_organization_is_refused(ledger: Ledger) -> None:
    result = CliRunner().invoke(cli, _args(ledger, "--relayer", "5"))
    assert result.exit_code == 1
    assert "is not an admitted organization" in result.output
    assert "Traceback" not in result.output


def test_a_port_in_use_is_one_clear_error(ledger: Ledger, bundle: object) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(cli, _args(ledger, "--relayer", "2", "--port", port))
    assert result.exit_code == 1
    assert f"the portal cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_help_shows_examples() -> None:
    result = CliRunner().invoke(cli, ["portal", "--help"])
    assert result.exit_code == 0
    assert "collective portal --network local --relayer 1" in result.output
