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


def test_cometbfts_own_genesis_given_as_the_nodes_is_refused(tmp_path: Path) -> None:
    """A CometBFT genesis.json (chain_id, validators, app_state) is not the node's genesis:
    refused at start, with the file to give instead, and nothing written."""
    cometbft_genesis = tmp_path / "genesis.json"
    cometbft_genesis.write_text(
        '{"genesis_time": "2026-01-01T00:00:00Z", "chain_id": "collective-131277", '
        '"validators": [], "app_state": {"config": {"chainId": 131277}}}'
    )
    data_dir = tmp_path / "d"
    result = CliRunner().invoke(
        cli,
        ["node", "start", "--consensus", "cometbft", "--data-dir", str(data_dir),
         "--genesis", str(cometbft_genesis), "--port", "0"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "is CometBFT's genesis, not the node's" in result.output
    assert "app_state" in result.output and "Traceback" not in result.output
    assert not (data_dir / "chain.sqlite").exists() and not list(data_dir.glob("*.sqlite*"))
