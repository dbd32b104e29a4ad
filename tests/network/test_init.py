"""``collective network init`` writes a consistent network, and the CLI refuses bad input
clearly (no process is started here: these are the fast tests)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import tomlkit
from click.testing import CliRunner

from collective.cli import cli
from collective.deploy import CONTRACTS
from collective.errors import ConfigurationError, InvalidInputError, NotFoundError
from collective.network import COMETBFT_VERSION, NetworkLayout, Ports, init_network
from collective.network.cometbft import COMETBFT_ENV, cometbft_binary, node_id
from collective.network.control import running_validators, stop_network
from collective.network.processes import Service, start_time
from collective.node.genesis import Genesis
from collective.testing.consortium import free_ports

REPO = Path(__file__).resolve().parents[2]


def _ports(count: int) -> list[Ports]:
    return free_ports(count)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> NetworkLayout:
    root = tmp_path_factory.mktemp("net") / "three"
    return init_network(root, 3, chain_id=4242, ports=_ports(3), empty_blocks="5s")


def test_setup_builds_the_pinned_version() -> None:
    assert f'COMETBFT_VERSION="{COMETBFT_VERSION}"' in (REPO / "scripts/setup.sh").read_text()
    assert cometbft_binary().name == "cometbft"


def test_layout_is_described_and_reloads(network: NetworkLayout) -> None:
    again = NetworkLayout.load(network.root)
    assert again == network
    assert again.cometbft_chain_id == "collective-4242"
    ports = [p for v in network.validators for p in v.ports.as_list()]
    assert len(set(ports)) == len(ports) == 12
    for v in network.validators:
        assert v.node_id == node_id(cometbft_binary(), v.home)
        assert v.data_dir.is_dir()
        key = json.loads((v.home / "config/priv_validator_key.json").read_text())
        assert (key["address"], key["pub_key"]["value"]) == (v.address, v.pub_key)
    assert len({v.organization for v in network.validators}) == 3


def test_every_validator_has_the_same_genesis(network: NetworkLayout) -> None:
    texts = {(v.home / "config/genesis.json").read_text() for v in network.validators}
    assert len(texts) == 1
    doc = json.loads(texts.pop())
    assert doc["chain_id"] == "collective-4242"
    assert [(x["address"], x["pub_key"]["value"], x["power"]) for x in doc["validators"]] == [
        (v.address, v.pub_key, "10") for v in network.validators
    ]
    ethereum = json.loads(network.genesis_path.read_text())
    assert doc["app_state"] == ethereum
    genesis = Genesis.load(network.genesis_path)
    assert genesis.chain_id == 4242
    assert genesis.transactions  # the suite's deployment and the admissions, in block 0


def test_manifest_puts_the_suite_at_block_zero(network: NetworkLayout) -> None:
    manifest = json.loads(network.manifest_path.read_text())
    assert manifest["chainId"] == 4242
    assert manifest["rpc"] == network.validators[0].url
    assert {c["blockNumber"] for c in manifest["contracts"].values()} == {0}
    assert {w["blockNumber"] for w in manifest["wiring"]} == {0}
    assert set(CONTRACTS) <= set(manifest["contracts"])
    rules = Genesis.load(network.genesis_path).account_rules
    assert rules is not None
    assert manifest["contracts"]["AccountRules"]["address"].lower() == "0x" + rules.hex()


def test_config_points_at_the_node_and_the_other_validators(network: NetworkLayout) -> None:
    for v in network.validators:
        config = tomlkit.parse((v.home / "config/config.toml").read_text())
        assert config["proxy_app"] == f"tcp://127.0.0.1:{v.ports.abci}"
        assert config["rpc"]["laddr"] == f"tcp://127.0.0.1:{v.ports.cometbft_rpc}"  # type: ignore[index]
        p2p = config["p2p"]
        assert p2p["laddr"] == f"tcp://127.0.0.1:{v.ports.p2p}"  # type: ignore[index]
        peers = set(str(p2p["persistent_peers"]).split(","))  # type: ignore[index]
        assert peers == {o.peer_address for o in network.validators if o is not v}
        assert p2p["addr_book_strict"] is False  # type: ignore[index]
        assert p2p["allow_duplicate_ip"] is True  # type: ignore[index]
        consensus = config["consensus"]
        assert consensus["create_empty_blocks"] is True  # type: ignore[index]
        assert consensus["create_empty_blocks_interval"] == "5s"  # type: ignore[index]


def test_refuses_a_non_empty_folder_and_force_replaces_it(tmp_path: Path) -> None:
    root = tmp_path / "net"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not empty"):
        init_network(root, 1, ports=_ports(1))
    first = init_network(root, 1, ports=_ports(1), force=True)
    second = init_network(root, 1, ports=_ports(1), force=True)
    assert first.validators[0].pub_key != second.validators[0].pub_key  # new keys
    assert (root / "notes.txt").read_text() == "mine"  # --force removes only the network


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validators": 0}, "out of range"),
        ({"validators": 65}, "out of range"),
        ({"validators": 2, "base_port": 80}, "--base-port 80 is below 1024"),
        ({"validators": 2, "base_port": 65530}, "--base-port 65530 leaves no room for 2"),
        ({"validators": 2, "empty_blocks": "sometimes"}, "--empty-blocks"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        init_network(tmp_path / "net", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "net").exists()


def test_binary_of_another_version_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "cometbft"
    other.write_text("#!/bin/sh\necho 0.37.4\n")
    other.chmod(other.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(COMETBFT_ENV, str(other))
    with pytest.raises(ConfigurationError, match=r"0\.37\.4, but Collective needs v0\.38"):
        cometbft_binary()
    monkeypatch.setenv(COMETBFT_ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="not an executable file"):
        cometbft_binary()


def test_missing_network_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no network folder"):
        NetworkLayout.load(tmp_path / "absent")
    with pytest.raises(NotFoundError, match="not a network folder"):
        NetworkLayout.load(tmp_path)


def test_cli_errors_are_one_line(tmp_path: Path, network: NetworkLayout) -> None:
    runner = CliRunner()
    cases = [
        (["network", "init", "--validators", "0", "--dir", str(tmp_path / "a")], "out of range"),
        (["network", "init", "--validators", "2", "--dir", str(network.root)], "not empty"),
        (["network", "status", str(tmp_path / "nowhere")], "no network folder"),
        (["network", "start", str(tmp_path / "nowhere")], "no network folder"),
        (["network", "stop", str(tmp_path)], "not a network folder"),
        (["network", "start", str(network.root), "--validator", "9"], "no validator 9"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output
        assert result.output.count("\n") == 1


def test_cli_status_of_a_stopped_network(network: NetworkLayout) -> None:
    result = CliRunner().invoke(cli, ["network", "status", str(network.root), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert [v["state"] for v in status["validators"]] == ["stopped"] * 3
    assert status["manifest"] == str(network.manifest_path)
    stopped = CliRunner().invoke(cli, ["network", "stop", str(network.root)])
    assert stopped.exit_code == 0 and "nothing was running" in stopped.output
    assert not os.listdir(network.validators[0].folder / "node")


ADMIN_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # dev account 1
ADMIN = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_genesis_of_real_members(
    tmp_path: Path, network: NetworkLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLLECTIVE_PRIVATE_KEY", ADMIN_KEY)
    keys = [v.pub_key for v in network.validators[:2]]
    orgs = [
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    ]
    head = ["network", "genesis", "--account", ADMIN, "--out", str(tmp_path / "c")]
    members = [a for org, key in zip(orgs, keys, strict=True) for a in ("--member", f"{org}:{key}")]
    result = CliRunner().invoke(cli, [*head, *members, "--chain-id", "777"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "c/genesis.json").read_text())
    assert doc["chain_id"] == "collective-777"
    assert [(x["address"], x["pub_key"]["value"]) for x in doc["validators"]] == [
        (v.address, v.pub_key) for v in network.validators[:2]
    ]
    assert doc["app_state"] == json.loads((tmp_path / "c/ethereum-genesis.json").read_text())
    genesis = Genesis.load(tmp_path / "c/ethereum-genesis.json")
    assert genesis.bootstrap_admins == (bytes.fromhex(ADMIN[2:]),)
    manifest = json.loads((tmp_path / "c/manifest.json").read_text())
    assert manifest["deployer"] == ADMIN and manifest["chainId"] == 777

    mistakes = [
        ([*head, "--member", f"{orgs[0]}:abc"], "not an ed25519 public key"),
        ([*head, "--member", orgs[0]], "is not ADDRESS:PUBKEY"),
        ([*head, "--member", f"{ADMIN}:{keys[0]}"], "cannot also be a member"),
        ([*head, *members[:2], "--member", f"{orgs[1]}:{keys[0]}"], "listed twice"),
        ([*head, *members], "exists"),
        ([h for h in head if h not in ("--account", ADMIN)] + members, "--account is required"),
    ]
    for args, message in mistakes:
        refused = CliRunner().invoke(cli, args)
        assert refused.exit_code == 1, (args, refused.output)
        assert message in refused.output and "Traceback" not in refused.output


def test_stale_pid_files_and_stopping_a_process(network: NetworkLayout) -> None:
    validator = network.validators[1]
    node = Service(validator, "node")
    node.pid_file.write_text(f"{os.getpid()} 1\n")  # a live pid, reused: another start time
    (validator.folder / "cometbft.pid").write_text("not a pid\n")
    assert running_validators(network) == []
    assert not node.pid_file.exists() and not (validator.folder / "cometbft.pid").exists()

    # a process of its own session stands in for the node
    stand_in = subprocess.Popen(
        ["sh", "-c", "trap 'exit 0' TERM; sleep 30 & wait"], start_new_session=True
    )
    node.pid_file.write_text(f"{stand_in.pid} {start_time(stand_in.pid)}\n")
    assert running_validators(network) == [2]
    assert stop_network(network, [2], timeout=5) == [2]
    assert stand_in.wait(timeout=5) == 0  # it got SIGTERM, not SIGKILL
    assert not node.pid_file.exists()


def test_a_failed_init_leaves_no_half_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "cometbft"  # the right version, but `init` fails
    broken.write_text(
        '#!/bin/sh\nif [ "$1" = version ]; then echo 0.38.26; exit 0; fi\n'
        'echo "disk full" >&2; exit 1\n'
    )
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(COMETBFT_ENV, str(broken))
    root = tmp_path / "net"
    with pytest.raises(ConfigurationError, match="disk full"):
        init_network(root, 2, ports=_ports(2))
    assert list(root.iterdir()) == []
    ports = _ports(1) * 2
    with pytest.raises(InvalidInputError, match="not all distinct"):
        init_network(tmp_path / "other", 2, ports=ports)
