"""`collective node init` / `start` end to end: a --dev genesis whose AccountRules address is
where `collective deploy --rpc` puts it, so permissioning switches on after the deployment; a
Besu-style genesis with the suite predeployed that our node starts from and sees."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from eth_account import Account

from collective.cli import cli
from tests.node.conftest import NodeProcess, call


def test_help_has_examples() -> None:
    result = CliRunner().invoke(cli, ["node", "start", "--help"])
    assert result.exit_code == 0 and "Examples" in result.output and "--block-time" in result.output
    result = CliRunner().invoke(cli, ["node", "init", "--help"])
    assert result.exit_code == 0 and "--besu" in result.output


def test_bad_block_time_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["node", "start", "--data-dir", str(tmp_path), "--block-time", "soon"]
    )
    assert result.exit_code == 2 and "--block-time" in result.output


def test_dev_genesis_deploy_then_permissioned(
    tmp_path: Path, spawn_node: Callable[[list[str]], NodeProcess]
) -> None:
    genesis = tmp_path / "genesis.json"
    assert CliRunner().invoke(cli, ["node", "init", "--dev", "--out", str(genesis)]).exit_code == 0
    node = spawn_node(["--data-dir", str(tmp_path / "chain"), "--genesis", str(genesis), "--dev"])
    result = CliRunner().invoke(
        cli,
        ["deploy", "--rpc", node.url, "--json", "--manifest", str(tmp_path / "deployment.json")],
    )
    assert result.exit_code == 0, result.output
    deployed = json.loads(result.output)
    rules = deployed["contracts"]["AccountRules"]["address"]
    assert rules.lower() == json.loads(genesis.read_text())["config"]["collective"][
        "accountRules"].lower()  # fmt: skip
    # a stranger (funded, but not admitted) is now refused before anything enters a block
    stranger = Account.create()
    admin = call(node.url, "eth_accounts")["result"][0]
    call(node.url, "eth_sendTransaction", {"from": admin, "to": stranger.address,
                                           "value": hex(10**18)})  # fmt: skip
    head = call(node.url, "eth_blockNumber")["result"]
    tx = {"chainId": 131277, "nonce": 0, "to": stranger.address, "value": 1, "gas": 21000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
    raw = "0x" + bytes(stranger.sign_transaction(tx).raw_transaction).hex()
    refused = call(node.url, "eth_sendRawTransaction", raw)["error"]
    assert refused["message"] == f"sender {stranger.address.lower()} is not permitted"
    assert call(node.url, "eth_blockNumber")["result"] == head


def test_besu_genesis_predeploys_the_suite(
    tmp_path: Path, spawn_node: Callable[[list[str]], NodeProcess]
) -> None:
    admin = Account.create().address
    out = tmp_path / "besu.json"
    result = CliRunner().invoke(
        cli, ["node", "init", "--besu", "--bootstrap-admin", admin, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    besu = json.loads(out.read_text())
    assert besu["config"]["cancunTime"] == 0 and "qbft" in besu["config"]  # Besu 25.5.0
    contracts = besu["config"]["collective"]["contracts"]
    node = spawn_node(["--data-dir", str(tmp_path / "chain"), "--genesis", str(out)])
    assert call(node.url, "eth_getCode", contracts["ConsentLedger"])["result"] != "0x"
    is_admin = "0x24d7806c" + admin[2:].lower().rjust(64, "0")  # isAdmin(address)
    answer = call(node.url, "eth_call", {"to": contracts["AccountRules"], "data": is_admin})
    assert int(answer["result"], 16) == 1
