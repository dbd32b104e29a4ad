"""Process-wide caches of what the state tries hold, keyed by root: accounts, storage slots,
code.

A trie's content is fixed by its root hash, so an entry never goes stale: a call or a block
reading an account (or a slot) the previous one read at the same root skips the walk from the
root. Misses walk the path over trie nodes decoded once per hash
(:func:`collective.node.storage.tries.get_value`). Each cache is bounded (emptied when it
holds :data:`_CACHE_LIMIT` entries; code by bytes). :class:`~.account.NodeAccountDB` reads
through them, and revm's calls read their misses with :func:`read_account` and
:func:`read_storage` without building a py-evm state.
"""

from __future__ import annotations

from typing import Any, TypeVar

import rlp
from eth.rlp.accounts import Account
from eth_utils.crypto import keccak
from rlp.sedes import big_endian_int

from collective.node.storage.tries import get_value

_CACHE_LIMIT = 100_000  # entries of each process-wide cache below
_K = TypeVar("_K")
_V = TypeVar("_V")
accounts_by_root: dict[tuple[bytes, bytes], bytes] = {}  # (state root, address) -> RLP
_decoded_accounts: dict[bytes, Account] = {}  # RLP -> the (immutable) account
storage_by_root: dict[tuple[bytes, int], int] = {}  # (storage root, slot) -> value
_CODE_CACHE_BYTES = 2**24
code_by_hash: dict[bytes, bytes] = {}  # code hash -> code
_code_cached_bytes = 0
_EMPTY_ACCOUNT = Account()


def read_account(db: Any, state_root: bytes, address: bytes) -> Account | None:
    """The account at the 20-byte ``address`` in the state trie at ``state_root`` in ``db``
    (None: no account there), read straight from the trie as
    :class:`~.account._AccountsByRoot` reads it and through its cache, without a py-evm
    state. Raises ``KeyError`` when a trie node on the path is not in ``db`` (py-evm's own
    read then says which)."""
    encoded = account_rlp(db, state_root, address)
    return decode_account(encoded) if encoded else None


def account_rlp(db: Any, state_root: bytes, address: bytes) -> bytes:
    """The account RLP of ``address`` at ``state_root`` (b"" when absent), through
    :data:`accounts_by_root`, the path walked over decoded nodes cached by hash
    (:mod:`collective.node.storage.tries`). Raises ``KeyError`` for a node not in ``db``."""
    encoded = accounts_by_root.get((state_root, address))
    if encoded is None:
        encoded = get_value(db, state_root, keccak(address))
        keep(accounts_by_root, (state_root, address), encoded)
    return encoded


def keep(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    """Put ``value`` under ``key`` in one of the process-wide caches (emptied first when it
    holds :data:`_CACHE_LIMIT` entries); returns ``value``."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def read_storage(db: Any, storage_root: bytes, slot: int) -> int:
    """The value of storage ``slot`` (0..2**256-1) in the storage trie at ``storage_root``
    (0 when unset), as py-evm's ``AccountStorageDB.get`` reads it (the key is the keccak of
    the slot as 32 bytes, the value RLP), through :data:`storage_by_root`. Raises
    ``KeyError`` when a trie node on the path is not in ``db``."""
    value = storage_by_root.get((storage_root, slot))
    if value is None:
        encoded = get_value(db, storage_root, keccak(slot.to_bytes(32, "big")))
        value = rlp.decode(encoded, sedes=big_endian_int) if encoded else 0
        keep(storage_by_root, (storage_root, slot), value)
    return value


def remember_code(code_hash: bytes, code: bytes) -> None:
    """Keep ``code`` (read under its keccak, ``code_hash``) for the next read, up to
    :data:`_CODE_CACHE_BYTES` in all."""
    global _code_cached_bytes
    if _code_cached_bytes + len(code) > _CODE_CACHE_BYTES:
        code_by_hash.clear()
        _code_cached_bytes = 0
    code_by_hash[code_hash] = code
    _code_cached_bytes += len(code)


def decode_account(encoded: bytes) -> Account:
    """``rlp.decode(encoded, sedes=Account)``, once per distinct encoding; b"" is the empty
    account."""
    if not encoded:
        return _EMPTY_ACCOUNT
    account = _decoded_accounts.get(encoded)
    if account is None:
        account = keep(_decoded_accounts, encoded, rlp.decode(encoded, sedes=Account))
    return account


__all__ = [
    "account_rlp",
    "accounts_by_root",
    "code_by_hash",
    "decode_account",
    "keep",
    "read_account",
    "read_storage",
    "remember_code",
    "storage_by_root",
]
