"""Four real validators (cometbft + ``collective node --consensus cometbft`` each, on
127.0.0.1) under faults: the consent story read back identically everywhere, one validator
stopped, two stopped (a halt without a fork), a SIGKILL under load, a wiped validator, one
process of a validator crashing alone, the whole network restarted; and an idle network makes
no blocks.

One network serves the whole module (started once: ~10 s); each test leaves every validator
running, and the ``running`` fixture restarts any that a failed test left stopped. Accounts
and their roles: :mod:`tests.network.fault_tools`. Governance, bad input, the audit and
deploy through the JSON-RPC are in ``test_network_governance.py``.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from eth_typing import HexStr

from collective.chain import connect_rpc
from collective.chain.backend import RpcFailure
from collective.client import Collective
from collective.client.base import data_ref
from collective.deploy import load_deployment
from collective.errors import ConsentMissingError
from collective.ledger.signing import SignedRequest, code
from collective.network.processes import Service, signal_group
from collective.testing.consortium import Consortium
from tests.network.fault_tools import (
    Sender,
    assert_same_chain,
    dev_account,
    failure_logs,
    hashes,
    receipt,
    send_raw,
    wait_receipt,
    wait_settled,
)

PURPOSE, CATEGORY = "dpv:ResearchAndDevelopment", "dpv-pd:MedicalHealth"


@pytest.fixture(autouse=True)
def running(net: Consortium) -> Consortium:
    """Every validator running before each test (a failed test may have left one down)."""
    net.start()
    return net


def test_consent_story_through_validator_1_reads_the_same_on_every_validator(
    net: Consortium,
) -> None:
    chain1 = connect_rpc(net.urls[0])
    suite = load_deployment(chain1, net.manifest_path)
    lab = Collective(chain1, suite, dev_account(1))  # validator 1's organization
    patient = lab.as_account(dev_account(8))  # signs offline; never sends

    published = lab.policies.publish(b"Helix Lab policy v1", "https://lab.example/v1", [PURPOSE])
    signed = patient.signing.sign_grant(lab.address, PURPOSE, CATEGORY)
    granted = lab.signing.relay_grant(SignedRequest.from_json(signed.to_json()))
    used = lab.usage.record(patient.address, PURPOSE, CATEGORY, "lab/cohort-7/sample-1")
    withdrawal = patient.signing.sign_withdrawal(lab.address, PURPOSE, CATEGORY)
    withdrawn = lab.signing.relay_withdrawal(withdrawal)
    with pytest.raises(ConsentMissingError):  # refused by gas estimation: nothing is sent
        lab.usage.record(patient.address, PURPOSE, CATEGORY, "lab/cohort-7/sample-2")
    # the same refused use sent anyway (gas given): it reverts in a block, on every validator
    calldata = lab.session.codec().encode(
        "recordUse", [patient.address, code(PURPOSE), code(CATEGORY), data_ref("x")]
    )
    nonce = int(chain1.backend.request("eth_getTransactionCount", [lab.address, "latest"]), 16)
    raw = dev_account(1).sign_transaction(
        {
            "to": HexStr(suite.address("ConsentLedger")),
            "data": calldata,
            "gas": 300_000,
            "gasPrice": 10**9,
            "nonce": nonce,
            "chainId": net.layout.chain_id,
        }
    )
    refused = wait_receipt(net, send_raw(net.urls[0], "0x" + bytes(raw.raw_transaction).hex()))
    assert refused["status"] == "0x0"

    steps = [published, granted, used, withdrawn]
    assert [s.block_number for s in steps] == sorted(s.block_number for s in steps)
    last = int(refused["blockNumber"], 16)
    record = assert_same_chain(net, last)
    logs = record["logs"]
    for step in steps:
        assert any(entry["transactionHash"] == step.tx_hash for entry in logs), step

    # validator 4 answers the client's reads as validator 1 does
    chain4 = connect_rpc(net.urls[3])
    reader = Collective(chain4, load_deployment(chain4, net.manifest_path))
    assert reader.policies.current_version(lab.address) == published.policy.version
    assert not reader.consent.status(patient.address, lab.address, PURPOSE, CATEGORY).active
    history = reader.usage.history(identity=patient.address)
    assert history == list(used.records)


def test_one_validator_stopped_the_others_commit_and_it_catches_up(
    net: Consortium, pinger: Sender
) -> None:
    net.stop(3)
    before = net.height_now()
    committed = [pinger.ping(net, via=1, validators=(1, 2, 4)) for _ in range(3)]
    assert net.height_now() > before
    assert all(r["status"] == "0x1" for r in committed)
    net.start(3)
    last = int(committed[-1]["blockNumber"], 16)
    net.wait_for_head(last, [3])
    assert hashes(net, 3, 0, last) == hashes(net, 1, 0, last), failure_logs(net, [3])
    wait_receipt(net, committed[-1]["transactionHash"], [3])
    pinger.ping(net, via=3)  # it takes part again: a transaction sent through it commits


def test_two_validators_stopped_the_network_halts_without_forking_and_resumes(
    net: Consortium, pinger: Sender
) -> None:
    net.stop(3, 4)
    halted = wait_settled(net, [1, 2])
    pending = pinger.send(net.urls[0])  # CheckTx admits it; no block can commit it
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        heights = net.heights()
        assert heights[:2] == [halted, halted], f"heights moved while halted: {heights}"
        assert receipt(net.urls[0], pending) is None and receipt(net.urls[1], pending) is None
        time.sleep(0.2)
    assert net.heads()[:2] == [halted, halted]
    assert hashes(net, 1, 0, halted) == hashes(net, 2, 0, halted)

    net.start(3)  # three of four: a quorum again, the pending transaction commits
    committed = wait_receipt(net, pending, (1, 2, 3))
    assert int(committed["blockNumber"], 16) > halted
    net.start(4)
    assert_same_chain(net, int(committed["blockNumber"], 16), first=max(0, halted - 5))
    assert hashes(net, 4, 0, halted) == hashes(net, 1, 0, halted)


def test_validator_killed_under_load_catches_up_and_agrees(net: Consortium, pinger: Sender) -> None:
    load = Sender(dev_account(4), net.layout.chain_id)
    sent: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def send_load() -> None:
        try:
            while not stop.is_set():
                sent.append(load.send(net.urls[0]))
                time.sleep(0.02)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    loader = threading.Thread(target=send_load, daemon=True)
    loader.start()
    try:
        net.wait_for(lambda: len(sent) >= 20, 30, "20 transactions sent")
        net.kill(4)  # SIGKILL, node and cometbft, in the middle of the load
        net.wait_for(lambda: len(sent) >= 60, 30, "60 transactions sent")
    finally:
        stop.set()
        loader.join(30)
    assert not errors, errors
    committed = [wait_receipt(net, h, (1, 2, 3), timeout=60) for h in sent]
    net.start(4)
    last = max(int(r["blockNumber"], 16) for r in committed)
    # every block, receipt and log the same: nothing executed twice on validator 4
    record = assert_same_chain(net, last)
    in_blocks = [tx["hash"] for b in record["blocks"] for tx in b["transactions"]]
    assert all(in_blocks.count(h) == 1 for h in sent)
    pinger.ping(net, via=4)


def test_wiped_validator_resyncs_from_the_others(net: Consortium, pinger: Sender) -> None:
    last = int(pinger.ping(net)["blockNumber"], 16)
    net.kill(2)
    v2 = net.layout.validator(2)
    net.wipe(2)
    assert not any(v2.data_dir.iterdir())
    assert (v2.home / "config" / "priv_validator_key.json").is_file()
    after = int(pinger.ping(net, via=1, validators=(1, 3, 4))["blockNumber"], 16)
    net.start(2)
    assert_same_chain(net, after)
    assert hashes(net, 2, last, after) == hashes(net, 3, last, after)
    pinger.ping(net, via=2)


def test_one_process_of_a_validator_crashing_alone(net: Consortium, pinger: Sender) -> None:
    v4 = net.layout.validator(4)
    node, cometbft = Service(v4, "node"), Service(v4, "cometbft")
    signal_group(node.pid() or 0, signal.SIGKILL)  # the application alone: CometBFT stops too
    net.wait_for(lambda: cometbft.pid() is None, 20, "validator 4's cometbft to stop")
    pinger.ping(net, validators=(1, 2, 3))
    net.start(4)
    net.wait_until_agreed()  # caught up: its CheckTx knows the pinger's last nonce
    pinger.ping(net, via=4)

    signal_group(cometbft.pid() or 0, signal.SIGKILL)  # CometBFT alone: the node still reads
    net.wait_for(lambda: cometbft.pid() is None, 20, "validator 4's cometbft to die")
    with pytest.raises(RpcFailure, match="cannot reach CometBFT"):
        pinger.send(net.urls[3])
    assert net.heads()[3] is not None
    net.start(4)
    net.wait_until_agreed()
    committed = pinger.ping(net, via=4)
    assert_same_chain(net, int(committed["blockNumber"], 16))


def test_whole_network_stopped_and_started_loses_nothing(net: Consortium, pinger: Sender) -> None:
    last = int(pinger.ping(net)["blockNumber"], 16)
    before = hashes(net, 1, 0, last)
    net.stop()  # every validator: SIGTERM, cometbft first
    net.start()
    assert min(h or 0 for h in net.heads()) >= last
    for v in (1, 2, 3, 4):
        assert hashes(net, v, 0, last) == before, failure_logs(net, [v])
    committed = pinger.ping(net, via=4)
    assert_same_chain(net, int(committed["blockNumber"], 16), first=last)


def test_idle_network_makes_no_blocks_and_keeps_to_the_clock(
    net: Consortium, pinger: Sender
) -> None:
    # app_hash is the state root: an empty block leaves it as it was, so after a transaction's
    # block CometBFT makes one proof block of its app hash and then waits for transactions
    # (with the Ethereum block hash as app_hash it made ~2 empty blocks/s forever, each moving
    # the Ethereum timestamp, at least the parent's + 1, ahead of the clock)
    committed = int(pinger.ping(net)["blockNumber"], 16)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:  # the transaction's block, then one proof block at most
        assert net.height_now() <= committed + 1, f"idle heights {net.heights()} > {committed}"
        time.sleep(0.2)
    assert None not in net.heights()
    head = connect_rpc(net.urls[0]).backend.request("eth_getBlockByNumber", ["latest", False])
    ahead = int(head["timestamp"], 16) - time.time()
    assert ahead <= 2, f"block {int(head['number'], 16)}'s time is {ahead:.0f} s ahead"
