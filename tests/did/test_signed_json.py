"""A signed delegate change's JSON, as any client may send it to a relayer: every malformed
field is refused with a sentence naming it (InvalidInputError), never Python's own words
("'NoneType' object is not subscriptable", "fromhex() arg"), whatever the value's JSON type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account

from collective.did import SIG_AUTH
from collective.did.signed import DelegateChange, SignedDelegateChange
from collective.errors import InvalidInputError, SignatureError
from collective.types import Address

PYTHON_WORDS = ("object is", "subscriptable", "indices", "fromhex", "NoneType", "'str'", "arg")
HOSTILE: list[Any] = [None, -1, 2**256, 1.5, True, "", "0x" + "zz" * 32, [], {}, "\u202e<b>"]


def _document() -> dict[str, Any]:
    owner, guardian = Account.create(), Account.create()
    change = DelegateChange(
        action="addDelegate",
        chain_id=31337,
        registry=Address("0x" + "11" * 20),
        identity=Address(owner.address),
        delegate_type=SIG_AUTH,
        delegate=Address(guardian.address),
        nonce=0,
        validity=86400,
    )
    document: dict[str, Any] = json.loads(change.sign(owner).to_json())
    assert SignedDelegateChange.from_json(json.dumps(document)).change == change
    return document


def _refusal(document: Any) -> str:
    with pytest.raises((InvalidInputError, SignatureError)) as caught:
        SignedDelegateChange.from_json(json.dumps(document))
    message = caught.value.message
    assert caught.value.hint, message
    return message


def test_every_malformed_field_is_named_in_words() -> None:
    document = _document()
    paths: list[tuple[str, ...]] = [(name,) for name in document if name != "signature"]
    paths += [("signature",), ("signature", "v"), ("signature", "r"), ("signature", "s")]
    for path in paths:
        for value in HOSTILE:
            changed = json.loads(json.dumps(document))
            target = changed
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            message = _refusal(changed)
            assert not any(words in message for words in PYTHON_WORDS), (path, value, message)


def test_missing_fields_and_bad_signature_objects_are_named() -> None:
    document = _document()
    for value in (None, "0x00", 7, [1, 2, 3]):
        assert "signature must be an object with v, r and s" in _refusal(
            {**document, "signature": value}
        )
    for name in ("v", "r", "s"):
        signature = {k: v for k, v in document["signature"].items() if k != name}
        assert f"it has no field signature.{name}" in _refusal({**document, "signature": signature})
    without = {k: v for k, v in document.items() if k != "delegate"}
    assert "it has no field delegate" in _refusal(without)
    assert "signature.r must be 0x and 64 hex digits" in _refusal(
        {**document, "signature": {**document["signature"], "r": "0x" + "g" * 64}}
    )
    assert "delegateType must be 0x and 64 hex digits" in _refusal(
        {**document, "delegateType": "0x" + "zz" * 32}
    )
