"""Offline EIP-712 signing: serialization, recovery, and refusal of damaged requests."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from collective.errors import ConsentError
from collective.signing import (
    GrantRequest,
    SignedRequest,
    WithdrawalRequest,
    code,
    recover_signer,
    sign,
)

SUBJECT = Account.from_key(b"\x11" * 32)
CONTRACT = "0x" + "ab" * 20
uint = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=25, deadline=None)
@given(
    expiry=st.integers(1, 2**64 - 1),
    version=uint,
    nonce=uint,
    chain_id=st.integers(1, 2**40),
    withdraw=st.booleans(),
)
def test_round_trip_and_recovery(
    expiry: int, version: int, nonce: int, chain_id: int, withdraw: bool
) -> None:
    org = Account.from_key(b"\x22" * 32).address
    request: GrantRequest | WithdrawalRequest = (
        WithdrawalRequest(SUBJECT.address, org, code("p"), code("c"), nonce, expiry)
        if withdraw
        else GrantRequest(
            SUBJECT.address, org, code("p"), code("c"), expiry, version, nonce, expiry
        )
    )
    signed = sign(SUBJECT, request, chain_id=chain_id, verifying_contract=CONTRACT)
    assert recover_signer(signed) == SUBJECT.address
    assert SignedRequest.from_json(signed.to_json()) == signed


def test_code_hashes_names_and_keeps_hex_codes() -> None:
    assert code("dpv:Marketing") != code("dpv:Research")
    hashed = code("dpv:Marketing")
    assert code("0x" + hashed.hex()) == hashed


def test_damaged_requests_are_refused_with_a_clear_error() -> None:
    request = GrantRequest(SUBJECT.address, CONTRACT, code("p"), code("c"), 10, 1, 0, 10)
    text = sign(SUBJECT, request, chain_id=1, verifying_contract=CONTRACT).to_json()
    data = json.loads(text)
    data["request"]["expiry"] = 11  # tampered after signing
    with pytest.raises(ConsentError, match="does not match the signer"):
        SignedRequest.from_json(json.dumps(data))
    with pytest.raises(ConsentError, match="not a signed consent request"):
        SignedRequest.from_json('{"kind": "grant"}')
    with pytest.raises(ConsentError, match="not a signed consent request"):
        SignedRequest.from_json("not json")
