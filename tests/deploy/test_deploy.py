"""collective.deploy and `collective deploy`, on the embedded chain and on anvil."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_account import Account

from collective.build.artifacts import load_artifact
from collective.chain import Chain, connect, connect_embedded
from collective.cli import cli
from collective.config import EMBEDDED_CHAIN_ID, load_config
from collective.deploy import (
    CONTRACTS,
    MODULES,
    Deployment,
    deploy_suite,
    immutable_ranges,
    ledger_address_for,
    load_deployment,
    mask,
)
from collective.errors import ChainError, CompilationError, ConfigurationError, InvalidInputError

REPO = Path(__file__).resolve().parents[2]


def check_suite(chain: Chain, suite: Deployment, manifest_path: Path) -> dict[str, Any]:
    """The manifest says what is on chain, and the chain has the suite wired as promised."""
    manifest = json.loads(manifest_path.read_text())
    deployer = chain.dev_accounts[0].address
    assert manifest["format"] == "collective-deployment-1"
    assert manifest["chainId"] == chain.chain_id == suite.chain_id
    assert manifest["network"] == chain.name == suite.network
    assert manifest["deployer"] == deployer == suite.deployer
    assert manifest["deployedAt"].endswith("Z")
    assert manifest["compiler"]["version"].startswith(load_config().solc_version)
    assert manifest["compiler"]["settings"]["evmVersion"] == "prague"
    assert set(manifest["contracts"]) == set(CONTRACTS)
    for name in CONTRACTS:
        entry = manifest["contracts"][name]
        assert entry["address"] == suite.addresses[name]
        assert entry["transactionHash"] == suite.tx_hashes[name]
        assert entry["blockNumber"] == suite.blocks[name]
        assert entry["artifactHash"] == load_artifact(name).artifact_hash
        tx_receipt = chain.get_transaction_receipt(entry["transactionHash"])
        # The ledger is created by the chain-bound factory (CREATE2), the rest directly.
        created = tx_receipt["contractAddress"] if name != "ConsentLedger" else None
        assert created == (entry["address"] if name != "ConsentLedger" else None)
        assert tx_receipt["blockNumber"] == entry["blockNumber"]
        assert len(chain.code_at(entry["address"])) > 1000
    assert manifest["contracts"]["AccountRules"]["constructorArgs"] == {"admins": [deployer]}
    ledger_address = suite.addresses["ConsentLedger"]
    assert manifest["modules"] == {
        m: {"contract": "ConsentLedger", "address": ledger_address} for m in MODULES
    }
    assert all(suite.contract(m).address == ledger_address for m in MODULES)
    factory = manifest["factory"]["address"]
    assert ledger_address_for(chain.chain_id, factory, suite.addresses["AccountRules"]) == (
        ledger_address
    )

    rules, board = suite.contract("AccountRules"), suite.contract("OversightBoard")
    assert chain.call(rules.functions.isAdmin(deployer)) is True
    assert chain.call(rules.functions.adminCount()) == 1
    assert chain.call(rules.functions.board()) == suite.addresses["OversightBoard"]
    assert chain.call(board.functions.accountRules()) == suite.addresses["AccountRules"]
    assert (
        chain.call(suite.contract("ConsentLedger").functions.accountRules())
        == suite.addresses["AccountRules"]
    )
    assert sorted(chain.call(board.functions.members())) == sorted(manifest["board"]["members"])
    assert (
        chain.call(board.functions.threshold()) == manifest["board"]["threshold"] == suite.threshold
    )
    return manifest  # type: ignore[no-any-return]


# --- embedded ------------------------------------------------------------------------------------


def test_session_suite_is_deployed_as_the_fixtures_promise(chain: Chain, suite: Deployment) -> None:
    assert suite.manifest_path is not None
    manifest = check_suite(chain, suite, suite.manifest_path)
    assert manifest["board"]["members"] == [a.address for a in chain.dev_accounts[7:10]]
    assert manifest["board"]["threshold"] == 2
    assert manifest["rpc"] is None and not suite.reused


def test_a_deployment_as_a_dict_is_its_json_document(chain: Chain, suite: Deployment) -> None:
    """``Deployment.to_dict``: what ``collective deploy --json`` prints, JSON-ready."""
    data = json.loads(json.dumps(suite.to_dict()))
    assert data == suite.to_dict()
    assert (data["chainId"], data["network"], data["reused"]) == (
        suite.chain_id,
        suite.network,
        False,
    )
    for name in CONTRACTS:
        assert data["contracts"][name] == {
            "address": suite.addresses[name],
            "transactionHash": suite.tx_hashes[name],
            "blockNumber": suite.blocks[name],
        }
    assert set(data["modules"].values()) == {suite.addresses["ConsentLedger"]}
    assert data["board"] == {
        "address": suite.addresses["OversightBoard"],
        "members": [a.address for a in chain.dev_accounts[7:10]],
        "threshold": 2,
    }
    assert data["manifest"] == str(suite.manifest_path) and data["notes"] == list(suite.notes)


def test_embedded_deploys_fresh_even_with_a_manifest(tmp_path: Path) -> None:
    chain = connect_embedded()
    path = tmp_path / "embedded.json"
    first = deploy_suite(chain, chain.dev_accounts[0], manifest_path=path)
    assert first.notes == () and first.chain_id == EMBEDDED_CHAIN_ID
    check_suite(chain, first, path)
    assert first.board_members == (chain.dev_accounts[0].address,) and first.threshold == 1

    again = deploy_suite(chain, chain.dev_accounts[0], manifest_path=path)
    assert not again.reused
    assert again.addresses != first.addresses
    assert "embedded chain starts empty" in again.notes[0]
    assert (
        json.loads(path.read_text())["contracts"]["AccountRules"]["address"]
        == again.addresses["AccountRules"]
    )
    assert not list(tmp_path.glob(".*.tmp")), "the atomic write left its temporary file"


def test_bad_board_settings_are_refused_before_deploying(tmp_path: Path) -> None:
    chain = connect_embedded()
    deployer = chain.dev_accounts[0]
    with pytest.raises(InvalidInputError, match="threshold 3 is invalid"):
        deploy_suite(
            chain,
            deployer,
            board_members=[deployer.address],
            threshold=3,
            manifest_path=tmp_path / "m.json",
        )
    with pytest.raises(ConfigurationError, match="not an address"):
        deploy_suite(chain, deployer, board_members=["0x1234"], manifest_path=tmp_path / "m.json")
    with pytest.raises(InvalidInputError, match="twice"):
        deploy_suite(
            chain, deployer, board_members=[deployer.address] * 2, manifest_path=tmp_path / "m.json"
        )
    assert chain.block_number() == 0
    assert not (tmp_path / "m.json").exists()


def test_immutables_are_masked_and_nothing_else() -> None:
    artifact = load_artifact("ConsentLedger")
    ranges = immutable_ranges("ConsentLedger")
    # Three immutables (accountRules, the cached chain id and domain separator), each masked
    # wherever the code reads it, and nothing else.
    references = json.loads((REPO / "collective" / "artifacts" / "ConsentLedger.json").read_text())[
        "immutableReferences"
    ]
    assert len(references) == 3
    expected = sorted((r["start"], r["length"]) for refs in references.values() for r in refs)
    assert sorted(ranges) == expected
    masked = mask(artifact.deployed_bytecode, ranges)
    assert len(masked) == len(artifact.deployed_bytecode)
    changed = bytearray(artifact.deployed_bytecode)
    start, length = ranges[0]
    changed[start : start + length] = b"\xff" * length
    assert mask(bytes(changed), ranges) == masked
    changed[0] ^= 1
    assert mask(bytes(changed), ranges) != masked


def test_stale_artifacts_are_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "contracts", project / "contracts")
    shutil.copytree(REPO / "collective" / "artifacts", project / "collective" / "artifacts")
    shutil.copy(REPO / "hardhat.config.json", project / "hardhat.config.json")
    config = load_config(project / "hardhat.config.json")
    chain = connect_embedded()
    deployed = deploy_suite(
        chain, chain.dev_accounts[0], manifest_path=tmp_path / "ok.json", config=config
    )
    assert deployed.addresses  # a faithful copy deploys

    source = project / "contracts" / "AccountRules.sol"
    source.write_text(source.read_text() + "\n// changed\n")
    with pytest.raises(CompilationError, match="collective compile") as caught:
        deploy_suite(
            chain, chain.dev_accounts[0], manifest_path=tmp_path / "stale.json", config=config
        )
    assert "AccountRules.sol" in str(caught.value)
    assert not (tmp_path / "stale.json").exists()

    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["deploy", "--network", "embedded", "--manifest", str(tmp_path / "cli.json")],
        env={"COLLECTIVE_CONFIG": str(project / "hardhat.config.json")},
    )
    assert result.exit_code == 1
    assert "collective compile" in result.output and "Traceback" not in result.output


# --- anvil ---------------------------------------------------------------------------------------


@pytest.fixture
def anvil_deployed(anvil: str, tmp_path: Path) -> tuple[Chain, Deployment, Path]:
    chain = connect("anvil", rpc=anvil)
    dev = chain.dev_accounts
    path = tmp_path / "anvil.json"
    suite = deploy_suite(
        chain, dev[0], board_members=[a.address for a in dev[7:10]], threshold=2, manifest_path=path
    )
    return chain, suite, path


@pytest.mark.anvil
def test_anvil_deploys_then_verifies_and_reuses(
    anvil_deployed: tuple[Chain, Deployment, Path],
) -> None:
    chain, suite, path = anvil_deployed
    assert not suite.reused
    manifest = check_suite(chain, suite, path)
    assert manifest["rpc"] == chain.url and manifest["network"] == "anvil"
    block = chain.block_number()

    again = deploy_suite(chain, chain.dev_accounts[0], manifest_path=path)
    assert again.reused
    assert again.addresses == suite.addresses and again.tx_hashes == suite.tx_hashes
    assert again.board_members == suite.board_members and again.threshold == 2
    assert chain.block_number() == block, "a verified re-run must not send transactions"
    assert json.loads(path.read_text()) == manifest

    with pytest.raises(ConfigurationError, match="threshold is 2, not 3"):
        deploy_suite(chain, chain.dev_accounts[0], manifest_path=path, threshold=3)
    with pytest.raises(ConfigurationError, match="other board members"):
        deploy_suite(
            chain, chain.dev_accounts[0], manifest_path=path, board_members=[suite.deployer]
        )
    assert chain.block_number() == block

    loaded = load_deployment(chain, path, verify=True)
    assert loaded.addresses == suite.addresses and loaded.reused
    assert chain.call(loaded.contract("AccountRules").functions.isAdmin(suite.deployer)) is True


@pytest.mark.anvil
def test_anvil_fresh_redeploys_and_overwrites(
    anvil_deployed: tuple[Chain, Deployment, Path],
) -> None:
    chain, suite, path = anvil_deployed
    fresh = deploy_suite(chain, chain.dev_accounts[0], manifest_path=path, fresh=True)
    assert not fresh.reused
    assert set(fresh.addresses.values()).isdisjoint(suite.addresses.values())
    check_suite(chain, fresh, path)


@pytest.mark.anvil
def test_manifest_for_another_chain_is_refused(
    anvil_deployed: tuple[Chain, Deployment, Path],
) -> None:
    chain, _, path = anvil_deployed
    manifest = json.loads(path.read_text())
    manifest["chainId"] = 1
    path.write_text(json.dumps(manifest))
    with pytest.raises(ConfigurationError, match=r"chain 1.*chain 31337") as caught:
        deploy_suite(chain, chain.dev_accounts[0], manifest_path=path)
    assert "--fresh" in str(caught.value)
    with pytest.raises(ConfigurationError, match="chain 1"):
        load_deployment(chain, path)


@pytest.mark.anvil
def test_tampered_or_missing_code_is_refused(
    anvil_deployed: tuple[Chain, Deployment, Path],
) -> None:
    chain, suite, path = anvil_deployed
    original = path.read_text()
    manifest = json.loads(original)
    manifest["contracts"]["ConsentLedger"]["address"] = suite.addresses["OversightBoard"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ChainError, match="is not ConsentLedger as compiled") as caught:
        deploy_suite(chain, chain.dev_accounts[0], manifest_path=path)
    assert "--fresh" in str(caught.value)

    manifest["contracts"]["ConsentLedger"]["address"] = "0x" + "00" * 19 + "01"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ChainError, match="no contract at"):
        deploy_suite(chain, chain.dev_accounts[0], manifest_path=path)

    path.write_text("{}")
    with pytest.raises(ConfigurationError, match="not a Collective deployment manifest"):
        deploy_suite(chain, chain.dev_accounts[0], manifest_path=path)
    path.write_text(original)
    assert deploy_suite(chain, chain.dev_accounts[0], manifest_path=path).reused


# --- the command ---------------------------------------------------------------------------------


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_cli_deploys_on_embedded_as_a_table(tmp_path: Path) -> None:
    result = run("deploy", "--network", "embedded", "--manifest", str(tmp_path / "m.json"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m.json").read_text())
    for name in CONTRACTS:
        entry = manifest["contracts"][name]
        assert name in result.output and entry["address"] in result.output
        assert entry["transactionHash"] in result.output
    assert "ConsentLedger" in result.output and "DIDRegistry" in result.output


def test_cli_json_output(tmp_path: Path) -> None:
    result = run(
        "--json",
        "deploy",
        "--network",
        "embedded",
        "--manifest",
        str(tmp_path / "m.json"),
        "--board-member",
        "0x" + "ab" * 20,
        "--board-member",
        "0x" + "cd" * 20,
        "--threshold",
        "2",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["chainId"] == EMBEDDED_CHAIN_ID and data["network"] == "embedded"
    assert data["reused"] is False
    assert set(data["contracts"]) == set(CONTRACTS)
    assert data["contracts"]["ConsentLedger"]["address"] == data["modules"]["ConsentRegistry"]
    assert data["board"]["threshold"] == 2 and len(data["board"]["members"]) == 2
    assert data["manifest"] == str(tmp_path / "m.json")


def test_cli_uses_a_private_key_from_the_environment_without_printing_it(tmp_path: Path) -> None:
    account = Account.create()
    key = "0x" + bytes(account.key).hex()
    result = run(
        "--json",
        "deploy",
        "--network",
        "embedded",
        "--manifest",
        str(tmp_path / "m.json"),
        env={"COLLECTIVE_PRIVATE_KEY": key},
    )
    # an unfunded key: the node refuses, and the key never appears
    assert result.exit_code == 1
    assert key not in result.output and key[2:] not in result.output
    assert account.address in result.output or "funds" in result.output.lower()

    funded = connect_embedded().dev_accounts[2]
    result = run(
        "--json",
        "deploy",
        "--network",
        "embedded",
        "--manifest",
        str(tmp_path / "m.json"),
        env={"COLLECTIVE_PRIVATE_KEY": "0x" + bytes(funded.key).hex()},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deployer"] == funded.address
    assert bytes(funded.key).hex() not in result.output

    bad = run("deploy", "--network", "embedded", env={"COLLECTIVE_PRIVATE_KEY": "not-a-key"})
    assert (
        bad.exit_code == 1
        and "COLLECTIVE_PRIVATE_KEY" in bad.output
        and "not-a-key" not in bad.output
    )


def test_cli_account_index_and_user_mistakes(tmp_path: Path) -> None:
    manifest = str(tmp_path / "m.json")
    result = run(
        "--json", "--account", "3", "deploy", "--network", "embedded", "--manifest", manifest
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deployer"] == connect_embedded().dev_accounts[3].address

    for args, message in [
        (["--account", "99", "deploy", "--network", "embedded"], "no dev account 99"),
        (["deploy", "--network", "nowhere"], "unknown network"),
        (["deploy", "--network", "embedded", "--threshold", "2"], "threshold 2 is invalid"),
        (["deploy", "--network", "embedded", "--board-member", "bob"], "not an address"),
    ]:
        bad = run(*args, "--manifest", manifest) if "--manifest" not in args else run(*args)
        assert bad.exit_code == 1, bad.output
        assert message in bad.output and "Traceback" not in bad.output
        assert bad.output.startswith("error: ") and bad.output.count("\n") == 1


def test_cli_unreachable_rpc_is_one_line(tmp_path: Path) -> None:
    from tests.chain.test_chain import closed_port_url

    url = closed_port_url()
    result = run("--rpc", url, "deploy", "--manifest", str(tmp_path / "m.json"))
    assert result.exit_code == 1
    assert url in result.output and result.output.startswith("error: ")
    assert "Traceback" not in result.output


def test_cli_help_has_an_example() -> None:
    result = run("deploy", "--help")
    assert result.exit_code == 0
    assert "collective deploy --network" in result.output and "--fresh" in result.output


@pytest.mark.anvil
def test_cli_deploys_to_an_rpc_url_and_reuses(anvil: str, tmp_path: Path) -> None:
    manifest = str(tmp_path / "m.json")
    first = run("--json", "--rpc", anvil, "deploy", "--manifest", manifest)
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["network"] == "chain-31337" and data["reused"] is False
    assert data["deployer"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

    again = run("--rpc", anvil, "deploy", "--manifest", manifest)
    assert again.exit_code == 0, again.output
    assert "verified" in again.output and "nothing deployed" in again.output
    assert data["contracts"]["ConsentLedger"]["address"] in again.output

    fresh = run("--json", "--rpc", anvil, "deploy", "--manifest", manifest, "--fresh")
    assert fresh.exit_code == 0, fresh.output
    assert json.loads(fresh.output)["contracts"] != data["contracts"]
