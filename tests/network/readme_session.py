"""The README's client session on a local network (section "Consortium network", the ``sh``
block after "Clients use any validator's JSON-RPC"), run command by command through the CLI
against a running network, so the README's keys, addresses and commands stay right.

The block is plain: ``export A=x B=y``, ``NAME=value`` lines, ``collective ...`` commands with
optional ``COLLECTIVE_PRIVATE_KEY=$X`` in front, joined by ``&&``, ``\\`` continuations and
``#`` comments.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

from click.testing import CliRunner, Result

from collective.cli import cli
from collective.network import NetworkLayout

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "Clients use any validator's JSON-RPC"
README_BASE_PORT = 26600


def session_commands() -> list[list[str]]:
    """The session's commands as words (continuations joined, comments dropped, ``&&``
    split)."""
    text = README.read_text()
    start = text.index("```sh\n", text.index(MARKER)) + len("```sh\n")
    block = text[start : text.index("```\n", start)].replace("\\\n", " ")
    commands: list[list[str]] = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            end = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:end])
            words = words[end + 1 :]
    return commands


def _local(value: str, layout: NetworkLayout) -> str:
    """``value`` with the README's default ports and ``net/`` made this network's."""
    for v in layout.validators:
        readme_rpc = README_BASE_PORT + 10 * (v.index - 1) + 3
        value = value.replace(f"127.0.0.1:{readme_rpc}", f"127.0.0.1:{v.ports.rpc}")
    return value.replace("net/manifest.json", str(layout.manifest_path))


def run_session(layout: NetworkLayout, cwd: Path) -> list[Result]:
    """Run :func:`session_commands` against ``layout``'s running validators, in ``cwd`` (a
    ``policy.md`` is written there). Returns each ``collective`` command's result; raises
    AssertionError at the first that fails."""
    (cwd / "policy.md").write_text("# Lab policy\n")
    variables: dict[str, str] = {}
    env: dict[str, str] = {}
    results: list[Result] = []
    runner = CliRunner()
    with contextlib.chdir(cwd):
        for command in session_commands():
            words = [re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], w) for w in command]
            exported = words[0] == "export"
            words = words[1:] if exported else words
            assigned: dict[str, str] = {}
            while words and re.fullmatch(r"[A-Z_0-9]+=.*", words[0]):
                name, value = words.pop(0).split("=", 1)
                assigned[name] = _local(value, layout)
            if not words:  # NAME=value or export NAME=value
                variables.update(assigned)
                env.update(assigned if exported else {})
                continue
            assert words[0] == "collective", command
            args = [_local(w, layout) for w in words[1:]]
            result = runner.invoke(cli, args, env=env | assigned, catch_exceptions=False)
            assert result.exit_code == 0, (command, result.output)
            results.append(result)
    return results


__all__ = ["run_session", "session_commands"]
