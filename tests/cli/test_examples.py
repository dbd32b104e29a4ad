"""The example scripts in scripts/examples/ run end to end, on the embedded chain and on anvil."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from collective.accounts import import_account
from collective.chain import connect_rpc

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "scripts" / "examples"

HEALTHCARE_LINES = (
    "admitted St Mary's Hospital",
    "Helix Research Lab published policy v",
    "Ana (did:ethr:",
    "the hospital relayed 2 signed consents in one transaction",
    "(the guardian)",
    "the lab recorded 5 uses for study-1 in one transaction",
    "is the lab's use of Ana's dpv-pd:MedicalHealth covered now? False",
    "REFUSED: the lab's next use of Ana's data (NoConsent): no active consent",
    "Eli (did:ethr:",
    "REFUSED: the hospital's next disclosure of Ben's data (NoDisclosureConsent)",
    "the lab asks the chain what to stop: Ben's consent withdrawn, after",
    "REFUSED: the lab's next use of Fay's data (UseAfterErasureRequest)",
    "the lab had 1 pending request from Fay and confirmed it (in time",
)
FINANCE_LINES = (
    "admitted FraudNet",
    "covering dpv:FraudPreventionAndDetection",
    "Southbank relayed 2 signed consents",
    "FraudNet recorded the signal about Alice's transfer and Bob's cross-check: 3 use(s)",
    "REFUSED: FraudNet's use of Bob's transactions (ConsentExpired)",
    "FLAGGED: use 0x",
    "reason 'bulk-lookup-no-alert'",
    "REFUSED: FraudNet's use of Alice's transactions under her consent to the old version "
    "(StalePolicyVersion): the consent names policy version",
    "Alice consented again, under policy v",
    "Alice (did:ethr:",
)


def run(
    script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def assert_told(done: subprocess.CompletedProcess[str], lines: tuple[str, ...]) -> None:
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
    for line in lines:
        assert line in done.stdout, f"{line!r} missing from:\n{done.stdout}"
    assert done.stdout.rstrip().endswith("done.")


@pytest.mark.parametrize(
    ("script", "lines"), [("healthcare.py", HEALTHCARE_LINES), ("finance.py", FINANCE_LINES)]
)
def test_example_on_the_embedded_chain(script: str, lines: tuple[str, ...], tmp_path: Path) -> None:
    done = run(script, "--manifest", str(tmp_path / "embedded.json"))
    assert_told(done, lines)
    assert (tmp_path / "embedded.json").is_file()


def test_examples_on_anvil_deploy_then_reuse_the_manifest(anvil: str, tmp_path: Path) -> None:
    """The first script deploys and writes the manifest; the second (and a rerun) reuse it."""
    manifest = str(tmp_path / "anvil.json")
    node = connect_rpc(anvil)
    snapshot = node.snapshot()
    try:
        first = run("healthcare.py", "--rpc", anvil, "--manifest", manifest)
        assert_told(first, HEALTHCARE_LINES)
        assert "deploying the suite" in first.stdout
        second = run("finance.py", "--rpc", anvil, "--manifest", manifest)
        assert_told(second, FINANCE_LINES)
        assert f"using the deployment in {manifest}" in second.stdout
        again = run("healthcare.py", "--rpc", anvil, "--manifest", manifest)
        assert_told(again, tuple(x for x in HEALTHCARE_LINES if not x.startswith("admitted")))
        assert "is already an active member" in again.stdout
    finally:
        node.revert(snapshot)


def test_example_with_keystore_actors_on_anvil(anvil: str, tmp_path: Path) -> None:
    """Actors named by keystore name (as on a node without dev accounts), funded by anvil."""
    keystore = tmp_path / "keystore"
    node = connect_rpc(anvil)
    snapshot = node.snapshot()
    address = {}
    try:
        for role in ["admin", "hospital", "lab", "ana", "ben"]:
            key = Account.create()
            import_account(role, key.key.hex(), "pw", keystore, kdf="pbkdf2", iterations=16)
            node.request("anvil_setBalance", [key.address, hex(10**20)])
            address[role] = key.address
        args = ["--admin", "admin", "--hospital", "hospital", "--lab", "lab"]
        args += ["--patient", "ana", "--patient", "ben"]
        env = {"COLLECTIVE_KEYSTORE": str(keystore), "COLLECTIVE_PASSWORD": "pw"}
        manifest = str(tmp_path / "anvil.json")
        done = run("healthcare.py", "--rpc", anvil, "--manifest", manifest, *args, env=env)
        assert_told(done, HEALTHCARE_LINES)
        assert f"admitted St Mary's Hospital ({address['hospital']})" in done.stdout
        assert f"Ana (did:ethr:0x7a69:{address['ana']})" in done.stdout
    finally:
        node.revert(snapshot)


@pytest.mark.parametrize("script", ["healthcare.py", "finance.py"])
def test_example_errors_are_one_line(script: str) -> None:
    done = run(script, "--rpc", "http://127.0.0.1:9")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot reach a JSON-RPC node at http://127.0.0.1:9")
