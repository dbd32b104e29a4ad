"""NodeVM (py-evm's Prague with the hot path trimmed) against stock PragueVM: replaying every
block a node sealed on a stock-py-evm chain gives the same block hashes, so the same state
roots, receipts, logs blooms and gas, for the consent story and for interpreter edge cases
(truncated PUSH, stack underflow and overflow, bad jumps, invalid opcodes, out of gas, memory
growth, DUP16/SWAP16, the environment and arithmetic opcodes the node's loop runs itself).
``test_node_interpreter.py`` compares the loop with py-evm's computation by computation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth.vm.forks.prague import PragueVM

from collective.chain import connect_rpc
from collective.node import Node, NodeConfig
from collective.node.core import NodeChain
from collective.node.execution.account import encode_account
from collective.node.rpc import handle_body
from collective.node.server import serve_in_thread
from tests.helpers import LAB_RESULTS, RESEARCH, SIG_AUTH, deploy_consortium, make_world
from tests.node.test_node_rpc import init_code

EDGE_CASES = {
    "truncated PUSH2 at the end": "602a6000556101",
    "ADD on an empty stack": "01",
    "DUP1 on an empty stack": "80",
    "SWAP1 on an empty stack": "90",
    "POP on an empty stack": "50",
    "invalid opcode": "fe",
    "jump into PUSH data": "615b00600156",
    "out of gas in a loop": "5b600056",
    "stack overflow": "5b30600056",
    "MSTORE then MLOAD in memory": "602a6101005261010051600055",
    "MLOAD growing memory": "61100051600055",
    "DUP16 and SWAP16": "602a" + "5f" * 15 + "8f9f55",
    "SHA3 and CALLDATALOAD": "60003560205260206000206000 55".replace(" ", ""),
    "JUMP to a JUMPDEST": "600456005b602a600055",
    "JUMP to a non-JUMPDEST": "60035600",
    "JUMP past the end": "61100056",
    "JUMPI not taken": "6000600a5760016000555b602a600155",
    "JUMPI taken": "6001600a5760016000555b602a600155",
    "JUMPI on one item": "600157",
    "SUB wraps, SHL by 256, SHR": "600160000360005560016101001b60015560ff60041c600255",
    "LT, GT, PUSH0 and ISZERO": "600360051060035560036005116004555f15600555",
    "EQ, AND, OR": "600160011460065560f0600f1660075560f0600f17600855",
    "XOR, ADD": "60f0600f186009556002600101600a55",
    "ISZERO on an empty stack": "15",
    "SHL on one item": "60011b",
    "MSTORE far out of memory": "602a63ffffffff52",
    "MSTORE past 2**32": "602a64010000000052",
    "MSTORE growing memory twice": "602a60005260 2a61020052600051600055".replace(" ", ""),
    "environment into storage": "3332014201430136013001340160005500",
    "NOT, SGT, BYTE, MUL, DIV, MOD": "600119600113600055"
    "61abcd601e1a600155"
    "6007600302600204600506600255",
}


def _send(node: Node, tx: dict[str, Any]) -> str:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [tx]})
    answer = handle_body(node, body.encode())
    assert answer is not None
    reply = json.loads(answer)
    assert "result" in reply, reply
    result: str = reply["result"]
    return result


def _receipt(node: Node, tx_hash: str) -> dict[str, Any]:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": [tx_hash]}
    )
    answer = handle_body(node, body.encode())
    assert answer is not None
    result: dict[str, Any] = json.loads(answer)["result"]
    return result


def test_node_vm_seals_what_stock_py_evm_seals(tmp_path: Path) -> None:
    node = Node(NodeConfig(dev=True))
    server = serve_in_thread(node)
    try:
        chain = connect_rpc(server.url)
        suite = deploy_consortium(chain, tmp_path / "deployment.json")
        w = make_world(chain, suite)
        p = w.patient.address
        w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, w.guardian.address, 3600), w.patient)
        w.tx(w.ledger.functions.grantSigned(*w.sign_grant(w.guardian, p, w.lab).call_args()), w.lab)
        w.use(w.lab, p)
        w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
        w.tx(w.board.functions.propose(0, w.lab.address, b"\0" * 32, b"\0" * 32), w.members[0])
        w.tx(w.board.functions.approve(0), w.members[1])
        sender = "0x" + node.dev.addresses[2].hex() if node.dev else ""
        statuses = {}
        for name, runtime in EDGE_CASES.items():
            deployed = _receipt(
                node,
                _send(
                    node,
                    {
                        "from": sender,
                        "data": "0x" + init_code(bytes.fromhex(runtime)).hex(),
                        "gas": "0x30000",
                    },
                ),
            )
            called = _receipt(
                node,
                _send(
                    node,
                    {"from": sender, "to": deployed["contractAddress"], "gas": "0x20000",
                     "data": "0x" + "ab" * 36},
                ),
            )  # fmt: skip
            statuses[name] = called["status"]
    finally:
        server.shutdown()
        server.server_close()
    assert statuses["MSTORE then MLOAD in memory"] == "0x1"
    assert statuses["ADD on an empty stack"] == statuses["stack overflow"] == "0x0"
    assert statuses["JUMPI taken"] == statuses["SUB wraps, SHL by 256, SHR"] == "0x1"
    assert statuses["JUMP to a non-JUMPDEST"] == statuses["MSTORE far out of memory"] == "0x0"
    assert (
        statuses["environment into storage"] == statuses["NOT, SGT, BYTE, MUL, DIV, MOD"] == "0x1"
    )

    assert node.chain.head.block_number > 20
    assert_stock_py_evm_seals_the_same(node.chain)
    node.close()


def assert_stock_py_evm_seals_the_same(chain: NodeChain) -> None:
    """Replay every block ``chain`` sealed, transaction by transaction, on a chain of stock
    ``PragueVM`` from the same genesis: each block must come out with the same hash (so the
    same state root, receipts, logs bloom and gas)."""
    replay = NodeChain(chain.genesis, None, vm_class=PragueVM)
    try:
        for number in range(1, chain.head.block_number + 1):
            stored = chain.store.block_by_number(number)
            assert stored is not None
            original = chain.evm.decode_header(stored.header)
            for tx_hash in chain.store.block_tx_hashes(number):
                found = chain.store.tx(tx_hash)
                assert found is not None
                replay.submit(found.raw)
            sealed = replay.seal(timestamp=original.timestamp)
            assert sealed.header.hash == original.hash, f"block {number} differs"
    finally:
        replay.close()


def test_account_encoding_matches_rlp() -> None:
    import rlp
    from eth.rlp.accounts import Account

    for nonce, balance in [(0, 0), (1, 127), (128, 2**255), (2**64 - 1, 10**22)]:
        account = Account(nonce, balance, b"\x11" * 32, b"\x22" * 32)
        assert encode_account(nonce, balance, b"\x11" * 32, b"\x22" * 32) == rlp.encode(
            account, sedes=Account
        )
