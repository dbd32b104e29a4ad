"""The compiler toolchain, against the real solc-js from node_modules (no mocks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_utils.crypto import keccak
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from collective.build.artifacts import artifact_names, load_artifact
from collective.build.compiler import (
    BUILD_INDEX,
    SOLCJS_SCRIPT,
    Compiler,
    check_artifacts_current,
    compile_project,
    find_compiler,
)
from collective.cli import cli
from collective.config import DEFAULT_CONFIG, ProjectConfig, load_config
from collective.errors import CompilationError

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
VERSION = DEFAULT_CONFIG["solidity"]["version"]

TOKEN = """\
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Base} from "./lib/Base.sol";

/// @notice A counter, enough to check deployment and calls.
contract Token is Base {
    uint256 public total;

    event Minted(address indexed to, uint256 amount);

    function mint(uint256 amount) external {
        total += amount;
        emit Minted(msg.sender, amount);
    }
}
"""

BASE = """\
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

abstract contract Base {
    function kind() external pure returns (bytes32) {
        return "token";
    }
}
"""

BROKEN = """\
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract Broken {
    uint256 x
}
"""

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "solc").is_dir(),
    reason="needs node and `npm install` (solc-js) in the repository",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only solc-js from the repository's node_modules is findable."""
    monkeypatch.delenv("SOLC", raising=False)
    monkeypatch.delenv("COLLECTIVE_CONFIG", raising=False)
    monkeypatch.setenv("COLLECTIVE_NODE_MODULES", str(NODE_MODULES))
    empty = tmp_path / "no-solcx"
    empty.mkdir()
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(empty))


@pytest.fixture
def project(tmp_path: Path, clean_env: None) -> ProjectConfig:
    """A small project: hardhat.config.json with the real settings and two sources."""
    root = tmp_path / "project"
    (root / "contracts" / "lib").mkdir(parents=True)
    shutil.copy(REPO / "hardhat.config.json", root / "hardhat.config.json")
    (root / "contracts" / "Token.sol").write_text(TOKEN)
    (root / "contracts" / "lib" / "Base.sol").write_text(BASE)
    return load_config(root / "hardhat.config.json")


@pytest.fixture(scope="module")
def solcjs() -> Compiler:
    return Compiler.solcjs(NODE_MODULES)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))}


def write_executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_compiles_deployable_hardhat_artifacts(project: ProjectConfig, solcjs: Compiler) -> None:
    result = compile_project(project, compiler=solcjs)
    assert result.contracts == ("Base", "Token")
    assert result.warnings == ()
    assert result.artifacts_dir == project.artifacts
    assert project.artifacts is not None
    assert sorted(tree(project.artifacts)) == ["Base.json", "Token.json", BUILD_INDEX]

    raw = json.loads((project.artifacts / "Token.json").read_text())
    assert list(raw) == [
        "_format",
        "contractName",
        "sourceName",
        "abi",
        "bytecode",
        "deployedBytecode",
        "linkReferences",
        "deployedLinkReferences",
        "immutableReferences",
        "metadata",
    ]
    assert raw["_format"] == "hh-sol-artifact-1"
    assert raw["sourceName"] == "contracts/Token.sol"
    assert json.loads(raw["metadata"])["settings"]["evmVersion"] == "prague"
    assert (project.artifacts / "Token.json").read_text().endswith("}\n")
    assert load_artifact("Base", project).bytecode == b""  # abstract: ABI only

    token = load_artifact("Token", project)
    assert artifact_names(project) == ["Base", "Token"]
    assert {e.get("name") for e in token.abi} == {"total", "mint", "kind", "Minted"}
    assert token.bytecode and token.deployed_bytecode
    assert len(token.artifact_hash) == 64

    w3 = Web3(EthereumTesterProvider())
    sender = w3.eth.accounts[0]
    factory = w3.eth.contract(abi=token.abi, bytecode=token.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": sender}))
    assert receipt["status"] == 1
    address = receipt["contractAddress"]
    assert address is not None
    code = bytes(w3.eth.get_code(address))
    assert code == token.deployed_bytecode and keccak(code) == token.code_hash
    deployed = w3.eth.contract(address=address, abi=token.abi)
    deployed.functions.mint(7).transact({"from": sender})
    assert deployed.functions.total().call() == 7


def test_syntax_error_names_file_and_line(project: ProjectConfig, solcjs: Compiler) -> None:
    assert project.sources is not None
    (project.sources / "Broken.sol").write_text(BROKEN)
    with pytest.raises(CompilationError) as caught:
        compile_project(project, compiler=solcjs)
    message = str(caught.value)
    assert "solc reported 1 error" in message
    assert "contracts/Broken.sol:6: ParserError: Expected ';' but got '}'" in message
    assert project.artifacts is not None and not project.artifacts.exists()


def test_code_over_the_eip170_limit_is_refused(project: ProjectConfig, solcjs: Compiler) -> None:
    assert project.sources is not None
    literal = "ab" * 25_000  # 25,000 bytes of runtime code: over EIP-170's 24,576
    (project.sources / "Huge.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\n"
        "contract Huge { function blob() external pure returns (bytes memory) "
        f'{{ return hex"{literal}"; }} }}\n'
    )
    with pytest.raises(CompilationError) as caught:
        compile_project(project, compiler=solcjs)
    message = str(caught.value)
    assert "Huge: runtime code" in message and "> 24,576 (EIP-170)" in message
    assert "Token" not in message  # only the contract over the limit is named
    assert project.artifacts is not None and not project.artifacts.exists()


@pytest.fixture
def no_compiler(tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """node on PATH but no solc, SOLC unset, COLLECTIVE_NODE_MODULES an empty folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    node = shutil.which("node")
    assert node is not None
    (bin_dir / "node").symlink_to(node)
    empty = tmp_path / "empty_node_modules"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("COLLECTIVE_NODE_MODULES", str(empty))


def test_missing_compiler_says_how_to_get_one(tmp_path: Path, no_compiler: None) -> None:
    with pytest.raises(CompilationError) as caught:
        find_compiler(VERSION, tmp_path)
    message = str(caught.value)
    assert f"no solc {VERSION} found" in message
    assert "run `npm install`" in message
    assert f"set SOLC to the path of a native solc {VERSION}" in message


def test_wrong_version_native_is_skipped_for_solcjs(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = write_executable(tmp_path / "solc", "#!/bin/sh\necho 'Version: 0.8.20+commit.a1b79de6'\n")
    monkeypatch.setenv("SOLC", str(old))
    compiler = find_compiler(VERSION, tmp_path)
    assert compiler.kind == "solc-js"
    assert compiler.version.startswith(f"{VERSION}+commit.")

    monkeypatch.setenv("COLLECTIVE_NODE_MODULES", str(tmp_path))
    with pytest.raises(CompilationError, match=r"SOLC .*solc is solc 0\.8\.20"):
        find_compiler(VERSION, tmp_path)


def test_native_path_gives_identical_artifacts(
    project: ProjectConfig, solcjs: Compiler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SOLC binary that speaks solc's CLI (here: the shipped shim around solc-js)."""
    script = REPO / "scripts" / "solcjs_compile.js"
    wrapper = write_executable(
        tmp_path / "solc-native", f'#!/bin/sh\nexec "{shutil.which("node")}" "{script}" "$@"\n'
    )
    monkeypatch.setenv("SOLC", str(wrapper))
    native = find_compiler(VERSION, project.root)
    assert native.kind == "native" and native.path == wrapper
    assert native.short_version == solcjs.short_version

    first = compile_project(project, tmp_path / "native", compiler=native)
    compile_project(project, tmp_path / "solcjs", compiler=solcjs)
    assert first.compiler == native
    assert tree(tmp_path / "native") == tree(tmp_path / "solcjs")


def test_stale_detection_and_stale_file_removal(project: ProjectConfig, solcjs: Compiler) -> None:
    assert project.sources is not None and project.artifacts is not None
    with pytest.raises(CompilationError, match="no compiled artifacts"):
        check_artifacts_current(project)
    compile_project(project, compiler=solcjs)
    assert check_artifacts_current(project) is True

    token = project.sources / "Token.sol"
    token.write_text(TOKEN.replace("uint256 public total;", "uint256 public total = 1;"))
    with pytest.raises(CompilationError) as caught:
        check_artifacts_current(project)
    assert str(caught.value) == (
        "artifacts are out of date with contracts/Token.sol; run `collective compile`"
    )
    compile_project(project, compiler=solcjs)
    assert check_artifacts_current(project) is True

    (project.artifacts / "Token.json").write_text("{}\n")  # hand-edited artifact
    with pytest.raises(CompilationError, match="changed or removed"):
        check_artifacts_current(project)

    token.unlink()  # Token goes away; Base stays (imported by nothing now)
    with pytest.raises(CompilationError, match=r"out of date with contracts/Token\.sol"):
        check_artifacts_current(project)
    result = compile_project(project, compiler=solcjs)
    assert result.contracts == ("Base",)
    assert sorted(tree(project.artifacts)) == ["Base.json", BUILD_INDEX]


def test_recompile_is_byte_identical(project: ProjectConfig, solcjs: Compiler) -> None:
    assert project.artifacts is not None
    compile_project(project, compiler=solcjs)
    before = tree(project.artifacts)
    shutil.rmtree(project.artifacts)
    compile_project(project, compiler=solcjs)
    assert tree(project.artifacts) == before


def test_check_skipped_without_sources_folder(project: ProjectConfig) -> None:
    assert project.sources is not None
    shutil.rmtree(project.sources)
    assert check_artifacts_current(project) is False


def test_missing_artifact_says_compile(project: ProjectConfig) -> None:
    assert project.artifacts is not None
    project.artifacts.mkdir(parents=True)
    with pytest.raises(CompilationError, match="run `collective compile`"):
        load_artifact("Nope", project)


def test_shipped_script_matches_embedded_one() -> None:
    assert (REPO / "scripts" / "solcjs_compile.js").read_text() == SOLCJS_SCRIPT


def run_cli(project: ProjectConfig, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    assert project.root is not None
    monkeypatch.setenv("COLLECTIVE_CONFIG", str(project.root / "hardhat.config.json"))
    return CliRunner().invoke(cli, list(args))


def test_cli_compile_and_check(project: ProjectConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    assert project.sources is not None
    result = run_cli(project, monkeypatch, "compile", "--check")
    assert result.exit_code == 1
    assert "run `collective compile`" in result.stderr

    result = run_cli(project, monkeypatch, "compile")
    assert result.exit_code == 0, result.output
    assert f"compiler: solc-js {VERSION}+commit." in result.stdout
    assert str(NODE_MODULES / "solc") in result.stdout
    assert "  Token" in result.stdout and "  Base" in result.stdout

    result = run_cli(project, monkeypatch, "compile", "--check")
    assert (result.exit_code, result.stdout) == (0, "artifacts are current\n")

    (project.sources / "Token.sol").write_text(TOKEN + "// changed\n")
    result = run_cli(project, monkeypatch, "compile", "--check")
    assert result.exit_code == 1
    assert "error: artifacts are out of date with contracts/Token.sol" in result.stderr
    result = run_cli(project, monkeypatch, "--json", "compile", "--check")
    assert result.exit_code == 1 and json.loads(result.stdout)["current"] is False

    result = run_cli(project, monkeypatch, "--json", "compile")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["contracts"] == ["Base", "Token"] and data["compiler"]["kind"] == "solc-js"
    assert json.loads(run_cli(project, monkeypatch, "--json", "compile", "--check").stdout) == {
        "current": True,
        "checked": True,
    }


def test_cli_reports_errors_and_warnings_without_traceback(
    project: ProjectConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.sources is not None
    warned = TOKEN.replace(
        "function mint(uint256 amount)", "function mint(uint256 amount, uint8 u)"
    )
    (project.sources / "Token.sol").write_text(warned)
    result = run_cli(project, monkeypatch, "compile")
    assert result.exit_code == 0, result.output
    assert "warning: contracts/Token.sol:12: Warning: Unused function parameter" in result.stderr

    (project.sources / "Broken.sol").write_text(BROKEN)
    result = run_cli(project, monkeypatch, "compile")
    assert result.exit_code == 1
    assert "contracts/Broken.sol:6: ParserError" in result.stderr
    assert "Traceback" not in result.output

    help_text = run_cli(project, monkeypatch, "compile", "--help").stdout
    assert "collective compile --check" in help_text


def test_cli_without_compiler(
    project: ProjectConfig, no_compiler: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(project, monkeypatch, "compile")
    assert result.exit_code == 1
    assert "run `npm install`" in result.stderr and "Traceback" not in result.output


def test_committed_artifacts_match_fresh_compile(tmp_path: Path) -> None:
    config = load_config(REPO / "hardhat.config.json")
    assert config.sources is not None and config.artifacts is not None
    if not any(config.sources.rglob("*.sol")):
        pytest.skip("contracts/ has no .sol files yet")
    result = compile_project(config, tmp_path / "fresh", find_compiler(VERSION, REPO))
    assert result.contracts
    fresh, committed = tree(tmp_path / "fresh"), tree(config.artifacts)
    assert sorted(committed) == sorted(fresh), "run `collective compile` and commit the artifacts"
    for name, data in fresh.items():
        assert committed[name] == data, f"{name} differs: run `collective compile`"
    assert check_artifacts_current(config) is True
