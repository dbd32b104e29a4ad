"""Four real validators governed on chain and fed bad input: a suspended organization's queued
transactions never commit; board votes remove and add a validator and CometBFT's validator
set follows; malformed, oversized and garbage input on every port never stops a validator;
the audit and ``collective deploy`` work unchanged through any validator's JSON-RPC.

One network for the module (the fault tests of ``test_network_faults.py`` have their own);
every test leaves it with all four validators running and in the genesis validator set.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from collective.chain import connect_rpc
from collective.chain.backend import RpcFailure
from collective.client import Collective
from collective.client.oversight import Vote
from collective.deploy import load_deployment
from collective.network.genesis import admin_key
from collective.testing.consortium import Consortium
from tests.network.fault_tools import (
    Sender,
    assert_same_chain,
    comet,
    dev_account,
    failure_logs,
    priv_validator_key,
    receipt,
    send_raw,
    transfer,
    validator_keys,
)

PURPOSE, CATEGORY = "dpv:ResearchAndDevelopment", "dpv-pd:MedicalHealth"


@pytest.fixture(scope="module")
def admin(net: Consortium) -> Collective:
    """The admin and sole board member (threshold 1: a proposal executes at once), through
    validator 1."""
    chain = connect_rpc(net.urls[0])
    return Collective(chain, load_deployment(chain, net.manifest_path), dev_account(0))


def _reach(net: Consortium, pinger: Sender, height: int) -> None:
    """Make every validator commit ``height`` (transactions drive blocks when none come
    otherwise)."""
    for _ in range(20):
        if min(h or 0 for h in net.heights()) >= height:
            return
        pinger.ping(net)
    raise AssertionError(f"height {height} not reached: {net.heights()}\n{failure_logs(net)}")


def test_suspended_organizations_queued_transactions_never_commit(
    net: Consortium, pinger: Sender, admin: Collective
) -> None:
    org = dev_account(6)
    admin.orgs.admit(org.address)
    queued = Sender(org, net.layout.chain_id)
    queued.ping(net)  # admitted: its transfer commits

    suspended: list[Vote] = []
    thread = threading.Thread(target=lambda: suspended.append(admin.oversight.suspend(org)))
    accepted: list[str] = []
    refusal = ""
    thread.start()
    deadline = time.monotonic() + 30
    # the organization's transfers, one after another, while the suspension commits
    while not refusal and time.monotonic() < deadline:
        try:
            accepted.append(queued.send(net.urls[0]))
        except RpcFailure as exc:
            refusal = str(exc)
        time.sleep(0.02)
    thread.join(30)
    # the first refusal comes once the suspension committed: "not permitted", or "nonce too
    # high" when the mempool's re-check has dropped the transfers before it
    assert suspended and refusal, (refusal, failure_logs(net, [1]))
    assert "not permitted" in refusal or "nonce too high" in refusal, refusal
    block = suspended[0].block_number

    after = int(pinger.ping(net)["blockNumber"], 16)
    _reach(net, pinger, after + 2)  # blocks after the mempool's re-check
    last = min(h or 0 for h in net.heads())
    record = assert_same_chain(net, last, first=block)
    senders = {tx["from"].lower() for b in record["blocks"][1:] for tx in b["transactions"]}
    assert org.address.lower() not in senders
    # every transfer a mempool accepted is in a block up to the suspension's, or in none
    late = []
    for tx_hash in accepted:
        found = [receipt(url, tx_hash) for url in net.urls]
        if found[0] is None:
            assert found == [None] * 4, (tx_hash, found)
            late.append(tx_hash)
        else:
            assert int(found[0]["blockNumber"], 16) <= block, (tx_hash, found[0], block)
    # some were queued behind the suspension when its block was proposed, and dropped
    assert late, f"all {len(accepted)} transfers committed by block {block}: none was queued"
    nonce = int(admin.chain.backend.request("eth_getTransactionCount", [org.address, "latest"]), 16)
    for url in (net.urls[0], net.urls[3]):
        with pytest.raises(RpcFailure, match="not permitted"):
            send_raw(url, transfer(org, nonce, net.layout.chain_id))


def _follows(net: Consortium, pinger: Sender, vote: Vote, expected: dict[str, int]) -> None:
    """CometBFT's validator set changes to ``expected`` from ``vote``'s block + 2 (ABCI
    FinalizeBlock's validator_updates take effect at H+2), on validators 1 and 4."""
    height = vote.block_number
    _reach(net, pinger, height + 2)
    for v in (1, 4):
        before, now = validator_keys(net, height + 1, v), validator_keys(net, height + 2, v)
        assert now == expected, (height, now, expected)
        assert before != expected, (height, before)


def test_board_votes_remove_and_add_validators_and_cometbft_follows(
    net: Consortium, pinger: Sender, admin: Collective
) -> None:
    genesis = {v.pub_key: v.power for v in net.layout.validators}
    v3, v4 = net.layout.validator(3), net.layout.validator(4)
    key4 = priv_validator_key(net, 4)
    assert key4 == v4.pub_key and validator_keys(net, 1) == genesis

    removed = admin.oversight.set_validator(v4.organization, key4, 0)
    _follows(net, pinger, removed, {k: p for k, p in genesis.items() if k != key4})
    assert comet(net, 4, "status")["validator_info"]["voting_power"] == "0"
    pinger.ping(net, via=4)  # three validators commit; validator 4 follows as a full node

    added = admin.oversight.set_validator(v4.organization, key4, 10)
    _follows(net, pinger, added, genesis)

    suspended = admin.oversight.suspend(v3.organization, "validator-test")
    _follows(net, pinger, suspended, {k: p for k, p in genesis.items() if k != v3.pub_key})
    on_chain = {v.pub_key_base64: v.effective_power for v in admin.oversight.validators()}
    assert on_chain[v3.pub_key] == 0
    pinger.ping(net, via=3)

    reinstated = admin.oversight.reinstate(v3.organization, "validator-test")
    _follows(net, pinger, reinstated, genesis)

    # wiped, validator 3 replays every change from genesis: CometBFT's blocksync checks each
    # header's validators hash against the updates its node returns
    net.kill(3)
    net.wipe(3)
    net.start(3)
    last = int(pinger.ping(net)["blockNumber"], 16)
    assert_same_chain(net, last)
    assert validator_keys(net, last, 3) == genesis


def _garbage_peer(port: int, payload: bytes) -> None:
    """Connect to 127.0.0.1:``port``, send ``payload``, read whatever comes for a moment,
    close."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as peer:
        peer.sendall(payload)
        peer.settimeout(0.5)
        with contextlib.suppress(OSError):
            peer.recv(4096)


def _post(url: str, body: bytes) -> tuple[int, Any]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/", body, {"Content-Type": "application/json"})
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def test_bad_input_never_stops_a_validator(net: Consortium, pinger: Sender) -> None:
    url = net.urls[0]
    good = transfer(dev_account(3), 0, net.layout.chain_id)
    malformed = ["0x", "0xdeadbeef", "0x" + "ff" * 200, good[:-10], "0x" + "00" * 32]
    for raw in malformed:
        with pytest.raises(RpcFailure):
            send_raw(url, raw)
    with pytest.raises(RpcFailure, match="oversized"):
        send_raw(url, "0x" + "ab" * (128 * 1024 + 1))
    # straight into CometBFT's mempool: the node's CheckTx refuses, CometBFT carries on
    for data in (b"\x00garbage", b"\xf8" * (128 * 1024 + 1)):
        tx = "0x" + data.hex()
        checked = comet(net, 2, "broadcast_tx_sync", tx=tx)
        assert checked["code"] != 0, checked
    status, answers = _post(url, b'[1, "a", null, {}, [], {"jsonrpc": "2.0"}, {"method": 7}]')
    assert status == 200 and len(answers) == 7
    assert all("error" in a for a in answers), answers
    status, answer = _post(url, b"\x00\xff{[not json")
    assert answer["error"]["code"] == -32700
    for v in net.layout.validators:
        _garbage_peer(v.ports.abci, os.urandom(4096))
        _garbage_peer(v.ports.abci, b"\xff" * 10 + b"\x01")  # a varint length past any limit
        _garbage_peer(v.ports.p2p, os.urandom(4096))
        _garbage_peer(v.ports.cometbft_rpc, b"GET / HTTP/1.1\r\n" + os.urandom(512))

    for index in (1, 2, 3, 4):  # each node dropped the garbage ABCI peers, with no traceback
        log = net.log(index, "node", 200_000)
        assert "Traceback" not in log and "ABCI connection" in log, log[-3000:]
    for via in (1, 2, 3, 4):  # every validator answers, and commits what it is sent
        pinger.ping(net, via=via)
    assert net.wait_until_agreed() >= 1


def _cli(args: list[str], cwd: Path, **env: str) -> dict[str, Any]:
    """``collective ARGS --json`` in a subprocess in ``cwd``; its JSON output (asserting
    exit 0)."""
    done = subprocess.run(
        [sys.executable, "-c", "from collective.cli import main; main()", *args, "--json"],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"collective {' '.join(args)}: {done.stdout}\n{done.stderr}"
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _index(db: Path) -> dict[str, list[Any]]:
    """Every row of an audit index's tables but ``meta`` (which names its source)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in tables
            if t != "meta"
        }


def test_audit_and_deploy_work_unchanged_through_any_validator(
    net: Consortium, pinger: Sender, admin: Collective, tmp_path: Path
) -> None:
    lab = Collective(admin.chain, admin.deployment, dev_account(1))
    patient = lab.as_account(dev_account(9))
    lab.policies.publish(b"Lab policy", "https://lab.example/p", [PURPOSE])
    lab.signing.relay_grant(patient.signing.sign_grant(lab.address, PURPOSE, CATEGORY))
    lab.usage.record(patient.address, PURPOSE, CATEGORY, "lab/sample-9")
    last = min(h or 0 for h in net.heads())
    results = []
    for v in (1, 4):  # the CLI, unchanged, against validator 1 and against validator 4
        db = tmp_path / f"audit-{v}.sqlite"
        where = ["--rpc", net.urls[v - 1], "--manifest", str(net.manifest_path), "--db", str(db)]
        synced = _cli(["audit", "sync", *where, "--to-block", str(last), "-q"], tmp_path)
        verified = _cli(["audit", "verify", *where], tmp_path)
        for varying in ("db", "seconds"):
            synced.pop(varying, None)
            verified.pop(varying, None)
        results.append((synced, verified, _index(db)))
    assert results[0] == results[1], results
    synced, verified, index = results[0]
    assert synced["synced_to"] == last and index["uses"], synced
    print(verified)

    manifest = tmp_path / "fresh.json"
    key = "0x" + admin_key().hex()
    deployed = _cli(
        ["deploy", "--rpc", net.urls[1], "--manifest", str(manifest)],
        tmp_path,
        COLLECTIVE_PRIVATE_KEY=key,
    )
    addresses = json.loads(manifest.read_text())["contracts"]
    assert addresses, deployed
    for name, entry in addresses.items():
        codes = [
            connect_rpc(u).backend.request("eth_getCode", [entry["address"], "latest"])
            for u in net.urls
        ]
        assert codes[0] not in ("0x", None) and len(set(codes)) == 1, name
    pinger.ping(net)
