"""Genesis files: what a genesis may hold."""

from __future__ import annotations

import pytest

from collective.errors import ConfigurationError
from collective.node.genesis import MAX_GENESIS_NONCE, Genesis, build_genesis


def test_a_genesis_nonce_beyond_what_the_store_keeps_is_refused() -> None:
    """An alloc nonce whose next transaction's nonce would not fit the store's 64-bit signed
    INTEGER (nor EIP-2681's cap) is a configuration error naming the field."""
    raw = build_genesis(dev=True).to_json()
    address = next(iter(raw["alloc"]))
    raw["alloc"][address]["nonce"] = hex(MAX_GENESIS_NONCE)
    assert Genesis.from_json(raw).alloc  # the largest kept
    raw["alloc"][address]["nonce"] = hex(2**64 - 1)
    with pytest.raises(ConfigurationError, match=r"alloc\..*\.nonce .* out of range"):
        Genesis.from_json(raw)
