"""Offline EIP-712 signing: serialization, recovery, and refusal of damaged requests."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from collective.errors import ConsentError, SignatureError
from collective.ledger.signing import (
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
            SUBJECT.address, org, code("p"), code("c"), expiry, version, code("t"), nonce, expiry
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
    request = GrantRequest(SUBJECT.address, CONTRACT, code("p"), code("c"), 10, 1, code("t"), 0, 10)
    text = sign(SUBJECT, request, chain_id=1, verifying_contract=CONTRACT).to_json()
    data = json.loads(text)
    data["request"]["expiry"] = 11  # tampered after signing
    with pytest.raises(ConsentError, match="does not match the signer"):
        SignedRequest.from_json(json.dumps(data))
    with pytest.raises(ConsentError, match="not a signed consent request"):
        SignedRequest.from_json('{"kind": "grant"}')
    with pytest.raises(ConsentError, match="not a signed consent request"):
        SignedRequest.from_json("not json")


def _signed_json(**changes: object) -> dict:
    request = GrantRequest(
        SUBJECT.address, CONTRACT, code("p"), code("c"), 2**64 - 1, 1, code("t"), 2**40, 10
    )
    data = json.loads(sign(SUBJECT, request, chain_id=1, verifying_contract=CONTRACT).to_json())
    data["signature"].update(changes)
    return data


def test_large_integers_are_decimal_strings_in_the_json() -> None:
    """Issue 10 item 8: 2^64-1 as a JSON number is 18446744073709551616 in JavaScript."""
    data = _signed_json()
    assert data["request"]["expiry"] == str(2**64 - 1)
    assert data["request"]["nonce"] == str(2**40) and data["chainId"] == "1"
    # A "never" expiry rounded to a float by a JSON tool is refused, not misread.
    data["request"]["expiry"] = float(2**64 - 1)
    with pytest.raises(ConsentError, match="low digits"):
        SignedRequest.from_json(json.dumps(data))


def test_the_high_s_twin_and_v_0_1_copies_are_refused_at_parse_time() -> None:
    """Issue 10 item 9: from_json accepted signatures the contract refuses."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    data = _signed_json()
    v, s = data["signature"]["v"], int(data["signature"]["s"], 16)
    twin = _signed_json(v=55 - v, s="0x" + (n - s).to_bytes(32, "big").hex())
    with pytest.raises(SignatureError, match="high s"):
        SignedRequest.from_json(json.dumps(twin))
    for low_v in (v - 27, 1 - (v - 27)):
        with pytest.raises(SignatureError, match="only 27 or 28"):
            SignedRequest.from_json(json.dumps(_signed_json(v=low_v)))
    with pytest.raises(SignatureError, match="zero or not below"):
        SignedRequest.from_json(json.dumps(_signed_json(r="0x" + "00" * 32)))
    assert SignedRequest.from_json(json.dumps(data)).v == v
