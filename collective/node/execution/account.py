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
- **Storage.** Reads, writes and warm/cold marking go straight to the journal layers
  (journal, locked changes, cache, trie: :mod:`collective.node.storage`, whose
  ``BatchedAccountStorageDB`` replaces py-evm's ``AccountStorageDB`` so storage tries are
  updated once per block). No value is cached outside py-evm's own journals, so a reverted
  call leaves nothing.

Fingerprints of every upstream method overridden here: :mod:`.upstream`.
"""

from __future__ import annotations

from typing import Any

from eth.abc import AccountStorageDatabaseAPI
from eth.constants import EMPTY_SHA3, UINT_256_MAX
from eth.db.account import IS_PRESENT_VALUE, AccountDB
from eth.db.journal import DELETE_WRAPPED, REVERT_TO_WRAPPED
from eth.rlp.accounts import Account
from eth.vm.interrupt import MissingBytecode
from eth_typing import Address

from collective.node.storage import BatchedAccountStorageDB, journal_set


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


class NodeAccountDB(AccountDB):
    """py-evm's account database; balance and nonce writes without the generic RLP path,
    storage reads, writes and warm/cold tracking without re-validating what the interpreter
    hands over, and storage tries updated once per block (:mod:`collective.node.storage`)."""

    def get_storage(self, address: Address, slot: int, from_journal: bool = True) -> int:
        if (
            address.__class__ is not bytes
            or len(address) != 20
            or slot.__class__ is not int
            or slot < 0
            or slot > UINT_256_MAX
        ):
            return super().get_storage(address, slot, from_journal)  # py-evm's errors
        store = self._account_stores.get(address)
        if store is None:
            store = self._get_address_store(address)
        return store.get(slot, from_journal)

    def set_storage(self, address: Address, slot: int, value: int) -> None:
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
        return self._is_warm(_storage_key(address, slot))

    def mark_storage_warm(self, address: Address, slot: int) -> None:
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
        if address.__class__ is not bytes or len(address) != 20:
            return super().get_balance(address)
        return self._get_account(address).balance  # type: ignore[no-any-return]

    def account_exists(self, address: Address) -> bool:
        if address.__class__ is not bytes or len(address) != 20:
            return super().account_exists(address)
        return self._get_encoded_account(address, from_journal=True) != b""

    def account_is_empty(self, address: Address) -> bool:
        # not account_has_code_or_nonce (nonce, then code hash) and a zero balance
        if address.__class__ is not bytes or len(address) != 20:
            return super().account_is_empty(address)
        account = self._get_account(address)
        return account.nonce == 0 and account.code_hash == EMPTY_SHA3 and account.balance == 0

    def touch_account(self, address: Address) -> None:
        if address.__class__ is not bytes or len(address) != 20:
            super().touch_account(address)
            return
        self._set_account(address, self._get_account(address))

    def is_address_warm(self, address: Address) -> bool:
        return self._is_warm(address)

    def mark_address_warm(self, address: Address) -> None:
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
        try:
            code: bytes = self._journaldb[code_hash]
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
        if len(address) != 20 or address.__class__ is not bytes:
            super().set_balance(address, balance)
            return
        if balance.__class__ is not int or balance < 0 or balance > UINT_256_MAX:
            super().set_balance(address, balance)  # py-evm's validation error
            return
        account = self._get_account(address)
        self._put(address, account.nonce, balance, account)

    def set_nonce(self, address: Address, nonce: int) -> None:
        if len(address) != 20 or address.__class__ is not bytes:
            super().set_nonce(address, nonce)
            return
        if nonce.__class__ is not int or nonce < 0 or nonce >= 2**64:
            super().set_nonce(address, nonce)
            return
        account = self._get_account(address)
        self._put(address, nonce, account.balance, account)


__all__ = ["NodeAccountDB", "encode_account"]
