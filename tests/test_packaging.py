"""Packaging: `collective` installs beside other web3 users (ranges), `collective[node]` carries
the node's exact pins, and constraints.txt (what CI installs) satisfies both."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_normal(name)] = Version(version)
    return pins


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def test_the_client_depends_on_ranges_with_an_upper_bound() -> None:
    for text in PROJECT["dependencies"]:
        req = Requirement(text)
        operators = {spec.operator for spec in req.specifier}
        assert "==" not in operators, f"{text}: the client must not pin exactly"
        assert "<" in operators, f"{text}: give the next major version as an upper bound"


def test_the_node_extra_pins_exactly() -> None:
    node = PROJECT["optional-dependencies"]["node"]
    assert any(Requirement(t).name == "py-evm" for t in node)
    for text in node:
        assert [s.operator for s in Requirement(text).specifier] == ["=="], text


def test_constraints_satisfy_every_requirement() -> None:
    pins = _constraints()
    extras = PROJECT["optional-dependencies"]
    for text in [*PROJECT["dependencies"], *extras["node"], *extras["dev"]]:
        req = Requirement(text)
        pinned = pins.get(_normal(req.name))
        assert pinned is not None, f"constraints.txt has no pin for {req.name}"
        assert req.specifier.contains(pinned, prereleases=True), f"{req.name}=={pinned} vs {text}"


def _run_without(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where importing ``blocked`` fails."""
    prelude = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
    return subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True, text=True
    )


def test_the_client_audit_and_cli_need_nothing_of_the_node_extra() -> None:
    """The node's accelerators (safe-pysha3, coincurve) are only in `collective[node]`."""
    done = _run_without(
        ("sha3", "coincurve"),
        "import collective.client, collective.audit, collective.cli\n"
        "from collective import Collective\n"
        "from collective.chain import connect_embedded\n"
        "connect_embedded()\n",
    )
    assert done.returncode == 0, done.stderr


def test_the_cli_and_node_start_without_importing_web3() -> None:
    """`collective node start` and the CLI's plumbing import no web3 or eth-account (~0.6 s of
    start-up): a module of collective.chain (jsonints, addresses) loads without the package's
    connection layer, which is imported when first asked for."""
    done = _run_without(
        (),
        "from collective.cli import main\n"
        "import collective.chain.jsonints, collective.chain.addresses\n"
        "import collective.node.node, collective.node.server, collective.node.rpc\n"
        "heavy = sorted({'web3', 'eth_account'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
        "from collective.chain import connect, Chain\n"
        "assert callable(connect) and Chain.__name__ == 'Chain'\n",
    )
    assert done.returncode == 0, done.stderr
