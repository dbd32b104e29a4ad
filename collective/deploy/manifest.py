"""The deployment manifest ``deployments/<network>.json``: what is where on one chain.

It records the chain id, the deployer, the compiler, and per contract its address,
transaction, block, artifact hash and constructor arguments (format
``collective-deployment-1``). :func:`load_deployment` reads it back, refusing a manifest of
another chain and one whose contracts are gone from the chain.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from collective.build.artifacts import Artifact, artifacts_root
from collective.build.compiler import BUILD_INDEX
from collective.chain import Chain, jsonints
from collective.config import ProjectConfig, load_config
from collective.deploy.contracts import CONTRACTS, FRESH_HINT, verify_code
from collective.deploy.deployment import Deployment
from collective.errors import ChainError, ConfigurationError

MANIFEST_FORMAT = "collective-deployment-1"


def default_manifest_path(chain: Chain, config: ProjectConfig) -> Path:
    """``deployments/<network name>.json`` under the project folder (or the working
    directory)."""
    return config.deployments_dir / f"{chain.name}.json"


def compiler_info(config: ProjectConfig) -> dict[str, Any]:
    """The manifest's ``compiler``: version and settings from ``_build.json``, else from the
    configuration."""
    try:
        build = json.loads((artifacts_root(config) / BUILD_INDEX).read_bytes())
        return {"version": build["solcVersion"], "settings": build["settings"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {"version": config.solc_version, "settings": config.solc_settings}


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` through a synced temporary file and a rename, so a
    reader sees the old manifest or the new one, never half of one (integers past 2^53 as
    decimal strings, :mod:`collective.chain.jsonints`)."""
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
    """The parsed manifest at ``path``, its ``chainId`` read as an int.

    Raises:
        ConfigurationError: there is no file, it is not JSON, or it lacks ``chainId`` or an
            address for each of :data:`CONTRACTS`.
    """
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
        try:  # a decimal string past 2^53, else a JSON integer (collective.chain.jsonints)
            data["chainId"] = jsonints.read_uint(data.get("chainId"), "chainId")
        except ValueError as exc:
            ok, why = False, f": {exc}"
    if not ok:
        raise ConfigurationError(
            f"{path} is not a Collective deployment manifest (it needs chainId and an address "
            f"for each of {', '.join(CONTRACTS)}){why}",
            hint=FRESH_HINT,
        )
    manifest: dict[str, Any] = data
    return manifest


def from_manifest(
    data: dict[str, Any], path: Path, chain: Chain, config: ProjectConfig
) -> Deployment:
    """The :class:`Deployment` a parsed manifest (:func:`read_manifest`) records, bound to
    ``chain``, ``reused`` True."""
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


def check_chain(data: dict[str, Any], path: Path, chain: Chain) -> None:
    """Raise ConfigurationError when the manifest at ``path`` is another chain's."""
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

    Args:
        chain: the connected chain; path: the manifest; config: default hardhat.config.json.

    Raises:
        ConfigurationError: the manifest is missing, malformed or another chain's.
        ChainError: its contracts have no code on ``chain`` (or, with ``verify``, other code).
    """
    config = config or load_config()
    path = path or default_manifest_path(chain, config)
    data = read_manifest(path)
    check_chain(data, path, chain)
    if verify:
        for name in CONTRACTS:
            verify_code(chain, name, data["contracts"][name]["address"], config)
    elif require_code:
        _require_code(chain, data, path)
    return from_manifest(data, path, chain, config)


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


def hex_of(value: Any) -> str:
    """A hash (bytes or hex, with or without 0x) as ``0x`` hex."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def entry(artifact: Artifact, address: str, tx_receipt: Any, args: list[Any]) -> dict[str, Any]:
    """A contract's manifest entry: address, creating transaction and block, artifact hash,
    constructor arguments by name."""
    constructor = next((e for e in artifact.abi if e.get("type") == "constructor"), {})
    names = [str(p.get("name") or f"arg{i}") for i, p in enumerate(constructor.get("inputs", []))]
    return {
        "address": address,
        "transactionHash": hex_of(tx_receipt["transactionHash"]),
        "blockNumber": int(tx_receipt["blockNumber"]),
        "artifactHash": artifact.artifact_hash,
        "constructorArgs": dict(zip(names, args, strict=True)),
    }


__all__ = [
    "MANIFEST_FORMAT",
    "check_chain",
    "compiler_info",
    "default_manifest_path",
    "entry",
    "from_manifest",
    "hex_of",
    "load_deployment",
    "read_manifest",
    "write_atomically",
]
