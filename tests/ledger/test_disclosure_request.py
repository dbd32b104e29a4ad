"""EIP-712 disclosure requests and the shared signed envelope (collective.ledger.typed_request):
the struct types match the contract's type hashes, JSON round-trips, and damaged or foreign
requests are refused with one SignatureError; a SignedErasure still travels as before."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from collective.chain import Chain
from collective.deploy import Deployment
from collective.errors import SignatureError
from collective.ledger.disclosure_request import (
    DisclosureGrant,
    DisclosureWithdrawal,
    SignedDisclosureGrant,
    SignedDisclosureWithdrawal,
    load_signed_disclosure,
)
from collective.ledger.erasure_request import ErasureRequest, SignedErasure, sign_erasure
from collective.ledger.signing import SECP256K1_N, code
from collective.ledger.typed_request import TypedStruct

SUBJECT = Account.from_key(b"\x11" * 32)
OTHER = Account.from_key(b"\x33" * 32)
RECIPIENT = "0x" + "44" * 20
CONTRACT = "0x" + "ab" * 20
NEVER = 2**64 - 1


def _grant(**changes: Any) -> DisclosureGrant:
    fields: dict[str, Any] = {
        "identity": SUBJECT.address,
        "discloser": Account.from_key(b"\x22" * 32).address,
        "recipient": Account.from_key(b"\x44" * 32).address,
        "purpose": code("dpv:ResearchAndDevelopment"),
        "category": code("dpv-pd:MedicalHealth"),
        "expiry": NEVER,
        "policy_version": 2**32 - 1,
        "policy_hash": code("policy text"),
        "nonce": 1_764_460_000_000,
        "deadline": 1_764_463_600,
    }
    return DisclosureGrant(**{**fields, **changes})


def _encode_type(struct: type[TypedStruct]) -> str:
    members = ",".join(f"{f['type']} {f['name']}" for f in struct.FIELDS)
    return f"{struct.PRIMARY_TYPE}({members})"


def test_the_struct_types_are_the_contracts(chain: Chain, suite: Deployment) -> None:
    ledger = suite.contract("ConsentLedger")
    grant = ledger.functions.DISCLOSURE_GRANT_TYPEHASH().call()
    withdrawal = ledger.functions.DISCLOSURE_WITHDRAWAL_TYPEHASH().call()
    assert grant == keccak(text=_encode_type(DisclosureGrant))
    assert withdrawal == keccak(text=_encode_type(DisclosureWithdrawal))


def test_round_trip_recovery_and_kind() -> None:
    signed = SignedDisclosureGrant.sign(
        SUBJECT, _grant(), chain_id=2**40, verifying_contract=CONTRACT
    )
    text = signed.to_json()
    data = json.loads(text)
    assert data["kind"] == "disclosure-grant"
    assert data["request"]["expiry"] == str(NEVER) and data["request"]["policy_version"] == str(
        2**32 - 1
    )
    assert SignedDisclosureGrant.from_json(text) == signed == load_signed_disclosure(text)
    assert signed.recover() == SUBJECT.address
    assert signed.call_args()[0] == _grant().as_tuple()
    withdrawal = DisclosureWithdrawal(*_grant().as_tuple()[:5], nonce=7, deadline=9)
    w = SignedDisclosureWithdrawal.sign(OTHER, withdrawal, chain_id=1, verifying_contract=CONTRACT)
    assert load_signed_disclosure(w.to_json()) == w and w.signer == OTHER.address
    with pytest.raises(SignatureError, match='"kind" must be "disclosure-grant"'):
        SignedDisclosureGrant.from_json(w.to_json())


def _damaged(change: Any) -> str:
    signed = SignedDisclosureGrant.sign(SUBJECT, _grant(), chain_id=1, verifying_contract=CONTRACT)
    data = json.loads(signed.to_json())
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["request"].update(nonce="1"), "does not match the signer"),
        (lambda d: d.update(signer=OTHER.address), "does not match the signer"),
        (lambda d: d.update(chainId="2"), "does not match the signer"),
        (lambda d: d["request"].update(expiry=str(2**64)), "request.expiry"),
        (lambda d: d["request"].update(policy_version=1.5), "request.policy_version"),
        (lambda d: d["request"].update(recipient="0x1234"), "request.recipient"),
        (lambda d: d["request"].update(purpose="0x12"), "request.purpose"),
        (lambda d: d["request"].pop("deadline"), "fields must be exactly"),
        (lambda d: d["request"].update(extra="1"), "fields must be exactly"),
        (lambda d: d.pop("signature"), "missing field 'signature'"),
        (lambda d: d["signature"].update(v=29), "v is 29"),
        (lambda d: d["signature"].update(r="0x" + "00" * 32), "r or s is zero"),
        (
            lambda d: d["signature"].update(s=hex(SECP256K1_N - int(d["signature"]["s"], 16))),
            "high s",
        ),
    ],
)
def test_damaged_requests_are_refused(change: Any, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        load_signed_disclosure(_damaged(change))


def test_not_json_is_refused_with_a_hint() -> None:
    with pytest.raises(SignatureError, match="not a signed disclosure") as refused:
        load_signed_disclosure("not json")
    assert "collective disclosure sign" in (refused.value.hint or "")


def test_a_signed_erasure_keeps_its_json() -> None:
    request = ErasureRequest(SUBJECT.address, RECIPIENT, 2**64 - 1)
    signed = sign_erasure(SUBJECT, request, chain_id=7, verifying_contract=CONTRACT)
    data = json.loads(signed.to_json())
    assert set(data) == {"kind", "request", "signature", "signer", "chainId", "verifyingContract"}
    assert data["kind"] == "erasure" and data["chainId"] == "7"
    assert data["request"] == {
        "identity": SUBJECT.address,
        "organization": to_checksum_address(RECIPIENT),
        "deadline": str(2**64 - 1),
    }
    assert SignedErasure.from_json(signed.to_json()) == signed
    with pytest.raises(SignatureError, match="not a signed erasure request"):
        SignedErasure.from_json(_damaged(lambda d: None))
