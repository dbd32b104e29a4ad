"""The README's story on a permissioned `collective node`: deploy, the demo, an audit."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from collective.chain import connect_rpc
from collective.cli import cli
from collective.deploy import deploy_suite


def test_demo_and_audit_on_a_permissioned_node(spawn_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    genesis = tmp_path / "genesis.json"
    runner = CliRunner()
    assert runner.invoke(cli, ["node", "init", "--dev", "--out", str(genesis)]).exit_code == 0
    node = spawn_node(["--data-dir", str(tmp_path / "data"), "--genesis", str(genesis), "--dev"])
    chain = connect_rpc(node.url)
    manifest = tmp_path / "local.json"
    # dev account 0's first deployment is the AccountRules the genesis points permissioning at
    deploy_suite(chain, chain.dev_accounts[0], manifest_path=manifest)

    demo = runner.invoke(cli, ["demo", "--rpc", node.url, "--manifest", str(manifest)])
    assert demo.exit_code == 0, demo.output
    assert "The network admits the accounts that will transact" in demo.output
    assert "NoConsent" in demo.output and "the lab is now suspended" in demo.output

    db = str(tmp_path / "audit.sqlite")
    where = ["--rpc", node.url]
    synced = runner.invoke(cli, [*where, "audit", "sync", "--manifest", str(manifest), "--db", db])
    assert synced.exit_code == 0, synced.output
    verified = runner.invoke(
        cli, [*where, "audit", "verify", "--manifest", str(manifest), "--db", db]
    )
    assert verified.exit_code == 0, verified.output
    assert "every recorded use was covered" in verified.output
