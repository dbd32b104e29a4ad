"""The fast codec agrees with eth-abi and web3 on every shape the client sends and reads."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import abi
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from collective.build.artifacts import load_artifact
from collective.chain.codec import Codec, _decode_static, _encode_fast, fast_calldata
from collective.deploy import Deployment
from collective.errors import InvalidInputError

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
words = st.binary(min_size=32, max_size=32)
grant_items = st.tuples(
    addresses, words, words, st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1)
)


@settings(max_examples=60, deadline=None)
@given(identity=addresses, items=st.lists(grant_items, max_size=6))
def test_batch_encoding_matches_eth_abi(identity: str, items: list[Any]) -> None:
    types = ["address", "(address,bytes32,bytes32,uint64,uint32)[]"]
    assert _encode_fast(types, [identity, items]) == abi.encode(types, [identity, items])


@settings(max_examples=60, deadline=None)
@given(a=addresses, p=words, c=words, expiry=st.integers(0, 2**64 - 1), ok=st.booleans())
def test_static_encoding_and_decoding_match_eth_abi(
    a: str, p: bytes, c: bytes, expiry: int, ok: bool
) -> None:
    types = ["address", "bytes32", "bytes32", "uint64", "bool"]
    values = [a, p, c, expiry, ok]
    encoded = abi.encode(types, values)
    assert _encode_fast(types, values) == encoded
    assert _decode_static(types, encoded) == [a, p, c, expiry, ok]


def test_values_that_do_not_fit_are_refused() -> None:
    codec = Codec(load_artifact("ConsentLedger").abi)
    too_big = ["0x" + "11" * 20, "0x" + "22" * 20, b"\0" * 32, b"\0" * 32, 2**64, 1]
    with pytest.raises(InvalidInputError, match="bad arguments for grant"):
        codec.encode("grant", too_big)
    with pytest.raises(InvalidInputError, match="bad arguments for grant"):
        codec.encode("grant", too_big[:3])


def test_signed_batch_falls_back_to_eth_abi() -> None:
    codec = Codec(load_artifact("ConsentLedger").abi)
    grant = ("0x" + "11" * 20, "0x" + "22" * 20, b"\1" * 32, b"\2" * 32, 5, 1, b"\5" * 32, 0, 9)
    item = (grant, 27, b"\3" * 32, b"\4" * 32)
    types = [
        "((address,address,bytes32,bytes32,uint64,uint32,bytes32,uint64,uint64),"
        "uint8,bytes32,bytes32)[]"
    ]
    assert codec.encode("grantSignedBatch", [[item]])[4:] == abi.encode(types, [[item]])


def test_consent_id_matches_the_contract(chain, suite) -> None:  # type: ignore[no-untyped-def]
    from collective.chain.codec import consent_id

    ledger = suite.contract("ConsentLedger")
    identity, organization = chain.dev_accounts[3].address, chain.dev_accounts[1].address
    purpose, category = b"\x01" * 32, bytes(range(32))
    on_chain = ledger.functions.consentId(identity, organization, purpose, category).call()
    assert consent_id(identity, organization, purpose, category) == "0x" + bytes(on_chain).hex()


def test_fast_calldata_is_what_web3_encodes(suite: Deployment) -> None:
    ledger = suite.contract("ConsentLedger")
    subject = "0x" + "12" * 20
    org = to_checksum_address("0x" + "34" * 20)
    calls = [
        ledger.functions.isCovered(to_checksum_address(subject), org, b"\1" * 32, b"\2" * 32),
        ledger.functions.currentPolicyVersion(org),
        ledger.functions.policy(org, 3),
    ]
    for fn in calls:
        fast = fast_calldata(fn.abi, fn.args)
        assert fast is not None and "0x" + fast.hex() == fn._encode_transaction_data()
    # a string argument is not a simple static: web3 encodes it
    publish = ledger.functions.publishPolicy(b"\3" * 32, "https://example.org", [b"\4" * 32])
    assert fast_calldata(publish.abi, publish.args) is None


def test_the_fast_keccak_is_ethereums_keccak() -> None:
    import os

    from eth_utils.crypto import keccak

    from collective.chain import hashing

    for size in (0, 1, 31, 32, 33, 135, 136, 137, 1000):
        data = os.urandom(size)
        assert hashing.keccak256(data) == keccak(data) == hashing._portable(data)
