"""The README's Python examples run as written (in order, sharing one namespace)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_starts_with_the_two_commands() -> None:
    lines = README.read_text().splitlines()
    first_block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert first_block == [
        "bash scripts/setup.sh && .venv/bin/collective demo",
        "bash .ci/run",
    ]


def test_readme_python_examples_run(capsys) -> None:  # type: ignore[no-untyped-def]
    blocks = python_blocks()
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "NoConsent" in out
    assert "True withdrawn" in out
