"""A signed request's JSON with a field of another JSON type, or a hex field with a digit
that is not hex, is refused in words naming the field (the portal's relay endpoint answers
with this message): never in Python's wording of a type or hex error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account

from collective.errors import ConsentError, SignatureError
from collective.ledger.disclosure_request import DisclosureWithdrawal, SignedDisclosureWithdrawal
from collective.ledger.requests import WithdrawalRequest
from collective.ledger.signing import SignedRequest, code, sign

LEDGER = "0x" + "11" * 20
ALICE = Account.from_key(b"\x01" * 32)
PYTHON_WORDS = ("object is not", "fromhex", "subscriptable", "NoneType", "has no attribute")


def _withdrawal() -> dict[str, Any]:
    request = WithdrawalRequest(
        ALICE.address, "0x" + "22" * 20, code("p"), code("c"), nonce=1, deadline=2**40
    )
    signed = sign(ALICE, request, chain_id=1, verifying_contract=LEDGER)
    parsed: dict[str, Any] = json.loads(signed.to_json())
    return parsed


def _disclosure() -> dict[str, Any]:
    request = DisclosureWithdrawal(
        ALICE.address, "0x" + "22" * 20, "0x" + "33" * 20, code("p"), code("c"),
        nonce=1, deadline=2**40,
    )  # fmt: skip
    signed = SignedDisclosureWithdrawal.sign(ALICE, request, chain_id=1, verifying_contract=LEDGER)
    parsed: dict[str, Any] = json.loads(signed.to_json())
    return parsed


BAD = [None, 7, "x", [], {"v": None}, True]
NOT_HEX = "0x" + "zz" * 32


@pytest.mark.parametrize("kind", ["consent", "disclosure"])
@pytest.mark.parametrize(
    "where",
    ["signature", "signature.r", "signature.s", "signature.v", "request", "request.purpose"],
)
def test_fields_of_the_wrong_kind_are_named_in_words(kind: str, where: str) -> None:
    parse = SignedRequest.from_json if kind == "consent" else SignedDisclosureWithdrawal.from_json
    for value in [*BAD, NOT_HEX]:
        data = _withdrawal() if kind == "consent" else _disclosure()
        holder, _, field = where.rpartition(".")
        (data[holder] if holder else data)[field] = value
        with pytest.raises((ConsentError, SignatureError)) as caught:
            parse(json.dumps(data))
        words = caught.value.message
        assert not any(w in words for w in PYTHON_WORDS), (where, value, words)
        assert field in words or "signature" in words, words  # names what was wrong


def test_the_untouched_documents_are_read() -> None:
    assert SignedRequest.from_json(json.dumps(_withdrawal())).signer == ALICE.address
    assert SignedDisclosureWithdrawal.from_json(json.dumps(_disclosure())).signer == ALICE.address
