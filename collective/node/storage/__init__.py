"""The node's durable store: one SQLite database in WAL mode.

Modules, one concern each::

    schema      tables, schema version, row ids, DamagedError / StorageError, the directory lock
    kv          py-evm's key-value data over the ``kv`` table (writer and read-only views)
    blocks      block, transaction, receipt and log rows, and the checked reads that serve them
    store       Store: open, commit a block atomically, move the head, WAL checkpoints
    integrity   the checks of stored rows against their headers, and of the head at start
    tries       account storage tries updated once per block, not once per slot

(``collective.node.store`` and ``collective.node.storage`` of 0.1 are this package.)

Why SQLite (stdlib ``sqlite3``) rather than LMDB or LevelDB:

- **Atomic blocks.** A sealed block is one SQLite transaction: the state-trie nodes py-evm wrote
  while executing it, the block, its transactions and receipts, its logs and the new head
  pointer commit together or not at all. A SIGKILL at any moment leaves the previous head or the
  new one, never a mix, and startup reads the head pointer instead of replaying history.
- **Durable by default.** With ``--sync full`` every block's WAL frames are fsynced (once per
  block, not per transaction) before anything of the block is served, so a block whose
  receipt was read survives a crash of the process *and* of the machine. The fsync runs off
  the sealing path (:mod:`collective.node.storage.syncer`): the commit writes the frames (an
  answered transaction survives the process being killed), the hash is answered, and every
  read waits for the fsync (:meth:`Store.wait_durable`, behind ``Node.lock``), which overlaps
  the answer's trip to the client. ``synchronous=NORMAL`` (``--sync normal``) survives the
  process only, and is a little faster. Commits only append to the WAL; checkpoints (copying
  the WAL into the database file and fsyncing it) run every few blocks on a thread with its own
  connection, so sealing never waits for one.
- **Indexes for free.** The log index (address, topic0..3, block) is a set of B-tree indexes the
  query planner picks from, so ``eth_getLogs`` never scans receipts; LMDB would need a
  hand-built index per key and a new dependency. Readers in WAL mode never block the writer.

**A full disk.** A block that cannot be written (``SQLITE_FULL``, an I/O error) is rolled back
whole and raises :class:`StorageError`; the writes it carried go back to the pending set for
the next attempt, and the node keeps its pool and retries (:mod:`collective.node.node`).

**Damage is refused, not served.** Most of what the store holds is named by its hash, so
checking it costs one keccak: every ``kv`` value read from SQLite (trie nodes, code,
headers) must hash to its 32-byte key, a block row's header to the block's hash (and its JSON
must name it), a transaction's raw bytes to its hash. At start the node also runs SQLite's
``quick_check`` and follows the hash chain of the last blocks below the head to its state
root (:meth:`collective.node.storage.integrity.Integrity.check_head`), and an empty
``chain.sqlite`` (SQLite writes its header when the node creates one) is refused instead of
becoming a new chain at block 0. :class:`DamagedError` names the file and what to do.
Rendered JSON is checked, the first time a row is read, against what decides it (a block's
against its header, byte for byte, and its seal against its ``miner``; a transaction's against
its raw bytes and row); the checked hashes are remembered, so later reads cost a set lookup.
Before a block's transaction list or size is served, its transactions are checked against the
header's transactionsRoot and its size recomputed (:meth:`Store.verify_body`); before any of
its receipts or logs is served (``eth_getTransactionReceipt``, ``eth_getBlockReceipts``,
``eth_getLogs``), its stored receipts rebuild the header's receiptsRoot (status, cumulative
gas, bloom, logs), OR to its logsBloom and end at its gasUsed, every other receipt field is
re-derived, and each log row and its index columns must be the receipt's log
(:meth:`Store.verify_receipts`); both are remembered per block number. State a read cannot
find under its hash is damage too. In 300 trials of one flipped bit anywhere in a small
chain's database (answers: blocks, full blocks, transactions, receipts, block receipts, logs,
state), 53 were refused at start and in the other 247 every answer was right or refused as
damaged; a second 300 (another seed) left one ``eth_getLogs`` answer changed unnoticed (a
flip in a log index B-tree: SQLite's quick_check does not compare indexes with their tables,
and a log the index no longer finds cannot be refused). Before these checks the same 300
flips changed an answer unnoticed in 28 trials and failed in 12 other ways.

**One node per data directory.** The store holds an exclusive lock on ``node.lock`` beside the
database for its whole life (:class:`DataDirLock`); a second node on the same directory is
refused, naming the process that holds it.

Tables::

    kv      key -> value for py-evm: state-trie nodes, contract code, headers by hash
    meta    name -> value: the head block number, the genesis it was built from, the layout
    blocks  number, hash, header RLP, the block rendered as JSON (without its transactions)
    txs     id, hash, sender, nonce, raw bytes, rendered transaction and receipt
    logs    id, address, topic0..3, rendered log  -- indexed per column, by id

Rendered JSON is stored at seal time, so reads are one lookup and no re-encoding.

**Rows are appended, not scattered.** A block writes ~250 transactions, ~250 logs and ~800
trie nodes. Keyed by their hashes (random), every row would land on its own B-tree page and a
block would write ~2,500 pages (10 MB) to the WAL, a number that grows with the chain. So the
big rows live in rowid tables in arrival order -- a transaction's or log's id is
``block << 20 | index``, a trie node's is a counter -- and only the small hash indexes
(``kv_key``, ``txs_hash``) take random inserts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collective.node.storage.blocks import BlockReader, StoredBlock, StoredLog, StoredTx
from collective.node.storage.kv import KeyValue, ReadKeyValue
from collective.node.storage.schema import _ID_SHIFT as _ID_SHIFT  # the log index's row ids
from collective.node.storage.schema import (
    DB_NAME,
    LOCK_NAME,
    SCHEMA_VERSION,
    DamagedError,
    DataDirLock,
    StorageError,
    SyncMode,
    open_database,
    row_ids,
)
from collective.node.storage.store import Store

if TYPE_CHECKING:
    from collective.node.storage.tries import (
        BatchedAccountStorageDB,
        BatchedStorageLookup,
        decode_int,
        encode_int,
        journal_set,
        set_many,
    )

# the batched storage tries are loaded when first named: the execution layer imports them,
# and this package must not import the execution layer while it is being imported itself
_TRIES = frozenset(
    {
        "BatchedAccountStorageDB",
        "BatchedStorageLookup",
        "decode_int",
        "encode_int",
        "journal_set",
        "set_many",
    }
)


def __getattr__(name: str) -> Any:
    """The names of :mod:`collective.node.storage.tries`, imported on first use."""
    if name in _TRIES:
        from collective.node.storage import tries

        return getattr(tries, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DB_NAME",
    "LOCK_NAME",
    "SCHEMA_VERSION",
    "BatchedAccountStorageDB",
    "BatchedStorageLookup",
    "BlockReader",
    "DamagedError",
    "DataDirLock",
    "KeyValue",
    "ReadKeyValue",
    "StorageError",
    "Store",
    "StoredBlock",
    "StoredLog",
    "StoredTx",
    "SyncMode",
    "decode_int",
    "encode_int",
    "journal_set",
    "open_database",
    "row_ids",
    "set_many",
]
