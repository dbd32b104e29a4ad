"""The build layer: Solidity sources in, Hardhat-format artifacts out.

=============  ===========================================================================
``solc``       finding a solc for the pinned version (native or solc-js) and running it
``compiler``   compiling ``contracts/``, writing artifacts and ``_build.json``, and telling
               stale artifacts without a compiler
``artifacts``  reading the compiled suite (the project's folder, else the package's copies
               in ``collective/artifacts/``, which is package data, not a module)
=============  ===========================================================================

Nothing here talks to a chain. ``collective.compiler`` and ``collective.artifacts`` (0.1's
paths) still work, with a DeprecationWarning.
"""

from __future__ import annotations

from collective.build.artifacts import Artifact, artifact_names, artifacts_root, load_artifact
from collective.build.compiler import (
    CompileResult,
    Diagnostic,
    check_artifacts_current,
    compile_project,
)
from collective.build.solc import Compiler, find_compiler

__all__ = [
    "Artifact",
    "CompileResult",
    "Compiler",
    "Diagnostic",
    "artifact_names",
    "artifacts_root",
    "check_artifacts_current",
    "compile_project",
    "find_compiler",
    "load_artifact",
]
