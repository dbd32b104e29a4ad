"""The node's chain: head, transaction pool, admission checks, sealing, and reads.

:class:`NodeChain` owns the store (:mod:`collective.node.store`) and the execution layer
(:mod:`collective.node.evm`). It is not thread-safe by itself: the server holds
:attr:`NodeChain.lock` around every call.

Sealing is proof of authority: the authority address is every block's ``miner``
(coinbase) and, when the node holds the authority's key, the block carries its signature over
the block hash (:mod:`collective.node.authority`); a block takes pending transactions first
come, first served, as many as fit in its gas limit. The block, its state-trie nodes,
transactions, receipts and logs are written in one SQLite transaction before anyone learns of
the block.

Admission judges a transaction by the head state; sealing judges it again by the starting state
of the block being built (AccountRules included: :meth:`NodeChain.seal`). A transaction that
fails there is *dropped*: it leaves the pool, with the later transactions of its sender (their
nonces can no longer be mined), and the pool remembers why (:class:`Dropped`, the last
:data:`MAX_DROPPED`, in memory like the pool itself) so a client asking for it learns the reason.
The pool's own rules -- future nonces queued until the gap fills, replacement on a 10% fee bump,
bounded queues -- are in :mod:`collective.node.pool`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import BlockHeaderAPI, SignedTransactionAPI, StateAPI
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM
from eth_typing import Address
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from collective.errors import NodeError
from collective.node import render
from collective.node.authority import SEAL_FIELD, Authority, recover_sealer
from collective.node.errors import RpcError, rejected
from collective.node.evm import EMPTY_REQUESTS_HASH, VM_CLASS, Evm, base_fee
from collective.node.genesis import Genesis
from collective.node.permissioning import Permissioning, Rules
from collective.node.pool import MAX_DROPPED, Dropped, Pending
from collective.node.senders import TYPED
from collective.node.store import DamagedError, Store, StoredBlock, StoredLog, StoredTx, SyncMode
from collective.node.trie import encode_node, encode_receipt, ordered_trie_root

log = logging.getLogger("collective.node")
ZERO_ADDRESS = Address(b"\x00" * 20)
CHECKED_BLOCKS = 64  # blocks below the head whose hash chain is checked at start
MAX_TX_SIZE = 128 * 1024  # geth's txMaxSize


@dataclass
class _GasSoFar:
    """The part of a block header applying a transaction reads: gas used so far, the limit."""

    gas_used: int
    gas_limit: int


@dataclass(frozen=True)
class Sealed:
    """One sealed block: its header and the transactions in it."""

    header: BlockHeaderAPI
    tx_hashes: tuple[bytes, ...]


class NodeChain:
    """The chain one ``collective node`` serves."""

    def __init__(
        self,
        genesis: Genesis,
        data_dir: Path | None = None,
        *,
        authority: Address = ZERO_ADDRESS,
        sealer: Authority | None = None,
        permissioning: Permissioning | None = None,
        sync: SyncMode = "full",
        vm_class: type[PragueVM] = VM_CLASS,
    ) -> None:
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.sealer = sealer
        self.authority = sealer.address if sealer is not None else authority
        self.permissioning = permissioning or Permissioning(
            genesis.account_rules, genesis.bootstrap_admins
        )
        self.lock = threading.RLock()
        self.store = Store(data_dir, sync)
        self.db = AtomicDB(self.store.kv)
        self.vm_class = vm_class
        self.evm = Evm(self.db, self.chain_id, vm_class)
        self.pending = Pending()
        self.storage_error: str | None = None  # why the last block could not be stored
        self.time_offset = 0
        self._head_state: StateAPI | None = None
        self._head_rules: Rules | None = None
        self._next_base_fee: int | None = None
        genesis_id = keccak(text=genesis.dumps())
        self.store.check_block = self._check_block_json
        self.store.check_tx = self._check_tx_json
        self.store.check_receipts = self._check_receipts
        self.store.check_body = self._check_body
        try:
            head_number = self.store.head_number()
            if head_number is None:
                header = self.evm.genesis_header(genesis)
                self._commit(header, [], [], [], meta={"genesis": genesis_id})
                self.head = header
            else:
                if self.store.get_meta("genesis") != genesis_id:
                    raise NodeError(
                        f"the data directory holds a chain built from another genesis "
                        f"({self.store.path})",
                        hint="start with the genesis it was created with, or a new --data-dir",
                    )
                self.head = self._check_head(head_number)
        except sqlite3.DatabaseError as exc:
            self.store.close()
            raise DamagedError(self.store.path, f"SQLite reports {exc}") from None
        except BaseException:
            self.store.close()
            raise

    def _check_block_json(self, block: StoredBlock) -> None:
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

    def _check_body(self, number: int) -> None:
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

    def _check_receipts(self, number: int) -> None:
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

    def _check_tx_json(self, found: StoredTx) -> None:
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

    def _check_head(self, number: int) -> BlockHeaderAPI:
        """The stored head, after checking the database before serving it: SQLite's own
        ``quick_check`` of every page, the hash chain of the last :data:`CHECKED_BLOCKS`
        blocks (each header hashes to its row's hash and names its parent's), and the head's
        state root (present, and hashing to itself). Reads check what they read
        (:mod:`collective.node.store`); this catches what no read would until too late."""
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

    def close(self) -> None:
        self.store.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Evm]:
        """An execution layer for a call that runs outside :attr:`lock`: over a read-only view
        of the committed blocks (:meth:`Store.reader`), or, for an in-memory chain, the
        chain's own (the caller then holds the lock)."""
        with self.store.reader() as view:
            yield self.evm if view is None else Evm(AtomicDB(view), self.chain_id, self.vm_class)

    # --- state --------------------------------------------------------------------------------

    @property
    def head_state(self) -> StateAPI:
        """The state after the head block (cached until the next block)."""
        if self._head_state is None:
            self._head_state = self.evm.state(self.head)
        return self._head_state

    @property
    def head_rules(self) -> Rules:
        """The permissioning rules in the head state: what admission asks, and what the next
        block's transactions are sealed under (its starting state is the head's)."""
        if self._head_rules is None:
            self._head_rules = self.permissioning.at(self.evm, self.head_state)
        return self._head_rules

    def header_at(self, number: int) -> BlockHeaderAPI | None:
        if number == self.head.block_number:
            return self.head
        stored = self.store.block_by_number(number)
        return None if stored is None else self.evm.decode_header(stored.header)

    def pending_header(self) -> BlockHeaderAPI:
        """The header the next block would get (for calls against "pending")."""
        return self.evm.child_header(self.head, coinbase=self.authority, timestamp=self.now())

    def next_base_fee(self) -> int:
        """The base fee of the next block (it depends only on the head)."""
        if self._next_base_fee is None:
            self._next_base_fee = base_fee(self.pending_header())
        return self._next_base_fee

    def now(self) -> int:
        return int(time.time()) + self.time_offset

    def nonce(self, sender: Address, *, pending: bool = False) -> int:
        if pending and sender in self.pending.next_nonce:
            return self.pending.next_nonce[sender]
        return int(self.head_state.get_nonce(sender))

    # --- admission ----------------------------------------------------------------------------

    def submit(self, raw: bytes, sender: bytes | None = None) -> bytes:
        """Check a signed transaction and add it to the pool; return its hash.

        ``sender``, when given, was recovered from these same bytes by
        :func:`collective.node.senders.recover` (in the helper process)."""
        if self.storage_error is not None:
            raise rejected(
                f"the node cannot store blocks now ({self.storage_error}); it refuses new "
                "transactions until it can (reads go on; the pool is sealed once the disk "
                "has room)"
            )
        if len(raw) > MAX_TX_SIZE:
            raise rejected("oversized data")
        try:
            tx = self.evm.decode_transaction(raw)
        except Exception:
            raise RpcError(
                -32602, "invalid params: transaction: not a valid RLP-encoded signed transaction"
            ) from None
        if sender is not None and tx.type_id in TYPED:
            vars(tx)["sender"] = recovered = Address(sender)  # the cached_property's slot
        else:
            try:
                recovered = self.evm.recover_sender(tx, raw)
            except Exception:
                raise rejected("invalid sender") from None
        self.admit(tx, recovered, raw)
        return bytes(tx.hash)

    def admit(self, tx: SignedTransactionAPI, sender: Address, raw: bytes) -> None:
        tx_hash = bytes(tx.hash)
        if tx_hash in self.pending.raw or self.store.has_tx(tx_hash):
            raise rejected("already known")
        chain_id = tx.chain_id
        if chain_id is not None and chain_id != self.chain_id:
            raise rejected(f"invalid chain id for signer: have {chain_id} want {self.chain_id}")
        if tx.type_id is not None and tx.type_id == 3:
            raise rejected("transaction type not supported: blob transactions need a beacon chain")
        if tx.gas > self.head.gas_limit:
            raise rejected("exceeds block gas limit")
        intrinsic = int(tx.intrinsic_gas)
        if tx.gas < intrinsic:
            raise rejected(f"intrinsic gas too low: have {tx.gas}, want {intrinsic}")
        fee = self.next_base_fee()
        if tx.max_fee_per_gas < fee:
            raise rejected(
                f"max fee per gas less than block base fee: address 0x{sender.hex()}, "
                f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {fee}"
            )
        if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
            raise rejected("max priority fee per gas higher than max fee per gas")
        state = self.head_state
        place = self.pending.check_nonce(tx, sender, int(state.get_nonce(sender)))
        cost = tx.gas * tx.max_fee_per_gas + tx.value
        balance = int(state.get_balance(sender))
        if balance < cost:
            raise rejected(
                f"insufficient funds for gas * price + value: address 0x{sender.hex()} "
                f"have {balance} want {cost}"
            )
        if not self.head_rules.allows_tx(tx, sender):
            raise rejected(f"sender 0x{sender.hex()} is not permitted")
        # pending, or queued until its nonce gap fills; may replace or evict one (pool.py)
        for gone in self.pending.insert(tx, sender, raw, place, self.head.block_number + 1):
            log.info("%s", gone.message)

    # --- sealing ------------------------------------------------------------------------------

    def seal_all(self) -> list[Sealed]:
        """Seal blocks until the pool is empty."""
        sealed = []
        while self.pending.txs:
            sealed.append(self.seal())
        return sealed

    def seal(self, timestamp: int | None = None) -> Sealed:
        """Seal one block with as many pending transactions as fit (possibly none).

        Every transaction is judged again by the block's *starting state* (the head's), as
        admission judged it by the head it saw then: permitted by AccountRules
        (``transactionAllowed``) there, and applicable in turn (nonce, funds). This is the
        consensus rule CometBFT's ProcessProposal will apply to a proposed block: each
        transaction against the block's starting state, so a permission change made by an
        earlier transaction of the same block binds from the next block on, never halfway
        through one. A transaction that fails is dropped from the pool with its reason (see
        :class:`Dropped`), and so are its sender's later ones, whose nonces can no longer be
        mined. With the shipped AccountRules each sender is asked once per block at most (its
        answers are remembered per contract storage), usually not at all (admission asked
        under the same storage)."""
        parent = self.head
        header = self.evm.child_header(
            parent, coinbase=self.authority, timestamp=timestamp or self.now()
        )
        number = header.block_number
        rules = self.head_rules if self.permissioning.enabled else None
        vm = self.evm.vm(header)
        vm.block_preprocessing(vm.get_block())
        raws = self.pending.raw
        applied: list[SignedTransactionAPI] = []
        receipts = []
        # py-evm reads only gas_used and gas_limit of the header it applies a transaction
        # against; a mutable stand-in saves a header copy per transaction (bloom kept apart)
        gas = _GasSoFar(0, header.gas_limit)
        bloom = 0
        taken = 0
        stopped: dict[bytes, Dropped] = {}  # sender -> its first transaction dropped here
        for tx in self.pending.txs:
            sender = tx.sender
            if stopped and sender in stopped:
                taken += 1
                self._drop(tx, number, _follows(stopped[sender]))
                continue
            if rules is not None and not rules.allows_tx(tx, sender):
                taken += 1
                reason = (
                    f"sender 0x{sender.hex()} is not permitted by AccountRules at block {number}"
                )
                stopped[sender] = self._drop(tx, number, reason)
                continue
            if gas.gas_used + tx.gas > gas.gas_limit:
                break
            taken += 1
            try:
                receipt, _ = vm.apply_transaction(gas, tx)  # type: ignore[arg-type]
            except ValidationError as exc:  # e.g. an earlier one spent the funds
                reason = f"it no longer applies at block {number}: {exc}"
                stopped[sender] = self._drop(tx, number, reason)
                continue
            gas.gas_used = receipt.gas_used
            bloom |= int(receipt.bloom)
            applied.append(tx)
            receipts.append(receipt)
        if stopped:  # the rest of a stopped sender's transactions can no longer be mined
            rest = []
            for tx in self.pending.txs[taken:]:
                first = stopped.get(tx.sender)
                if first is None:
                    rest.append(tx)
                else:
                    self._drop(tx, number, _follows(first))
            self.pending.txs[taken:] = rest
            for stopped_sender, first in stopped.items():  # nor the queued ones behind them
                for tx in self.pending.take_queued(stopped_sender):
                    self._drop(tx, number, _follows(first))
        leftover = self.pending.txs[taken:]
        tx_root = ordered_trie_root([raws.get(bytes(tx.hash)) or tx.encode() for tx in applied])
        receipt_root = ordered_trie_root([encode_receipt(receipt) for receipt in receipts])
        # finalizing reads only the header (Paris+: no rewards, no uncles) and copies the block
        # with a deep copy of every transaction in it: hand it the header alone
        block = vm.get_block().copy(
            transactions=[],
            header=header.copy(
                gas_used=gas.gas_used,
                bloom=bloom,
                transaction_root=tx_root,
                receipt_root=receipt_root,
                requests_hash=EMPTY_REQUESTS_HASH,
            ),
        )
        final = vm.finalize_block(block).block.header
        self.evm.store_header(final)
        block_hash = bytes(final.hash)
        number = final.block_number
        fee = base_fee(final)
        stored_txs: list[StoredTx] = []
        stored_logs: list[StoredLog] = []
        previous_cumulative = 0
        log_index = 0
        raw_list = []
        for index, (tx, receipt) in enumerate(zip(applied, receipts, strict=True)):
            tx_hash = bytes(tx.hash)
            raw = raws.get(tx_hash) or tx.encode()
            raw_list.append(raw)
            logs_json = []
            for log in receipt.logs:
                topics = [render.topic(t) for t in log.topics]
                entry = render.log_entry(
                    bytes(log.address),
                    topics,
                    bytes(log.data),
                    block_hash=block_hash,
                    block_number=number,
                    block_timestamp=final.timestamp,
                    tx_hash=tx_hash,
                    tx_index=index,
                    log_index=log_index,
                )
                logs_json.append(entry)
                stored_logs.append(
                    StoredLog(number, log_index, bytes(log.address), topics, render.dumps(entry))
                )
                log_index += 1
            gas_used = receipt.gas_used - previous_cumulative
            previous_cumulative = receipt.gas_used
            tx_json = render.transaction(
                tx, block_hash=block_hash, block_number=number, index=index, base_fee=fee
            )
            receipt_json = render.receipt(
                tx,
                receipt,
                gas_used=gas_used,
                logs=logs_json,
                block_hash=block_hash,
                block_number=number,
                index=index,
                base_fee=fee,
            )
            stored_txs.append(
                StoredTx(
                    tx_hash,
                    number,
                    index,
                    bytes(tx.sender),
                    tx.nonce,
                    raw,
                    render.dumps(tx_json),
                    render.dumps(receipt_json),
                )
            )
        self._commit(final, stored_txs, stored_logs, raw_list)
        # the pool keeps what did not fit; nonces of dropped transactions are recomputed
        self.pending.settle(leftover, [bytes(tx.hash) for tx in applied])
        return Sealed(final, tuple(bytes(tx.hash) for tx in applied))

    def _drop(self, tx: SignedTransactionAPI, number: int, reason: str) -> Dropped:
        """Record that ``tx`` leaves the pool unmined (the caller takes it out of the list)."""
        found = Dropped(bytes(tx.hash), bytes(tx.sender), int(tx.nonce), number, reason)
        self.pending.drop(found)
        log.info("%s", found.message)
        return found

    def _commit(
        self,
        header: BlockHeaderAPI,
        txs: list[StoredTx],
        logs: list[StoredLog],
        raw_txs: Iterable[bytes],
        meta: dict[str, bytes] | None = None,
    ) -> None:
        self.evm.store_header(header)
        size = render.block_size(header, list(raw_txs))
        block = render.block(header, size=size)
        if self.sealer is not None and header.block_number > 0:
            block[SEAL_FIELD] = render.hexbytes(self.sealer.seal(bytes(header.hash)))
        block_json = render.dumps(block)
        self.store.commit_block(
            StoredBlock(header.block_number, bytes(header.hash), _encode(header), block_json),
            txs,
            logs,
            meta,
        )
        self.head = header
        self._head_state = None
        self._head_rules = None
        self._next_base_fee = None

    # --- dev helpers --------------------------------------------------------------------------

    def revert_to(self, number: int) -> None:
        """Make block ``number`` the head again, forgetting later blocks and the pool."""
        header = self.header_at(number)
        if header is None:
            raise NodeError(f"there is no block {number}")
        self.store.truncate_after(number)
        self.head = header
        self._head_state = None
        self._head_rules = None
        self._next_base_fee = None
        self.pending.clear()


def _follows(first: Dropped) -> str:
    return f"it follows transaction 0x{first.tx_hash.hex()} of its sender, dropped: {first.reason}"


def _encode(header: BlockHeaderAPI) -> bytes:
    import rlp

    return bytes(rlp.encode(header))


__all__ = ["MAX_DROPPED", "Dropped", "NodeChain", "Pending", "Sealed"]
