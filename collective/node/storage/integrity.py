"""The checks of stored rows against what decides them, and of the head at start.

The store checks what it can without decoding (a row hashes to its key: :mod:`.blocks`); these
checks decode headers and transactions and re-render what was stored, so a damaged row is
refused, not served (:class:`DamagedError` names the file and what to do):

- a block's stored JSON, byte for byte, against its header, and its seal against its ``miner``;
- a block's transactions against its transactionsRoot, and its size;
- a block's receipts and logs against its receiptsRoot, logsBloom and gasUsed;
- a transaction's stored JSON against its raw bytes and row;
- at start: SQLite's quick_check, the hash chain of the last :data:`CHECKED_BLOCKS` blocks,
  and the head's state root.

Rows this process has just written are known good (they were rendered from the objects that
were executed), so :meth:`Integrity.written` marks them checked instead of re-deriving them on
their first read (rows are written once; damage under a running node is seen at next start).
"""

from __future__ import annotations

import json

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import BlockHeaderAPI
from eth.db.atomic import AtomicDB
from eth_typing import Address
from eth_utils.crypto import keccak

from collective.node import render
from collective.node.authority import SEAL_FIELD, recover_sealer
from collective.node.execution.engine import ExecutionEngine
from collective.node.execution.trie import encode_node, ordered_trie_root
from collective.node.senders import TYPED
from collective.node.storage.blocks import StoredBlock, StoredTx
from collective.node.storage.schema import DamagedError
from collective.node.storage.store import Store

CHECKED_BLOCKS = 64  # blocks below the head whose hash chain is checked at start


class Integrity:
    """The checks of one chain's stored rows (see the module doc), over its ``store`` and
    its execution layer ``evm`` (to decode headers and transactions) and key-value ``db``.
    :meth:`install` makes the store run them on every first read."""

    def __init__(self, store: Store, evm: ExecutionEngine, db: AtomicDB) -> None:
        self.store = store
        self.evm = evm
        self.db = db

    def install(self) -> None:
        """Make :attr:`store` run these checks the first time it reads a row or block."""
        self.store.check_block = self.check_block_json
        self.store.check_tx = self.check_tx_json
        self.store.check_receipts = self.check_receipts
        self.store.check_body = self.check_body

    def check_block_json(self, block: StoredBlock) -> None:
        """The stored JSON of a block (whose header hashes to its hash) is, byte for byte,
        what its header renders to, and if sealed, carries a seal its ``miner`` signed; its
        size is checked with its transactions (:meth:`_check_body`)."""
        path, name = self.store.path, f"block {block.number}"
        header = self.evm.decode_header(block.header)
        size_at = block.json.find(',"size":"') + 9
        expected = render.block(header, size=0)
        expected["size"] = block.json[size_at : block.json.find('"', size_at)]
        seal_at = block.json.find(f',"{SEAL_FIELD}":"0x')
        if seal_at >= 0:
            try:
                seal = bytes.fromhex(block.json[seal_at + len(SEAL_FIELD) + 7 : -2])
                signer = recover_sealer(block.hash, seal)
            except Exception:
                raise DamagedError(path, f"{name}'s seal does not decode") from None
            if signer != bytes(header.coinbase):
                raise DamagedError(path, f"{name}'s seal was not made by its miner")
            expected[SEAL_FIELD] = render.hexbytes(seal)
        if size_at < 9 or render.dumps(expected) != block.json:
            raise DamagedError(path, f"{name}'s stored JSON does not match its header")

    def check_body(self, number: int) -> None:
        """A block's transactions (their raw bytes hash to their rows' hashes and make the
        header's transactionsRoot, so the list served is the block's) and the size they give
        it, before either is served (not at start: a block of 500 takes ~25 ms)."""
        stored = self.store.block_by_number(number)
        if stored is None:
            return
        header = self.evm.decode_header(stored.header)
        txs = self.store.block_raw_txs(number)
        raws = [raw for _, raw in txs]
        if any(keccak(raw) != tx_hash for tx_hash, raw in txs) or (
            ordered_trie_root(raws) != bytes(header.transaction_root)
        ):
            raise DamagedError(
                self.store.path, f"block {number}'s transactions do not match its transactionsRoot"
            )
        size = f'"size":"{render.hexint(render.block_size(header, raws))}"'
        if size not in stored.json:
            raise DamagedError(self.store.path, f"block {number}'s stored size is not its size")

    def check_receipts(self, number: int) -> None:
        """A block's stored receipts and logs, byte for byte, against its header: status,
        cumulative gas, bloom and logs (address, topics, data) -- what the receipts trie is
        made of -- must rebuild the header's receiptsRoot (and OR to its logsBloom, end at its
        gasUsed); every other field is re-derived from the transaction's raw bytes and row and
        the header (gas used, effective gas price, contract address, where it is); each log
        row, and the columns the log index searches, must be the receipt's log."""
        path, name = self.store.path, f"block {number}'s receipts"
        stored = self.store.block_by_number(number)
        if stored is None:
            return
        # the header's fields as RLP items (a quarter of the cost of decoding a header object):
        # 5 receiptsRoot, 6 logsBloom, 10 gasUsed, 11 timestamp, 15 baseFeePerGas
        fields = rlp.decode(stored.header)
        receipt_root, header_bloom = bytes(fields[5]), int.from_bytes(fields[6], "big")
        header_gas, fee = int.from_bytes(fields[10], "big"), int.from_bytes(fields[15], "big")
        block_hash, block_number = render.hexbytes(stored.hash), render.hexint(number)
        timestamp = render.hexint(int.from_bytes(fields[11], "big"))
        encoded: list[bytes] = []
        bloom = cumulative = log_index = 0
        expected_logs: list[str] = []
        columns: list[tuple[bytes | None, ...]] = []
        try:
            for index, (tx_hash, sender, nonce, raw, _, receipt) in enumerate(
                self.store.block_rows(number)
            ):
                raw, sender = bytes(raw), bytes(sender)
                tx = self.evm.decode_transaction(raw)
                stored_receipt = json.loads(receipt)
                status = {"0x1": b"\x01", "0x0": b""}[stored_receipt["status"]]
                previous, cumulative = cumulative, int(stored_receipt["cumulativeGasUsed"], 16)
                rcpt_bloom = int(stored_receipt["logsBloom"], 16)
                bloom |= rcpt_bloom
                hexhash = render.hexbytes(bytes(tx_hash))
                logs, trie_logs = [], []
                for log in stored_receipt["logs"]:
                    address = bytes.fromhex(log["address"][2:])
                    topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
                    data = bytes.fromhex(log["data"][2:])
                    trie_logs.append([address, topics, data])
                    entry = {
                        "address": render.hexbytes(address),
                        "topics": [render.hexbytes(t) for t in topics],
                        "data": render.hexbytes(data),
                        "blockHash": block_hash,
                        "blockNumber": block_number,
                        "blockTimestamp": timestamp,
                        "transactionHash": hexhash,
                        "transactionIndex": render.hexint(index),
                        "logIndex": render.hexint(log_index),
                        "removed": False,
                    }
                    logs.append(entry)
                    expected_logs.append(render.dumps(entry))
                    columns.append((address, *topics, *[None] * (4 - len(topics))))
                    log_index += 1
                body = encode_node(
                    [
                        status,
                        cumulative.to_bytes((cumulative.bit_length() + 7) // 8, "big"),
                        rcpt_bloom.to_bytes(256, "big"),
                        trie_logs,
                    ]
                )
                encoded.append(body if raw[0] >= 0xC0 else raw[:1] + body)
                created = None if tx.to else generate_contract_address(Address(sender), tx.nonce)
                expected = {
                    "type": hex(tx.type_id or 0),
                    "transactionHash": hexhash,
                    "transactionIndex": render.hexint(index),
                    "blockHash": block_hash,
                    "blockNumber": block_number,
                    "from": render.address(sender),
                    "to": render.address(tx.to),
                    "cumulativeGasUsed": render.hexint(cumulative),
                    "gasUsed": render.hexint(cumulative - previous),
                    "effectiveGasPrice": render.hexint(render.effective_gas_price(tx, fee)),
                    "contractAddress": render.address(created),
                    "logs": logs,
                    "logsBloom": render.hexbytes(rcpt_bloom.to_bytes(256, "big")),
                    "status": stored_receipt["status"],
                }
                if (
                    render.dumps(expected) != receipt
                    or keccak(raw) != bytes(tx_hash)
                    or nonce != tx.nonce
                ):
                    raise DamagedError(path, f"{name}: transaction {index}'s does not match it")
            log_rows = self.store.block_log_rows(number)
        except DamagedError:
            raise
        except Exception:
            raise DamagedError(path, f"{name} do not decode") from None
        if ordered_trie_root(encoded) != receipt_root:
            raise DamagedError(path, f"{name} do not match its receiptsRoot")
        if bloom != header_bloom or cumulative != header_gas:
            raise DamagedError(path, f"{name} do not match its logsBloom or gasUsed")
        if [row[5] for row in log_rows] != expected_logs or [
            tuple(None if v is None else bytes(v) for v in row[:5]) for row in log_rows
        ] != columns:
            raise DamagedError(path, f"{name}: the stored logs do not match them")

    def check_tx_json(self, found: StoredTx) -> None:
        """The stored transaction and receipt JSON of a sealed transaction (whose raw bytes
        hash to its hash) agree with those bytes and its row: every field the bytes decide,
        and where it is. Gas price, status, gas used and logs are not re-derived."""
        path, name = self.store.path, f"transaction 0x{found.hash.hex()}"
        try:
            tx_json, receipt = json.loads(found.json), json.loads(found.receipt)
            tx = self.evm.decode_transaction(found.raw)
        except Exception:
            raise DamagedError(path, f"{name}'s stored JSON or bytes do not decode") from None
        if tx.type_id in TYPED:
            vars(tx)["sender"] = Address(found.sender)  # the cached_property's slot
        expected = render.transaction(
            tx,
            block_hash=None,
            block_number=found.block,
            index=found.index,
            base_fee=None,
        )
        if not isinstance(tx_json, dict) or not isinstance(receipt, dict):
            raise DamagedError(path, f"{name}'s stored JSON is not an object")
        for key in ("blockHash", "gasPrice"):
            expected[key] = tx_json.get(key)
        if tx_json != expected or (
            receipt.get("transactionHash"),
            receipt.get("blockHash"),
            receipt.get("blockNumber"),
            receipt.get("transactionIndex"),
            receipt.get("from"),
            receipt.get("to"),
            receipt.get("type"),
        ) != (
            expected["hash"],
            expected["blockHash"],
            expected["blockNumber"],
            expected["transactionIndex"],
            expected["from"],
            expected["to"],
            expected["type"],
        ):
            raise DamagedError(path, f"{name}'s stored JSON does not match its bytes")

    def check_head(self, number: int) -> BlockHeaderAPI:
        """The stored head, after checking the database before serving it: SQLite's own
        ``quick_check`` of every page, the hash chain of the last :data:`CHECKED_BLOCKS`
        blocks (each header hashes to its row's hash and names its parent's), and the head's
        state root (present, and hashing to itself). Reads check what they read
        (:mod:`collective.node.storage.blocks`); this catches what no read would until too late."""
        store = self.store
        store.quick_check()
        stored = store.block_by_number(number)
        if stored is None:
            raise DamagedError(store.path, f"the head block {number} is missing")
        head = self.evm.decode_header(stored.header)
        child = head
        for below in range(number - 1, max(-1, number - CHECKED_BLOCKS - 1), -1):
            parent = store.block_by_number(below)
            if parent is None or parent.hash != child.parent_hash:
                raise DamagedError(
                    store.path, f"block {below + 1} does not follow block {below} (hash chain)"
                )
            child = self.evm.decode_header(parent.header)
        try:
            self.db[head.state_root]
        except KeyError:
            raise DamagedError(
                store.path, f"the state of the head block {number} is missing"
            ) from None
        return head


__all__ = ["CHECKED_BLOCKS", "Integrity"]
