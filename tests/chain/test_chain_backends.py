"""The chain seam: the embedded backend, and the HTTP backend on a real `collective node` and on
anvil, answer the same JSON-RPC requests alike; every read a Chain makes costs one request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collective.chain import Chain, EmbeddedBackend, HttpBackend, connect_embedded, connect_rpc
from collective.chain.backend import RpcFailure, TransportError
from collective.errors import ChainError, NotFoundError, TransactionError
from collective.testing import find_anvil, free_port, record_requests, run_anvil, run_node_thread

# Runtime code that ignores its calldata and returns uint256 42; and one that reverts with the
# four bytes 0xdeadbeef. Each behind init code that copies it out (CODECOPY, RETURN).
ANSWER_RUNTIME = "602a60005260206000f3"
REVERT_RUNTIME = "63deadbeef60e01b60005260046000fd"
ANSWER_ABI = [
    {
        "type": "function",
        "name": "answer",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256"}],
        "stateMutability": "view",
    }
]
UNKNOWN_HASH = "0x" + "ab" * 32


def init_code(runtime: str) -> str:
    size = len(runtime) // 2
    return f"0x60{size:02x}80600b6000396000f3{runtime}"


@pytest.fixture(scope="module")
def node_url() -> Iterator[str]:
    with run_node_thread(dev=True) as url:
        yield url


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    if find_anvil() is None:
        pytest.skip("anvil is not installed: run `npm ci` (package @foundry-rs/anvil)")
    with run_anvil() as url:
        yield url


@pytest.fixture(scope="module", params=["embedded", "node", "anvil"])
def deployed(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A chain of each kind with the two little contracts deployed and one transfer mined."""
    if request.param == "embedded":
        chain = connect_embedded()
    else:
        chain = connect_rpc(request.getfixturevalue(f"{request.param}_url"))
    sender = chain.dev_accounts[0]
    answer = chain.wait(chain.send_data(None, init_code(ANSWER_RUNTIME), sender, what="deploy"))
    revert = chain.wait(chain.send_data(None, init_code(REVERT_RUNTIME), sender, what="deploy"))
    transfer = chain.wait(
        chain.send_data(chain.dev_accounts[1].address, b"", sender, what="transfer", value=7)
    )
    return {
        "chain": chain,
        "answer": answer["contractAddress"],
        "revert": revert["contractAddress"],
        "transfer": transfer,
    }


def test_the_backends_are_the_seam(deployed: dict[str, Any]) -> None:
    chain: Chain = deployed["chain"]
    kind = EmbeddedBackend if chain.embedded else HttpBackend
    assert isinstance(chain.backend, kind)
    assert chain.backend.where == chain.where


def test_the_same_requests_are_answered_alike(deployed: dict[str, Any]) -> None:
    chain: Chain = deployed["chain"]
    backend = chain.backend
    sender = chain.dev_accounts[0].address
    assert int(backend.request("eth_chainId", []), 16) == chain.chain_id
    assert int(backend.request("eth_blockNumber", []), 16) >= 3
    block = backend.request("eth_getBlockByNumber", ["latest", False])
    assert {"number", "hash", "parentHash", "timestamp", "transactions"} <= block.keys()
    assert isinstance(block["number"], str) and block["number"].startswith("0x")
    assert backend.request("eth_getCode", [deployed["answer"], "latest"]) == "0x" + ANSWER_RUNTIME
    assert backend.request("eth_getCode", [sender, "latest"]) == "0x"
    answer = backend.request("eth_call", [{"to": deployed["answer"], "data": "0x"}, "latest"])
    assert int(answer, 16) == 42
    assert backend.request("eth_getTransactionReceipt", [UNKNOWN_HASH]) is None
    receipt = backend.request(
        "eth_getTransactionReceipt", [deployed["transfer"]["transactionHash"].to_0x_hex()]
    )
    assert receipt["status"] == "0x1" and receipt["gasUsed"] == hex(21_000)
    with pytest.raises(RpcFailure) as reverted:
        backend.request("eth_call", [{"to": deployed["revert"], "data": "0x"}, "latest"])
    assert reverted.value.code == 3 and reverted.value.data == "0xdeadbeef"
    with pytest.raises(RpcFailure):
        backend.request("eth_noSuchMethod", [])


def test_a_batch_is_answered_in_order_with_failures_in_place(deployed: dict[str, Any]) -> None:
    backend = deployed["chain"].backend
    answers = backend.batch(
        [
            ("eth_chainId", []),
            ("eth_call", [{"to": deployed["revert"], "data": "0x"}, "latest"]),
            ("eth_getCode", [deployed["answer"], "latest"]),
        ]
    )
    assert int(answers[0], 16) == deployed["chain"].chain_id
    assert isinstance(answers[1], RpcFailure) and answers[1].data == "0xdeadbeef"
    assert answers[2] == "0x" + ANSWER_RUNTIME


def test_every_read_is_one_request(deployed: dict[str, Any]) -> None:
    chain: Chain = deployed["chain"]
    answer = chain.contract(ANSWER_ABI, deployed["answer"])
    tx_hash = deployed["transfer"]["transactionHash"].to_0x_hex()
    reads: dict[str, Callable[[], object]] = {
        "call": lambda: chain.call(answer.functions.answer()),
        "block_number": chain.block_number,
        "latest_timestamp": chain.latest_timestamp,
        "get_block": lambda: chain.get_block(1),
        "get_transaction": lambda: chain.get_transaction(tx_hash),
        "get_transaction_receipt": lambda: chain.get_transaction_receipt(tx_hash),
        "get_logs": lambda: chain.get_logs({"fromBlock": 0, "toBlock": "latest"}),
        "code_at": lambda: chain.code_at(deployed["answer"]),
        "codes_at": lambda: chain.codes_at([deployed["answer"], deployed["revert"]]),
    }
    for name, read in reads.items():
        with record_requests(chain) as calls:
            read()
        expected = 2 if name == "codes_at" else 1  # two items of one batch
        assert len(calls) == expected, (name, calls)
    assert chain.call(answer.functions.answer()) == 42


def test_reads_come_back_in_web3_shapes(deployed: dict[str, Any]) -> None:
    chain: Chain = deployed["chain"]
    tx_hash = deployed["transfer"]["transactionHash"].to_0x_hex()
    receipt = chain.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 1 and receipt["transactionHash"].to_0x_hex() == tx_hash
    assert chain.get_transaction(tx_hash)["value"] == 7
    block = chain.get_block(receipt["blockNumber"])
    assert block["number"] == receipt["blockNumber"]
    assert chain.get_block(block["hash"])["number"] == block["number"]
    assert chain.code_at(deployed["revert"]) == bytes.fromhex(REVERT_RUNTIME)
    with pytest.raises(NotFoundError):
        chain.get_transaction_receipt(UNKNOWN_HASH)
    with pytest.raises(NotFoundError):
        chain.get_block(10**9)


def test_failures_become_collective_errors(deployed: dict[str, Any]) -> None:
    chain: Chain = deployed["chain"]
    reverting = chain.contract(ANSWER_ABI, deployed["revert"])
    with pytest.raises(TransactionError):
        chain.call(reverting.functions.answer())
    with pytest.raises(TransactionError):
        chain.send_data(deployed["revert"], b"", chain.dev_accounts[0], what="poke")
    with pytest.raises(ChainError, match="refused eth_noSuchMethod"):
        chain.request("eth_noSuchMethod", [])


def test_a_node_that_is_gone_is_a_transport_error_then_a_chain_error() -> None:
    backend = HttpBackend(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(TransportError, match="connection refused"):
        backend.request("eth_chainId", [])
    with pytest.raises(TransportError):
        backend.batch([("eth_chainId", [])])


def test_transaction_count_is_one_request(chain: Chain) -> None:
    deployer = chain.dev_accounts[0].address  # it deployed the suite: its count is not 0
    with record_requests(chain) as calls:
        count = chain.get_transaction_count(deployer.lower())
    assert calls == [("eth_getTransactionCount", [deployer, "latest"])]
    assert count == int(chain.request("eth_getTransactionCount", [deployer, "latest"]), 16) > 0


def test_a_send_refused_by_permissioning_says_who_may_send() -> None:
    """A permissioned node refuses a subject's own send: the error says that subjects sign
    and organizations relay (geth-style -32000 'sender 0x… is not permitted')."""
    from collective.chain.backend import RpcFailure
    from collective.chain.errors import failure_error

    refused = RpcFailure(
        -32000, "sender 0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc is not permitted"
    )
    error = failure_error(refused, where="http://127.0.0.1:26603", what="withdraw")
    assert "refused withdraw: sender 0x9965" in str(error.message)
    assert error.hint is not None and "consent sign" in error.hint and "relay" in error.hint
