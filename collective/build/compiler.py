"""Compile ``contracts/`` and write Hardhat-format artifacts; tell stale artifacts without a
compiler.

The compiler is found by :mod:`collective.build.solc`; nothing about which compiler ran is
written to the artifacts. ``_build.json`` next to the artifacts records the compiler version,
the settings and a sha256 of every source and artifact, so :func:`check_artifacts_current` can
tell, without a compiler, whether the artifacts are stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collective.build.solc import COMPILE_TIMEOUT, SOLCJS_SCRIPT, Compiler, find_compiler
from collective.config import ProjectConfig
from collective.errors import CompilationError

ARTIFACT_FORMAT = "hh-sol-artifact-1"
BUILD_FORMAT = "collective-build-1"
BUILD_INDEX = "_build.json"
OUTPUT_SELECTION = [
    "abi",
    "evm.bytecode.object",
    "evm.bytecode.linkReferences",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.linkReferences",
    "evm.deployedBytecode.immutableReferences",
    "metadata",
]


@dataclass(frozen=True)
class Diagnostic:
    """One solc message, located as ``contracts/Foo.sol:LINE`` when solc gave a location."""

    severity: str
    message: str
    source: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.source or "solc"
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


@dataclass(frozen=True)
class CompileResult:
    """What :func:`compile_project` did: the compiler, where it wrote, the contracts written,
    the artifacts removed (contracts gone from the sources) and solc's warnings."""

    compiler: Compiler
    artifacts_dir: Path
    contracts: tuple[str, ...]
    removed: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]


def _sources_dir(config: ProjectConfig) -> Path:
    if config.sources is None or config.root is None:
        raise CompilationError(
            "no hardhat.config.json found, so there are no sources to compile",
            hint="run from the project folder or set COLLECTIVE_CONFIG",
        )
    return config.sources


def read_sources(config: ProjectConfig) -> dict[str, bytes]:
    """Every ``.sol`` file under the sources folder, keyed by source unit name, sorted.

    Returns:
        ``{"contracts/Foo.sol": <bytes>}``; empty when the folder does not exist.

    Raises:
        CompilationError: there is no hardhat.config.json, so no sources folder.
    """
    folder = _sources_dir(config)
    if not folder.is_dir():
        return {}
    assert config.root is not None
    try:
        prefix = folder.resolve().relative_to(config.root.resolve())
    except ValueError:
        prefix = Path(folder.name)
    files = {(prefix / p.relative_to(folder)).as_posix(): p for p in folder.rglob("*.sol")}
    return {name: files[name].read_bytes() for name in sorted(files)}


def standard_json_input(sources: dict[str, bytes], settings: dict[str, Any]) -> dict[str, Any]:
    """The standard-JSON input: embedded sources, the configured settings, our outputs.

    Args:
        sources: source unit name -> UTF-8 bytes (:func:`read_sources`).
        settings: solc settings from the configuration (optimizer, evmVersion, ...).

    Raises:
        CompilationError: a source is not UTF-8.
    """
    contents: dict[str, Any] = {}
    for name, data in sources.items():
        try:
            contents[name] = {"content": data.decode("utf-8")}
        except UnicodeDecodeError:
            raise CompilationError(f"{name} is not UTF-8 text") from None
    return {
        "language": "Solidity",
        "sources": contents,
        "settings": {**settings, "outputSelection": {"*": {"*": OUTPUT_SELECTION}}},
    }


def _diagnostic(error: dict[str, Any], sources: dict[str, bytes]) -> Diagnostic:
    message = f"{error.get('type', 'Error')}: {error.get('message', '').strip()}"
    location = error.get("sourceLocation") or {}
    source, start = location.get("file"), location.get("start", -1)
    line = None
    if source in sources and isinstance(start, int) and start >= 0:
        line = sources[source][:start].count(b"\n") + 1
    return Diagnostic(str(error.get("severity", "error")), message, source, line)


def _artifact(name: str, source: str, output: dict[str, Any]) -> dict[str, Any]:
    evm = output.get("evm", {})
    code, deployed = evm.get("bytecode", {}), evm.get("deployedBytecode", {})
    return {
        "_format": ARTIFACT_FORMAT,
        "contractName": name,
        "sourceName": source,
        "abi": output.get("abi", []),
        "bytecode": "0x" + code.get("object", ""),
        "deployedBytecode": "0x" + deployed.get("object", ""),
        "linkReferences": code.get("linkReferences", {}),
        "deployedLinkReferences": deployed.get("linkReferences", {}),
        # Byte ranges of immutables in deployedBytecode: mask them when comparing on-chain code.
        "immutableReferences": deployed.get("immutableReferences", {}),
        "metadata": output.get("metadata", ""),
    }


def _dumps(data: Any) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compile_project(
    config: ProjectConfig, artifacts_dir: Path | None = None, compiler: Compiler | None = None
) -> CompileResult:
    """Compile every source and write one artifact per contract plus ``_build.json``.

    ``artifacts_dir`` defaults to the configured one; ``compiler`` to :func:`find_compiler`.
    Artifacts of contracts that no longer exist are removed; files already identical are
    not rewritten.

    Raises:
        CompilationError: no sources, no compiler, solc reported errors, or two contracts
            share a name.
    """
    sources = read_sources(config)
    if not sources:
        raise CompilationError(f"no .sol files under {_sources_dir(config)}")
    out_dir = artifacts_dir or config.artifacts
    assert out_dir is not None  # config.root is set, or read_sources raised
    compiler = compiler or find_compiler(config.solc_version, config.root)
    output = compiler.compile_standard_json(standard_json_input(sources, config.solc_settings))

    diagnostics = [_diagnostic(e, sources) for e in output.get("errors", [])]
    errors = [str(d) for d in diagnostics if d.severity == "error"]
    if errors:
        raise CompilationError(
            f"solc reported {len(errors)} error{'s' * (len(errors) > 1)}:\n" + "\n".join(errors)
        )

    artifacts: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    for source in sorted(output.get("contracts", {})):
        for name, contract in sorted(output["contracts"][source].items()):
            if name in origin:
                raise CompilationError(
                    f"contract {name} is defined in both {origin[name]} and {source}; "
                    "artifacts are keyed by contract name, so rename one"
                )
            origin[name] = source
            artifacts[f"{name}.json"] = _dumps(_artifact(name, source, contract))

    _check_code_sizes(artifacts)
    out_dir.mkdir(parents=True, exist_ok=True)
    removed = []
    previous = set(_read_json(out_dir / BUILD_INDEX).get("artifacts", {}))
    for old in sorted(out_dir.glob("*.json")):
        if old.name == BUILD_INDEX or old.name in artifacts:
            continue
        if old.name in previous or _read_json(old).get("_format") == ARTIFACT_FORMAT:
            old.unlink()
            removed.append(old.stem)
    build = {
        "_format": BUILD_FORMAT,
        "solcVersion": compiler.short_version,
        "settings": config.solc_settings,
        "sources": {name: _sha256(data) for name, data in sources.items()},
        "artifacts": {file: _sha256(data) for file, data in artifacts.items()},
    }
    for file, data in {**artifacts, BUILD_INDEX: _dumps(build)}.items():
        path = out_dir / file
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    return CompileResult(
        compiler=compiler,
        artifacts_dir=out_dir,
        contracts=tuple(sorted(origin)),
        removed=tuple(removed),
        warnings=tuple(d for d in diagnostics if d.severity != "error"),
    )


# EIP-170: the most bytes of runtime code an account may hold; EIP-3860: of init code.
MAX_CODE_SIZE = 24_576
MAX_INITCODE_SIZE = 49_152


def _check_code_sizes(artifacts: dict[str, bytes]) -> None:
    """Refuse contracts no chain would deploy: runtime code over EIP-170's 24,576 bytes or
    init code over EIP-3860's 49,152 (a deploy would only fail with an opaque revert).

    Raises:
        CompilationError: naming each contract, its size and the limit.
    """
    over = []
    for data in artifacts.values():
        artifact = json.loads(data)
        runtime = (len(artifact["deployedBytecode"]) - 2) // 2
        init = (len(artifact["bytecode"]) - 2) // 2
        if runtime > MAX_CODE_SIZE:
            over.append(
                f"{artifact['contractName']}: runtime code {runtime:,} bytes > "
                f"{MAX_CODE_SIZE:,} (EIP-170)"
            )
        if init > MAX_INITCODE_SIZE:
            over.append(
                f"{artifact['contractName']}: init code {init:,} bytes > "
                f"{MAX_INITCODE_SIZE:,} (EIP-3860)"
            )
    if over:
        raise CompilationError(
            "no chain would deploy " + "; ".join(over) + ". Nothing was written",
            hint="move code into another contract or a library, or lower the optimizer's "
            "runs in hardhat.config.json (fewer runs, smaller code, more gas per call)",
        )


def _read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or an empty dict if it is missing or not an object."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_artifacts_current(config: ProjectConfig, artifacts_dir: Path | None = None) -> bool:
    """Raise CompilationError if the artifacts are out of date with the sources.

    Needs no compiler. Returns False (nothing checked) when there is no sources folder, as for
    an installed package; True when the artifacts match the sources and the configuration.
    """
    if config.sources is None or not config.sources.is_dir():
        return False
    sources = read_sources(config)
    out_dir = artifacts_dir or config.artifacts
    assert out_dir is not None
    rerun = "run `collective compile`"
    try:
        build = json.loads((out_dir / BUILD_INDEX).read_bytes())
    except FileNotFoundError:
        if not sources:
            return True
        raise CompilationError(f"no compiled artifacts in {out_dir}; {rerun}") from None
    except (OSError, ValueError):
        raise CompilationError(f"{out_dir / BUILD_INDEX} is unreadable; {rerun}") from None
    if not isinstance(build, dict) or build.get("_format") != BUILD_FORMAT:
        raise CompilationError(f"{out_dir / BUILD_INDEX} is not a build index; {rerun}")

    built_version = str(build.get("solcVersion", "")).split("+")[0]
    if built_version != config.solc_version:
        raise CompilationError(
            f"artifacts were compiled with solc {built_version or '?'} but the configuration "
            f"pins {config.solc_version}; {rerun}"
        )
    if build.get("settings") != config.solc_settings:
        raise CompilationError(
            f"artifacts were compiled with other compiler settings than the configuration; {rerun}"
        )
    recorded: dict[str, str] = build.get("sources", {})
    current = {name: _sha256(data) for name, data in sources.items()}
    for name in sorted(current.keys() | recorded.keys()):
        if current.get(name) != recorded.get(name):
            raise CompilationError(f"artifacts are out of date with {name}; {rerun}")
    for file, digest in sorted(build.get("artifacts", {}).items()):
        path = out_dir / file
        if not path.is_file() or _sha256(path.read_bytes()) != digest:
            raise CompilationError(f"{path} was changed or removed since it was compiled; {rerun}")
    return True


__all__ = [
    "ARTIFACT_FORMAT",
    "BUILD_FORMAT",
    "BUILD_INDEX",
    "COMPILE_TIMEOUT",
    "OUTPUT_SELECTION",
    "SOLCJS_SCRIPT",
    "CompileResult",
    "Compiler",
    "Diagnostic",
    "check_artifacts_current",
    "compile_project",
    "find_compiler",
    "read_sources",
    "standard_json_input",
]
