"""Four real validators (cometbft + collective node each) on 127.0.0.1: a transaction sent to
validator 1 commits with the same block on validator 4; status and stop work through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from eth_account import Account

from collective.chain import connect_rpc
from collective.chain.http import JsonRpc
from collective.cli import cli
from collective.client import Collective
from collective.deploy import load_deployment
from collective.network.genesis import admin_key
from collective.network.processes import alive
from collective.testing.consortium import Consortium, run_consortium
from tests.network.readme_session import run_session


def _receipt(rpc: JsonRpc, tx_hash: str, net: Any) -> dict[str, Any]:
    """The receipt of ``tx_hash`` on ``rpc``, once that validator has committed it."""
    found: dict[str, Any] = {}

    def committed() -> bool:
        found.update(rpc.call("eth_getTransactionReceipt", [tx_hash]) or {})
        return bool(found)

    net.wait_for(committed, 30.0, f"receipt of {tx_hash}")
    return found


def test_four_validators_agree_and_stop_cleanly(tmp_path: Path) -> None:
    with run_consortium(validators=4) as net:
        try:
            _agree_and_stop(net, tmp_path)
        except BaseException:
            print(net.logs())  # pytest shows it with the failure
            raise


def _agree_and_stop(net: Consortium, tmp_path: Path) -> None:
    runner = CliRunner()
    # the suite is at block 0 on every validator: the manifest loads against validator 4
    chain1, chain4 = connect_rpc(net.urls[0]), connect_rpc(net.urls[3])
    load_deployment(chain4, net.manifest_path)
    admin = Account.from_key(admin_key())
    client = Collective(chain1, load_deployment(chain1, net.manifest_path), admin)
    newcomer = Account.create().address
    change = client.orgs.admit(newcomer)  # signed here, sent to validator 1's JSON-RPC

    one, four = JsonRpc(net.urls[0]), JsonRpc(net.urls[3])
    on_one = _receipt(one, change.tx_hash, net)
    on_four = _receipt(four, change.tx_hash, net)
    assert on_four == on_one
    assert on_four["status"] == "0x1" and on_four["logs"]
    number = on_four["blockNumber"]
    block1 = one.call("eth_getBlockByNumber", [number, False])
    block4 = four.call("eth_getBlockByNumber", [number, False])
    assert block4["hash"] == block1["hash"] == on_four["blockHash"]
    assert block4["stateRoot"] == block1["stateRoot"]
    reader = Collective(chain4, load_deployment(chain4, net.manifest_path))
    assert reader.orgs.profile(newcomer).active
    # the on-chain validator set is CometBFT's genesis set, from block 0
    on_chain = {
        (v.organization, v.pub_key_base64, v.effective_power) for v in reader.oversight.validators()
    }
    assert on_chain == {(v.organization, v.pub_key, 10) for v in net.layout.validators}
    comet_rpc = JsonRpc(net.layout.validators[3].cometbft_url)
    comet = comet_rpc.call("validators", [None, None, None])  # height, page, per_page
    assert {x["pub_key"]["value"] for x in comet["validators"]} == {
        v.pub_key for v in net.layout.validators
    }

    # the README's client session, through validator 1 and read back through validator 4
    session = run_session(net.layout, tmp_path)
    assert "verified: every recorded use was covered" in session[-1].output

    shown = runner.invoke(cli, ["network", "status", str(net.root), "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)["validators"]
    assert [r["state"] for r in rows] == ["running"] * 4
    assert [r["peers"] for r in rows] == [3] * 4
    assert [r["votingPower"] for r in rows] == [10] * 4
    assert all(r["height"] >= 1 for r in rows)
    pids = [p for r in rows for p in (r["nodePid"], r["cometbftPid"])]

    stopped = runner.invoke(cli, ["network", "stop", str(net.root)])
    assert stopped.exit_code == 0, stopped.output
    assert "stopped validators 1, 2, 3, 4" in stopped.output
    assert not any(alive(pid) for pid in pids)
    assert not list(net.root.glob("validator-*/*.pid"))
    after = json.loads(runner.invoke(cli, ["network", "status", str(net.root), "--json"]).output)
    assert [r["state"] for r in after["validators"]] == ["stopped"] * 4
