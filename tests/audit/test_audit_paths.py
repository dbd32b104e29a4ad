"""The default audit index path: one file per network or RPC endpoint, under the project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collective.audit import default_index_path
from collective.config import load_config


def test_the_default_index_is_named_by_network_then_rpc_then_the_default_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = tmp_path / "hardhat.config.json"
    config_file.write_text(
        json.dumps({"defaultNetwork": "embedded", "networks": {"embedded": {"type": "embedded"}}})
    )
    config = load_config(config_file)
    cache = (config.root or Path.cwd()) / "cache"
    assert default_index_path("anvil", "http://x:1", config=config) == cache / "audit-anvil.sqlite"
    assert default_index_path(rpc="http://127.0.0.1:8545/rpc/v1", config=config) == (
        cache / "audit-127.0.0.1-8545-rpc-v1.sqlite"
    )
    long = default_index_path(rpc="https://" + "a" * 300, config=config)
    assert long.name == "audit-" + "a" * 100 + ".sqlite"
    assert default_index_path(config=config) == cache / "audit-embedded.sqlite"
    monkeypatch.chdir(tmp_path)  # without a config argument: hardhat.config.json from here
    assert default_index_path().name == "audit-embedded.sqlite"
