"""Regenerate collective/node/abci/proto/ (ABCI 2.0 protobuf types) from CometBFT's .proto files.

    python scripts/gen_abci_proto.py              rewrite collective/node/abci/proto/
    python scripts/gen_abci_proto.py --out DIR    write the package to DIR instead (the test
                                                  tests/node/abci/test_abci_proto.py compares
                                                  such a fresh copy with the committed one)
    python scripts/gen_abci_proto.py --no-download  fail instead of `go mod download`ing a
                                                  module missing from the Go module cache

Sources: the pinned CometBFT module (COMETBFT_VERSION, the version scripts/setup.sh builds) and
the gogoproto version its go.mod requires, both from the Go module cache (`go env GOMODCACHE`).
Only tendermint/abci/types.proto and what it imports, transitively, are compiled (for v0.38.26:
tendermint/abci/types, tendermint/crypto/{keys,proof}, tendermint/types/{params,validator} and
gogoproto/gogo); google/protobuf/* are the well-known types that ship with the protobuf runtime
and are not generated.

The compiler is protoc as bundled in grpcio-tools (`python -m grpc_tools.protoc`), with
--python_out and --pyi_out (typed stubs, so mypy checks the code that uses the messages).

protoc writes absolute imports named after the .proto packages (`from tendermint.crypto import
proof_pb2`), which only work with the output folder on sys.path. The usual fix, protoletariat,
pins a protobuf older than grpcio-tools' own, so this script rewrites them itself: every line
`from tendermint... import` / `from gogoproto... import` in a generated .py or .pyi becomes
`from collective.node.abci.proto.tendermint... import` (one regular expression, REWRITE, applied
only to import lines naming a package that this script generated). Each generated file gets a
header line naming grpcio-tools, libprotoc and the CometBFT and gogoproto versions; every folder
gets an empty __init__.py.

Only the standard library and grpcio-tools are used.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COMETBFT_MODULE = "github.com/cometbft/cometbft"
COMETBFT_VERSION = "v0.38.26"
GOGOPROTO_MODULE = "github.com/cosmos/gogoproto"
ROOT_PROTO = "tendermint/abci/types.proto"
PACKAGE = "collective.node.abci.proto"
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "collective" / "node" / "abci" / "proto"

IMPORT = re.compile(r'^import\s+"([^"]+)"\s*;', re.MULTILINE)
# protoc's Python imports are all of the form `from a.b import c_pb2 as alias`.
REWRITE = re.compile(r"^from ((?:tendermint|gogoproto)(?:\.\w+)*) import ", re.MULTILINE)


class GenerationError(Exception):
    """Something this script needs is missing or failed (go, a module, protoc)."""


def _go(*args: str) -> str:
    try:
        done = subprocess.run(["go", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise GenerationError("`go` is not on PATH (scripts/setup.sh installs it)") from exc
    if done.returncode != 0:
        raise GenerationError(f"go {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def module_dir(module: str, version: str, *, download: bool) -> Path:
    """The folder of ``module@version`` in the Go module cache, downloading it if allowed.

    Raises:
        GenerationError: go is missing, or the module is not cached and ``download`` is off
            (or the download failed).
    """
    cached = Path(_go("env", "GOMODCACHE").strip()) / f"{module}@{version}"
    if cached.is_dir():
        return cached
    if not download:
        raise GenerationError(f"{module}@{version} is not in the Go module cache ({cached})")
    info = json.loads(_go("mod", "download", "-json", f"{module}@{version}"))
    return Path(info["Dir"])


def required_version(go_mod: Path, module: str) -> str:
    """The version of ``module`` that the go.mod file ``go_mod`` requires."""
    match = re.search(rf"^\s*{re.escape(module)}\s+(v\S+)", go_mod.read_text(), re.MULTILINE)
    if match is None:
        raise GenerationError(f"{go_mod} does not require {module}")
    return match.group(1)


def proto_closure(root: str, include_dirs: list[Path]) -> list[str]:
    """``root`` and every .proto it imports, transitively, as import paths, sorted;
    google/protobuf/* (the runtime's well-known types) left out."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen or name.startswith("google/protobuf/"):
            continue
        seen.add(name)
        found = [d / name for d in include_dirs if (d / name).is_file()]
        if not found:
            raise GenerationError(f"{name} is in none of {[str(d) for d in include_dirs]}")
        todo.extend(IMPORT.findall(found[0].read_text()))
    return sorted(seen)


def protoc_version() -> str:
    """`libprotoc X.Y` of the protoc bundled in grpcio-tools."""
    done = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def generate(out: Path, *, download: bool = True) -> list[Path]:
    """Write the package (generated modules, stubs, __init__.py files) to ``out``, replacing
    whatever was there. Returns the files written, relative to ``out``.

    Raises:
        GenerationError: go, a module or protoc failed.
    """
    import grpc_tools  # the dev extra; imported here so --help works without it

    cometbft = module_dir(COMETBFT_MODULE, COMETBFT_VERSION, download=download)
    gogo_version = required_version(cometbft / "go.mod", GOGOPROTO_MODULE)
    gogoproto = module_dir(GOGOPROTO_MODULE, gogo_version, download=download)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    include = [cometbft / "proto", gogoproto, well_known]
    protos = proto_closure(ROOT_PROTO, include)
    header = (
        f"# Generated by scripts/gen_abci_proto.py: grpcio-tools "
        f"{importlib.metadata.version('grpcio-tools')} ({protoc_version()}), "
        f"CometBFT {COMETBFT_VERSION}, gogoproto {gogo_version}. DO NOT EDIT.\n"
    )
    unexpected = {name.split("/")[0] for name in protos} - {"tendermint", "gogoproto"}
    if unexpected:  # REWRITE knows only these two top-level packages
        raise GenerationError(f"{ROOT_PROTO} now imports from {sorted(unexpected)}")

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                *(f"-I{d}" for d in include),
                f"--python_out={raw}",
                f"--pyi_out={raw}",
                *protos,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise GenerationError(f"protoc failed: {done.stderr.strip()}")
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        written: list[Path] = []
        for source in sorted(raw.rglob("*.py*")):
            relative = source.relative_to(raw)
            text = REWRITE.sub(rf"from {PACKAGE}.\1 import ", source.read_text())
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            (out / relative).write_text(header + text)
            written.append(relative)
        folders = {out}
        for relative in written:
            folders.update(out / parent for parent in relative.parents)
        for folder in sorted(folders):
            init = folder / "__init__.py"
            init.write_text(header)
            written.append(init.relative_to(out))
    return sorted(written)


def main() -> int:
    """Command line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="package folder to write")
    parser.add_argument("--no-download", action="store_true", help="never run `go mod download`")
    args = parser.parse_args()
    try:
        written = generate(args.out, download=not args.no_download)
    except GenerationError as exc:
        print(f"gen_abci_proto: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
