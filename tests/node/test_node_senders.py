"""Sender recovery from raw bytes (collective.node.senders), in process and in the helper."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from collective.node import Node, NodeConfig
from collective.node.dev import DevAccounts
from collective.node.rpc import handle_body
from collective.node.senders import MIN_BATCH, SenderPool, recover

CHAIN_ID = 131277


def _raw(account: Account, nonce: int = 0, **fields: object) -> bytes:
    fees = {} if "gasPrice" in fields else {"maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1}
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "to": "0x" + "22" * 20, "value": 1,
          "gas": 30_000, **fees, **fields}  # fmt: skip
    return bytes(account.sign_transaction(tx).raw_transaction)


def test_recover_matches_the_signer_and_refuses_what_it_cannot_read() -> None:
    for _ in range(10):
        account = Account.create()
        address = bytes.fromhex(account.address[2:])
        assert recover(_raw(account, data=os.urandom(70))) == address
        access_list = {"gasPrice": 10**9, "accessList": []}
        assert recover(_raw(account, **access_list)) == address  # type 1
    legacy = {"chainId": CHAIN_ID, "nonce": 0, "to": "0x" + "22" * 20, "value": 1,
              "gas": 21_000, "gasPrice": 10**9}  # fmt: skip
    raw = _raw(Account.create())
    assert recover(bytes(Account.create().sign_transaction(legacy).raw_transaction)) is None
    assert recover(b"") is None
    assert recover(raw[:-1]) is None  # truncated
    assert recover(raw + b"\x00") is None  # trailing bytes
    assert recover(raw[:-33] + b"\xa0" + b"\xff" * 32) is None  # s >= the curve order
    other = bytes.fromhex(Account.create().address[2:])
    assert recover(raw[:-70] + bytes(reversed(raw[-70:-35])) + raw[-35:]) != other


_DIES_AFTER_3 = """
import sys
from collective.node.senders import recover
source = sys.stdin.buffer
count = int.from_bytes(source.read(4), "big")
raws = [source.read(int.from_bytes(source.read(4), "big")) for _ in range(count)]
sys.stdout.buffer.write(b"".join(b"\\x01" + recover(raw) for raw in raws[:3]))
"""


def test_the_helper_answers_in_order_and_the_node_carries_on_without_it() -> None:
    accounts = [Account.create() for _ in range(3)]
    raws = [_raw(accounts[i % 3], i // 3) for i in range(MIN_BATCH + 10)]
    pool = SenderPool()
    try:
        recovered = pool.recover(raws)
        assert recovered is not None
        assert pool.recover(raws) is None  # busy with the first batch
        expected = [bytes.fromhex(accounts[i % 3].address[2:]) for i in range(len(raws))]
        assert [recovered[i] for i in range(len(raws))] == expected
        recovered.close()
        assert pool.recover(raws[:5]) is None  # small batches stay in process
        # a helper that dies after answering 3 (a real one killed mid-batch may or may not
        # have written everything to the pipe already; this one certainly has not)
        assert pool._process is not None
        pool._process.kill()
        pool._process.wait()
        pool._process = subprocess.Popen(
            [sys.executable, "-c", _DIES_AFTER_3], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, bufsize=0,
        )  # fmt: skip
        again = pool.recover(raws)
        assert again is not None
        answers = [again[i] for i in range(len(raws))]
        assert answers[:3] == expected[:3]
        assert answers[3:] == [None] * (len(raws) - 3)  # the node recovers these itself
        again.close()
        assert not pool.ready and pool.recover(raws) is None
    finally:
        pool.close()


def test_a_node_with_the_helper_admits_a_batch_with_the_right_senders() -> None:
    dev = DevAccounts.create(4)
    node = Node(NodeConfig(dev=True, sender_helper=True))
    try:
        senders = [Account.from_key(key) for key in dev.keys.values()]
        raws = [_raw(senders[i % 4], i // 4) for i in range(2 * MIN_BATCH)]
        assert node.senders is not None and node.senders.ready
        body = json.dumps([
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
             "params": ["0x" + raw.hex()]}
            for i, raw in enumerate(raws)
        ])  # fmt: skip
        answers = json.loads(handle_body(node, body.encode()) or "[]")
        assert all("result" in answer for answer in answers), answers[:2]
        for i, answer in enumerate(answers):
            reply = handle_body(node, json.dumps({
                "jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionByHash",
                "params": [answer["result"]]}).encode())  # fmt: skip
            assert json.loads(reply or "{}")["result"]["from"] == senders[i % 4].address.lower()
    finally:
        node.close()


def test_decoded_transactions_keep_py_evm_hash_and_intrinsic_gas() -> None:
    from eth.vm.forks.prague import PragueVM

    from collective.node.execution.pyevm import Evm

    stock = PragueVM.get_transaction_builder()
    account = Account.create()
    access = [{"address": "0x" + "33" * 20, "storageKeys": ["0x" + "01" * 32]}]
    for fields in (
        {"data": b""},
        {"data": b"\x00\x01" * 300},
        {"gasPrice": 10**9, "accessList": access, "data": b"\x05"},
        {"accessList": access},
        {"to": "", "data": b"\x60\x00" * 20},  # a create
    ):
        raw = _raw(account, 3, **fields)
        ours, theirs = Evm.decode_transaction(None, raw), stock.decode(raw)  # type: ignore[arg-type]
        assert ours.hash == theirs.hash
        assert ours.intrinsic_gas == ours.intrinsic_gas == theirs.intrinsic_gas
        assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(
    nonce=st.integers(0, 2**64 - 1),
    fees=st.tuples(st.integers(0, 2**256 - 1), st.integers(0, 2**256 - 1)),
    gas=st.integers(0, 2**64 - 1),
    value=st.integers(0, 2**256 - 1),
    data=st.binary(max_size=300),
    create=st.booleans(),
    mutation=st.one_of(
        st.none(),
        st.tuples(st.integers(0, 10**6), st.integers(0, 255)),  # overwrite one byte
        st.integers(0, 10**6),  # cut the end
    ),
)
def test_the_short_decoder_agrees_with_py_evm(
    nonce: int,
    fees: tuple[int, int],
    gas: int,
    value: int,
    data: bytes,
    create: bool,
    mutation: tuple[int, int] | int | None,
) -> None:
    from eth.vm.forks.prague import PragueVM

    from collective.node.execution.transactions import NodeTypedTransaction, _decode_dynamic_fee

    account = Account.from_key(b"\x07" * 32)
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "to": "" if create else "0x" + "22" * 20,
          "value": value, "gas": gas, "data": data, "maxPriorityFeePerGas": fees[0],
          "maxFeePerGas": fees[1]}  # fmt: skip
    raw = bytearray(account.sign_transaction(tx).raw_transaction)
    if isinstance(mutation, tuple):
        raw[1 + mutation[0] % (len(raw) - 1)] = mutation[1]
    elif isinstance(mutation, int):
        del raw[1 + mutation % (len(raw) - 1) :]
    encoded = bytes(raw)
    ours = _decode_dynamic_fee(NodeTypedTransaction, encoded)
    try:
        theirs = PragueVM.get_transaction_builder().decode(encoded)
    except Exception:
        assert ours is None
        return
    if mutation is None:
        assert ours is not None  # the short way applies to every plain type-2 transaction
    if ours is not None:
        assert ours == theirs
        assert ours.encode() == theirs.encode() == encoded


def test_a_helper_that_stops_answering_is_given_up_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from collective.node import senders

    monkeypatch.setattr(senders, "ANSWER_TIMEOUT", 0.3)
    pool = SenderPool()
    assert pool._process is not None
    pool._process.kill()
    pool._process.wait()
    # a "helper" that takes the batch and never answers
    pool._process = subprocess.Popen(
        ["sleep", "30"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
    )
    account = Account.create()
    raws = [_raw(account, i) for i in range(MIN_BATCH)]
    recovered = pool.recover(raws)
    assert recovered is not None
    assert recovered[0] is None  # after the timeout: the node recovers senders itself
    recovered.close()
    assert not pool.ready and pool.recover(raws) is None
    pool.close()
