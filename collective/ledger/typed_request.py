"""An EIP-712 struct of the ledger's domain, and the envelope it travels in once signed.

Every request a subject signs offline for the ledger (an erasure request, a disclosure
grant or withdrawal) is one EIP-712 struct (EIP-712 "Definition of typed structured data 𝕊")
under the ledger's domain ``{name: "Collective", version: "2", chainId, verifyingContract}``.
A request type is a frozen dataclass deriving from :class:`TypedStruct` that names its
``PRIMARY_TYPE`` and ``FIELDS`` (the Solidity struct, in order); :class:`SignedStruct` holds
one with its signature (v 27/28, low s per EIP-2: what the contract's ``_tryRecover``
accepts) and serializes it to JSON for the relayer: ``kind``, the request under attribute
names (uints as decimal strings, bytes32 as ``0x`` hex, since JavaScript cannot hold an
integer past 2^53), the signature, the signer and the domain. Parsing checks every field's
range, the signature's encoding and that it recovers to the named signer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from collective.chain import jsonints
from collective.chain.addresses import parse_address
from collective.chain.jsonints import read_uint
from collective.errors import ConfigurationError, InvalidInputError, SignatureError
from collective.ledger.requests import DOMAIN_FIELDS, DOMAIN_NAME, DOMAIN_VERSION
from collective.ledger.signing import (
    check_signature_encoding,
    read_bytes32,
    read_object,
    why_malformed,
)


class TypedStruct:
    """Base of a frozen dataclass that is one EIP-712 struct of the ledger's domain.

    Subclasses set ``PRIMARY_TYPE`` (the struct's name), ``FIELDS`` (its members as EIP-712
    ``{"name", "type"}`` dicts, in the Solidity order) and, where a Python attribute is
    spelled differently from its member, ``ATTRS`` (member name -> attribute name). Members
    are ``address`` (checksummed text), ``bytes32`` (32 bytes) or ``uintN`` (int)."""

    PRIMARY_TYPE: ClassVar[str]
    FIELDS: ClassVar[list[dict[str, str]]]
    ATTRS: ClassVar[dict[str, str]] = {}

    @classmethod
    def attribute(cls, member: str) -> str:
        """The Python attribute holding struct member ``member``."""
        return cls.ATTRS.get(member, member)

    def as_tuple(self) -> tuple[Any, ...]:
        """The struct's values in member order, for a contract call (addresses checksummed)."""
        return tuple(
            to_checksum_address(value) if spec["type"] == "address" else value
            for spec, value in self._values()
        )

    def message(self) -> dict[str, Any]:
        """The EIP-712 ``message`` as JSON values, keyed by member name: addresses
        checksummed, bytes32 ``0x`` hex, uints decimal strings."""
        return {spec["name"]: _jsonable(spec["type"], value) for spec, value in self._values()}

    def body(self) -> dict[str, Any]:
        """:meth:`message` keyed by attribute name (the ``request`` of a signed envelope)."""
        return {self.attribute(k): v for k, v in self.message().items()}

    @classmethod
    def from_body(cls, raw: object) -> Self:
        """Parse a :meth:`body` (uints as decimal strings or exact JSON integers).

        Raises:
            ValueError: not an object, not exactly the struct's fields, or a value out of
                range (ConfigurationError, from the address and uint readers, likewise).
        """
        if not isinstance(raw, Mapping):
            raise ValueError('"request" must be an object')
        names = [cls.attribute(spec["name"]) for spec in cls.FIELDS]
        if set(raw) != set(names):
            raise ValueError(f"the request's fields must be exactly {sorted(names)}")
        values = {
            name: _read(spec["type"], raw[name], f"request.{name}")
            for spec, name in zip(cls.FIELDS, names, strict=True)
        }
        return cls(**values)

    def typed_data(self, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
        """The full EIP-712 typed-data document, as an external wallet signs it
        (``eth_signTypedData_v4``), for the ledger at ``verifying_contract`` on chain
        ``chain_id`` (the domain's chain id as a decimal string)."""
        return {
            "types": {"EIP712Domain": DOMAIN_FIELDS, self.PRIMARY_TYPE: self.FIELDS},
            "primaryType": self.PRIMARY_TYPE,
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": str(chain_id),
                "verifyingContract": to_checksum_address(verifying_contract),
            },
            "message": self.message(),
        }

    def _values(self) -> list[tuple[dict[str, str], Any]]:
        return [(spec, getattr(self, self.attribute(spec["name"]))) for spec in self.FIELDS]


R = TypeVar("R", bound=TypedStruct)


@dataclass(frozen=True)
class SignedStruct(Generic[R]):
    """A :class:`TypedStruct` request with its signature (v 27/28, low s), signer and domain.

    Subclasses set ``KIND`` (the JSON's ``kind``), ``REQUEST`` (the request class), ``WHAT``
    (what it is, for messages: ``"erasure request"``) and ``WRITTEN_BY`` (the hint naming
    what writes the JSON)."""

    KIND: ClassVar[str]
    REQUEST: ClassVar[type[TypedStruct]]
    WHAT: ClassVar[str]
    WRITTEN_BY: ClassVar[str]

    request: R
    v: int
    r: bytes
    s: bytes
    signer: str
    chain_id: int
    verifying_contract: str

    def require_domain(self, chain_id: int, ledger: str) -> None:
        """Refuse a request signed for another chain or ledger than ``chain_id`` and the
        (checksummed) ``ledger`` address, before a relay spends gas on it.

        Raises:
            InvalidInputError: naming both domains.
        """
        if (self.chain_id, self.verifying_contract) != (chain_id, ledger):
            raise InvalidInputError(
                f"the request was signed for ledger {self.verifying_contract} on chain "
                f"{self.chain_id}, not this one ({ledger}, chain {chain_id})",
                hint="sign it again against this deployment",
            )

    def call_args(self) -> tuple[Any, ...]:
        """Arguments for the contract's ``...Signed(struct, v, r, s)`` function."""
        return (self.request.as_tuple(), self.v, self.r, self.s)

    def typed_data(self) -> dict[str, Any]:
        """The EIP-712 document that was signed (see :meth:`TypedStruct.typed_data`)."""
        return self.request.typed_data(
            chain_id=self.chain_id, verifying_contract=self.verifying_contract
        )

    def recover(self) -> str:
        """The checksummed address that produced the signature.

        Raises:
            SignatureError: no public key recovers from it.
        """
        try:
            address: str = Account.recover_message(
                encode_typed_data(full_message=self.typed_data()), vrs=(self.v, self.r, self.s)
            )
        except ValueError as exc:  # eth_keys: no public key recovers from this signature
            raise SignatureError(f"the signature recovers no signer: {exc}") from None
        return address

    def to_json(self) -> str:
        """JSON for the relayer: ``kind``, ``request`` (attribute names; integers as decimal
        strings), ``signature`` {v, r, s}, ``signer``, ``chainId``, ``verifyingContract``."""
        return json.dumps(
            {
                "kind": self.KIND,
                "request": self.request.body(),
                "signature": {"v": self.v, "r": "0x" + self.r.hex(), "s": "0x" + self.s.hex()},
                "signer": self.signer,
                "chainId": str(self.chain_id),
                "verifyingContract": self.verifying_contract,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Parse :meth:`to_json` output, checking ranges, the signature's encoding (EIP-2 low
        s, v 27/28) and that it recovers to the named signer.

        Raises:
            SignatureError: malformed JSON, another ``kind``, a field out of range, a
                signature the contract would refuse, or one by someone else than ``signer``.
        """
        try:
            data = jsonints.loads(text)
            if not isinstance(data, dict) or data.get("kind") != cls.KIND:
                raise ValueError(f'"kind" must be "{cls.KIND}"')
            sig = read_object(data["signature"], "signature")
            signed = cls(
                request=cast(R, cls.REQUEST.from_body(data["request"])),
                v=read_uint(sig["v"], "signature.v", 8),
                r=read_bytes32(sig["r"], "signature.r"),
                s=read_bytes32(sig["s"], "signature.s"),
                signer=parse_address(str(data["signer"]), "signer"),
                chain_id=read_uint(data["chainId"], "chainId", 256),
                verifying_contract=parse_address(
                    str(data["verifyingContract"]), "verifyingContract"
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError, ConfigurationError) as exc:
            raise SignatureError(
                f"not a signed {cls.WHAT}: {why_malformed(exc)}", hint=cls.WRITTEN_BY
            ) from None
        check_signature_encoding(signed.v, signed.r, signed.s)
        if signed.recover() != signed.signer:
            raise SignatureError(f"the signature does not match the signer named in the {cls.WHAT}")
        return signed

    @classmethod
    def sign(
        cls, account: LocalAccount, request: R, *, chain_id: int, verifying_contract: str
    ) -> Self:
        """Sign ``request`` (EIP-712 ``signTypedData``) as ``account`` for the ledger at
        ``verifying_contract`` on chain ``chain_id``.

        Returns:
            The signed envelope (v 27/28; eth-account signs with low s).
        """
        document = request.typed_data(chain_id=chain_id, verifying_contract=verifying_contract)
        sig = account.sign_message(encode_typed_data(full_message=document))
        return cls(
            request=request,
            v=sig.v,
            r=sig.r.to_bytes(32, "big"),
            s=sig.s.to_bytes(32, "big"),
            signer=account.address,
            chain_id=chain_id,
            verifying_contract=to_checksum_address(verifying_contract),
        )


def _jsonable(kind: str, value: Any) -> Any:
    if kind == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if kind.startswith("uint"):
        return str(value)
    return value


def _read(kind: str, value: object, name: str) -> Any:
    if kind == "address":
        return parse_address(str(value), name)
    if kind == "bytes32":
        return read_bytes32(value, name)
    if kind.startswith("uint"):
        return read_uint(value, name, int(kind[4:]))
    raise TypeError(f"{name}: no reader for EIP-712 type {kind}")


__all__ = ["SignedStruct", "TypedStruct"]
