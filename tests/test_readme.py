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
    assert "NoDisclosureConsent\n[('withdrawn', 1)]" in out  # the onward-disclosure example


def _architecture_tree() -> str:
    text = README.read_text()
    section = text[text.index("## Architecture") :]
    start = section.index("```text\n") + len("```text\n")
    return section[start : section.index("```\n", start)]


def test_the_architecture_tree_names_every_package_and_only_real_paths() -> None:
    package = README.parent / "collective"
    tree = _architecture_tree()
    folders = {
        p.relative_to(package).as_posix()
        for p in package.rglob("__init__.py")
        if p.parent != package and "__pycache__" not in p.parts
    }
    named = set(re.findall(r"([a-z_]+)/", tree)) - {"collective"}
    top_level = {f for f in folders if "/" not in f.removesuffix("/__init__.py")}
    for folder in top_level | {f for f in folders if f.startswith("node/")}:
        if folder.startswith("node/abci/proto/") and folder != "node/abci/proto/__init__.py":
            continue  # protoc's output mirrors CometBFT's .proto folders: the tree shows proto/
        name = folder.removesuffix("/__init__.py").rsplit("/", 1)[-1]
        assert name in named, f"the README's architecture tree does not show {folder}"
    for module in re.findall(r"(?<![*\w])([a-z_]+\.py)\b", tree):
        assert list(package.rglob(module)), f"the README's tree names {module}, which is not there"
