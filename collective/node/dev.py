"""``--dev`` mode: anvil's well-known accounts, ``eth_sendTransaction``, snapshots and time.

The accounts come from the mnemonic "test test ... junk" (m/44'/60'/0'/0/i), funded with
10,000 ether each in genesis, exactly as anvil and hardhat do, so tools that know them work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10

# The first ten of them (key, address), as every Ethereum dev tool prints them: deriving them
# (BIP-39 seed, BIP-32 path, secp256k1) costs ~0.35 s of each `node start --dev`.
# tests/node/test_node_dev.py derives them again and compares.
_WELL_KNOWN = tuple(
    (bytes.fromhex(key), bytes.fromhex(address))
    for key, address in (
        ("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
         "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"),
        ("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
         "70997970c51812dc3a010c7d01b50e0d17dc79c8"),
        ("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
         "3c44cdddb6a900fa2b585dd299e03d12fa4293bc"),
        ("7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
         "90f79bf6eb2c4f870365e785982e1f101e93b906"),
        ("47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
         "15d34aaf54267db7d7c367839aaf71a00a2c6a65"),
        ("8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
         "9965507d1a55bcc2695c58ba16fb37d819b0a4dc"),
        ("92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
         "976ea74026e726554db657fa54763abd0c3a0aa9"),
        ("4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
         "14dc79964da2c08b23698b3d3cc7ca32193d9955"),
        ("dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
         "23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f"),
        ("2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
         "a0ee7a142d267c1f36714e4a8f75612f20a79720"),
    )
)  # fmt: skip


def derive_dev_keys(count: int) -> list[bytes]:
    """The private keys of the first ``count`` dev accounts, derived from the mnemonic
    (BIP-39 seed, BIP-44 path m/44'/60'/0'/0/i)."""
    from eth_account.hdaccount import key_from_seed, seed_from_mnemonic

    seed = seed_from_mnemonic(DEV_MNEMONIC, "")
    return [bytes(key_from_seed(seed, f"m/44'/60'/0'/0/{i}")) for i in range(count)]


def dev_keys(count: int = DEV_ACCOUNT_COUNT) -> list[bytes]:
    """The private keys of the first ``count`` dev accounts (the well-known ten without
    deriving them)."""
    if count <= len(_WELL_KNOWN):
        return [key for key, _ in _WELL_KNOWN[:count]]
    return derive_dev_keys(count)


def address_of(key: bytes) -> bytes:
    """The 20-byte address of the 32-byte private ``key``."""
    for known, address in _WELL_KNOWN:
        if key == known:
            return address
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


__all__ = ["DEV_MNEMONIC", "DevAccounts", "derive_dev_keys", "dev_keys"]
