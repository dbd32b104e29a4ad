"""Batched storage-trie updates (collective.node.storage) give py-evm's roots and reads."""

from __future__ import annotations

import os
import random
from pathlib import Path

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth.db.atomic import AtomicDB
from eth.db.storage import AccountStorageDB
from eth_typing import Address, Hash32
from trie.hexary import HexaryTrie

from collective.node.storage.tries import BatchedAccountStorageDB, set_many

ADDRESS = Address(b"\x11" * 20)


def test_set_many_matches_hexary_trie() -> None:
    rng = random.Random(4)
    for _ in range(60):
        reference = HexaryTrie({})
        nodes: dict[bytes, bytes] = {}
        root = reference.root_hash
        keys: list[bytes] = []
        for _ in range(rng.randint(1, 4)):
            writes: dict[bytes, bytes] = {}
            for _ in range(rng.choice([1, 2, 7, 60, 300])):
                if keys and rng.random() < 0.3:
                    key = rng.choice(keys)  # overwrite
                elif keys and rng.random() < 0.3:  # share a prefix with a known key
                    key = rng.choice(keys)[: rng.randint(0, 31)] + os.urandom(32)
                else:
                    key = os.urandom(32)
                key = key[:32]
                keys.append(key)
                writes[key] = rlp.encode(rng.randint(1, 2 ** rng.choice([8, 64, 256]) - 1))
            for key, value in writes.items():
                reference[key] = value
            root = set_many(nodes, root, writes)
            assert root == reference.root_hash


def _run(store_class: type[AccountStorageDB], script: list[tuple[str, int, int]]) -> list[bytes]:
    db = AtomicDB()
    root = BLANK_ROOT_HASH
    roots = []
    store = store_class(db, Hash32(root), ADDRESS)
    for op, slot, value in script:
        if op == "set":
            store.set(slot, value)
        elif op == "get":
            roots.append(rlp.encode(store.get(slot)))
        elif op == "delete":
            store.delete()
        elif op == "root":
            store.lock_changes()
            store.make_storage_root()
            if store.has_changed_root:
                root = store.get_changed_root()
                store.persist(db)
            roots.append(bytes(root))
            store = store_class(db, Hash32(root), ADDRESS)
    return roots


def test_batched_storage_matches_py_evm() -> None:
    rng = random.Random(7)
    for _ in range(40):
        script: list[tuple[str, int, int]] = []
        slots = [rng.randint(0, 2**256 - 1) for _ in range(30)] + list(range(10))
        for _ in range(rng.randint(1, 200)):
            roll = rng.random()
            slot = rng.choice(slots)
            if roll < 0.55:
                script.append(("set", slot, rng.choice([0, 1, rng.randint(0, 2**256 - 1)])))
            elif roll < 0.8:
                script.append(("get", slot, 0))
            elif roll < 0.83:
                script.append(("delete", 0, 0))
            else:
                script.append(("root", 0, 0))
        script.append(("root", 0, 0))
        assert _run(BatchedAccountStorageDB, script) == _run(AccountStorageDB, script)


def test_receipt_encoding_matches_py_evm() -> None:
    from eth.rlp.logs import Log
    from eth.rlp.receipts import Receipt
    from eth.vm.forks.prague.receipts import PragueTypedReceipt

    from collective.node.execution.trie import encode_receipt

    logs = [
        Log(b"\x22" * 20, (1, 2**256 - 1), b""),
        Log(b"\x33" * 20, (), b"\x00" * 100),
        Log(b"\x44" * 20, (0, 5, 7, 9), b"\x01"),
    ]
    for status in (b"", b"\x01"):
        for gas in (0, 1, 21_000, 30_000_000):
            for chosen in ([], logs[:1], logs):
                receipt = Receipt(status, gas, chosen)
                assert encode_receipt(receipt) == receipt.encode()
                typed = PragueTypedReceipt(2, receipt)
                assert encode_receipt(typed) == typed.encode()


def test_signing_message_cut_from_the_raw_transaction() -> None:
    from eth_account import Account

    from collective.node.execution.pyevm import VM_CLASS
    from collective.node.senders import signing_message

    account = Account.create()
    builder = VM_CLASS.get_transaction_builder()
    for data in (b"", b"\x01" * 30, b"\x02" * 3000):
        for typed in (
            {"maxFeePerGas": 10**12, "maxPriorityFeePerGas": 10**9},
            {"gasPrice": 10**9, "accessList": [{"address": "0x" + "11" * 20, "storageKeys": []}]},
        ):
            tx = {"chainId": 1337, "nonce": 7, "to": "0x" + "22" * 20, "data": data, "gas": 90_000,
                  "value": 3, **typed}  # fmt: skip
            raw = bytes(account.sign_transaction(tx).raw_transaction)
            decoded = builder.decode(raw)
            assert signing_message(raw) == decoded.get_message_for_signing()
    assert signing_message(b"\x02") is None
    assert signing_message(b"\x02\xc1\x80\x00") is None  # trailing bytes


def test_logs_bloom_matches_eth_bloom() -> None:
    import itertools

    from eth.rlp.logs import Log
    from eth_bloom import BloomFilter

    from collective.node.execution.receipts import logs_bloom

    rng = random.Random(7)
    for _ in range(50):
        entries = [
            (os.urandom(20), tuple(rng.randint(0, 2**256 - 1) for _ in range(rng.randint(0, 4))),
             b"")
            for _ in range(rng.randint(0, 5))
        ]  # fmt: skip
        logs = [Log(*entry) for entry in entries]
        expected = BloomFilter.from_iterable(
            itertools.chain.from_iterable(log.bloomables for log in logs)
        )
        assert logs_bloom(entries) == int(expected)


def test_sender_recovery_matches_eth_keys_and_refuses_bad_signatures() -> None:
    import pytest
    from eth_account import Account
    from eth_utils.exceptions import ValidationError

    from collective.node.execution.pyevm import VM_CLASS, Evm

    builder = VM_CLASS.get_transaction_builder()
    evm = Evm.__new__(Evm)  # recover_sender needs no database
    for _ in range(20):
        account = Account.create()
        tx = {"chainId": 1337, "nonce": 1, "to": "0x" + "22" * 20, "data": os.urandom(40),
              "gas": 90_000, "value": 0, "maxFeePerGas": 10**12,
              "maxPriorityFeePerGas": 1}  # fmt: skip
        raw = bytes(account.sign_transaction(tx).raw_transaction)
        for given in (raw, None):  # cut from the raw bytes, and re-encoded by py-evm
            decoded = builder.decode(raw)
            assert evm.recover_sender(decoded, given) == bytes.fromhex(account.address[2:])
            assert decoded.sender == bytes.fromhex(account.address[2:])
    signed = builder.decode(raw)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    for field, value in (("s", n), ("r", n + 1), ("y_parity", 2)):
        bad = builder.decode(raw)
        inner = bad._inner.copy(**{field: value})  # type: ignore[attr-defined]
        bad = type(bad)(bad.type_id, inner)
        with pytest.raises(ValidationError):
            evm.recover_sender(bad, None)
    assert signed.s < n


def test_a_database_with_another_table_layout_is_refused(tmp_path: Path) -> None:
    import sqlite3

    import pytest

    from collective.errors import NodeError
    from collective.node.storage import DB_NAME, Store

    Store(tmp_path / "new").close()
    Store(tmp_path / "new").close()  # its own layout opens again
    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / DB_NAME)
    conn.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")
    conn.execute("CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
    conn.execute("INSERT INTO meta VALUES ('head', '3')")
    conn.commit()
    conn.close()
    with pytest.raises(NodeError, match="layout 1") as refused:
        Store(old)
    assert "new --data-dir" in (refused.value.hint or "")
