"""Account storage tries updated once per block, not once per slot.

py-evm writes a contract's dirty storage slots into its storage trie one at a time when the
block's state root is made (``AccountStorageDB.make_storage_root``): every slot re-reads,
re-encodes and re-hashes the whole path from the root, and the pruning trie deletes the nodes
the previous slot had just written. :class:`BatchedStorageLookup` collects the slots instead and
applies them in one pass over the sorted keys when anything looks at the trie (its root, a read,
a delete, a commit): each node on the union of the paths is decoded once, rebuilt once and
hashed once. Decoded nodes are cached by hash (they are content-addressed, so an entry never
goes stale), which also makes storage reads (``SLOAD`` of a slot not in the caches) cheaper.

The result is the same trie (a Merkle-Patricia trie's shape depends only on its contents); the
node's tests compare block hashes with stock py-evm. Deletions and empty values take py-evm's
path after the pending slots have been applied, so the order of operations is kept.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth.db.cache import CacheDB
from eth.db.journal import DELETE_WRAPPED, REVERT_TO_WRAPPED, JournalDB
from eth.db.storage import AccountStorageDB, StorageLookup
from eth.vm.interrupt import MissingStorageTrieNode
from eth_typing import Address, Hash32
from eth_utils.crypto import keccak
from rlp.sedes import big_endian_int
from trie.constants import BLANK_NODE_HASH
from trie.hexary import HexaryTrie

from collective.node.execution.trie import _hex_prefix, _nibbles, encode_node

_NODE_CACHE_LIMIT = 200_000
_nodes: dict[bytes, Any] = {}  # node hash -> decoded node (never mutated)


def _load(db: Any, ref: Any) -> Any:
    """The node ``ref`` points at: an inline node, blank, or a hash looked up in ``db``."""
    if ref.__class__ is list:
        return ref
    if not ref:
        return b""
    node = _nodes.get(ref)
    if node is None:
        node = rlp.decode(db[ref])
        if len(_nodes) >= _NODE_CACHE_LIMIT:
            _nodes.clear()
        _nodes[ref] = node
    return node


def _root_node(db: Any, root_hash: bytes) -> Any:
    return b"" if root_hash == BLANK_NODE_HASH else _load(db, root_hash)


def _path(encoded: bytes) -> tuple[bytes, bool]:
    """A leaf's or extension's nibbles and whether it is a leaf (hex-prefix decoding)."""
    flag = encoded[0] >> 4
    nibbles = _nibbles(encoded)
    return (nibbles[1:] if flag & 1 else nibbles[2:]), bool(flag & 2)


def _ref(node: Any, put: Any) -> Any:
    encoded = encode_node(node)
    if len(encoded) < 32:
        return node
    node_hash = keccak(encoded)
    put(node_hash, encoded)
    if len(_nodes) < _NODE_CACHE_LIMIT:
        _nodes[node_hash] = node
    return node_hash


def _fresh(items: list[tuple[bytes, bytes]], depth: int, put: Any) -> Any:
    """A new subtree for ``items`` (sorted, distinct, equally long keys sharing ``depth``)."""
    if len(items) == 1:
        key, value = items[0]
        return [_hex_prefix(key[depth:], True), value]
    first, last = items[0][0], items[-1][0]
    common = depth
    while first[common] == last[common]:
        common += 1
    if common > depth:
        child = _fresh_branch(items, common, put)
        return [_hex_prefix(first[depth:common], False), _ref(child, put)]
    return _fresh_branch(items, depth, put)


def _fresh_branch(items: list[tuple[bytes, bytes]], depth: int, put: Any) -> list[Any]:
    branch: list[Any] = [b""] * 17
    index, count = 0, len(items)
    while index < count:
        nibble = items[index][0][depth]
        end = index + 1
        while end < count and items[end][0][depth] == nibble:
            end += 1
        branch[nibble] = _ref(_fresh(items[index:end], depth + 1, put), put)
        index = end
    return branch


def _insert(db: Any, put: Any, node: Any, items: list[tuple[bytes, bytes]], depth: int) -> Any:
    """``node`` with ``items`` (sorted, distinct, non-empty values) set below ``depth``."""
    if node == b"":
        return _fresh(items, depth, put)
    if len(node) == 17:
        branch = list(node)
        index, count = 0, len(items)
        while index < count:
            nibble = items[index][0][depth]
            end = index + 1
            while end < count and items[end][0][depth] == nibble:
                end += 1
            child = _load(db, branch[nibble])
            branch[nibble] = _ref(_insert(db, put, child, items[index:end], depth + 1), put)
            index = end
        return branch
    path, leaf = _path(node[0])
    if leaf:
        merged = dict(items)
        merged.setdefault(items[0][0][:depth] + path, node[1])
        return _fresh(sorted(merged.items()), depth, put)
    common = len(path)
    for key, _ in items:
        shared = 0
        while shared < common and key[depth + shared] == path[shared]:
            shared += 1
        common = shared
    if common == len(path):
        child = _load(db, node[1])
        return [node[0], _ref(_insert(db, put, child, items, depth + common), put)]
    # the extension splits at ``common``: a branch takes its remainder and the new keys
    split: list[Any] = [b""] * 17
    rest = path[common + 1 :]
    split[path[common]] = _ref([_hex_prefix(rest, False), node[1]], put) if rest else node[1]
    below = _insert(db, put, split, items, depth + common)
    if common == 0:
        return below
    return [_hex_prefix(path[:common], False), _ref(below, put)]


def _get(db: Any, root_hash: bytes, key: bytes) -> bytes:
    node = _root_node(db, root_hash)
    depth = 0
    while True:
        if node == b"":
            return b""
        if len(node) == 17:
            if depth == len(key):
                return bytes(node[16])
            node = _load(db, node[key[depth]])
            depth += 1
            continue
        path, leaf = _path(node[0])
        if leaf:
            return bytes(node[1]) if key[depth:] == path else b""
        if key[depth : depth + len(path)] != path:
            return b""
        depth += len(path)
        node = _load(db, node[1])


def get_value(db: Any, root_hash: bytes, key: bytes) -> bytes:
    """The value under the 32-byte ``key`` in the trie at ``root_hash`` (b"" when absent).
    Raises ``KeyError`` when a node on the path is not in ``db``."""
    return _get(db, root_hash, _nibbles(key))


def set_many(db: Any, root_hash: bytes, writes: dict[bytes, bytes]) -> bytes:
    """Set 32-byte ``writes`` (key -> non-empty value) in the trie at ``root_hash``; the new
    nodes go to ``db`` and the new root hash is returned."""
    put = db.__setitem__
    items = sorted((_nibbles(key), value) for key, value in writes.items())
    root = _insert(db, put, _root_node(db, root_hash), items, 0)
    encoded = encode_node(root)
    new_hash = keccak(encoded)
    put(new_hash, encoded)
    return bytes(new_hash)


class BatchedStorageLookup(StorageLookup):
    """py-evm's storage lookup with slot writes applied in one pass (see the module doc)."""

    def __init__(self, db: Any, storage_root: Hash32, address: Address) -> None:
        self._writes: dict[bytes, bytes] = {}
        super().__init__(db, storage_root, address)

    def _flush(self) -> None:
        if not self._writes:
            return
        writes, self._writes = self._writes, {}
        trie = self._get_write_trie()
        trie.root_hash = set_many(self._trie_nodes_batch, trie.root_hash, writes)

    def _get_write_trie(self) -> HexaryTrie:
        if self._write_trie is None:
            if self._trie_nodes_batch is None:
                super()._get_write_trie()
            # no pruning: nodes are written once per pass; the batch never reaches the disk
            # with deletions anyway (``commit_to`` applies none)
            self._write_trie = HexaryTrie(
                self._trie_nodes_batch, root_hash=self._starting_root_hash, prune=False
            )
        return self._write_trie

    def __getitem__(self, key: bytes) -> bytes:
        hashed = self._decode_key(key)
        pending = self._writes.get(hashed)
        if pending is not None:
            return pending
        if self._write_trie is not None:
            db, root = self._trie_nodes_batch, self._write_trie.root_hash
        else:
            db, root = self._db, self._starting_root_hash
        try:
            return _get(db, root, _nibbles(hashed))
        except Exception:  # a missing node: py-evm's path raises its own error
            return super().__getitem__(key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if not value or len(key) > 32:
            self._flush()
            super().__setitem__(key, value)
            return
        self._writes[self._decode_key(key)] = bytes(value)

    def _exists(self, key: bytes) -> bool:
        self._flush()
        return super()._exists(key)

    def __delitem__(self, key: bytes) -> None:
        self._flush()
        super().__delitem__(key)

    @property
    def has_changed_root(self) -> bool:
        """Whether the storage root will change (slots pending or written)."""
        return bool(self._writes) or self._write_trie is not None

    def get_changed_root(self) -> Hash32:
        """The new storage root, pending slots applied first."""
        self._flush()
        return super().get_changed_root()

    def commit_to(self, db: Any) -> None:
        """Write the trie's new nodes to ``db``, pending slots applied first."""
        self._flush()
        super().commit_to(db)

    def new_trie(self) -> int:
        """py-evm's ``new_trie`` (storage cleared), pending slots applied first."""
        self._flush()
        return super().new_trie()

    def rollback_trie(self, trie_index: int) -> None:
        """py-evm's ``rollback_trie``, pending slots applied first."""
        self._flush()
        super().rollback_trie(trie_index)


def decode_int(encoded: bytes) -> int:
    """``rlp.decode(encoded, sedes=big_endian_int)``: canonical encodings of a positive int
    directly, anything else (and its error) through rlp."""
    size = len(encoded)
    if size == 1:
        first = encoded[0]
        if 0 < first < 0x80:
            return first
    elif (
        1 < size <= 33
        and encoded[0] == 0x7F + size
        and encoded[1]
        and (size > 2 or encoded[1] >= 0x80)
    ):
        return int.from_bytes(encoded[1:], "big")
    value: int = rlp.decode(encoded, sedes=big_endian_int)
    return value


def encode_int(value: int) -> bytes:
    """``rlp.encode(value)`` of a positive int below 2**256."""
    if value < 0x80:
        return bytes((value,))
    body = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(body),)) + body


class BatchedAccountStorageDB(AccountStorageDB):
    """py-evm's account storage over a :class:`BatchedStorageLookup`; reads and writes of a
    slot go through the same layers (journal, locked changes, cache, trie) without a method
    call per layer."""

    def __init__(self, db: Any, storage_root: Hash32, address: Address) -> None:
        super().__init__(db, storage_root, address)
        self._storage_lookup = BatchedStorageLookup(db, storage_root, address)
        self._storage_cache = CacheDB(self._storage_lookup)
        self._locked_changes = JournalDB(self._storage_cache)
        self._journal_storage = JournalDB(self._locked_changes)

    def get(self, slot: int, from_journal: bool = True) -> int:
        # py-evm's AccountStorageDB.get, with JournalDB.__getitem__ (twice, or once with
        # from_journal=False) and CacheDB.__getitem__ inlined
        """The value of storage ``slot`` (0 when unset), from the journal unless
        ``from_journal`` is False."""
        self._accessed_slots.add(slot)
        key = slot.to_bytes((slot.bit_length() + 7) // 8 or 1, "big")  # int_to_big_endian
        encoded: Any = None
        if from_journal:
            journal = self._journal_storage._journal
            encoded = journal._current_values.get(
                key, REVERT_TO_WRAPPED if journal._ignore_wrapped_db else None
            )
        if encoded is None:
            journal = self._locked_changes._journal
            encoded = journal._current_values.get(
                key, REVERT_TO_WRAPPED if journal._ignore_wrapped_db else None
            )
            if encoded is None:
                cached = self._storage_cache._cached_values
                if key in cached:
                    encoded = cached[key]
                else:
                    try:
                        encoded = self._storage_lookup[key]
                    except MissingStorageTrieNode:
                        raise
                    except KeyError:
                        return 0
                    cached[key] = encoded
        if encoded is REVERT_TO_WRAPPED or encoded is DELETE_WRAPPED:  # JournalDB: KeyError
            return 0
        if encoded == b"":
            return 0
        return decode_int(encoded)

    def set(self, slot: int, value: int) -> None:
        # py-evm's AccountStorageDB.set of a non-zero value, with JournalDB.__setitem__
        # inlined; zero (a deletion) takes py-evm's path
        """Set storage ``slot`` to ``value`` (a uint256) in the journal."""
        if not value or value.__class__ is not int or value < 0 or value > 2**256 - 1:
            super().set(slot, value)
            return
        key = slot.to_bytes((slot.bit_length() + 7) // 8 or 1, "big")
        journal_set(self._journal_storage._journal, key, encode_int(value))


def journal_set(journal: Any, key: bytes, value: Any) -> None:
    """py-evm's ``Journal.__setitem__`` inlined: the last checkpoint remembers the key's value
    before its first change, then the key takes ``value``."""
    checkpoints = journal._journal_data
    revert_changeset = checkpoints[next(reversed(checkpoints))]  # the last checkpoint
    current = journal._current_values
    if key not in revert_changeset:
        revert_changeset[key] = current.get(key, REVERT_TO_WRAPPED)
    current[key] = value


__all__ = [
    "BatchedAccountStorageDB",
    "BatchedStorageLookup",
    "decode_int",
    "encode_int",
    "journal_set",
    "set_many",
]
