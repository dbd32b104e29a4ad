"""EIP-712 disclosure-consent requests that a subject signs offline and anyone admitted relays.

The typed data matches ``DisclosureLog.sol``: the ledger's domain and the structs

    DisclosureGrant(address identity,address discloser,address recipient,bytes32 purpose,
        bytes32 category,uint64 expiry,uint32 policyVersion,bytes32 policyHash,uint64 nonce,
        uint64 deadline)
    DisclosureWithdrawal(address identity,address discloser,address recipient,bytes32 purpose,
        bytes32 category,uint64 nonce,uint64 deadline)

A grant names the *recipient's* policy version and its content hash (the text saying what
the recipient does with the data). Nonces follow the use consent's rules
(:mod:`collective.ledger.signing`): at least the consent's stored nonce, the client signing
max(stored nonce, unix ms), so a later intent wins whatever order relayers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from collective.chain import jsonints
from collective.errors import SignatureError
from collective.ledger.typed_request import SignedStruct, TypedStruct

_KEY_FIELDS = [
    {"name": "identity", "type": "address"},
    {"name": "discloser", "type": "address"},
    {"name": "recipient", "type": "address"},
    {"name": "purpose", "type": "bytes32"},
    {"name": "category", "type": "bytes32"},
]
DISCLOSURE_GRANT_FIELDS = [
    *_KEY_FIELDS,
    {"name": "expiry", "type": "uint64"},
    {"name": "policyVersion", "type": "uint32"},
    {"name": "policyHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint64"},
    {"name": "deadline", "type": "uint64"},
]
DISCLOSURE_WITHDRAWAL_FIELDS = [
    *_KEY_FIELDS,
    {"name": "nonce", "type": "uint64"},
    {"name": "deadline", "type": "uint64"},
]
_ATTRS = {"policyVersion": "policy_version", "policyHash": "policy_hash"}
_WRITTEN_BY = "expected the JSON written by `collective disclosure sign`"


@dataclass(frozen=True)
class DisclosureGrant(TypedStruct):
    """The subject's consent that ``discloser`` pass ``category`` data to ``recipient`` for
    ``purpose`` (the EIP-712 ``DisclosureGrant``): addresses checksummed, ``purpose`` /
    ``category`` / ``policy_hash`` 32 bytes, ``expiry`` and ``deadline`` unix seconds
    (``expiry`` 2**64 - 1 for never), ``policy_version`` the recipient's, ``nonce`` unix-ms
    scale."""

    PRIMARY_TYPE: ClassVar[str] = "DisclosureGrant"
    FIELDS: ClassVar[list[dict[str, str]]] = DISCLOSURE_GRANT_FIELDS
    ATTRS: ClassVar[dict[str, str]] = _ATTRS

    identity: str
    discloser: str
    recipient: str
    purpose: bytes
    category: bytes
    expiry: int
    policy_version: int
    policy_hash: bytes
    nonce: int
    deadline: int


@dataclass(frozen=True)
class DisclosureWithdrawal(TypedStruct):
    """The subject's withdrawal of one disclosure consent (the EIP-712
    ``DisclosureWithdrawal``; fields as in :class:`DisclosureGrant`)."""

    PRIMARY_TYPE: ClassVar[str] = "DisclosureWithdrawal"
    FIELDS: ClassVar[list[dict[str, str]]] = DISCLOSURE_WITHDRAWAL_FIELDS

    identity: str
    discloser: str
    recipient: str
    purpose: bytes
    category: bytes
    nonce: int
    deadline: int


@dataclass(frozen=True)
class SignedDisclosureGrant(SignedStruct[DisclosureGrant]):
    """A signed :class:`DisclosureGrant` (JSON ``kind`` "disclosure-grant"), for
    ``grantDisclosureSigned``."""

    KIND: ClassVar[str] = "disclosure-grant"
    REQUEST: ClassVar[type[TypedStruct]] = DisclosureGrant
    WHAT: ClassVar[str] = "disclosure grant"
    WRITTEN_BY: ClassVar[str] = _WRITTEN_BY


@dataclass(frozen=True)
class SignedDisclosureWithdrawal(SignedStruct[DisclosureWithdrawal]):
    """A signed :class:`DisclosureWithdrawal` (JSON ``kind`` "disclosure-withdrawal"), for
    ``withdrawDisclosureSigned``."""

    KIND: ClassVar[str] = "disclosure-withdrawal"
    REQUEST: ClassVar[type[TypedStruct]] = DisclosureWithdrawal
    WHAT: ClassVar[str] = "disclosure withdrawal"
    WRITTEN_BY: ClassVar[str] = _WRITTEN_BY


SignedDisclosure = SignedDisclosureGrant | SignedDisclosureWithdrawal


def load_signed_disclosure(text: str) -> SignedDisclosure:
    """Parse a signed disclosure grant or withdrawal (by its ``kind``), checked as
    :meth:`~collective.ledger.typed_request.SignedStruct.from_json` does.

    Raises:
        SignatureError: not JSON, not a disclosure request, malformed, or not signed by
            the named signer.
    """
    try:
        data = jsonints.loads(text)
    except ValueError as e:
        raise SignatureError(
            f"not a signed disclosure request: the text is not JSON ({e})", hint=_WRITTEN_BY
        ) from None
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == SignedDisclosureWithdrawal.KIND:
        return SignedDisclosureWithdrawal.from_json(text)
    if kind == SignedDisclosureGrant.KIND:
        return SignedDisclosureGrant.from_json(text)
    raise SignatureError(
        'not a signed disclosure request: "kind" must be "disclosure-grant" or '
        '"disclosure-withdrawal"',
        hint=_WRITTEN_BY,
    )


__all__ = [
    "DISCLOSURE_GRANT_FIELDS",
    "DISCLOSURE_WITHDRAWAL_FIELDS",
    "DisclosureGrant",
    "DisclosureWithdrawal",
    "SignedDisclosure",
    "SignedDisclosureGrant",
    "SignedDisclosureWithdrawal",
    "load_signed_disclosure",
]
