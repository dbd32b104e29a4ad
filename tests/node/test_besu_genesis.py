"""The scale-out path, as far as it can be tested here: `collective node init --besu` writes a
Besu (QBFT) genesis with the contract suite in ``alloc``; anvil (``--init``) and `collective
node` both start from that file, find the genuine contract code (checked against the compiled
artifacts, immutables masked) with the bootstrap admin as AccountRules admin, and run the
consent flow on it. On the node, AccountRules permissions transactions from block 0."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils.address import to_checksum_address

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.cli import cli
from collective.deploy import Deployment, verify_code
from collective.node.dev import dev_keys
from collective.testing.anvil import find_anvil, run_anvil
from tests.node.conftest import NodeProcess, call

PURPOSE = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"


@pytest.fixture(scope="module")
def besu_genesis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("besu") / "besu-genesis.json"
    result = CliRunner().invoke(cli, ["node", "init", "--besu", "--dev", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(params=["node", pytest.param("anvil", marks=pytest.mark.anvil)])
def started(
    request: pytest.FixtureRequest,
    besu_genesis: Path,
    tmp_path: Path,
    spawn_node: Callable[[list[str]], NodeProcess],
) -> Iterator[tuple[str, str]]:
    if request.param == "node":
        node = spawn_node(["--data-dir", str(tmp_path / "chain"), "--genesis", str(besu_genesis)])
        yield "node", node.url
        return
    if find_anvil() is None:
        pytest.skip("anvil is not installed: run `npm ci` (package @foundry-rs/anvil)")
    with run_anvil(["--init", str(besu_genesis)]) as url:
        yield "anvil", url


DEV = [Account.from_key(key) for key in dev_keys()]  # anvil's well-known accounts


def _deployment(chain: Chain, genesis: dict[str, Any]) -> Deployment:
    contracts = genesis["config"]["collective"]["contracts"]
    return Deployment(
        chain_id=chain.chain_id,
        network=chain.name,
        deployer=DEV[0].address,
        addresses={name: to_checksum_address(a) for name, a in contracts.items()},
        tx_hashes={},
        blocks=dict.fromkeys(contracts, 0),
        chain=chain,
    )


def test_both_start_from_the_besu_genesis_and_see_the_suite(
    started: tuple[str, str], besu_genesis: Path
) -> None:
    name, url = started
    genesis = json.loads(besu_genesis.read_text())
    chain = connect_rpc(url, name=name)
    assert chain.chain_id == genesis["config"]["chainId"]
    suite = _deployment(chain, genesis)
    for contract, address in suite.addresses.items():
        verify_code(chain, contract, address)  # the artifacts' code, not just some code
    dev = DEV  # funded by the genesis alloc (`init --dev`), not by the node's --dev
    assert suite.contract("AccountRules").functions.isAdmin(dev[0].address).call()
    admin = Collective(chain, suite, dev[0])
    lab, patient = admin.as_account(dev[2]), admin.as_account(dev[3])
    admin.orgs.admit(lab.address)
    admin.orgs.admit(patient.address)  # the node permissions every sender from block 0
    lab.policies.publish(b"lab policy", "https://lab.example/v1", [PURPOSE])
    patient.consent.grant(lab.address, PURPOSE, HEALTH)
    assert lab.usage.record(patient.address, PURPOSE, HEALTH, "r/1").records
    if name == "node":  # account permissioning, as Besu's would do with this genesis
        stranger = Account.create()
        funding = {"chainId": chain.chain_id, "to": stranger.address, "value": 10**18,
                   "nonce": chain.get_transaction_count(dev[0].address), "gas": 21000,
                   "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
        signed = bytes(dev[0].sign_transaction(funding).raw_transaction)
        assert "result" in call(url, "eth_sendRawTransaction", "0x" + signed.hex())
        tx = {"chainId": chain.chain_id, "nonce": 0, "to": dev[2].address, "value": 0,
              "gas": 21000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
        raw = "0x" + bytes(stranger.sign_transaction(tx).raw_transaction).hex()
        refused = call(url, "eth_sendRawTransaction", raw)["error"]["message"]
        assert refused == f"sender {stranger.address.lower()} is not permitted"


def test_predeployed_storage_is_recorded_after_the_node_vm_has_run() -> None:
    """The alloc copies every slot the deployment wrote, also when the interpreter's own SSTORE
    (decided once per state class) is already in use in this process."""
    from collective.node.besu import predeployed_suite
    from collective.node.deploy import deploy_in_process
    from collective.node.genesis import Genesis

    warm, _ = deploy_in_process(Genesis(), b"\x11" * 20)
    warm.close()
    alloc, addresses = predeployed_suite(Genesis(), b"\x22" * 20)
    assert alloc[addresses["AccountRules"]].storage  # the admin, at least
    assert alloc[addresses["OversightBoard"]].storage


def test_the_fork_schedule_is_cancun_for_besu_25_5(besu_genesis: Path) -> None:
    """Besu 25.5.0 (the last release whose --permissions-accounts-contract-* flags read
    AccountRules) needs Prague's system contracts in a PoA genesis; the file stops at Cancun."""
    config = json.loads(besu_genesis.read_text())["config"]
    assert config["cancunTime"] == 0
    assert "pragueTime" not in config
    assert set(config["qbft"]) >= {"blockperiodseconds", "epochlength"}
