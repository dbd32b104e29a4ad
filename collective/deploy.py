"""Deploy the contract suite in dependency order and keep a manifest of what is where.

Order: ``AccountRules([deployer])`` -> ``ChainBoundDeployer`` -> ``ConsentLedger(rules)``
created through it -> ``OversightBoard(rules, members, threshold, lifetime)`` ->
``rules.setBoard(board)``. ConsentLedger holds the DIDRegistry, PolicyRegistry,
ConsentRegistry and DataUsageLog modules at one address.

The ledger is created with CREATE2 under a salt the factory mixes with ``block.chainid``, so
its address differs on every chain even for the same deployer and nonces: ERC-1056's signed
DID changes hash the registry address but no chain id, and an address unique to the chain is
what keeps them from replaying on another chain (see ``contracts/ChainBoundDeployer.sol``).

The manifest ``deployments/<network>.json`` records the chain id, the deployer, the compiler,
and per contract its address, transaction, block, artifact hash and constructor arguments.
Running again against a node that already has the suite verifies that the code at every address
is the artifact's runtime code (immutables masked) and deploys nothing; ``fresh=True``
redeploys and overwrites the manifest. The embedded chain is new in every process, so there
an old manifest means nothing and the suite is always deployed fresh.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_abi import abi
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.types import TxReceipt

from collective import jsonints
from collective.addresses import parse_address
from collective.artifacts import Artifact, artifacts_root, load_artifact
from collective.chain import Chain
from collective.compiler import BUILD_INDEX, check_artifacts_current
from collective.config import ProjectConfig, load_config
from collective.errors import ChainError, ConfigurationError

log = logging.getLogger(__name__)

MANIFEST_FORMAT = "collective-deployment-1"
CONTRACTS = ("AccountRules", "ConsentLedger", "OversightBoard")
FACTORY = "ChainBoundDeployer"
# The ledger's CREATE2 salt before the factory mixes in the chain id.
LEDGER_SALT = keccak(text="Collective ConsentLedger")
DEFAULT_PROPOSAL_LIFETIME = 30 * 24 * 3600  # seconds a board proposal stays open
LEDGER = "ConsentLedger"
# The modules compiled into ConsentLedger, all at its address.
MODULES = ("DIDRegistry", "PolicyRegistry", "ConsentRegistry", "DataUsageLog")
_FRESH_HINT = "run `collective deploy --fresh` to deploy the suite anew and overwrite the manifest"


@dataclass(frozen=True)
class Deployment:
    """Where the suite lives on one chain. ``reused`` is True when nothing was deployed.

    ``contract(name)`` returns a web3 contract bound to the chain this deployment was made or
    loaded with; use :meth:`bind` to attach it to another connection to the same chain.
    Module names (``"ConsentRegistry"`` etc.) give the ConsentLedger contract.
    """

    chain_id: int
    network: str
    deployer: str
    addresses: dict[str, str]
    tx_hashes: dict[str, str]
    blocks: dict[str, int]
    reused: bool = False
    board_members: tuple[str, ...] = ()
    threshold: int = 1
    deployed_at: str = ""
    manifest_path: Path | None = None
    notes: tuple[str, ...] = ()
    chain: Chain | None = field(default=None, compare=False, repr=False)
    config: ProjectConfig | None = field(default=None, compare=False, repr=False)

    def address(self, name: str) -> str:
        """The address of a contract or module of the suite."""
        key = LEDGER if name in MODULES else name
        try:
            return self.addresses[key]
        except KeyError:
            known = ", ".join((*self.addresses, *MODULES))
            raise ConfigurationError(
                f"the deployment has no contract {name!r}", hint=f"known: {known}"
            ) from None

    def contract(self, name: str) -> Contract:
        """A web3 contract for ``name`` at its deployed address, bound to ``chain.w3``."""
        address = self.address(name)
        if self.chain is None:
            raise ConfigurationError(
                "this deployment is not bound to a chain", hint="call deployment.bind(chain)"
            )
        abi = load_artifact(LEDGER if name in MODULES else name, self.config).abi
        return self.chain.w3.eth.contract(address=to_checksum_address(address), abi=abi)

    def bind(self, chain: Chain) -> Deployment:
        """The same deployment, with contracts bound to ``chain`` (which must be the same chain)."""
        if chain.chain_id != self.chain_id:
            raise ChainError(
                f"the deployment is on chain {self.chain_id}, but {chain.where} is chain "
                f"{chain.chain_id}"
            )
        return replace(self, chain=chain)


# --- code verification --------------------------------------------------------------------------


def immutable_ranges(name: str, config: ProjectConfig | None = None) -> list[tuple[int, int]]:
    """(start, length) of every immutable in ``name``'s runtime code, from its artifact."""
    return _immutable_ranges(load_artifact(name, config))


def _immutable_ranges(artifact: Artifact) -> list[tuple[int, int]]:
    if artifact.immutable_ranges is None:
        raise ConfigurationError(
            f"the artifact of {artifact.name} has no immutableReferences, so its on-chain code "
            "cannot be verified",
            hint="run `collective compile`",
        )
    return list(artifact.immutable_ranges)


def mask(code: bytes, ranges: Sequence[tuple[int, int]]) -> bytes:
    """``code`` with the given byte ranges zeroed."""
    out = bytearray(code)
    for start, length in ranges:
        if start + length <= len(out):
            out[start : start + length] = bytes(length)
    return bytes(out)


def verify_code(chain: Chain, name: str, address: str, config: ProjectConfig | None = None) -> None:
    """Raise ChainError unless the code at ``address`` is ``name``'s artifact.

    The byte ranges holding immutables (set by the constructor) are masked on both sides.
    """
    artifact = load_artifact(name, config)
    on_chain = chain.code_at(address)
    if not on_chain:
        raise ChainError(
            f"there is no contract at {address}, where the manifest puts {name} (on {chain.where})",
            hint=_FRESH_HINT,
        )
    ranges = _immutable_ranges(artifact)
    if mask(on_chain, ranges) != mask(artifact.deployed_bytecode, ranges):
        raise ChainError(
            f"the code at {address} is not {name} as compiled in the artifacts",
            hint=_FRESH_HINT,
        )


# --- manifest -------------------------------------------------------------------------------------


def default_manifest_path(chain: Chain, config: ProjectConfig) -> Path:
    return config.deployments_dir / f"{chain.name}.json"


def _compiler_info(config: ProjectConfig) -> dict[str, Any]:
    try:
        build = json.loads((artifacts_root(config) / BUILD_INDEX).read_bytes())
        return {"version": build["solcVersion"], "settings": build["settings"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {"version": config.solc_version, "settings": config.solc_settings}


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = jsonints.dumps(data, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(path: Path) -> dict[str, Any]:
    """The parsed manifest at ``path``; ConfigurationError when it is not one."""
    try:
        data = jsonints.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigurationError(
            f"no deployment manifest at {path}", hint="run `collective deploy` first"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is not a readable JSON manifest ({exc})") from None
    ok = (
        isinstance(data, dict)
        and isinstance(data.get("contracts"), dict)
        and all(
            isinstance(data["contracts"].get(name), dict)
            and is_address(data["contracts"][name].get("address"))
            for name in CONTRACTS
        )
    )
    why = ""
    if ok:
        try:  # a decimal string past 2^53, else a JSON integer (collective.jsonints)
            data["chainId"] = jsonints.read_uint(data.get("chainId"), "chainId")
        except ValueError as exc:
            ok, why = False, f": {exc}"
    if not ok:
        raise ConfigurationError(
            f"{path} is not a Collective deployment manifest (it needs chainId and an address "
            f"for each of {', '.join(CONTRACTS)}){why}",
            hint=_FRESH_HINT,
        )
    manifest: dict[str, Any] = data
    return manifest


def _from_manifest(
    data: dict[str, Any], path: Path, chain: Chain, config: ProjectConfig
) -> Deployment:
    contracts: dict[str, Any] = data["contracts"]
    board = data.get("board") or {}
    return Deployment(
        chain_id=int(data["chainId"]),
        network=str(data.get("network", chain.name)),
        deployer=str(data.get("deployer", "")),
        addresses={n: to_checksum_address(c["address"]) for n, c in contracts.items()},
        tx_hashes={n: str(c.get("transactionHash", "")) for n, c in contracts.items()},
        blocks={n: int(c.get("blockNumber", 0)) for n, c in contracts.items()},
        reused=True,
        board_members=tuple(board.get("members", ())),
        threshold=int(board.get("threshold", 1)),
        deployed_at=str(data.get("deployedAt", "")),
        manifest_path=path,
        chain=chain,
        config=config,
    )


def _check_chain(data: dict[str, Any], path: Path, chain: Chain) -> None:
    if data["chainId"] != chain.chain_id:
        raise ConfigurationError(
            f"{path} records a deployment on chain {data['chainId']}, but {chain.where} is "
            f"chain {chain.chain_id}",
            hint="connect to the chain the manifest was written for, pass another --manifest, "
            "or --fresh to deploy anew and overwrite it",
        )


def load_deployment(
    chain: Chain,
    path: Path | None = None,
    *,
    verify: bool = False,
    require_code: bool = True,
    config: ProjectConfig | None = None,
) -> Deployment:
    """The deployment recorded in ``path`` (default ``deployments/<chain.name>.json``).

    Refuses a manifest written for another chain id, and one whose contracts are gone: there
    must be code at each contract's address (read in one batch), else the chain was reset
    under the manifest (an anvil restarted with the same chain id) and every call would act on
    empty accounts (ChainError with the hint to redeploy). ``require_code=False`` skips that
    check, for a caller that reports missing code itself (the audit's verifier). With
    ``verify`` the code at every address is also compared with the artifacts.
    """
    config = config or load_config()
    path = path or default_manifest_path(chain, config)
    data = read_manifest(path)
    _check_chain(data, path, chain)
    if verify:
        for name in CONTRACTS:
            verify_code(chain, name, data["contracts"][name]["address"], config)
    elif require_code:
        _require_code(chain, data, path)
    return _from_manifest(data, path, chain, config)


def _require_code(chain: Chain, data: dict[str, Any], path: Path) -> None:
    """ChainError naming the manifest and the contracts when there is no code where it puts
    them."""
    addresses = [str(data["contracts"][name]["address"]) for name in CONTRACTS]
    missing = [
        f"{name} at {address}"
        for name, address, code in zip(CONTRACTS, addresses, chain.codes_at(addresses), strict=True)
        if not code
    ]
    if missing:
        raise ChainError(
            f"{path} records contracts that are not on {chain.where} (chain {chain.chain_id}): "
            f"there is no code for {', '.join(missing)}; the chain was probably reset or "
            "restarted since the suite was deployed",
            hint="run `collective deploy --fresh` with the same --manifest to deploy the suite "
            "anew and overwrite the manifest",
        )


# --- deploying ------------------------------------------------------------------------------------


def _board(
    deployer: LocalAccount, members: Sequence[str] | None, threshold: int
) -> tuple[list[str], int]:
    chosen = list(members) if members else [deployer.address]
    checked: list[str] = []
    for member in chosen:
        checked.append(parse_address(member, "board member"))
    if len(set(checked)) != len(checked):
        raise ConfigurationError("a board member is listed twice")
    if not 1 <= threshold <= len(checked):
        raise ConfigurationError(
            f"threshold {threshold} is invalid for a board of {len(checked)} member(s)",
            hint=f"choose a threshold from 1 to {len(checked)}",
        )
    return checked, threshold


def _reuse(
    chain: Chain,
    path: Path,
    config: ProjectConfig,
    members: Sequence[str] | None,
    threshold: int | None,
) -> Deployment:
    data = read_manifest(path)
    _check_chain(data, path, chain)
    addresses = {name: data["contracts"][name]["address"] for name in CONTRACTS}
    for name in CONTRACTS:
        verify_code(chain, name, addresses[name], config)
    deployment = _from_manifest(data, path, chain, config)
    rules, ledger, board = (deployment.contract(name) for name in CONTRACTS)
    rules_address = to_checksum_address(addresses["AccountRules"])
    _check_chain_bound(data, path, chain, config, rules_address, addresses[LEDGER])
    for name, contract in (("ConsentLedger", ledger), ("OversightBoard", board)):
        if chain.call(contract.functions.accountRules()) != rules_address:
            raise ChainError(
                f"{name} at {addresses[name]} is not wired to the manifest's AccountRules",
                hint=_FRESH_HINT,
            )
    if chain.call(rules.functions.board()) != to_checksum_address(addresses["OversightBoard"]):
        raise ChainError(
            "AccountRules' board is not the manifest's OversightBoard", hint=_FRESH_HINT
        )
    if members is not None and sorted(map(to_checksum_address, members)) != sorted(
        deployment.board_members
    ):
        raise ConfigurationError(
            "the existing deployment has other board members than requested",
            hint="change membership through board proposals, or deploy with --fresh",
        )
    if threshold is not None and threshold != deployment.threshold:
        raise ConfigurationError(
            f"the existing deployment's board threshold is {deployment.threshold}, not {threshold}",
            hint="change it through a board proposal, or deploy with --fresh",
        )
    log.info("verified the suite on %s against %s; nothing deployed", chain.where, path)
    return deployment


def deploy_suite(
    chain: Chain,
    deployer: LocalAccount,
    *,
    board_members: Sequence[str] | None = None,
    threshold: int | None = None,
    proposal_lifetime: int = DEFAULT_PROPOSAL_LIFETIME,
    manifest_path: Path | None = None,
    fresh: bool = False,
    config: ProjectConfig | None = None,
) -> Deployment:
    """Deploy (or verify and reuse) the suite on ``chain`` and write its manifest.

    ``deployer`` becomes the AccountRules admin (and so can never be an organization account:
    the contract keeps the roles apart). ``board_members`` default to the deployer,
    ``threshold`` to 1; a board proposal stays open ``proposal_lifetime`` seconds (default 30
    days). When an existing deployment is reused, board members and a threshold other than
    None must match it; members given must match too, and the ledger must sit at the address
    the chain-bound factory gives on this chain.
    Raises CompilationError when the artifacts are stale, ConfigurationError when the manifest
    is for another chain, ChainError when the recorded code is missing or differs (use
    ``fresh=True``).
    """
    config = config or load_config()
    check_artifacts_current(config)
    path = manifest_path or default_manifest_path(chain, config)
    notes: list[str] = []
    if path.exists() and not fresh:
        if chain.embedded:
            notes.append(
                f"the embedded chain starts empty in every process: deployed the suite fresh "
                f"and replaced {path}"
            )
        else:
            return _reuse(chain, path, config, board_members, threshold)
    members, threshold = _board(deployer, board_members, 1 if threshold is None else threshold)
    artifacts = {name: load_artifact(name, config) for name in (*CONTRACTS, FACTORY)}

    def deploy(name: str, *args: Any) -> tuple[ChecksumAddress, TxReceipt]:
        artifact = artifacts[name]
        factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = chain.transact(factory.constructor(*args), deployer)
        address = receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploying {name} returned no contract address")
        return to_checksum_address(address), receipt

    if proposal_lifetime < 1:
        raise ConfigurationError(
            f"a board proposal lifetime of {proposal_lifetime} s is invalid",
            hint="give a number of seconds, e.g. 2592000 for 30 days",
        )
    rules_address, rules_receipt = deploy("AccountRules", [deployer.address])
    factory_address, factory_receipt = deploy(FACTORY)
    ledger_address, ledger_receipt = _deploy_ledger(
        chain, deployer, factory_address, artifacts, rules_address
    )
    board_address, board_receipt = deploy(
        "OversightBoard", rules_address, members, threshold, proposal_lifetime
    )
    rules = chain.w3.eth.contract(address=rules_address, abi=artifacts["AccountRules"].abi)
    wiring_receipt = chain.transact(rules.functions.setBoard(board_address), deployer)

    receipts: dict[str, tuple[ChecksumAddress, TxReceipt, list[Any]]] = {
        "AccountRules": (rules_address, rules_receipt, [[deployer.address]]),
        "ConsentLedger": (ledger_address, ledger_receipt, [rules_address]),
        "OversightBoard": (
            board_address,
            board_receipt,
            [rules_address, members, threshold, proposal_lifetime],
        ),
    }
    deployed_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    manifest = {
        "format": MANIFEST_FORMAT,
        "network": chain.name,
        "chainId": chain.chain_id,
        "rpc": chain.url,
        "deployer": deployer.address,
        "deployedAt": deployed_at,
        "compiler": _compiler_info(config),
        "contracts": {
            name: _entry(artifacts[name], address, receipt, args)
            for name, (address, receipt, args) in receipts.items()
        },
        "modules": {module: {"contract": LEDGER, "address": ledger_address} for module in MODULES},
        "factory": {
            **_entry(artifacts[FACTORY], factory_address, factory_receipt, []),
            "ledgerSalt": "0x" + LEDGER_SALT.hex(),
        },
        "board": {"address": board_address, "members": members, "threshold": threshold},
        "wiring": [
            {
                "call": "AccountRules.setBoard",
                "args": [board_address],
                "transactionHash": _hex(wiring_receipt["transactionHash"]),
                "blockNumber": int(wiring_receipt["blockNumber"]),
            }
        ],
    }
    _write_atomically(path, manifest)
    log.info("deployed the suite on %s; manifest %s", chain.where, path)
    return Deployment(
        chain_id=chain.chain_id,
        network=chain.name,
        deployer=deployer.address,
        addresses={name: address for name, (address, _, _) in receipts.items()},
        tx_hashes={name: _hex(r["transactionHash"]) for name, (_, r, _) in receipts.items()},
        blocks={name: int(r["blockNumber"]) for name, (_, r, _) in receipts.items()},
        reused=False,
        board_members=tuple(members),
        threshold=threshold,
        deployed_at=deployed_at,
        manifest_path=path,
        notes=tuple(notes),
        chain=chain,
        config=config,
    )


def ledger_address_for(
    chain_id: int, factory: str, rules: str, config: ProjectConfig | None = None
) -> ChecksumAddress:
    """The address ``ChainBoundDeployer`` at ``factory`` gives the ConsentLedger for AccountRules
    ``rules`` on chain ``chain_id`` (EIP-1014 CREATE2 with salt
    keccak256(abi.encode(chainId, LEDGER_SALT)))."""
    artifact = load_artifact(LEDGER, config)
    init = bytes(artifact.bytecode) + abi.encode(["address"], [rules])
    salt = keccak(abi.encode(["uint256", "bytes32"], [chain_id, LEDGER_SALT]))
    factory_bytes = bytes.fromhex(to_checksum_address(factory)[2:])
    digest = keccak(b"\xff" + factory_bytes + salt + keccak(init))
    return to_checksum_address(digest[12:])


def _deploy_ledger(
    chain: Chain,
    deployer: LocalAccount,
    factory_address: str,
    artifacts: dict[str, Artifact],
    rules_address: str,
) -> tuple[ChecksumAddress, TxReceipt]:
    ledger = artifacts[LEDGER]
    init = chain.w3.eth.contract(abi=ledger.abi, bytecode=ledger.bytecode).constructor(
        rules_address
    )
    factory = chain.w3.eth.contract(
        address=to_checksum_address(factory_address), abi=artifacts[FACTORY].abi
    )
    receipt = chain.transact(
        factory.functions.deploy(init.data_in_transaction, LEDGER_SALT), deployer
    )
    events = factory.events.Deployed().process_receipt(receipt)
    if len(events) != 1:
        raise ChainError("the ChainBoundDeployer created no ConsentLedger")
    address = to_checksum_address(events[0]["args"]["deployed"])
    expected = ledger_address_for(chain.chain_id, factory_address, rules_address)
    if address != expected:
        raise ChainError(f"the ledger landed at {address}, not at {expected} as CREATE2 gives")
    return address, receipt


def _check_chain_bound(
    data: dict[str, Any],
    path: Path,
    chain: Chain,
    config: ProjectConfig,
    rules_address: str,
    ledger_address: str,
) -> None:
    factory = (data.get("factory") or {}).get("address")
    if not isinstance(factory, str) or not is_address(factory):
        raise ConfigurationError(
            f"{path} records no ChainBoundDeployer: its ledger address may not be unique to this "
            "chain, so signed DID changes could replay from another chain",
            hint=_FRESH_HINT,
        )
    expected = ledger_address_for(chain.chain_id, factory, rules_address, config)
    if to_checksum_address(ledger_address) != expected:
        raise ChainError(
            f"the manifest's ConsentLedger {ledger_address} is not the chain-bound address "
            f"{expected} for chain {chain.chain_id}",
            hint=_FRESH_HINT,
        )


def _hex(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _entry(artifact: Artifact, address: str, receipt: Any, args: list[Any]) -> dict[str, Any]:
    constructor = next((e for e in artifact.abi if e.get("type") == "constructor"), {})
    names = [str(p.get("name") or f"arg{i}") for i, p in enumerate(constructor.get("inputs", []))]
    return {
        "address": address,
        "transactionHash": _hex(receipt["transactionHash"]),
        "blockNumber": int(receipt["blockNumber"]),
        "artifactHash": artifact.artifact_hash,
        "constructorArgs": dict(zip(names, args, strict=True)),
    }


__all__ = [
    "CONTRACTS",
    "DEFAULT_PROPOSAL_LIFETIME",
    "FACTORY",
    "LEDGER_SALT",
    "MODULES",
    "Deployment",
    "deploy_suite",
    "immutable_ranges",
    "ledger_address_for",
    "load_deployment",
    "mask",
    "read_manifest",
    "verify_code",
]
