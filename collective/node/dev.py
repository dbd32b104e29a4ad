"""``--dev`` mode: anvil's well-known accounts, ``eth_sendTransaction``, snapshots and time.

The accounts come from the mnemonic "test test ... junk" (m/44'/60'/0'/0/i), funded with
10,000 ether each in genesis, exactly as anvil and hardhat do, so tools that know them work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10


def dev_keys(count: int = DEV_ACCOUNT_COUNT) -> list[bytes]:
    """The private keys of the dev accounts."""
    from eth_account.hdaccount import key_from_seed, seed_from_mnemonic

    seed = seed_from_mnemonic(DEV_MNEMONIC, "")
    return [bytes(key_from_seed(seed, f"m/44'/60'/0'/0/{i}")) for i in range(count)]


def address_of(key: bytes) -> bytes:
    """The 20-byte address of the 32-byte private ``key``."""
    from eth_keys.datatypes import PrivateKey

    return bytes(PrivateKey(key).public_key.to_canonical_address())


@dataclass
class DevAccounts:
    """Dev keys by address, and the snapshots taken so far (id -> block number)."""

    keys: dict[bytes, bytes] = field(default_factory=dict)
    snapshots: dict[int, int] = field(default_factory=dict)
    next_snapshot: int = 1

    @classmethod
    def create(cls, count: int = DEV_ACCOUNT_COUNT) -> DevAccounts:
        """The first ``count`` dev accounts of anvil's mnemonic."""
        return cls({address_of(key): key for key in dev_keys(count)})

    @property
    def addresses(self) -> list[bytes]:
        """The dev accounts' 20-byte addresses, in derivation order."""
        return list(self.keys)

    def sign(self, sender: bytes, tx: dict[str, Any]) -> bytes:
        """``tx`` (eth-account's transaction dict) signed by the dev account ``sender``:
        the raw bytes. Raises ``KeyError`` for an address that is not a dev account."""
        from eth_account import Account

        signed = Account.sign_transaction(tx, self.keys[sender])
        return bytes(signed.raw_transaction)

    def snapshot(self, block: int) -> int:
        """Remember block ``block`` under a new snapshot id (``evm_snapshot``); the id."""
        snap = self.next_snapshot
        self.next_snapshot += 1
        self.snapshots[snap] = block
        return snap

    def take(self, snap: int) -> int | None:
        """The block of snapshot ``snap``; it and every later snapshot are used up."""
        block = self.snapshots.get(snap)
        if block is None:
            return None
        for key in [k for k in self.snapshots if k >= snap]:
            del self.snapshots[key]
        return block


__all__ = ["DEV_MNEMONIC", "DevAccounts", "dev_keys"]
