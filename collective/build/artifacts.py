"""The compiled contract suite: Hardhat-format artifacts written by ``collective compile``.

Artifacts are read from the configured artifacts folder when it exists (a checkout of the
repository), else from the copies shipped inside the package (``collective/artifacts/``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from eth_utils.crypto import keccak

from collective.build.compiler import ARTIFACT_FORMAT, BUILD_INDEX
from collective.config import ProjectConfig, load_config
from collective.errors import CompilationError

_RERUN = "run `collective compile`"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract. ``bytecode`` is empty for interfaces and abstract contracts."""

    name: str
    source_name: str
    abi: list[dict[str, Any]] = field(hash=False)
    bytecode: bytes
    deployed_bytecode: bytes
    metadata: str = field(repr=False)
    # (start, length) of each immutable in deployed_bytecode; None if the artifact predates
    # the compiler recording them.
    immutable_ranges: tuple[tuple[int, int], ...] | None = field(default=None, repr=False)

    @property
    def code_hash(self) -> bytes:
        """keccak256 of the runtime code, as ``EXTCODEHASH`` reports it once deployed."""
        return keccak(self.deployed_bytecode)

    @property
    def artifact_hash(self) -> str:
        """sha256 hex of the creation bytecode followed by the ABI as compact sorted JSON."""
        abi = json.dumps(self.abi, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(self.bytecode + abi).hexdigest()


def artifacts_root(config: ProjectConfig | None = None) -> Traversable:
    """The folder artifacts are read from: the configured one if it exists, else the package's."""
    config = config or load_config()
    if config.artifacts is not None and config.artifacts.is_dir():
        return config.artifacts
    return resources.files("collective") / "artifacts"


def artifact_names(config: ProjectConfig | None = None) -> list[str]:
    """Names of every contract with an artifact, sorted."""
    root = artifacts_root(config)
    if not root.is_dir():
        return []
    return sorted(
        entry.name.removesuffix(".json")
        for entry in root.iterdir()
        if entry.name.endswith(".json") and entry.name != BUILD_INDEX
    )


def load_artifact(name: str, config: ProjectConfig | None = None) -> Artifact:
    """Load the artifact of contract ``name`` (``<artifacts>/<name>.json``).

    Args:
        name: the contract name, e.g. ``"ConsentLedger"``.
        config: where the artifacts folder is; default hardhat.config.json.

    Raises:
        CompilationError: there is none, it is unreadable or not a Hardhat artifact, or it
            needs library linking.
    """
    entry = artifacts_root(config) / f"{name}.json"
    try:
        data = json.loads(entry.read_bytes())
    except FileNotFoundError:
        raise CompilationError(f"no artifact for contract {name}; {_RERUN}") from None
    except (OSError, ValueError):
        raise CompilationError(f"the artifact of {name} is unreadable; {_RERUN}") from None
    if not isinstance(data, dict) or data.get("_format") != ARTIFACT_FORMAT:
        raise CompilationError(f"the artifact of {name} is not a Hardhat artifact; {_RERUN}")
    try:
        return Artifact(
            name=data["contractName"],
            source_name=data["sourceName"],
            abi=data["abi"],
            bytecode=_code(name, data["bytecode"]),
            deployed_bytecode=_code(name, data["deployedBytecode"]),
            metadata=data.get("metadata", ""),
            immutable_ranges=_ranges(data.get("immutableReferences")),
        )
    except (KeyError, AttributeError) as exc:
        raise CompilationError(f"the artifact of {name} lacks {exc}; {_RERUN}") from None


def _ranges(refs: Any) -> tuple[tuple[int, int], ...] | None:
    if not isinstance(refs, dict):
        return None
    try:
        return tuple(
            sorted((int(r["start"]), int(r["length"])) for group in refs.values() for r in group)
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _code(name: str, text: str) -> bytes:
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise CompilationError(
            f"{name} needs linking against an external library, which collective does not do",
            hint="make the library's functions internal",
        ) from None


__all__ = ["Artifact", "artifact_names", "artifacts_root", "load_artifact"]
