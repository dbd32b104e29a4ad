"""``collective board propose set-validator`` and ``collective board validators``, run through
click against a real Collective dev node (board of dev accounts 7, 8, 9 with threshold 2)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from collective.cli import cli
from collective.node.server import RpcServer

KEY = bytes(range(1, 33))
KEY_B64 = base64.b64encode(KEY).decode()  # as priv_validator_key.json's pub_key.value


class Board:
    """The CLI against one deployment on the dev node."""

    def __init__(self, url: str, manifest: Path) -> None:
        self.url, self.manifest = url, manifest

    def run(self, *args: str, account: int | None = None) -> Result:
        head = ["--rpc", self.url] + (["--account", str(account)] if account is not None else [])
        return CliRunner().invoke(cli, [*head, *args, "--manifest", str(self.manifest)])

    def json(self, *args: str, account: int | None = None) -> Any:
        result = self.run(*args, "--json", account=account)
        assert result.exit_code == 0, (args, result.output)
        return json.loads(result.stdout)

    def refused(self, *args: str, account: int | None = None) -> str:
        result = self.run(*args, account=account)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
        (line,) = result.stderr.strip().splitlines()
        return line


@pytest.fixture(scope="module")
def board(dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory) -> Board:
    manifest = tmp_path_factory.mktemp("validators") / "node.json"
    told = Board(dev_server.url, manifest)
    dev = _dev_addresses(told)
    members = [arg for member in dev[7:10] for arg in ("--board-member", member)]
    deploy = ["deploy", "--manifest", str(manifest), *members, "--threshold", "2"]
    result = CliRunner().invoke(cli, ["--rpc", dev_server.url, *deploy])
    assert result.exit_code == 0, result.output
    assert told.run("org", "admit", dev[1], account=0).exit_code == 0
    return told


def _dev_addresses(board: Board) -> list[str]:
    from collective.chain import connect_rpc

    return [str(account.address) for account in connect_rpc(board.url).dev_accounts]


def test_a_validator_is_proposed_approved_and_listed(board: Board) -> None:
    org = _dev_addresses(board)[1]
    assert board.json("board", "validators") == []
    table = board.run("board", "validators")
    assert table.exit_code == 0 and "none" in table.stdout
    vote = board.json(
        "board", "propose", "set-validator", org, "--pubkey", KEY_B64, "--power", "10", account=7
    )
    assert not vote["executed"]
    approved = board.json("board", "approve", str(vote["proposal_id"]), account=8)
    assert approved["executed"]
    (validator,) = board.json("board", "validators")
    assert validator == {
        "organization": org,
        "pubKey": "0x" + KEY.hex(),
        "pubKeyBase64": KEY_B64,
        "power": 10,
        "effectivePower": 10,
    }
    table = board.run("board", "validators").stdout
    assert KEY_B64 in table and org in table
    proposals = board.json("board", "proposals")
    assert proposals[-1]["action"] == "set-validator" and proposals[-1]["power"] == 10
    assert f"key {KEY_B64} power 10" in board.run("board", "proposals").stdout

    assert board.run("org", "suspend", org, account=0).exit_code == 0
    (suspended,) = board.json("board", "validators")
    assert (suspended["power"], suspended["effectivePower"]) == (10, 0)


def test_bad_keys_and_powers_are_one_clear_line(board: Board) -> None:
    org = _dev_addresses(board)[1]
    propose = ("board", "propose", "set-validator", org)
    line = board.refused(*propose, "--pubkey", "0x1234", "--power", "1", account=7)
    assert "is not a 32-byte ed25519 public key" in line and "base64" in line
    result = board.run(*propose, "--pubkey", KEY_B64, "--power", "-1", account=7)
    assert result.exit_code == 2 and "--power" in result.output
    line = board.refused(*propose, "--pubkey", KEY_B64, "--power", "1", account=1)
    assert "board member" in line
