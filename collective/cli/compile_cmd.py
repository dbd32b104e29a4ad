"""``collective compile``: build the artifacts from contracts/, or check they are current."""

from __future__ import annotations

import click

from collective.build.compiler import check_artifacts_current, compile_project
from collective.cli.failure import error_document, fail
from collective.cli.options import CliState, json_command
from collective.cli.output import Note, emit_json, show
from collective.config import load_config
from collective.errors import CompilationError


@click.command("compile")
@click.option(
    "--check",
    is_flag=True,
    help="Only verify the artifacts match the sources and settings (no compiler needed).",
)
@json_command
def compile_command(state: CliState, check: bool) -> None:
    """Compile contracts/ into Hardhat-format artifacts.

    The compiler is the pinned solc version from hardhat.config.json: SOLC (a native solc),
    py-solc-x's install folder, solc on PATH, else solc-js from the project's node_modules.

    \b
    Examples:
      collective compile              # write collective/artifacts/*.json
      collective compile --check      # exit 1 if the artifacts are stale (for CI)
      SOLC=/usr/local/bin/solc collective --json compile
    """
    config = load_config()
    if check:
        try:
            checked = check_artifacts_current(config)
        except CompilationError as exc:
            if state.as_json:  # the result, with the error object every --json error has
                emit_json({"current": False, **error_document(exc, 1)})
            fail(exc)
        show(
            state,
            {"current": True, "checked": checked},
            "artifacts are current" if checked else "no sources folder: nothing to check",
        )
        return

    if not state.as_json:
        click.echo("compiling...", err=True)
    result = compile_project(config)
    data = {
        "compiler": {
            "kind": result.compiler.kind,
            "path": str(result.compiler.path),
            "version": result.compiler.version,
        },
        "artifacts_dir": str(result.artifacts_dir),
        "contracts": list(result.contracts),
        "removed": list(result.removed),
        "warnings": [str(w) for w in result.warnings],
    }

    show(
        state,
        data,
        *(Note(f"{warning.severity}: {warning}") for warning in result.warnings),
        f"compiler: {result.compiler.describe()}",
        f"wrote {len(result.contracts)} artifacts to {result.artifacts_dir}:",
        *(f"  {name}" for name in result.contracts),
        *(f"  removed stale {name}" for name in result.removed),
    )


__all__ = ["compile_command"]
