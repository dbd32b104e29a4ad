"""The ledger's EIP-712 consent requests and the typed-data documents a wallet signs.

The typed data matches ``ConsentRegistry.sol`` (EIP-712 "Definition of typed structured data
𝕊"): domain ``{name: "Collective", version: "2", chainId, verifyingContract}`` and the
``Grant`` / ``Withdrawal`` structs. A grant names the policy version *and its content hash*,
so the signature binds the text the subject read, not only its number. In the documents every
uint of the struct (expiry, policy version, nonce, deadline) and the chain id are decimal
strings whatever their value, as JavaScript cannot hold an integer past 2^53 as a number
(see :mod:`collective.chain.jsonints`).

Signing, recovering and the JSON a signed request travels in are
:mod:`collective.ledger.signing`'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from collective.types import NO_EXPIRY

DOMAIN_NAME = "Collective"
DOMAIN_VERSION = "2"
UINT64_MAX = 2**64 - 1

DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_KEY_FIELDS = [
    {"name": "identity", "type": "address"},
    {"name": "organization", "type": "address"},
    {"name": "purpose", "type": "bytes32"},
    {"name": "category", "type": "bytes32"},
]
GRANT_FIELDS = [
    *_KEY_FIELDS,
    {"name": "expiry", "type": "uint64"},
    {"name": "policyVersion", "type": "uint32"},
    {"name": "policyHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint64"},
    {"name": "deadline", "type": "uint64"},
]
WITHDRAWAL_FIELDS = [
    *_KEY_FIELDS,
    {"name": "nonce", "type": "uint64"},
    {"name": "deadline", "type": "uint64"},
]
ATTRS = {"policyVersion": "policy_version", "policyHash": "policy_hash"}
"""Struct field name -> Python attribute name, where they differ."""


def code(name: str) -> bytes:
    """The bytes32 code of a purpose or data category: keccak256 of its name (e.g. a DPV term).

    A 0x-prefixed 64-hex-digit string is taken as an already-hashed code. Unlike
    :func:`collective.ledger.vocab.term_code` it checks nothing: any text has a code.

    Returns:
        The 32-byte code.
    """
    if name.startswith("0x") and len(name) == 66:
        try:
            return bytes.fromhex(name[2:])
        except ValueError:
            pass
    return keccak(text=name)


class _TypedRequest:
    """Shared by the request structs: the EIP-712 message is the attributes under ``FIELDS``."""

    FIELDS: ClassVar[list[dict[str, str]]]

    def message(self) -> dict[str, Any]:
        """The EIP-712 ``message``: struct field name -> value, addresses checksummed."""
        message: dict[str, Any] = {}
        for spec in self.FIELDS:
            value = getattr(self, ATTRS.get(spec["name"], spec["name"]))
            message[spec["name"]] = (
                to_checksum_address(value) if spec["type"] == "address" else value
            )
        return message

    def as_tuple(self) -> tuple[Any, ...]:
        """The contract's ``Grant`` / ``Withdrawal`` struct for a call."""
        return tuple(self.message().values())


@dataclass(frozen=True)
class GrantRequest(_TypedRequest):
    """What a subject agrees to: ``organization`` may use ``category`` data for ``purpose``.

    The EIP-712 ``Grant`` struct: addresses as ``0x`` hex, ``purpose``/``category``/
    ``policy_hash`` 32 bytes, ``expiry`` and ``deadline`` epoch seconds (``expiry``
    :data:`NO_EXPIRY` for none, the contract's own spelling), ``nonce`` a uint64 at least the
    consent's (the client uses unix time in ms).
    """

    FIELDS: ClassVar[list[dict[str, str]]] = GRANT_FIELDS

    identity: str
    organization: str
    purpose: bytes
    category: bytes
    expiry: int
    policy_version: int
    policy_hash: bytes  # content hash of that policy version: the text agreed to
    nonce: int
    deadline: int


@dataclass(frozen=True)
class WithdrawalRequest(_TypedRequest):
    """A subject's withdrawal of one consent: the EIP-712 ``Withdrawal`` struct (fields as
    in :class:`GrantRequest`)."""

    FIELDS: ClassVar[list[dict[str, str]]] = WITHDRAWAL_FIELDS

    identity: str
    organization: str
    purpose: bytes
    category: bytes
    nonce: int
    deadline: int


Request = GrantRequest | WithdrawalRequest


def typed_data(request: Request, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The full EIP-712 typed-data document for ``request``, ready to be written as JSON for
    an external wallet: uints (and the domain's chain id) as decimal strings, bytes32 as 0x
    hex, addresses checksummed. ethers.js signs it with ``signTypedData(domain, types,
    message)`` once ``types.EIP712Domain`` is removed; ``eth_signTypedData_v4`` takes it whole.
    """
    grant = isinstance(request, GrantRequest)
    primary = "Grant" if grant else "Withdrawal"
    message: dict[str, Any] = {}
    for spec, value in zip(request.FIELDS, request.as_tuple(), strict=True):
        if isinstance(value, bytes):
            value = "0x" + value.hex()
        elif spec["type"].startswith("uint"):
            value = str(value)
        message[spec["name"]] = value
    return {
        "types": {
            "EIP712Domain": DOMAIN_FIELDS,
            primary: GRANT_FIELDS if grant else WITHDRAWAL_FIELDS,
        },
        "primaryType": primary,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": str(chain_id),
            "verifyingContract": to_checksum_address(verifying_contract),
        },
        "message": message,
    }


def typed_data_json(request: Request, *, chain_id: int, verifying_contract: str) -> str:
    """:func:`typed_data` as JSON text (every integer a decimal string)."""
    document = typed_data(request, chain_id=chain_id, verifying_contract=verifying_contract)
    return json.dumps(document, indent=2) + "\n"


__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "GRANT_FIELDS",
    "NO_EXPIRY",
    "UINT64_MAX",
    "WITHDRAWAL_FIELDS",
    "GrantRequest",
    "Request",
    "WithdrawalRequest",
    "code",
    "typed_data",
    "typed_data_json",
]
