"""``collective network --help`` and each subcommand's help, as a new operator reads them; and
the one-member genesis line."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner

from collective.cli import cli

SUBCOMMANDS = ["init", "start", "stop", "status", "genesis"]
ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # dev account 0


def test_the_group_help_names_every_subcommand_and_what_genesis_is_for() -> None:
    result = CliRunner().invoke(cli, ["network", "--help"])
    assert result.exit_code == 0, result.output
    for name in SUBCOMMANDS:
        assert f"\n  {name} " in result.output
    assert "genesis writes the genesis of real members" in " ".join(result.output.split())
    assert "collective network genesis --account admin" in result.output


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help_with_examples(name: str) -> None:
    result = CliRunner().invoke(cli, ["network", name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"collective network {name} " in result.output  # an example
    assert "Traceback" not in result.output


def test_start_help_says_running_validators_are_left_alone() -> None:
    result = CliRunner().invoke(cli, ["network", "start", "--help"])
    assert "already running are left alone" in " ".join(result.output.split())


def test_genesis_of_one_member_says_one_validator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLLECTIVE_PRIVATE_KEY", ADMIN_KEY)
    key = base64.b64encode(bytes(range(32))).decode()
    member = f"0x70997970C51812dc3A010C7d01b50e0d17dc79C8:{key}"
    result = CliRunner().invoke(
        cli,
        ["network", "genesis", "--account", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
         "--out", str(tmp_path / "c"), "--member", member],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(CometBFT chain collective-131277, 1 validator)" in result.output
