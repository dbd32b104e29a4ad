"""Proof of authority: with `--authority KEYSTORE` every block's miner is the authority and the
block carries its signature over the block hash, checkable without trusting the node."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account

from collective.node import Node, NodeConfig
from collective.node.authority import SEAL_FIELD, recover_sealer
from collective.node.rpc import handle_body
from tests.node.conftest import NodeProcess, call


def _rpc(node: Node, method: str, *params: object) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    answer = handle_body(node, body.encode())
    assert answer is not None
    return json.loads(answer)["result"]


def _check_sealed(block: dict[str, str], authority: str) -> None:
    assert block["miner"] == authority.lower()
    signer = recover_sealer(bytes.fromhex(block["hash"][2:]), bytes.fromhex(block[SEAL_FIELD][2:]))
    assert "0x" + signer.hex() == authority.lower()


def test_blocks_are_signed_by_the_authority() -> None:
    authority = Account.create()
    node = Node(NodeConfig(dev=True, authority_key=bytes(authority.key)))
    assert _rpc(node, "eth_coinbase") == authority.address.lower()
    sender = "0x" + node.dev.addresses[0].hex() if node.dev else ""
    _rpc(node, "eth_sendTransaction", {"from": sender, "to": "0x" + "55" * 20, "value": "0x1"})
    _rpc(node, "evm_mine")
    for number in ("0x1", "0x2"):
        block = _rpc(node, "eth_getBlockByNumber", number, False)
        assert isinstance(block, dict)
        _check_sealed(block, authority.address)
    genesis = _rpc(node, "eth_getBlockByNumber", "0x0", False)
    assert isinstance(genesis, dict) and SEAL_FIELD not in genesis  # block 0 is the genesis'
    node.close()


def test_cli_authority_from_a_keystore(
    tmp_path: Path,
    spawn_node: Callable[[list[str]], NodeProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authority = Account.create()
    keystore = tmp_path / "sealer.json"
    keystore.write_text(json.dumps(Account.encrypt(authority.key, "sealing", iterations=2)))
    monkeypatch.setenv("COLLECTIVE_PASSWORD", "sealing")
    node = spawn_node(
        ["--data-dir", str(tmp_path / "chain"), "--dev", "--authority", str(keystore)]
    )
    sender = call(node.url, "eth_accounts")["result"][0]
    call(node.url, "eth_sendTransaction", {"from": sender, "to": sender, "value": "0x1"})
    _check_sealed(
        call(node.url, "eth_getBlockByNumber", "latest", False)["result"], authority.address
    )
