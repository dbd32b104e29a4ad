"""EIP-712 consent requests that a data subject signs offline and anyone admitted relays.

The typed data matches ``ConsentRegistry.sol``: domain ``{name: "Collective", version: "2",
chainId, verifyingContract}`` and the ``Grant`` / ``Withdrawal`` structs. A grant names the
policy version *and its content hash*, so the signature binds the text the subject read, not
only its number. Each request carries a nonce (at least the consent's; the client uses
max(consent nonce, unix time in ms) so later intents carry larger nonces and win) and a
deadline, so a signature is valid once, before its deadline, on one chain, for one contract.

A signed request serializes to JSON (:meth:`SignedRequest.to_json`) so it can travel from the
subject's device to the relaying organization. :func:`typed_data` is the EIP-712 document an
external wallet signs (ethers.js ``signTypedData``, MetaMask ``eth_signTypedData_v4``), and
:meth:`SignedRequest.from_typed_data` joins that document with the wallet's signature. In both
documents every uint of the struct (expiry, policy version, nonce, deadline) and the chain id
are decimal strings whatever their value, as JavaScript cannot hold an integer past 2^53 as a
number (see :mod:`collective.chain.jsonints`); readers also take exact JSON integers and refuse
floats. Parsing refuses what the contract would refuse: a high-s signature (EIP-2) or v other
than 27/28.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from collective.chain import jsonints
from collective.chain.addresses import parse_address
from collective.chain.jsonints import read_uint
from collective.errors import ConfigurationError, ConsentError, SignatureError
from collective.ledger.requests import (
    ATTRS,
    DOMAIN_FIELDS,
    DOMAIN_NAME,
    DOMAIN_VERSION,
    GRANT_FIELDS,
    NO_EXPIRY,
    UINT64_MAX,
    WITHDRAWAL_FIELDS,
    GrantRequest,
    Request,
    WithdrawalRequest,
    code,
    typed_data,
    typed_data_json,
)

# secp256k1's group order; a signature's s must be at most half of it (EIP-2).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2
_BYTES_FIELDS = ("purpose", "category", "policy_hash")
_UINT_BITS = {"expiry": 64, "policy_version": 32, "nonce": 64, "deadline": 64}


@dataclass(frozen=True)
class SignedRequest:
    """A request with its signature, the signer's address and the domain it was signed for."""

    request: Request
    v: int
    r: bytes
    s: bytes
    signer: str
    chain_id: int
    verifying_contract: str

    @property
    def kind(self) -> Literal["grant", "withdrawal"]:
        """``"grant"`` or ``"withdrawal"``, by the request's type."""
        return "grant" if isinstance(self.request, GrantRequest) else "withdrawal"

    def call_args(self) -> tuple[Any, ...]:
        """Arguments for ``grantSigned`` / ``withdrawSigned``."""
        return (self.request.as_tuple(), self.v, self.r, self.s)

    def batch_item(self) -> tuple[Any, ...]:
        """One ``SignedGrant`` / ``SignedWithdrawal`` struct for the batch functions."""
        return self.call_args()

    def to_json(self) -> str:
        """JSON for the relayer; integers that can exceed 2^53 are decimal strings."""
        body: dict[str, Any] = asdict(self.request)
        for key, value in body.items():
            if isinstance(value, bytes):
                body[key] = "0x" + value.hex()
            elif isinstance(value, int):
                body[key] = str(value)
        return json.dumps(
            {
                "kind": self.kind,
                "request": body,
                "signature": {"v": self.v, "r": "0x" + self.r.hex(), "s": "0x" + self.s.hex()},
                "signer": self.signer,
                "chainId": str(self.chain_id),
                "verifyingContract": self.verifying_contract,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> SignedRequest:
        """Parse :meth:`to_json` output (integers as decimal strings or exact JSON integers),
        checking every field's range, that the signature has the one encoding the contract
        accepts (low s per EIP-2, v 27 or 28) and that it matches its signer.

        Raises SignatureError for a malformed or non-matching signature, ConsentError for
        anything else malformed."""
        try:
            data = jsonints.loads(text)
            if not isinstance(data, dict) or data.get("kind") not in ("grant", "withdrawal"):
                raise ValueError('"kind" must be "grant" or "withdrawal"')
            sig = read_object(data["signature"], "signature")
            signed = cls(
                request=_request(data["request"], grant=data["kind"] == "grant"),
                v=read_uint(sig["v"], "signature.v", 8),
                r=read_bytes32(sig["r"], "signature.r"),
                s=read_bytes32(sig["s"], "signature.s"),
                signer=parse_address(_text(data["signer"], "signer"), "signer"),
                chain_id=read_uint(data["chainId"], "chainId", 256),
                verifying_contract=parse_address(
                    _text(data["verifyingContract"], "verifyingContract"), "verifyingContract"
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError, ConfigurationError) as exc:
            raise ConsentError(
                f"not a signed consent request: {_why(exc)}",
                hint=_hint(exc, "expected the JSON written by `collective consent sign`"),
            ) from None
        check_signature_encoding(signed.v, signed.r, signed.s)
        if recover_signer(signed) != signed.signer:
            raise SignatureError("the signature does not match the signer named in the request")
        return signed

    @classmethod
    def from_typed_data(
        cls, document: str | Mapping[str, Any], signature: str | bytes
    ) -> SignedRequest:
        """A signed request from the :func:`typed_data` document an external wallet signed
        (as JSON text or parsed) and the 65-byte signature it returned (``0x`` r s v, v 27 or
        28: what ethers.js ``signTypedData`` and ``eth_signTypedData_v4`` give). The signer is
        the address the signature recovers to; relay the result as any signed request.

        The document must be this project's: domain name and version, the ``Grant`` or
        ``Withdrawal`` type field for field, and exactly its message fields; integers as
        decimal strings or exact JSON integers, never floats. Raises SignatureError for a
        malformed signature, ConsentError for a document that is not a consent request."""
        try:
            data = jsonints.loads(document) if isinstance(document, str) else document
            if not isinstance(data, Mapping):
                raise ValueError("the typed data must be a JSON object")
            primary = data.get("primaryType")
            if primary not in ("Grant", "Withdrawal"):
                raise ValueError('"primaryType" must be "Grant" or "Withdrawal"')
            grant = primary == "Grant"
            types = data["types"]
            if not isinstance(types, Mapping):
                raise ValueError('"types" must be an object')
            if types.get(primary) != (GRANT_FIELDS if grant else WITHDRAWAL_FIELDS):
                raise ValueError(f"types.{primary} is not this ledger's {primary} struct")
            if types.get("EIP712Domain", DOMAIN_FIELDS) != DOMAIN_FIELDS:
                raise ValueError("types.EIP712Domain is not this ledger's domain")
            domain = data["domain"]
            if not isinstance(domain, Mapping) or set(domain) != {f["name"] for f in DOMAIN_FIELDS}:
                raise ValueError(
                    "the domain must have exactly name, version, chainId and verifyingContract"
                )
            if (domain["name"], domain["version"]) != (DOMAIN_NAME, DOMAIN_VERSION):
                raise ValueError(
                    f"the domain is {domain['name']!r} version {domain['version']!r}, not "
                    f"{DOMAIN_NAME!r} version {DOMAIN_VERSION!r}"
                )
            message = data["message"]
            if not isinstance(message, Mapping):
                raise ValueError('"message" must be an object')
            request = _request({ATTRS.get(k, k): v for k, v in message.items()}, grant=grant)
            chain_id = read_uint(domain["chainId"], "domain.chainId", 256)
            verifying_contract = parse_address(
                _text(domain["verifyingContract"], "domain.verifyingContract"),
                "domain.verifyingContract",
            )
        except (KeyError, TypeError, ValueError, AttributeError, ConfigurationError) as exc:
            raise ConsentError(
                f"not the typed data of a consent request: {_why(exc)}",
                hint=_hint(
                    exc, "sign the document that collective.ledger.signing.typed_data() wrote"
                ),
            ) from None
        v, r, s = _split_signature(signature)
        check_signature_encoding(v, r, s)
        unsigned = cls(request, v, r, s, "0x" + "00" * 20, chain_id, verifying_contract)
        try:
            signer = recover_signer(unsigned)
        except ValueError as exc:  # eth_keys: no public key recovers from this signature
            raise SignatureError(f"the signature recovers no signer: {exc}") from None
        return replace(unsigned, signer=signer)


def _request(raw: Any, *, grant: bool) -> Request:
    """A request from its fields keyed by attribute name (``policy_version``), each checked:
    addresses, 0x bytes32 and uints in range (decimal strings or exact JSON integers)."""
    if not isinstance(raw, Mapping):
        raise ValueError('"request" must be an object')
    names = {
        ATTRS.get(f["name"], f["name"]) for f in (GRANT_FIELDS if grant else WITHDRAWAL_FIELDS)
    }
    if set(raw) != names:
        raise ValueError(f"the request's fields must be exactly {sorted(names)}")
    body: dict[str, Any] = {}
    for name, value in raw.items():
        if name in _BYTES_FIELDS:
            body[name] = read_bytes32(value, name)
        elif name in _UINT_BITS:
            body[name] = read_uint(value, name, _UINT_BITS[name])
        else:
            body[name] = parse_address(_text(value, name), name)
    return GrantRequest(**body) if grant else WithdrawalRequest(**body)


def _split_signature(signature: str | bytes) -> tuple[int, bytes, bytes]:
    """(v, r, s) of a 65-byte r || s || v signature, given as bytes or 0x hex."""
    raw = signature
    if isinstance(raw, str):
        text = raw.strip()
        try:
            raw = bytes.fromhex(text[2:]) if text.startswith("0x") else b""
        except ValueError:
            raw = b""
    if len(raw) != 65:
        raise SignatureError(
            "a signature must be 65 bytes, 0x and 130 hex digits (r, s, v)",
            hint="pass the string the wallet's signTypedData returned",
        )
    return raw[64], raw[:32], raw[32:64]


def check_signature_encoding(v: int, r: bytes, s: bytes) -> None:
    """Refuse a signature the contract refuses: v not 27/28, r or s zero or not below the
    group order, or s above half the order (the malleable high-s twin, EIP-2; the rule of
    OpenZeppelin's ECDSA and of ``DIDRegistry._tryRecover``). Raises SignatureError."""
    if v not in (27, 28):
        raise SignatureError(
            f"signature v is {v}, but only 27 or 28 is accepted",
            hint="sign again with a standard Ethereum signer (v 0/1 copies are refused)",
        )
    r_int, s_int = int.from_bytes(r, "big"), int.from_bytes(s, "big")
    if not 0 < r_int < SECP256K1_N or not 0 < s_int < SECP256K1_N:
        raise SignatureError("signature r or s is zero or not below the secp256k1 order")
    if s_int > SECP256K1_HALF_N:
        raise SignatureError(
            "the signature has a high s (the malleable twin of a valid signature, EIP-2)",
            hint="sign again; standard signers produce low-s signatures",
        )


def _why(exc: Exception) -> str:
    return why_malformed(exc)


def why_malformed(exc: Exception) -> str:
    """What is wrong with a signed request's JSON, in words, from the error its reading
    raised: a missing field's name, a reader's own sentence, never Python's wording of a
    type error (a field that holds another kind of JSON value than the one expected)."""
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    if isinstance(exc, (TypeError, AttributeError)):
        return "a field holds another kind of JSON value than expected (text, number, object)"
    return exc.message if isinstance(exc, ConfigurationError) else str(exc)


def _hint(exc: Exception, default: str) -> str:
    return (exc.hint if isinstance(exc, ConfigurationError) else None) or default


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def read_object(value: Any, name: str) -> Mapping[str, Any]:
    """``value`` when it is a JSON object. Raises: ValueError naming ``name`` otherwise."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a JSON object")
    return value


def read_bytes32(value: Any, name: str) -> bytes:
    """The 32 bytes ``value`` spells as 0x and 64 hex digits (the 0x may be left out).

    Raises: ValueError naming ``name`` for anything else (another type, length, a digit
    that is not hex)."""
    text = value.removeprefix("0x") if isinstance(value, str) else ""
    raw = b""
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
    if len(raw) != 32:
        raise ValueError(f"{name} must be 0x and 64 hex digits (32 bytes)")
    return raw


def sign(
    account: LocalAccount, request: Request, *, chain_id: int, verifying_contract: str
) -> SignedRequest:
    """Sign ``request`` for the ledger at ``verifying_contract`` on chain ``chain_id``
    (EIP-712 ``signTypedData`` over :func:`typed_data`).

    Args:
        account: the signer (the identity's owner or a delegate).
        request: the grant or withdrawal.
        chain_id: the chain's id; verifying_contract: the ConsentLedger's address.

    Returns:
        The :class:`SignedRequest` (v 27/28, low s).
    """
    document = typed_data(request, chain_id=chain_id, verifying_contract=verifying_contract)
    sig = account.sign_message(encode_typed_data(full_message=document))
    return SignedRequest(
        request=request,
        v=sig.v,
        r=sig.r.to_bytes(32, "big"),
        s=sig.s.to_bytes(32, "big"),
        signer=account.address,
        chain_id=chain_id,
        verifying_contract=to_checksum_address(verifying_contract),
    )


def recover_signer(signed: SignedRequest) -> str:
    """The address that produced ``signed``'s signature (EIP-712 digest, ECDSA recovery).

    Raises:
        ValueError: no public key recovers from the signature (eth-keys).
    """
    document = typed_data(
        signed.request, chain_id=signed.chain_id, verifying_contract=signed.verifying_contract
    )
    vrs = (signed.v, int.from_bytes(signed.r, "big"), int.from_bytes(signed.s, "big"))
    address: str = Account.recover_message(encode_typed_data(full_message=document), vrs=vrs)
    return address


__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "GRANT_FIELDS",
    "NO_EXPIRY",
    "SECP256K1_HALF_N",
    "SECP256K1_N",
    "UINT64_MAX",
    "WITHDRAWAL_FIELDS",
    "GrantRequest",
    "Request",
    "SignedRequest",
    "WithdrawalRequest",
    "check_signature_encoding",
    "code",
    "recover_signer",
    "sign",
    "typed_data",
    "typed_data_json",
]
