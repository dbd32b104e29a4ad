"""The dev accounts' table (the well-known ten, not derived at each start) is exactly what
the mnemonic derives (BIP-39 seed, BIP-44 m/44'/60'/0'/0/i), and each address is its key's."""

from __future__ import annotations

from eth_keys.datatypes import PrivateKey

from collective.node.dev import DEV_ACCOUNT_COUNT, DevAccounts, derive_dev_keys, dev_keys


def test_the_well_known_dev_keys_are_the_mnemonics() -> None:
    derived = derive_dev_keys(DEV_ACCOUNT_COUNT + 2)
    assert dev_keys() == derived[:DEV_ACCOUNT_COUNT]
    assert dev_keys(DEV_ACCOUNT_COUNT + 2) == derived  # past the table: derived
    accounts = DevAccounts.create()
    for address, key in accounts.keys.items():
        assert address == PrivateKey(key).public_key.to_canonical_address()
    assert accounts.addresses[0].hex() == "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
