"""The revm engine's state caches, attacked: a block running on its parent's engine
(:class:`collective.node.execution.revm.RevmBlockBuilder`'s carried cache) and the per-thread
call cache (:mod:`collective.node.execution.revm_calls`), against py-evm.

- Blocks, built alike on a py-evm chain and a revm chain from one genesis and compared
  (outcomes, receipts, state roots, hashes): accounts created and destroyed by CREATE2 in one
  transaction and created again at the same address in the next block, a contract that
  self-destructs in a later block (EIP-6780: only its balance moves), value sent to an address
  whose account was deleted, an empty account touched (EIP-161), a CREATE2 collision; and
  transactions refused after revm read their accounts (a nonce gap, a fee cap under the base
  fee, funds short for the fee cap, gas under the EIP-7623 floor). Then a sibling block
  (another block on the same parent, as after a dev revert or a lost proposal), the same
  block built twice (a proposal executed again), and a block whose build fails midway (the
  state source raising): the next blocks must agree still.
- Calls: eth_call on many threads of a real server, each on a block number of its own, while
  blocks are sealed, compared with eth_getStorageAt on the same block; and the call cache's
  size (a client can make a thread's cache read an account per 2,600 gas, without bound).
"""

from __future__ import annotations

import json
import random
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Address
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from collective.node import Node, NodeConfig
from collective.node.building import build_block
from collective.node.core import NodeChain
from collective.node.execution import revm, revm_calls
from collective.node.genesis import DEFAULT_CHAIN_ID, Genesis, build_genesis
from collective.node.rpc.dispatch import handle_body
from collective.testing import run_node_thread
from tests.node.test_revm_engine import Twins

pytestmark = pytest.mark.skipif(
    not revm.available(), reason="collective_revm is not built (scripts/setup.sh needs cargo)"
)

A, B, C, D = (Account.from_key(bytes([0x51] * 31 + [i + 1])) for i in range(4))
POOR = Account.from_key(bytes([0x52] * 32))
GWEI = 10**9
COINBASE = Address(bytes.fromhex("c0" * 20))
# runtime: CREATE2(value = CALLVALUE, init = calldata, salt 0); return the address
FACTORY = "366000600037" + "6000366000" + "34f5" + "60005260206000f3"
# init code: SSTORE(1, 7), then SELFDESTRUCT(ORIGIN) in the constructor (EIP-6780: deleted)
DOOMED = bytes.fromhex("6007600155" + "32ff")
# init code: SSTORE(2, 9), then return the runtime CALLER SELFDESTRUCT (33ff)
LINGERING = bytes.fromhex("6009600255" + "6133ff600052" + "6002601ef3")
# init code: SSTORE(3, 9), then the same runtime (another address)
PREFUNDED = bytes.fromhex("6009600355" + "6133ff600052" + "6002601ef3")


def _deploy_code(runtime: str) -> bytes:
    """Init code that returns ``runtime`` (hex, at most 255 bytes)."""
    size = len(runtime) // 2
    return bytes.fromhex(f"60{size:02x}600c60003960{size:02x}6000f3" + runtime)


def _create2_address(factory: bytes, init: bytes) -> bytes:
    return keccak(b"\xff" + factory + b"\0" * 32 + keccak(init))[12:]


def _sign(
    account: LocalAccount,
    nonce: int,
    to: bytes | None,
    data: bytes = b"",
    *,
    gas: int = 200_000,
    value: int = 0,
    fee_cap: int = 50 * GWEI,
) -> bytes:
    tx: dict[str, Any] = {
        "chainId": DEFAULT_CHAIN_ID, "nonce": nonce, "data": data, "gas": gas,
        "maxFeePerGas": fee_cap, "maxPriorityFeePerGas": min(GWEI, fee_cap), "value": value,
    }  # fmt: skip
    if to is not None:
        tx["to"] = to_checksum_address(to)
    return bytes(account.sign_transaction(tx).raw_transaction)


def _genesis() -> Genesis:
    funded = [bytes.fromhex(a.address[2:]) for a in (A, B, C, D, POOR)]
    allocs = {a: 10**22 for a in funded[:4]} | {funded[4]: 10**15}
    rules = bytes.fromhex("ab" * 20)  # no code there: only the bootstrap admins transact
    return build_genesis(bootstrap_admins=funded, allocs=allocs, account_rules=rules)


@pytest.fixture
def twins() -> Iterator[Twins]:
    pair = Twins(_genesis())
    try:
        yield pair
    finally:
        pair.close()


def test_blocks_that_delete_recreate_and_refuse_agree(twins: Twins) -> None:
    assert twins.build([_sign(A, twins.nonce(A), None, _deploy_code(FACTORY))]) == [None]
    factory = twins.chains[1].head_state.get_code  # (the factory's address below)
    from eth._utils.address import generate_contract_address

    address = bytes(generate_contract_address(Address(bytes.fromhex(A.address[2:])), 0))
    assert factory(address) == bytes.fromhex(FACTORY)  # type: ignore[arg-type]
    doomed = _create2_address(address, DOOMED)
    lingering = _create2_address(address, LINGERING)
    fresh = bytes.fromhex("77" * 20)
    long_data = b"\x01" * 1000  # EIP-7623 floor 21,000 + 40,000; standard cost 37,000
    block = [
        _sign(A, twins.nonce(A), address, DOOMED),  # created and deleted in one transaction
        _sign(B, twins.nonce(B), address, LINGERING, value=5),
        _sign(C, 7, fresh, value=1),  # a nonce gap
        _sign(D, twins.nonce(D), fresh, fee_cap=1),  # fee cap under the base fee
        _sign(POOR, 0, fresh, gas=60_000, fee_cap=50 * GWEI),  # 3e15 wei of gas, 1e15 held
        _sign(C, twins.nonce(C), fresh, long_data, gas=50_000),  # behind C's nonce gap
    ]
    twins.nonces[D.address] = 0
    outcomes = twins.build(block)
    assert outcomes[:2] == [None, None] and all(o is not None for o in outcomes[2:]), outcomes
    twins.nonces[C.address] = 0
    block = [
        _sign(C, twins.nonce(C), lingering),  # self-destructs: EIP-6780, only its balance moves
        _sign(A, twins.nonce(A), address, DOOMED),  # the same address again
        _sign(D, twins.nonce(D), fresh, value=0),  # an empty account touched (EIP-161)
        _sign(D, twins.nonce(D), doomed, value=3),  # value to the deleted account's address
        _sign(POOR, 0, fresh, gas=21_000, fee_cap=10 * GWEI),  # affordable now
        _sign(C, twins.nonce(C), fresh, long_data, gas=70_000),  # over the floor
    ]
    assert twins.build(block) == [None] * 6
    assert twins.statuses() == [1] * 6
    twins.nonces[POOR.address] = 1
    block = [
        _sign(B, twins.nonce(B), address, LINGERING),  # a collision: CREATE2 fails, returns 0
        _sign(A, twins.nonce(A), lingering, value=2),  # the self-destructed one keeps its code
        _sign(POOR, twins.nonce(POOR), doomed, gas=21_000, fee_cap=10 * GWEI, value=1),
        _sign(D, twins.nonce(D), _create2_address(address, PREFUNDED), value=4),
    ]
    assert twins.build(block) == [None] * 4
    block = [
        _sign(A, twins.nonce(A), address, DOOMED),  # created where a balance waits, deleted
        _sign(B, twins.nonce(B), address, PREFUNDED),  # created where a balance waits, kept
        _sign(C, twins.nonce(C), _create2_address(address, PREFUNDED), gas=60_000),
    ]
    assert twins.build(block) == [None] * 3
    assert twins.statuses() == [1] * 3


def test_a_transaction_under_the_calldata_floor_is_refused_by_both(twins: Twins) -> None:
    data = b"\x01" * 1000  # floor 21,000 + 10 * 4,000 = 61,000; intrinsic 37,000
    outcomes = twins.build([_sign(A, twins.nonce(A), bytes.fromhex("77" * 20), data, gas=50_000)])
    assert outcomes == ["invalid"]


def test_a_refused_transaction_leaves_no_trace_in_the_block() -> None:
    from dataclasses import replace

    from collective.node.genesis import AllocAccount

    base = _genesis()
    probe = NodeChain(base, None)
    fee = probe.next_base_fee()
    probe.close()
    sender = Account.from_key(bytes([0x61] * 32))
    address = bytes.fromhex(sender.address[2:])
    alloc = {**base.alloc, address: AllocAccount(balance=fee * 37_000)}
    admins = (*base.bootstrap_admins, address)
    pair = Twins(replace(base, alloc=alloc, bootstrap_admins=admins))
    try:
        tx = {
            "chainId": DEFAULT_CHAIN_ID, "nonce": 0, "to": "0x" + "77" * 20,
            "data": b"\x01" * 1000, "gas": 37_000, "maxFeePerGas": fee,
            "maxPriorityFeePerGas": 0, "value": 0,
        }  # fmt: skip
        assert pair.build([bytes(sender.sign_transaction(tx).raw_transaction)]) == ["invalid"]
    finally:
        pair.close()


def _with_sender(alloc: Any) -> tuple[Twins, LocalAccount]:
    """Twins whose genesis gives a fresh admin account ``alloc`` (an AllocAccount)."""
    from dataclasses import replace

    base = _genesis()
    sender = Account.from_key(bytes([0x62] * 32))
    address = bytes.fromhex(sender.address[2:])
    admins = (*base.bootstrap_admins, address)
    return Twins(
        replace(base, alloc={**base.alloc, address: alloc}, bootstrap_admins=admins)
    ), sender


def test_a_sender_with_code_is_refused_by_both() -> None:
    from collective.node.genesis import AllocAccount

    pair, sender = _with_sender(AllocAccount(balance=10**20, code=b"\x00"))
    try:
        assert pair.build([_sign(sender, 0, A_ADDR, value=1)]) == ["invalid"]
    finally:
        pair.close()


def test_the_largest_nonce_is_refused_by_both() -> None:
    from collective.node.genesis import AllocAccount

    pair, sender = _with_sender(AllocAccount(balance=10**20, nonce=2**64 - 1))
    try:
        assert pair.build([_sign(sender, 2**64 - 1, A_ADDR, value=1)]) == ["invalid"]
    finally:
        pair.close()


def test_estimates_with_much_calldata_agree() -> None:
    answers = []
    for engine in ("py-evm", "revm"):
        node = Node(NodeConfig(dev=True, engine=engine))
        try:
            call = {"to": "0x" + "77" * 20, "data": "0x" + "01" * 1000}
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_estimateGas", "params": [call]}
            answers.append(json.loads(handle_body(node, json.dumps(body).encode()) or "{}"))
        finally:
            node.close()
    assert answers[0] == answers[1] == {"jsonrpc": "2.0", "id": 1, "result": hex(61_000)}


def test_siblings_rebuilds_and_a_failed_build_leave_the_next_blocks_right(
    twins: Twins, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = "36600f5760005460005260206000f35b60003560005500"  # no calldata: slot 0; else store
    twins.build([_sign(A, twins.nonce(A), None, _deploy_code(store))])
    from eth._utils.address import generate_contract_address

    contract = bytes(generate_contract_address(Address(bytes.fromhex(A.address[2:])), 0))

    def write(account: LocalAccount, value: int, nonce: int | None = None) -> bytes:
        n = twins.nonce(account) if nonce is None else nonce
        return _sign(account, n, contract, value.to_bytes(32, "big"))

    twins.build([write(B, 1)])
    parent = twins.chains[1].head.block_number
    twins.build([write(B, 2), write(C, 3)])  # block N on the carried engine
    # a sibling of N (the same parent, other transactions), not committed
    twins.build([write(B, 20, nonce=1), write(D, 30, nonce=0)], parent=parent, commit=False)
    # N + 1 on N: the carried engine is the sibling's now, so it must start afresh
    twins.build([write(D, 4)])
    # the same block built twice (a proposal executed again), the second one committed
    twins.time -= 12
    raws = [write(B, 5), write(C, 6)]
    twins.build(raws, commit=False)
    twins.time -= 12
    twins.build(raws)
    # a block whose build fails midway on revm: its first transaction ran on the carried
    # engine, the second reads an account the state source fails to give; then built again
    missing = bytes.fromhex("99" * 20)
    raws = [write(B, 7), _sign(A, twins.nonce(A), missing, value=1), write(C, 8)]
    account = revm.StateSource.account

    def failing(self: revm.StateSource, address: bytes) -> Any:
        if address == missing:
            raise OSError("the store is gone")
        return account(self, address)

    chain = twins.chains[1]
    header = chain.evm.child_header(chain.head, coinbase=COINBASE, timestamp=twins.time + 12)
    monkeypatch.setattr(revm.StateSource, "account", failing)
    txs = [chain.evm.decode_transaction(raw) for raw in raws]
    with pytest.raises(Exception, match="store is gone"):
        build_block(chain.evm, header, txs, raws, None)
    monkeypatch.undo()
    twins.build(raws)
    twins.build([write(C, 9)])


def test_empty_accounts_of_the_genesis_agree() -> None:
    """Empty accounts written by the genesis (existing, EIP-161 empty): EXTCODEHASH and
    BALANCE of them, and a touch that deletes them (one by a transaction, one by a contract's
    zero-value CALL), read again by the next block on the carried engine."""
    from dataclasses import replace

    from collective.node.genesis import AllocAccount

    base = _genesis()
    empty, called = bytes.fromhex("ee" * 20), bytes.fromhex("ef" * 20)
    store = bytes.fromhex("36600f5760005460005260206000f35b60003560005500")
    held = bytes.fromhex("5a" * 20)
    # SSTORE(0, EXTCODEHASH(empty)); SSTORE(1, BALANCE(called)); CALL(called, value 0)
    probe_code = bytes.fromhex(
        "73" + "ee" * 20 + "3f600055" + "73" + "ef" * 20 + "31600155"
        + "6000600060006000600073" + "ef" * 20 + "5af150"
    )  # fmt: skip
    probe = bytes.fromhex("5b" * 20)
    alloc = {
        **base.alloc,
        empty: AllocAccount(),
        called: AllocAccount(),
        held: AllocAccount(code=store, storage={0: 5}),
        probe: AllocAccount(code=probe_code),
    }
    pair = Twins(replace(base, alloc=alloc))
    try:
        assert all(chain.head_state.account_exists(Address(empty)) for chain in pair.chains)
        assert pair.build([_sign(A, pair.nonce(A), probe)]) == [None]
        block = [
            _sign(B, pair.nonce(B), held),
            _sign(C, pair.nonce(C), empty, value=0),
            _sign(D, pair.nonce(D), held, (7).to_bytes(32, "big")),
        ]
        assert pair.build(block) == [None] * 3
        assert pair.build([_sign(A, pair.nonce(A), probe), _sign(B, pair.nonce(B), called)]) == [
            None,
            None,
        ]
        assert pair.statuses() == [1, 1]
        for address in (empty, called):
            assert not any(c.head_state.account_exists(Address(address)) for c in pair.chains)
    finally:
        pair.close()


def test_blocks_after_a_restart_agree(tmp_path: Path) -> None:
    """Both chains on data directories, closed and opened again between blocks (the revm
    chain's engine is not carried over a restart: its first block starts afresh)."""
    pair = Twins(_genesis(), tmp_path)
    try:
        store = "36600f5760005460005260206000f35b60003560005500"
        pair.build([_sign(A, pair.nonce(A), None, _deploy_code(store))])
        from eth._utils.address import generate_contract_address

        contract = bytes(generate_contract_address(Address(bytes.fromhex(A.address[2:])), 0))
        for value in range(1, 4):
            word = value.to_bytes(32, "big")
            pair.build([_sign(B, pair.nonce(B), contract, word), _sign(C, pair.nonce(C), A_ADDR)])
            pair.close()
            pair.open()
            assert pair.chains[1].evm._carried is None  # type: ignore[attr-defined]
        pair.build([_sign(D, pair.nonce(D), contract, b"\x05" * 32)])
    finally:
        pair.close()


A_ADDR = Address(bytes.fromhex(A.address[2:]))


def _rpc(url: str, method: str, *params: Any) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    request = urllib.request.Request(
        url, body.encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        reply = json.loads(answer.read())
    assert "result" in reply, reply
    return reply["result"]


def test_calls_on_many_threads_while_blocks_are_sealed() -> None:
    """8 client threads (8 server threads, each with its call cache) ask eth_call on a block
    number of their own choosing, "latest" and "pending", while a writer seals blocks that
    change the slot read: each answer equals eth_getStorageAt on the same block."""
    store = "36600f5760005460005260206000f35b60003560005500"
    with run_node_thread(dev=True, engine="revm") as url:
        sender = _rpc(url, "eth_accounts")[0]
        deployed = _rpc(
            url, "eth_sendTransaction", {"from": sender, "data": "0x" + _deploy_code(store).hex()}
        )
        contract = _rpc(url, "eth_getTransactionReceipt", deployed)["contractAddress"]
        done = threading.Event()
        errors: list[str] = []

        def writer() -> None:
            try:
                for value in range(1, 25):
                    data = "0x" + value.to_bytes(32, "big").hex()
                    tx = {"from": sender, "to": contract, "data": data}
                    _rpc(url, "eth_sendTransaction", tx)
            finally:
                done.set()

        def reader(seed: int) -> None:
            try:
                asks(random.Random(seed))
            except Exception as exc:
                errors.append(repr(exc))

        def asks(chooser: random.Random) -> None:
            while not done.is_set():
                head = int(_rpc(url, "eth_blockNumber"), 16)
                block = hex(chooser.randint(max(0, head - 5), head))
                called = _rpc(url, "eth_call", {"to": contract}, block)
                stored = _rpc(url, "eth_getStorageAt", contract, "0x0", block)
                if int(called[2:] or "0", 16) != int(stored, 16):  # no code yet: 0x
                    errors.append(f"block {block}: eth_call {called}, storage {stored}")
                for tag in ("latest", "pending"):
                    _rpc(url, "eth_call", {"to": contract}, tag)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
        threads.append(threading.Thread(target=writer))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert done.is_set() and not errors, errors[:5]


def _balances(start: int, end: int) -> str:
    """Init code reading BALANCE of every address in [start, end): 2,600 gas each."""
    return f"0x63{start:08x}5b8031506001018063{end:08x}1160055700"


def test_the_call_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(revm, "CARRY_LIMIT", 5_000)
    node = Node(NodeConfig(dev=True, engine="revm"))
    try:
        for k in range(3):  # three calls of ~11,000 new (empty) accounts each
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [
                {"data": _balances(0x10000 + k * 12_000, 0x10000 + (k + 1) * 12_000),
                 "gas": hex(30_000_000)}, "latest"]}  # fmt: skip
            handle_body(node, json.dumps(body).encode())
        held = getattr(revm_calls._calls, "held", None)
        assert held is None or held[1].cached() <= revm.CARRY_LIMIT
    finally:
        node.close()
