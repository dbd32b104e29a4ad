"""Run slither on contracts/ and hold its findings to the triage in slither.triage.json.

    python scripts/slither_check.py            check: exit 1 on any untriaged finding, any triaged
                                               finding without a reason, or any stale entry
    python scripts/slither_check.py --update   rewrite the triage file: keep the entries that still
                                               match, add new findings with an empty reason (fill
                                               each in by hand), drop stale ones; then check

A finding is keyed by detector, contract and function (or the state variable, event... it is
about; empty for a contract-wide finding), never by line numbers, so edits elsewhere in a file
do not disturb the triage. One entry covers every finding with its key. Each entry carries the
finding's text (line references removed) for the reader and a one-line `reason` it is safe.

slither runs from its own venv (.venv-slither, made by scripts/setup.sh; $SLITHER overrides),
compiling through forge (crytic-compile's Foundry platform) with FOUNDRY_PROFILE=slither, so the
compiler is foundry.toml's scripts/solc-shim and nothing is downloaded. Only the standard
library is used here, so any Python 3.11 runs this script.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = ROOT / "slither.triage.json"
SLITHER = ROOT / ".venv-slither" / "bin" / "slither"
ABOUT = (
    "Accepted slither findings on contracts/, checked by scripts/slither_check.py. One entry per "
    "detector + contract + function (or state variable, event...; empty for the whole contract); "
    "each needs a one-line reason it is safe. After a contract change: run the script with "
    "--update, then fill in every empty reason (or fix the code instead)."
)
# "(contracts/Foo.sol#12-34)" and similar references, which move with every edit.
_LINE_REF = re.compile(r"\s*\([^()\s]+\.sol#[\d-]+\)")


@dataclass(frozen=True, order=True)
class Key:
    detector: str
    contract: str
    function: str

    def __str__(self) -> str:
        where = f"{self.contract}.{self.function}" if self.function else self.contract
        return f"{self.detector}: {where}"


@dataclass(frozen=True)
class Finding:
    key: Key
    impact: str
    text: str


def _key(result: dict[str, Any]) -> Key:
    """detector + contract + function of a slither result, from its first (primary) element."""
    elements = result.get("elements") or [{}]
    element = elements[0]
    kind = element.get("type", "")
    name = element.get("name", "")
    parent = element.get("type_specific_fields", {}).get("parent", {})
    if kind == "contract":
        return Key(result["check"], name, "")
    if parent.get("type") == "function":  # a node, local variable or parameter in a function
        grandparent = parent.get("type_specific_fields", {}).get("parent", {})
        return Key(result["check"], grandparent.get("name", ""), parent.get("name", ""))
    if parent.get("type") == "contract":  # a function, modifier, state variable, event...
        return Key(result["check"], parent.get("name", ""), name)
    # No contract (a pragma, a free function): the file stands in for the contract.
    source = element.get("source_mapping", {}).get("filename_relative", "")
    return Key(result["check"], source, name)


def _text(result: dict[str, Any]) -> str:
    lines = [_LINE_REF.sub("", line).strip() for line in result["description"].splitlines()]
    return " ".join(line for line in lines if line)


def run_slither(slither: Path) -> list[Finding]:
    """Run slither on the project; its findings, or SystemExit(2) if it could not run."""
    if not slither.is_file():
        sys.exit(f"error: {slither} not found: run `bash scripts/setup.sh` (or set SLITHER)")
    env = dict(os.environ, FOUNDRY_PROFILE="slither")
    env["PATH"] = os.pathsep.join([str(ROOT / "node_modules" / ".bin"), env.get("PATH", "")])
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "slither.json"
        # --show-ignored-findings: `slither-disable` comments and slither.db.json do not hide a
        # finding from this check; the triage file is the one place a finding is accepted.
        command = [str(slither), ".", "--json", str(report), "--fail-none"]
        done = subprocess.run(
            [*command, "--show-ignored-findings"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        data = json.loads(report.read_text()) if report.is_file() else {}
    if done.returncode != 0 or not data.get("success"):
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(f"error: slither failed ({data.get('error') or f'exit {done.returncode}'})")
    results = data.get("results", {}).get("detectors", [])
    return [Finding(_key(r), r.get("impact", ""), _text(r)) for r in results]


def load_triage(path: Path) -> dict[Key, dict[str, str]]:
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text())["findings"]
        return {Key(e["detector"], e["contract"], e["function"]): e for e in entries}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        sys.exit(f"error: {path} is not a triage file ({exc!r}); see its `about` for the format")


def write_triage(path: Path, entries: list[dict[str, str]]) -> None:
    entries = sorted(entries, key=lambda e: (e["detector"], e["contract"], e["function"]))
    path.write_text(json.dumps({"about": ABOUT, "findings": entries}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--update",
        action="store_true",
        help="add untriaged findings with an empty reason and drop stale entries, then check",
    )
    parser.add_argument("--triage", type=Path, default=TRIAGE, help="the triage file")
    args = parser.parse_args(argv)

    slither = Path(os.environ.get("SLITHER", SLITHER))
    findings = run_slither(slither)
    triage = load_triage(args.triage)
    found: dict[Key, Finding] = {}
    for finding in findings:
        found.setdefault(finding.key, finding)

    if args.update:
        entries = [triage[key] for key in found if key in triage]
        for key, finding in found.items():
            if key not in triage:
                entries.append(
                    {
                        "detector": key.detector,
                        "contract": key.contract,
                        "function": key.function,
                        "impact": finding.impact,
                        "finding": finding.text,
                        "reason": "",
                    }
                )
        write_triage(args.triage, entries)
        triage = load_triage(args.triage)
        print(f"{args.triage.name}: {len(triage)} entries written")

    new = sorted(key for key in found if key not in triage)
    unexplained = sorted(key for key in triage if not triage[key].get("reason", "").strip())
    stale = sorted(key for key in triage if key not in found)
    for key in new:
        print(f"NEW [{found[key].impact}] {key}\n    {found[key].text}")
    for key in unexplained:
        print(f"NO REASON {key}: write why it is safe in {args.triage.name} (or fix the code)")
    for key in stale:
        print(f"STALE {key}: slither no longer reports it; `--update` drops the entry")
    print(
        f"slither: {len(findings)} findings, {len(found)} keys; {len(found) - len(new)} triaged, "
        f"{len(new)} new, {len(unexplained)} without a reason, {len(stale)} stale"
    )
    return 1 if new or unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
