"""`collective node start --consensus cometbft`: what it refuses, clearly."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from collective.cli import cli


@pytest.mark.parametrize("extra", [["--dev"], ["--block-time", "2"], ["--authority", "sealer"]])
def test_options_of_a_sealing_node_are_refused(tmp_path: Path, extra: list[str]) -> None:
    result = CliRunner().invoke(
        cli,
        ["node", "start", "--consensus", "cometbft", "--data-dir", str(tmp_path / "d"), *extra],
    )
    assert result.exit_code == 2
    assert f"{extra[0]} does not go with --consensus cometbft" in result.output
    assert "Traceback" not in result.output


def test_an_abci_address_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli,
            ["node", "start", "--consensus", "cometbft", "--data-dir", str(tmp_path / "d"),
             "--port", "0", "--abci", f"tcp://127.0.0.1:{port}"],
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
