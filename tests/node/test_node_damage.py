"""Damaged storage is refused, never served as truth. A chain is built once; each test damages a
copy of it the way a bad disk or a bad copy would (bytes flipped inside a row SQLite still
reads, or inside its pages) and then asks a node on the copy what the pristine node answered:
every answer is the pristine one or an error naming the file and what to do, and the damaged
part is reported, at start or when read."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth.vm.forks.prague.blocks import PragueBlockHeader

from collective.errors import NodeError
from collective.node import Node, NodeConfig
from collective.node.genesis import Genesis
from collective.node.rpc import handle_one
from collective.node.storage import DB_NAME

# SimpleStorage-like: stores calldata word 0 in slot 0 and logs it, as data and as topic 0
# (PUSH1 0 CALLDATALOAD DUP1 PUSH1 0 SSTORE DUP1 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 LOG1 STOP)
RUNTIME = "600035806000558060005260206000a100"
INIT = "0x70" + RUNTIME + "600052" + "6011" + "600f" + "f3"


def _ask(node: Node, method: str, *params: Any) -> Any:
    answer = handle_one(node, {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    node.after_request()
    import json

    return json.loads(answer or "null")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Genesis, list[Any]]:
    data_dir = tmp_path_factory.mktemp("damage") / "chain"
    genesis = Genesis()
    node = Node(NodeConfig(dev=True, data_dir=data_dir, genesis=genesis))
    dev = node.dev
    assert dev is not None
    genesis = node.chain.genesis
    sender = "0x" + dev.addresses[0].hex()
    created = _ask(node, "eth_sendTransaction", {"from": sender, "data": INIT})["result"]
    contract = _ask(node, "eth_getTransactionReceipt", created)["result"]["contractAddress"]
    hashes = [created]
    for value in range(1, 13):
        tx = {"from": sender, "to": contract, "data": "0x" + f"{value:064x}"}
        hashes.append(_ask(node, "eth_sendTransaction", tx)["result"])
    head = int(_ask(node, "eth_blockNumber")["result"], 16)
    queries: list[tuple[Any, ...]] = [("eth_blockNumber",)]
    queries += [("eth_getBlockByNumber", hex(n), False) for n in range(head + 1)]
    queries += [("eth_getTransactionByHash", h) for h in hashes]
    queries += [("eth_getTransactionReceipt", h) for h in hashes]
    queries += [
        ("eth_getBalance", sender, "latest"),
        ("eth_getStorageAt", contract, "0x0", "latest"),
    ]
    queries += [("eth_getCode", contract, "latest"), ("eth_call", {"to": contract}, "latest")]
    queries += [("eth_getBlockReceipts", hex(n)) for n in range(head + 1)]
    queries += [("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})]
    queries += [("eth_getLogs", {"fromBlock": "0x0", "topics": [hex(n)]}) for n in (1, 5, 12)]
    answers = [(query, _ask(node, *query)) for query in queries]
    node.close()
    return data_dir, genesis, answers


def _damaged_copy(
    pristine: tuple[Path, Genesis, list[Any]],
    tmp_path: Path,
    damage: Callable[[sqlite3.Connection], None],
) -> Path:
    copy = tmp_path / "chain"
    shutil.copytree(pristine[0], copy)
    conn = sqlite3.connect(copy / DB_NAME)
    damage(conn)
    conn.commit()
    conn.close()
    return copy


def _flip(value: bytes | str, at: int) -> bytes | str:
    data = bytearray(value.encode() if isinstance(value, str) else value)
    data[at % len(data)] ^= 0x01  # in JSON text: a digit or letter for another, or a quote
    return data.decode() if isinstance(value, str) else bytes(data)


def _check(pristine: tuple[Path, Genesis, list[Any]], copy: Path, noticed: bool = True) -> str:
    """Serve the copy; every answer is the pristine one or a damage error. Which it was."""
    try:
        node = Node(NodeConfig(dev=True, data_dir=copy, genesis=pristine[1]))
    except NodeError as exc:
        assert "is damaged" in exc.message and str(copy / DB_NAME) in exc.message, exc.message
        return "refused at start"
    errors = 0
    try:
        for query, expected in pristine[2]:
            answer = _ask(node, *query)
            if answer == expected:
                continue
            error = answer.get("error", {})
            message = error.get("message", "")
            assert "is damaged" in message and "backup" in message, (query, expected, answer)
            errors += 1
    finally:
        node.close()
    # a row no query reads may go unnoticed (it is not served either); these are all read
    assert errors or not noticed, "the damage went unnoticed"
    return f"{errors} answers refused"


def _update_row(
    table: str, column: str, key: str, pick: str, at: int
) -> Callable[[sqlite3.Connection], None]:
    def damage(conn: sqlite3.Connection) -> None:
        header = conn.execute("SELECT header FROM blocks ORDER BY number DESC").fetchone()[0]
        root = rlp.decode(header, sedes=PragueBlockHeader).state_root  # the head's state
        conn.execute("INSERT INTO meta VALUES ('x', ?)", (root,))
        rowid, value = conn.execute(f"SELECT {key}, {column} FROM {table} {pick}").fetchone()
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (_flip(value, at), rowid))

    return damage


@pytest.mark.parametrize("at", [3, 60, 200])
@pytest.mark.parametrize(
    "where",
    [
        ("blocks", "header", "number", "ORDER BY number DESC LIMIT 1"),  # the head
        ("blocks", "header", "number", "WHERE number = 3"),
        ("kv", "value", "id", "WHERE key = (SELECT value FROM meta WHERE name = 'x')"),
        ("kv", "value", "id", "WHERE length(key) = 32 AND id % 7 = 3 LIMIT 1"),
        ("txs", "raw", "id", "ORDER BY id LIMIT 1 OFFSET 5"),
        ("blocks", "json", "number", "WHERE number = 4"),
        ("txs", "json", "id", "ORDER BY id LIMIT 1 OFFSET 6"),
    ],
    ids=[
        "head header",
        "old header",
        "head state node",
        "older trie node",
        "raw transaction",
        "block JSON",
        "transaction JSON",
    ],
)
def test_flipped_bytes_are_refused_not_served(
    pristine: tuple[Path, Genesis, list[Any]],
    tmp_path: Path,
    where: tuple[str, str, str, str],
    at: int,
) -> None:
    table, column, key, pick = where
    copy = _damaged_copy(pristine, tmp_path, _update_row(table, column, key, pick, at))
    outcome = _check(pristine, copy, noticed="id % 7" not in where[3])
    print(where, at, outcome)


def test_damaged_pages_are_refused_at_start(
    pristine: tuple[Path, Genesis, list[Any]], tmp_path: Path
) -> None:
    copy = tmp_path / "chain"
    shutil.copytree(pristine[0], copy)
    database = copy / DB_NAME
    data = bytearray(database.read_bytes())
    page = 4096
    # the second page of the file (a B-tree page): scramble its header and cell pointers
    for offset in range(page, page + 64):
        data[offset] ^= 0xA5
    database.write_bytes(bytes(data))
    assert _check(pristine, copy) == "refused at start"


def test_an_intact_chain_serves_every_answer_as_before(
    pristine: tuple[Path, Genesis, list[Any]], tmp_path: Path
) -> None:
    answers = dict((repr(q), a) for q, a in pristine[2])
    logs = answers[repr(("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"}))]["result"]
    assert len(logs) == 12  # one per call (the creation logs nothing)
    copy = _damaged_copy(pristine, tmp_path, lambda conn: None)
    assert _check(pristine, copy, noticed=False) == "0 answers refused"


def _flip_after(
    table: str, column: str, pick: str, marker: str, skip: int = 0
) -> Callable[[sqlite3.Connection], None]:
    """Flip the lowest bit of the character ``skip`` places after ``marker`` in a stored row."""

    def damage(conn: sqlite3.Connection) -> None:
        rowid, value = conn.execute(f"SELECT rowid, {column} FROM {table} {pick}").fetchone()
        at = value.index(marker) + len(marker) + skip
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (_flip(value, at), rowid))

    return damage


@pytest.mark.parametrize(
    "damage",
    [
        _flip_after("txs", "receipt", "ORDER BY id LIMIT 1 OFFSET 4", '"status":"0x'),
        _flip_after("txs", "receipt", "ORDER BY id LIMIT 1 OFFSET 4", '"gasUsed":"0x', 3),
        _flip_after("txs", "receipt", "ORDER BY id LIMIT 1 OFFSET 4", '"cumulativeGasUsed":"0x'),
        _flip_after("txs", "receipt", "ORDER BY id LIMIT 1 OFFSET 4", '"data":"0x', 63),
        _flip_after("txs", "receipt", "ORDER BY id LIMIT 1 OFFSET 4", '"topics":["0x', 62),
        _flip_after("txs", "receipt", "ORDER BY id LIMIT 1 OFFSET 4", '"logsBloom":"0x', 100),
        _flip_after("txs", "receipt", "ORDER BY id LIMIT 1 OFFSET 4", '"logIndex":"0x'),
        _flip_after("txs", "receipt", "ORDER BY id LIMIT 1 OFFSET 4", '"effectiveGasPrice":"0x'),
        _flip_after("logs", "json", "ORDER BY id LIMIT 1 OFFSET 3", '"data":"0x', 63),
        _flip_after("logs", "json", "ORDER BY id LIMIT 1 OFFSET 3", '"topics":["0x', 62),
        _flip_after("blocks", "json", "WHERE number = 4", '"size":"0x', 1),
    ],
    ids=[
        "receipt status",
        "receipt gas used",
        "receipt cumulative gas",
        "receipt log data",
        "receipt log topic",
        "receipt bloom",
        "receipt log index",
        "receipt gas price",
        "log data",
        "log topic",
        "block size",
    ],
)
def test_a_flip_inside_a_receipt_or_block_field_is_refused_on_read(
    pristine: tuple[Path, Genesis, list[Any]],
    tmp_path: Path,
    damage: Callable[[sqlite3.Connection], None],
) -> None:
    copy = _damaged_copy(pristine, tmp_path, damage)
    outcome = _check(pristine, copy)  # receipts on read; a block's JSON maybe at start
    assert outcome != "0 answers refused", outcome


def test_a_flipped_log_index_column_is_refused_with_its_block(
    pristine: tuple[Path, Genesis, list[Any]], tmp_path: Path
) -> None:
    """The columns eth_getLogs searches are checked against the receipt's log."""

    def damage(conn: sqlite3.Connection) -> None:
        rowid, t0 = conn.execute("SELECT id, t0 FROM logs ORDER BY id LIMIT 1 OFFSET 3").fetchone()
        conn.execute("UPDATE logs SET t0 = ? WHERE id = ?", (_flip(t0, 31), rowid))

    copy = _damaged_copy(pristine, tmp_path, damage)
    assert _check(pristine, copy) not in ("refused at start", "0 answers refused")
