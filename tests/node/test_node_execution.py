"""The execution layer's seams: the py-evm engine satisfies the :class:`ExecutionEngine`
protocol the node calls, and the process-wide caches keyed by content (accounts by state
root) answer what py-evm's own account database answers at every root."""

from __future__ import annotations

from typing import Any

from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth_typing import Address

from collective.node.execution import (
    ENGINES,
    BlockBuilder,
    Evm,
    ExecutionEngine,
    NodeAccountDB,
    open_engine,
)

A = Address(b"\xaa" * 20)
B = Address(b"\xbb" * 20)


def test_the_py_evm_engine_is_an_execution_engine() -> None:
    engine = open_engine(AtomicDB(), 1337)
    assert isinstance(engine, Evm) and isinstance(engine, ExecutionEngine)
    assert set(ENGINES) == {"py-evm", "revm"}  # revm: collective/node/execution/revm.py
    from collective.node.genesis import Genesis

    header = engine.genesis_header(Genesis(chain_id=1337))
    child = engine.child_header(header, coinbase=A, timestamp=header.timestamp)
    assert isinstance(engine.vm(child), BlockBuilder)
    assert engine.header_by_hash(header.hash) == header


def test_accounts_read_through_the_root_cache_match_py_evm_at_every_root() -> None:
    db = AtomicDB()
    roots = []
    writer = NodeAccountDB(db)
    for balance in (1, 2, 3):
        writer.set_balance(A, balance)
        writer.set_nonce(B, balance * 10)
        writer.persist()
        roots.append(writer.state_root)
    for index, root in enumerate(roots):
        for _ in range(2):  # the second read comes from the cache
            ours, stock = NodeAccountDB(db, root), AccountDB(db, root)
            assert ours.get_balance(A) == stock.get_balance(A) == index + 1
            assert ours.get_nonce(B) == stock.get_nonce(B) == (index + 1) * 10
            assert ours.account_exists(Address(b"\xcc" * 20)) is False
    # a write in a state moves its root; reads after it see the write, not the cache
    state = NodeAccountDB(db, roots[0])
    assert state.get_balance(A) == 1
    state.set_balance(A, 99)
    assert state.get_balance(A) == 99
    state.make_state_root()
    assert state.get_balance(A) == 99
    assert NodeAccountDB(db, roots[0]).get_balance(A) == 1


def test_storage_read_through_the_root_cache_matches_py_evm_at_every_root() -> None:
    db = AtomicDB()
    roots = []
    writer = NodeAccountDB(db)
    for value in (5, 6, 0):
        writer.set_storage(A, 1, value)
        writer.set_storage(A, 2, value * 2)
        writer.persist()
        roots.append(writer.state_root)
    for index, root in enumerate(roots):
        for _ in range(2):  # the second read comes from the cache
            ours, stock = NodeAccountDB(db, root), AccountDB(db, root)
            for slot in (1, 2, 3):
                assert ours.get_storage(A, slot) == stock.get_storage(A, slot)
                assert ours.get_storage(A, slot, from_journal=False) == stock.get_storage(
                    A, slot, from_journal=False
                )
            assert ours.get_storage(A, 1) == (5, 6, 0)[index]
    # a write opens the account's store: later reads see it, and the original stays
    state = NodeAccountDB(db, roots[0])
    assert state.get_storage(A, 1) == 5
    state.set_storage(A, 1, 77)
    assert state.get_storage(A, 1) == 77
    assert state.get_storage(A, 1, from_journal=False) == 5
    # a deleted account's storage is gone, though its old root is cached
    state = NodeAccountDB(db, roots[1])
    assert state.get_storage(A, 2) == 12
    state.delete_account(A)
    assert state.get_storage(A, 2) == 0
    assert NodeAccountDB(db, roots[1]).get_storage(A, 2) == 12


def test_calls_match_stock_py_evm() -> None:
    """Evm.call (the memoized spoofed transaction, the node's VM) against a stock PragueVM
    engine over the same database, with and without an access list, a create, a transfer,
    out of gas."""
    from eth.vm.forks.prague import PragueVM

    from collective.node import Node, NodeConfig
    from tests.node.test_node_fastvm_state import WRITER, _pairs

    node = Node(NodeConfig(dev=True))
    try:
        chain = node.chain
        assert node.dev is not None
        sender = Address(bytes(node.dev.addresses[0]))
        ours, stock = chain.evm, Evm(chain.evm.db, chain.chain_id, PragueVM)
        header = chain.head.copy(base_fee_per_gas=0)
        target = Address(b"\xc0" * 20)
        cases: list[dict[str, Any]] = [
            {"to": target, "data": bytes.fromhex(_pairs((1, 2), (3, 4))), "gas": 100_000},
            {"to": target, "data": bytes.fromhex(_pairs((1, 2))), "gas": 30_000},
            {"to": None, "data": bytes.fromhex("6001600055"), "value": 5, "gas": 100_000},
            {"to": A, "data": b"\x01\x00", "value": 7, "gas": 50_000},
            {"to": target, "data": bytes.fromhex(_pairs((1, 2))), "gas": 100_000,
             "access_list": ((target, (1, 2)), (A, ()))},
        ]  # fmt: skip
        for case in cases:
            results = []
            for engine, state in ((ours, ours.state(header)), (stock, stock.state(header))):
                state.set_code(target, WRITER)
                result = engine.call(state, sender=sender, **{"value": 0, **case})
                results.append((result.output, result.gas_used, type(result.error)))
            assert results[0] == results[1], case
        assert results[0][2] is type(None)
    finally:
        node.close()


def test_code_read_through_the_hash_cache_matches_py_evm() -> None:
    import pytest
    from eth.rlp.accounts import Account
    from eth.vm.interrupt import MissingBytecode

    db = AtomicDB()
    writer = NodeAccountDB(db)
    writer.set_code(A, b"\x60\x01\x00")
    writer.persist()
    root = writer.state_root
    for _ in range(2):  # the second read comes from the cache
        assert NodeAccountDB(db, root).get_code(A) == AccountDB(db, root).get_code(A)
    assert NodeAccountDB(db, root).get_code(B) == b""
    # an account naming code the database does not hold is refused, as py-evm refuses it
    broken = NodeAccountDB(db, root)
    broken._set_account(B, Account(code_hash=b"\x01" * 32))
    with pytest.raises(MissingBytecode):
        broken.get_code(B)
