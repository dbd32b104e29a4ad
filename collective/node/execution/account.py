"""The account database: py-evm's ``AccountDB`` with its per-transaction hot paths trimmed.

Mirrors ``eth/db/account.py`` (``AccountDB``) of py-evm 0.12.1b1; each override below follows
that file's method of the same name, minus re-validating what the interpreter hands over:

- **Accounts.** Balance and nonce updates build the account record and its RLP directly
  (four per transaction: gas purchase, nonce, refund, tip) instead of through
  ``Serializable.copy`` and the generic encoder; so does every other account write
  (``_set_account``: EIP-161's touch of each transaction's recipient). ``get_code`` asks
  whether the code's hash was read from the database without py-evm's frozenset copy of every
  key read so far in the block (which made each transaction's code lookup grow with the
  block). ``get_balance``, ``account_exists``, ``account_is_empty``, ``touch_account`` and
  address warm/cold marking skip re-validating a 20-byte address (any other value takes
  py-evm's path and error).
- **Account reads.** The account trie is read through a process-wide cache keyed by (state
  root, address) (:class:`_AccountsByRoot`): a trie's content is fixed by its root hash, so
  an entry never goes stale, and a call or a block reading an account the previous one read
  at the same root skips the walk from the root (an ``eth_call`` builds a fresh state, and
  with it fresh py-evm caches, every time); a miss walks the path over trie nodes decoded
  once per hash (:func:`collective.node.storage.tries.get_value`), not py-evm's trie.
  Accounts are decoded once per encoding (``Account`` objects are immutable). The caches
  live in :mod:`.state_cache`.
- **No block witness.** py-evm's ``persist`` copies every trie node hash and account the
  block read into a ``MetaWitness`` (what a stateless client would need); the node never
  reads it, so ``_get_meta_witness`` answers an empty one (about a tenth of a validator's
  time went there).
  Storage of an account the database has not opened a store for is read the same way, by
  (storage root, slot), without building the store; code by its hash.
- **The account trie** is updated once per block (``_apply_account_diff_without_proof``):
  the block's changed accounts are written in one pass over their sorted keys
  (:func:`collective.node.storage.tries.set_many`, as the storage tries are) instead of one
  walk from the root per account. A diff that deletes an account takes py-evm's path.
- **Storage.** Reads, writes and warm/cold marking go straight to the journal layers
  (journal, locked changes, cache, trie: :mod:`collective.node.storage.tries`, whose
  ``BatchedAccountStorageDB`` replaces py-evm's ``AccountStorageDB`` so storage tries are
  updated once per block). No value is cached outside py-evm's own journals, so a reverted
  call leaves nothing.

Fingerprints of every upstream method overridden here: :mod:`.upstream`.
"""

from __future__ import annotations

from typing import Any

from eth.abc import AccountStorageDatabaseAPI, AtomicDatabaseAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3, UINT_256_MAX
from eth.db.account import IS_PRESENT_VALUE, AccountDB
from eth.db.backends.base import BaseDB
from eth.db.diff import DBDiff
from eth.db.hash_trie import HashTrie
from eth.db.journal import DELETE_WRAPPED, REVERT_TO_WRAPPED
from eth.db.witness import MetaWitness
from eth.rlp.accounts import Account
from eth.vm.interrupt import MissingBytecode
from eth_typing import Address, Hash32
from eth_utils.crypto import keccak
from trie.hexary import HexaryTrie

from collective.node.execution.state_cache import (
    account_rlp,
    accounts_by_root,
    code_by_hash,
    decode_account,
    keep,
    remember_code,
    storage_by_root,
)
from collective.node.storage.tries import BatchedAccountStorageDB, get_value, journal_set, set_many


def _rlp_int(value: int) -> bytes:
    if value == 0:
        return b"\x80"
    if value < 128:
        return bytes((value,))
    body = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(body),)) + body  # at most 32 bytes: short string


def encode_account(nonce: int, balance: int, storage_root: bytes, code_hash: bytes) -> bytes:
    """RLP of an account record (what ``rlp.encode(account, sedes=Account)`` gives)."""
    payload = b"".join(
        (_rlp_int(nonce), _rlp_int(balance), b"\xa0", storage_root, b"\xa0", code_hash)
    )
    length = len(payload)
    if length < 56:
        return bytes((0xC0 + length,)) + payload
    return bytes((0xF8, length)) + payload  # < 256: two 32-byte hashes and two <= 33-byte ints


def _storage_key(address: bytes, slot: int) -> bytes:
    # AccountDB._get_storage_tracker_key: the address, then int_to_big_endian(slot)
    return address + slot.to_bytes((slot.bit_length() + 7) // 8 or 1, "big")


class _AccountsByRoot(BaseDB):
    """py-evm's account trie (a ``HashTrie`` over a ``HexaryTrie``), read through
    :data:`accounts_by_root`; writes go to the trie."""

    def __init__(self, trie: HashTrie, hexary: HexaryTrie) -> None:
        self._trie = trie
        self._hexary = hexary

    def __getitem__(self, key: bytes) -> bytes:
        """The account RLP under ``key`` (an address; b"" when absent) at the trie's current
        root. Raises py-trie's ``MissingTrieNode`` as the trie does."""
        root = self._hexary.root_hash
        try:
            return account_rlp(self._hexary.db, root, key)
        except KeyError:  # a node missing: py-evm's walk raises its MissingTrieNode
            return keep(accounts_by_root, (root, key), self._trie[key])

    def __setitem__(self, key: bytes, value: bytes) -> None:
        """Write to the trie (its root changes, so no cached entry is touched)."""
        self._trie[key] = value

    def __delitem__(self, key: bytes) -> None:
        """Delete from the trie."""
        del self._trie[key]

    def _exists(self, key: bytes) -> bool:
        return key in self._trie


_NO_WITNESS = MetaWitness(set(), {})


class NodeAccountDB(AccountDB):
    """py-evm's account database; balance and nonce writes without the generic RLP path,
    account reads through a cache keyed by state root, storage reads, writes and warm/cold
    tracking without re-validating what the interpreter hands over, and storage tries
    updated once per block (:mod:`collective.node.storage.tries`)."""

    def __init__(self, db: AtomicDatabaseAPI, state_root: Hash32 = BLANK_ROOT_HASH) -> None:
        """py-evm's ``AccountDB`` over ``db`` at ``state_root`` (32 bytes), its account trie
        read through :class:`_AccountsByRoot` (when py-evm's layers are the ones this was
        written against)."""
        super().__init__(db, state_root)
        trie, logger = self._trie, self._trie_logger
        hexary = getattr(trie, "_db", None)
        if (
            trie.__class__ is HashTrie
            and hexary.__class__ is HexaryTrie
            and logger.wrapped_db is trie
        ):
            logger.wrapped_db = _AccountsByRoot(trie, hexary)  # type: ignore[arg-type]

    def _apply_account_diff_without_proof(self, diff: DBDiff, trie: Any) -> None:
        # py-evm's deletes, then sets the changed accounts one at a time; a diff whose
        # deletions are all of accounts the trie does not hold (EIP-161's touched empty
        # precompiles, e.g. ecrecover's) is written in one pass instead (the same trie: its
        # shape depends only on its contents)
        hexary = getattr(trie, "_db", None)
        pending = dict(diff.pending_items())
        if (
            trie.__class__ is not HashTrie
            or hexary.__class__ is not HexaryTrie
            or not all(pending.values())
        ):
            super()._apply_account_diff_without_proof(diff, trie)
            return
        db, root = hexary.db, hexary.root_hash
        try:
            if any(get_value(db, root, keccak(key)) for key in diff.deleted_keys()):
                super()._apply_account_diff_without_proof(diff, trie)
                return
            if pending:
                root = set_many(db, root, {keccak(k): bytes(v) for k, v in pending.items()})
        except KeyError:  # a node missing: py-evm's path raises its MissingAccountTrieNode
            super()._apply_account_diff_without_proof(diff, trie)
            return
        hexary.root_hash = root

    def _get_meta_witness(self) -> MetaWitness:
        # py-evm's copies the hashes of every trie node the block read, and each account's
        # reads; nothing of the node reads it (finalize_block's meta_witness)
        return _NO_WITNESS

    def _get_account(self, address: Address, from_journal: bool = True) -> Account:
        # py-evm's, decoding each distinct encoding once
        if from_journal and address in self._account_cache:
            return self._account_cache[address]
        account = decode_account(self._get_encoded_account(address, from_journal))
        if from_journal:
            self._account_cache[address] = account
        return account

    def get_storage(self, address: Address, slot: int, from_journal: bool = True) -> int:
        """The value (an int) of ``slot`` of ``address``'s storage, as this transaction sees
        it (``from_journal``) or as the block started. Raises py-evm's ``ValidationError``
        for a malformed address or slot, ``MissingStorageTrieNode`` for missing data.

        An account whose storage this database has not opened yet (no store: nothing of it
        written, wiped or read through a store) holds what its storage root holds; that is
        read through :data:`storage_by_root` (a trie's content is fixed by its root)."""
        if (
            address.__class__ is not bytes
            or len(address) != 20
            or slot.__class__ is not int
            or slot < 0
            or slot > UINT_256_MAX
        ):
            return super().get_storage(address, slot, from_journal)  # py-evm's errors
        store = self._account_stores.get(address)
        if store is not None:
            return store.get(slot, from_journal)
        cache_key = (self._get_storage_root(address), slot)
        value = storage_by_root.get(cache_key)
        if value is None:
            found = self._get_address_store(address).get(slot, from_journal)
            value = keep(storage_by_root, cache_key, found)
        return value

    def set_storage(self, address: Address, slot: int, value: int) -> None:
        """Write ``value`` (0..2**256-1) to ``slot`` of ``address`` (20 bytes) in this
        transaction's journal. Raises py-evm's ``ValidationError`` for malformed arguments."""
        if (
            address.__class__ is not bytes
            or len(address) != 20
            or slot.__class__ is not int
            or slot < 0
            or slot > UINT_256_MAX
            or value.__class__ is not int
            or value < 0
            or value > UINT_256_MAX
        ):
            super().set_storage(address, slot, value)  # py-evm's errors
            return
        store = self._account_stores.get(address)
        if store is None:
            store = self._get_address_store(address)
        self._dirty_accounts.add(address)
        store.set(slot, value)

    def _is_warm(self, key: bytes) -> bool:
        # ``key in self._journal_accessed_state`` (JournalDB._exists), inlined
        accessed = self._journal_accessed_state
        journal = accessed._journal
        value = journal._current_values.get(key)
        if value is None:
            return not journal._ignore_wrapped_db and key in accessed._wrapped_db
        return value is not REVERT_TO_WRAPPED and value is not DELETE_WRAPPED

    def _mark_warm(self, key: bytes) -> None:
        # ``self._journal_accessed_state[key] = b""`` (Journal.__setitem__)
        journal_set(self._journal_accessed_state._journal, key, IS_PRESENT_VALUE)

    def is_storage_warm(self, address: Address, slot: int) -> bool:
        """Whether ``slot`` of ``address`` was accessed in this transaction (EIP-2929)."""
        return self._is_warm(_storage_key(address, slot))

    def mark_storage_warm(self, address: Address, slot: int) -> None:
        """Mark ``slot`` of ``address`` accessed in this transaction (EIP-2929)."""
        key = _storage_key(address, slot)
        if not self._is_warm(key):
            self._mark_warm(key)

    def warm_storage(self, address: Address, slot: int) -> bool:
        """Mark the slot warm; whether it was cold (``is_storage_warm`` then
        ``mark_storage_warm``, as Berlin's ``_mark_storage_warm`` calls them)."""
        key = _storage_key(address, slot)
        if self._is_warm(key):
            return False
        self._mark_warm(key)
        return True

    # py-evm's account reads, minus re-validating an address that is 20 bytes already
    def get_balance(self, address: Address) -> int:
        """``address``'s balance in wei (0 for no account). Raises py-evm's
        ``ValidationError`` for anything but 20 bytes."""
        if address.__class__ is not bytes or len(address) != 20:
            return super().get_balance(address)
        return self._get_account(address).balance  # type: ignore[no-any-return]

    def account_exists(self, address: Address) -> bool:
        """Whether ``address`` has an account in this transaction's view (EIP-161)."""
        if address.__class__ is not bytes or len(address) != 20:
            return super().account_exists(address)
        return self._get_encoded_account(address, from_journal=True) != b""

    def account_is_empty(self, address: Address) -> bool:
        """Whether ``address`` has no code, a zero nonce and a zero balance (EIP-161)."""
        # not account_has_code_or_nonce (nonce, then code hash) and a zero balance
        if address.__class__ is not bytes or len(address) != 20:
            return super().account_is_empty(address)
        account = self._get_account(address)
        return account.nonce == 0 and account.code_hash == EMPTY_SHA3 and account.balance == 0

    def touch_account(self, address: Address) -> None:
        """Write ``address``'s account back as it is (EIP-161's touch)."""
        if address.__class__ is not bytes or len(address) != 20:
            super().touch_account(address)
            return
        self._set_account(address, self._get_account(address))

    def is_address_warm(self, address: Address) -> bool:
        """Whether ``address`` was accessed in this transaction (EIP-2929)."""
        return self._is_warm(address)

    def mark_address_warm(self, address: Address) -> None:
        """Mark ``address`` accessed in this transaction (EIP-2929)."""
        if not self._is_warm(address):
            self._mark_warm(address)

    def _get_address_store(self, address: Address) -> AccountStorageDatabaseAPI:
        store = self._account_stores.get(address)
        if store is None:
            storage_root = self._get_storage_root(address)
            store = BatchedAccountStorageDB(self._raw_store_db, storage_root, address)
            self._account_stores[address] = store
        return store

    def _put(
        self,
        address: Address,
        nonce: int,
        balance: int,
        account: Any,
        storage_root: bytes | None = None,
    ) -> None:
        storage_root = account.storage_root if storage_root is None else storage_root
        code_hash = account.code_hash
        self._account_cache[address] = Account(nonce, balance, storage_root, code_hash)
        self._journaltrie[address] = encode_account(nonce, balance, storage_root, code_hash)

    def _set_account(self, address: Address, account: Account) -> None:
        # py-evm's: cache it, journal its RLP (built directly when the fields are well-formed)
        nonce, balance = account.nonce, account.balance
        storage_root, code_hash = account.storage_root, account.code_hash
        if (
            nonce.__class__ is int
            and balance.__class__ is int
            and 0 <= nonce <= UINT_256_MAX
            and 0 <= balance <= UINT_256_MAX
            and storage_root.__class__ is bytes
            and code_hash.__class__ is bytes
            and len(storage_root) == 32
            and len(code_hash) == 32
        ):
            self._account_cache[address] = account
            self._journaltrie[address] = encode_account(nonce, balance, storage_root, code_hash)
            return
        super()._set_account(address, account)

    def get_code(self, address: Address) -> bytes:
        """``address``'s code (b"" for none). Raises ``MissingBytecode`` when the code its
        hash names is not in the database."""
        # py-evm's, asking whether the code's hash was read from the database without copying
        # every key read so far (``_get_accessed_node_hashes`` makes a frozenset per call)
        if (
            address.__class__ is not bytes
            or len(address) != 20
            or self.__class__._get_accessed_node_hashes is not AccountDB._get_accessed_node_hashes
        ):
            return super().get_code(address)
        code_hash = self.get_code_hash(address)
        if code_hash == EMPTY_SHA3:
            return b""
        cached = code_by_hash.get(code_hash)
        if cached is not None:  # content-addressed: the code whose keccak is code_hash
            return cached
        try:
            code: bytes = self._journaldb[code_hash]
            remember_code(code_hash, code)
            return code
        except KeyError:
            raise MissingBytecode(code_hash) from KeyError
        finally:
            if code_hash in self._raw_store_db._keys_read:
                self._accessed_bytecodes.add(address)

    def _set_storage_root(self, address: Address, new_storage_root: Any) -> None:
        if new_storage_root.__class__ is not bytes or len(new_storage_root) != 32:
            super()._set_storage_root(address, new_storage_root)
            return
        account = self._get_account(address)
        self._put(address, account.nonce, account.balance, account, new_storage_root)

    def set_balance(self, address: Address, balance: int) -> None:
        """Set ``address``'s balance to ``balance`` wei (0..2**256-1). Raises py-evm's
        ``ValidationError`` for malformed arguments."""
        if len(address) != 20 or address.__class__ is not bytes:
            super().set_balance(address, balance)
            return
        if balance.__class__ is not int or balance < 0 or balance > UINT_256_MAX:
            super().set_balance(address, balance)  # py-evm's validation error
            return
        account = self._get_account(address)
        self._put(address, account.nonce, balance, account)

    def set_nonce(self, address: Address, nonce: int) -> None:
        """Set ``address``'s nonce (0..2**64-1). Raises py-evm's ``ValidationError`` for
        malformed arguments."""
        if len(address) != 20 or address.__class__ is not bytes:
            super().set_nonce(address, nonce)
            return
        if nonce.__class__ is not int or nonce < 0 or nonce >= 2**64:
            super().set_nonce(address, nonce)
            return
        account = self._get_account(address)
        self._put(address, nonce, account.balance, account)


__all__ = ["NodeAccountDB", "encode_account"]
