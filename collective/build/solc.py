"""Finding and running a solc for the pinned version.

A compiler is looked for in this order, and each candidate is accepted only if its
``--version`` reports the version pinned in ``hardhat.config.json``:

1. ``SOLC``: the path of a native solc binary;
2. py-solc-x's install folder (``solcx.install.get_executable(version)``);
3. ``solc`` on ``PATH``;
4. solc-js: ``node`` with the npm package ``solc`` from ``COLLECTIVE_NODE_MODULES`` or the
   project's ``node_modules``, driven by :data:`SOLCJS_SCRIPT` (solcjs's own CLI prints a banner
   on stdout in ``--standard-json`` mode, so the module's ``compile()`` is called directly).

Both kinds give byte-identical output for the same version and settings (solc's standard JSON
interface, "Compiler Input and Output JSON Description").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from collective.errors import CompilationError

COMPILE_TIMEOUT = 900.0
"""Seconds one standard-JSON compilation may take."""

# Identical to scripts/solcjs_compile.js (a test keeps them in step); run with `node -e`, so it
# works wherever the package is installed.
SOLCJS_SCRIPT = """\
// solc-js behind solc's command-line interface, without the banner solcjs prints on stdout.
//   node solcjs_compile.js [SOLC_MODULE] --version        prints "Version: <long version>"
//   node solcjs_compile.js [SOLC_MODULE] --standard-json  standard JSON in on stdin, out on stdout
// SOLC_MODULE defaults to the `solc` package resolved from this script's folder.
// collective/compiler.py runs this same text with `node -e`; keep the two identical.
'use strict';
const args = process.argv.slice(require.main === module ? 2 : 1);
const solc = require(args.find((arg) => !arg.startsWith('--')) || 'solc');
if (args.includes('--version')) {
  process.stdout.write('solc-js, the solidity compiler\\nVersion: ' + solc.version() + '\\n');
} else if (args.includes('--standard-json')) {
  process.stdout.write(solc.compile(require('fs').readFileSync(0, 'utf8')));
} else {
  process.stderr.write('usage: solcjs_compile.js [SOLC_MODULE] --version | --standard-json\\n');
  process.exitCode = 2;
}
"""

_VERSION_LINE = re.compile(r"Version:\s*(\S+)")
_SHORT_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?(?:\+commit\.[0-9a-f]+)?")


def _run(argv: list[str], stdin: str | None = None, timeout: float = 60.0) -> str:
    """Run ``argv`` and return its stdout; any failure to run becomes a CompilationError."""
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompilationError(f"could not run {argv[0]}: {exc}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise CompilationError(
            f"{argv[0]} exited with status {done.returncode}"
            + (f": {detail[-1]}" if detail else "")
        )
    return done.stdout


@dataclass(frozen=True)
class Compiler:
    """A solc that reported the wanted version. ``path`` is the binary or the solc-js package."""

    kind: Literal["native", "solc-js"]
    path: Path
    version: str  # the long version, e.g. "0.8.37+commit.f401782d.Linux.g++"
    command: tuple[str, ...]

    @classmethod
    def native(cls, path: Path) -> Compiler:
        """Probe the solc binary at ``path`` (runs ``path --version``).

        Raises:
            CompilationError: it does not run, or prints no solc version.
        """
        return cls._probe("native", path, (str(path),))

    @classmethod
    def solcjs(cls, node_modules: Path, node: str | None = None) -> Compiler:
        """Probe solc-js in ``node_modules/solc``, run by ``node`` (default: node on PATH).

        Raises:
            CompilationError: no node, no npm ``solc`` package there, or it prints no version.
        """
        package = node_modules / "solc"
        node = node or shutil.which("node")
        if node is None:
            raise CompilationError("node is not on PATH, so solc-js cannot run")
        if not (package / "package.json").is_file():
            raise CompilationError(f"{package} is not an npm solc package")
        return cls._probe("solc-js", package, (node, "-e", SOLCJS_SCRIPT, "--", str(package)))

    @classmethod
    def _probe(
        cls, kind: Literal["native", "solc-js"], path: Path, command: tuple[str, ...]
    ) -> Compiler:
        match = _VERSION_LINE.search(_run([*command, "--version"]))
        if match is None:
            raise CompilationError(f"{path} --version did not print a solc version")
        return cls(kind, path, match.group(1), command)

    @property
    def short_version(self) -> str:
        """The version without the platform suffix, the same for every build of one release."""
        match = _SHORT_VERSION.match(self.version)
        return match.group(0) if match else self.version

    def describe(self) -> str:
        """``solc <long version> (<path>)`` or ``solc-js ...``, for messages."""
        name = "solc" if self.kind == "native" else "solc-js"
        return f"{name} {self.version} ({self.path})"

    def compile_standard_json(self, data: dict[str, Any]) -> dict[str, Any]:
        """Run solc on a standard-JSON input and return its parsed output.

        Args:
            data: the standard-JSON input (:func:`~collective.build.compiler.standard_json_input`).

        Returns:
            solc's standard-JSON output (``contracts``, ``errors``, ``sources``).

        Raises:
            CompilationError: solc failed to run, timed out (:data:`COMPILE_TIMEOUT` s) or did
                not answer with a JSON object.
        """
        out = _run([*self.command, "--standard-json"], json.dumps(data), COMPILE_TIMEOUT)
        try:
            result = json.loads(out)
        except json.JSONDecodeError:
            raise CompilationError(f"{self.describe()} did not return standard JSON") from None
        if not isinstance(result, dict):
            raise CompilationError(f"{self.describe()} did not return a JSON object")
        return result


def find_compiler(version: str, root: Path | None = None) -> Compiler:
    """The first solc reporting ``version``: SOLC, py-solc-x's folder, PATH, then solc-js.

    Args:
        version: the pinned version without build suffix, e.g. ``"0.8.37"``.
        root: the project folder, whose ``node_modules`` is searched for solc-js unless
            ``COLLECTIVE_NODE_MODULES`` names another.

    Raises:
        CompilationError: no candidate reports ``version``; the message lists what was checked.
    """
    rejected: list[str] = []
    candidates: list[tuple[str, Path]] = []
    if env := os.environ.get("SOLC"):
        candidates.append(("SOLC", Path(env)))
    if installed := _solcx_executable(version):
        candidates.append(("py-solc-x", installed))
    if on_path := shutil.which("solc"):
        candidates.append(("PATH", Path(on_path)))
    for origin, path in candidates:
        try:
            compiler = Compiler.native(path)
        except CompilationError as exc:
            rejected.append(f"{origin} {path}: {exc}")
            continue
        if compiler.version.split("+")[0] == version:
            return compiler
        rejected.append(f"{origin} {path} is solc {compiler.version}")

    env_modules = os.environ.get("COLLECTIVE_NODE_MODULES")
    node_modules = Path(env_modules) if env_modules else (root / "node_modules" if root else None)
    if node_modules is not None:
        try:
            compiler = Compiler.solcjs(node_modules)
        except CompilationError as exc:
            rejected.append(str(exc))
        else:
            if compiler.version.split("+")[0] == version:
                return compiler
            rejected.append(f"{compiler.path} is solc-js {compiler.version}")
    where = f" in {root}" if root else ""
    raise CompilationError(
        f"no solc {version} found: run `npm install`{where} for the pinned solc-js {version}, "
        f"or set SOLC to the path of a native solc {version}"
        + (f" (checked: {'; '.join(rejected)})" if rejected else "")
    )


def _solcx_executable(version: str) -> Path | None:
    from solcx.exceptions import SolcNotInstalled, UnsupportedVersionError
    from solcx.install import get_executable

    try:
        return get_executable(version)
    except (SolcNotInstalled, UnsupportedVersionError, ValueError, OSError):
        return None


__all__ = ["COMPILE_TIMEOUT", "SOLCJS_SCRIPT", "Compiler", "find_compiler"]
