"""One chain-backend conformance suite, run on the embedded chain, `collective node` and anvil.

The idea is eth-tester's ``backend_testing``: the same tests, every backend. Each backend has
the contract suite deployed once (board ``dev[7:10]``, threshold 2) and every test runs from a
snapshot of that state, so the three deployments are shared by all tests and each test is a
few transactions. What must agree: deployment, the consent flow through the client
(:class:`collective.Collective`), typed errors decoded from revert data, receipts, blocks and
logs as web3 reads them, and (for the two JSON-RPC nodes) protocol and admission errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from eth_abi.abi import encode
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.chain.web3_bridge import BackendProvider
from collective.deploy import Deployment
from collective.errors import (
    ConsentMissingError,
    OrganizationSuspendedError,
)
from tests.helpers import (
    LAB_RESULTS,
    RESEARCH,
    deploy_consortium,
    make_world,
    play_consent_story,
)

PURPOSE = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"


@dataclass
class Backend:
    name: str
    chain: Chain
    suite: Deployment

    @property
    def url(self) -> str | None:
        return self.chain.url

    def rpc(self, method: str, *params: Any) -> dict[str, Any]:
        assert self.url is not None
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply: dict[str, Any] = requests.post(self.url, json=body, timeout=30).json()
        return reply


@pytest.fixture(scope="module")
def _anvil_deployed(anvil: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The suite on the session's anvil for this module; anvil is returned to its previous
    state afterwards (other modules share it)."""
    chain = connect_rpc(anvil, name="anvil")
    before = chain.snapshot()
    suite = deploy_consortium(
        chain, tmp_path_factory.mktemp("conformance") / "anvil.json", fresh=True
    )
    try:
        yield chain, suite
    finally:
        chain.revert(before)


def _backend(request: pytest.FixtureRequest, name: str) -> Iterator[Backend]:
    if name == "embedded":
        yield Backend(name, request.getfixturevalue("chain"), request.getfixturevalue("suite"))
    elif name == "node":
        yield Backend(
            name, request.getfixturevalue("node_chain"), request.getfixturevalue("node_suite")
        )
    else:
        chain, suite = request.getfixturevalue("_anvil_deployed")
        snapshot = chain.snapshot()
        try:
            yield Backend(name, chain, suite)
        finally:
            chain.revert(snapshot)


@pytest.fixture(params=["embedded", "node", pytest.param("anvil", marks=pytest.mark.anvil)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each of the three chains."""
    yield from _backend(request, request.param)


@pytest.fixture(params=["node", pytest.param("anvil", marks=pytest.mark.anvil)])
def rpc_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The two JSON-RPC nodes (the embedded chain has no endpoint to send bad requests to)."""
    yield from _backend(request, request.param)


def _web3(backend: Backend) -> Web3:
    """Plain web3.py on the backend's transport: the conformance is web3's view of each chain."""
    return Web3(BackendProvider(backend.chain.backend))


def test_the_deployed_suite_is_live(backend: Backend) -> None:
    chain = backend.chain
    w3 = _web3(backend)
    assert set(backend.suite.addresses) >= {"AccountRules", "ConsentLedger", "OversightBoard"}
    for name, address in backend.suite.addresses.items():
        assert len(chain.code_at(address)) > 100, name
    assert int(chain.request("eth_chainId", []), 16) == chain.chain_id
    admin = backend.chain.dev_accounts[0]
    assert backend.suite.contract("AccountRules").functions.isAdmin(admin.address).call()
    assert w3.eth.get_balance(backend.chain.dev_accounts[5].address) > 10**18


def test_consent_flow_through_the_client(backend: Backend) -> None:
    admin = Collective(backend.chain, backend.suite, backend.chain.dev_accounts[0])
    dev = backend.chain.dev_accounts
    lab, patient = admin.as_account(dev[2]), admin.as_account(dev[3])
    admin.orgs.admit(lab.address)
    lab.policies.publish(b"lab policy v1", "https://lab.example/v1", [PURPOSE])
    granted = patient.consent.grant(lab.address, PURPOSE, HEALTH)
    assert (granted.identity, granted.organization, granted.policy_version) == (
        patient.address,
        lab.address,
        1,
    )
    assert patient.consent.status(patient.address, lab.address, PURPOSE, HEALTH).covered
    used = lab.usage.record(patient.address, PURPOSE, HEALTH, "lab-report/1")
    assert used.records[0].organization == lab.address
    patient.consent.withdraw(lab.address, PURPOSE, HEALTH)
    with pytest.raises(ConsentMissingError) as missing:
        lab.usage.record(patient.address, PURPOSE, HEALTH, "lab-report/2")
    assert missing.value.error_name == "NoConsent"
    assert [r.data_ref for r in lab.usage.history(identity=patient.address)] == [
        used.records[0].data_ref
    ]
    assert [e.kind for e in patient.consent.timeline(identity=patient.address)] == [
        "granted",
        "withdrawn",
    ]
    patient.consent.grant(lab.address, PURPOSE, HEALTH)
    admin.orgs.suspend(lab.address)
    with pytest.raises(OrganizationSuspendedError):
        lab.usage.record(patient.address, PURPOSE, HEALTH, "lab-report/3")


def test_signed_consent_and_board_suspension(backend: Backend) -> None:
    play_consent_story(make_world(backend.chain, backend.suite))


def test_receipts_blocks_and_logs(backend: Backend) -> None:
    w = make_world(backend.chain, backend.suite)
    w3 = _web3(backend)
    start = w3.eth.block_number
    first = w.grant(w.patient, w.lab)
    second = w.grant(w.guardian, w.lab)
    for receipt in (first, second):
        assert receipt["status"] == 1 and receipt["gasUsed"] > 21_000
        assert receipt["logs"] and receipt["logs"][0]["transactionHash"] == receipt[
            "transactionHash"]  # fmt: skip
    assert second["blockNumber"] == w3.eth.block_number
    block = w3.eth.get_block(first["blockNumber"], full_transactions=True)
    assert block["hash"] == first["blockHash"]
    assert block["transactions"][first["transactionIndex"]]["hash"] == first["transactionHash"]
    tx = w3.eth.get_transaction(first["transactionHash"])
    assert tx["from"] == w.patient.address and tx["blockNumber"] == first["blockNumber"]
    granted_topic = (
        "0x"
        + keccak(text="ConsentGranted(address,address,bytes32,bytes32,uint64,uint32,address)").hex()
    )
    logs = w3.eth.get_logs({"fromBlock": start + 1, "toBlock": "latest",
                            "address": w.ledger.address, "topics": [granted_topic]})  # fmt: skip
    assert [log["transactionHash"] for log in logs] == [
        first["transactionHash"],
        second["transactionHash"],
    ]
    assert [w.ledger.events.ConsentGranted().process_log(log).args.identity for log in logs] == [
        w.patient.address,
        w.guardian.address,
    ]
    assert logs[0]["logIndex"] == first["logs"][0]["logIndex"]
    assert w3.eth.get_logs({"fromBlock": start + 1, "toBlock": "latest",
                            "address": w.hospital.address}) == []  # fmt: skip
    # a topic filter on the second position (the identity, indexed)
    identity_topic = "0x" + bytes(32 - 20).hex() + w.guardian.address[2:].lower()
    by_identity = w3.eth.get_logs({"fromBlock": start + 1, "toBlock": "latest",
                                   "topics": [granted_topic, identity_topic]})  # fmt: skip
    assert [log["transactionHash"] for log in by_identity] == [second["transactionHash"]]


def test_revert_data_from_calls(backend: Backend) -> None:
    w = make_world(backend.chain, backend.suite)
    use = w.ledger.functions.recordUse(w.patient.address, RESEARCH, LAB_RESULTS, b"\x01" * 32)
    with pytest.raises(ContractCustomError) as caught:
        use.call({"from": w.hospital.address})
    expected = keccak(text="NoConsent(address,address,bytes32,bytes32)")[:4] + encode(
        ["address", "address", "bytes32", "bytes32"],
        [w.patient.address, w.hospital.address, RESEARCH, LAB_RESULTS],
    )
    data = caught.value.data if isinstance(caught.value.data, str) else caught.value.args[0]
    assert str(data) == "0x" + expected.hex()


def test_protocol_errors(rpc_backend: Backend) -> None:
    assert rpc_backend.rpc("eth_noSuchMethod")["error"]["code"] == -32601
    bad = rpc_backend.rpc("eth_getBalance", "0x1234", "latest")["error"]
    assert bad["code"] == -32602
    assert rpc_backend.url is not None
    reply = requests.post(rpc_backend.url, data=b"{not json", timeout=10,
                          headers={"Content-Type": "application/json"}).json()  # fmt: skip
    # JSON-RPC 2.0 says -32700 (geth, the node); anvil answers -32600
    assert reply["error"]["code"] in (-32700, -32600)
    batch = requests.post(rpc_backend.url, timeout=10, json=[
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
    ]).json()  # fmt: skip
    assert sorted(item["id"] for item in batch) == [1, 2]


def test_invalid_params(rpc_backend: Backend) -> None:
    """Both nodes answer -32602 for a malformed parameter. Where they differ the node follows
    geth (tests/node/test_node_params.py): anvil answers an eth_getLogs range past the head, a
    backwards one (fromBlock after toBlock, both below the head) and one from "pending" with
    logs, takes quantities with leading zeros and plain JSON numbers for blocks, and unordered
    reward percentiles; geth and the node refuse them."""
    a, h = "0x" + "11" * 20, "0x" + "22" * 32
    cases = [
        ("eth_getBalance", ["0x1234", "latest"]),  # an address of 2 bytes
        ("eth_getBalance", [a, "1"]),  # a block number without 0x
        ("eth_getCode", [a, "latest", 1]),  # one argument too many
        ("eth_getStorageAt", [a]),  # a required argument missing
        ("eth_getBlockByNumber", ["0x0"]),
        ("eth_getBlockByNumber", ["0x0", "yes"]),  # a string for a boolean
        ("eth_getTransactionReceipt", ["0x1234"]),  # a hash of 2 bytes
        ("eth_getBlockByHash", ["0x" + "22" * 31, False]),
        ("eth_sendRawTransaction", ["0x123"]),  # odd length
        ("eth_getTransactionByBlockNumberAndIndex", ["0x0"]),
        ("eth_getLogs", [{"topics": [["0x12"]]}]),
        ("eth_getLogs", [{"address": "0x12"}]),
        ("eth_getLogs", [{"blockHash": h, "fromBlock": "0x0"}]),
        ("eth_chainId", [1]),
        ("eth_uninstallFilter", [5]),  # a number for a filter id
    ]
    for method, params in cases:
        reply = rpc_backend.rpc(method, *params)
        assert reply.get("error", {}).get("code") == -32602, (method, params, reply)


def test_admission_errors(rpc_backend: Backend) -> None:
    chain = rpc_backend.chain
    sender = chain.dev_accounts[6]
    nonce = chain.get_transaction_count(sender.address)
    base = {"chainId": chain.chain_id, "to": "0x" + "33" * 20, "value": 1, "gas": 21_000,
            "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1}  # fmt: skip

    def send(tx: dict[str, Any], key: Any = sender) -> dict[str, Any]:
        raw = "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()
        return rpc_backend.rpc("eth_sendRawTransaction", raw)

    assert "result" in send({**base, "nonce": nonce})
    low = send({**base, "nonce": nonce})
    assert "error" in low
    assert "nonce too low" in low["error"]["message"].lower() or "already" in low["error"][
        "message"].lower()  # fmt: skip
    poor = Account.create()
    broke = send({**base, "nonce": 0}, poor)["error"]["message"].lower()
    assert "insufficient funds" in broke
    short = send({**base, "nonce": nonce + 1, "gas": 20_000})["error"]["message"].lower()
    assert "intrinsic gas too low" in short
    wrong_chain = send({**base, "nonce": nonce + 1, "chainId": chain.chain_id + 1})
    assert "error" in wrong_chain
