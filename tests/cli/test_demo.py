"""`collective demo`: the README's first command tells the whole story, on any dev chain."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from collective.chain import connect_rpc
from collective.cli import cli

REPO = Path(__file__).resolve().parents[2]


def test_demo_tells_the_story_on_the_embedded_chain() -> None:
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 60
    out = result.output
    for line in (
        "admits a hospital and a research lab",
        "verifies against the chain",
        "3 uses in one transaction",
        "The patient's guardian acts for the patient",
        "withdraws the lab's consents",
        "NoConsent: no active consent",
        "NoDisclosureConsent: no active disclosure consent",
        "1 withdrawn disclosure consent (withdrawn, 1 received under it)",
        "the lab is now suspended",
        "OrganizationSuspended",
        "consent withdrawn",
    ):
        assert line in out, line
    assert "Traceback" not in out


def test_demo_json_report_holds_steps_and_history() -> None:
    result = CliRunner().invoke(cli, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    refused = [step for step in report["steps"] if step["refused"]]
    assert [step["data"]["error"] for step in refused] == ["NoConsent"]
    assert refused[0]["data"]["disclosure_error"] == "NoDisclosureConsent"
    # The patient's whole history, in chain order: consents, uses, the disclosure under its
    # own consent, the withdrawals, then the erasure request and its confirmation.
    assert [row["what"] for row in report["history"]] == [
        "consent granted (policy v1)",
        *["data used (policy v1)"] * 3,
        "disclosure consented (policy v1)",
        "data disclosed (policy v1)",
        "consent granted (policy v1)",
        "consent withdrawn",
        "disclosure consent withdrawn",
        "erasure requested",
        "erasure confirmed",
    ]
    disclosed = next(r for r in report["history"] if r["what"].startswith("data disclosed"))
    assert disclosed["organization"] == "St Mary's Hospital -> Helix Research Lab"
    guardian_grant = report["history"][6]
    assert guardian_grant["by"] == "guardian"
    assert report["transactions"] >= 15


def test_demo_runs_against_anvil(anvil: str) -> None:
    chain = connect_rpc(anvil)
    snapshot = chain.snapshot()
    try:
        result = CliRunner().invoke(cli, ["demo", "--rpc", anvil])
    finally:
        chain.revert(snapshot)
    assert result.exit_code == 0, result.output
    assert "NoConsent" in result.output and "chain 31337" in result.output


def test_demo_refuses_a_node_without_dev_accounts() -> None:
    result = CliRunner().invoke(cli, ["demo", "--rpc", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot reach a JSON-RPC node")


def test_console_script_runs_the_demo() -> None:
    script = Path(sys.executable).with_name("collective")
    done = subprocess.run(
        [str(script), "demo"], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert "transactions on embedded (chain 131277)" in done.stdout


def test_demo_keeps_its_deployment_when_asked(anvil: str, tmp_path: Path) -> None:
    """``keep`` (the CLI's ``--keep-deployment``) writes the demo's deployment manifest, so
    other commands can use the demo's ledger; never over an existing one, and never for
    the embedded chain (it ends with the demo)."""
    from collective.client import Collective
    from collective.demo import run_demo
    from collective.deploy import load_deployment
    from collective.errors import InvalidInputError

    chain = connect_rpc(anvil)
    snapshot = chain.snapshot()
    kept = tmp_path / "anvil.json"
    try:
        run_demo(chain=chain, keep=kept)
        suite = load_deployment(chain, kept, verify=True)
        hospital = chain.dev_accounts[1]
        ledger = Collective(chain, suite, hospital)
        assert ledger.orgs.profile(hospital.address).status == "active"
        assert ledger.policies.covers(hospital.address, "dpv:ServiceProvision")
        before = kept.read_bytes()
        try:
            run_demo(chain=chain, keep=kept)
            raise AssertionError("a second demo overwrote the kept deployment")
        except InvalidInputError as exc:
            assert "exists" in exc.message
        assert kept.read_bytes() == before
    finally:
        chain.revert(snapshot)
    result = CliRunner().invoke(cli, ["demo", "--keep-deployment"])
    assert result.exit_code == 1
    assert "the embedded chain ends with the demo" in result.output
