"""The account trie updated in one pass per block gives py-evm's state roots."""

from __future__ import annotations

from typing import Any

import pytest
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB

from collective.node.execution import account
from collective.node.execution.account import NodeAccountDB
from collective.node.storage.tries import set_many


def _blocks(db: AccountDB) -> list[bytes]:
    roots = []
    for block in range(6):
        for i in range(1 + block * 7):
            address = bytes([i % 251, block]) + bytes(18)
            db.set_balance(address, 10**18 + i * block)
            db.set_nonce(address, block)
            if i % 3 == 0:
                db.set_storage(address, i, block + 1)
        if block % 2 == 0:  # an account never created (EIP-161's touched empty precompile)
            db.delete_account(bytes(19) + b"\x01")
        if block == 4:  # a deletion takes py-evm's path
            db.delete_account(bytes([0, 0]) + bytes(18))
        db.persist()
        roots.append(bytes(db.state_root))
    return roots


def test_state_roots_match_py_evm(monkeypatch: pytest.MonkeyPatch) -> None:
    passes = []

    def counted(db: Any, root: bytes, writes: dict[bytes, bytes]) -> bytes:
        passes.append(len(writes))
        return set_many(db, root, writes)

    monkeypatch.setattr(account, "set_many", counted)
    assert _blocks(NodeAccountDB(AtomicDB())) == _blocks(AccountDB(AtomicDB()))
    assert len(passes) == 5  # every block but the one deleting an account: one pass each


def test_a_later_state_reads_what_was_written() -> None:
    raw = AtomicDB()
    db = NodeAccountDB(raw)
    _blocks(db)
    again = NodeAccountDB(raw, db.state_root)
    assert again.get_balance(bytes([3, 5]) + bytes(18)) == 10**18 + 15
    assert again.get_nonce(bytes([3, 5]) + bytes(18)) == 5
