"""EIP-712 consent requests that a data subject signs offline and anyone admitted relays.

The typed data matches ``ConsentRegistry.sol``: domain ``{name: "Collective", version: "2",
chainId, verifyingContract}`` and the ``Grant`` / ``Withdrawal`` structs. A grant names the
policy version *and its content hash*, so the signature binds the text the subject read, not
only its number. Each request carries a nonce (at least the consent's; the client uses
max(consent nonce, unix time in ms) so later intents carry larger nonces and win) and a
deadline, so a signature is valid once, before its deadline, on one chain, for one contract.

A signed request serializes to JSON (:meth:`SignedRequest.to_json`) so it can travel from the
subject's device to the relaying organization. Integers that can exceed 2^53 (expiry, nonce,
deadline, chain id) are written as decimal strings, as JavaScript cannot hold them as numbers.
Parsing refuses what the contract would refuse: a high-s signature (EIP-2) or v other than 27/28.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from collective.errors import ConsentError, SignatureError

DOMAIN_NAME = "Collective"
DOMAIN_VERSION = "2"
NO_EXPIRY = 2**64 - 1
UINT64_MAX = 2**64 - 1
# secp256k1's group order; a signature's s must be at most half of it (EIP-2).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2

_DOMAIN_FIELDS = [
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
_ATTRS = {"policyVersion": "policy_version", "policyHash": "policy_hash"}
_BYTES_FIELDS = ("purpose", "category", "policy_hash")
_UINT_BITS = {"expiry": 64, "policy_version": 32, "nonce": 64, "deadline": 64}


def code(name: str) -> bytes:
    """The bytes32 code of a purpose or data category: keccak256 of its name (e.g. a DPV term).

    A 0x-prefixed 64-hex-digit string is taken as an already-hashed code.
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
        message: dict[str, Any] = {}
        for spec in self.FIELDS:
            value = getattr(self, _ATTRS.get(spec["name"], spec["name"]))
            message[spec["name"]] = (
                to_checksum_address(value) if spec["type"] == "address" else value
            )
        return message

    def as_tuple(self) -> tuple[Any, ...]:
        """The contract's ``Grant`` / ``Withdrawal`` struct for a call."""
        return tuple(self.message().values())


@dataclass(frozen=True)
class GrantRequest(_TypedRequest):
    """What a subject agrees to: ``organization`` may use ``category`` data for ``purpose``."""

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
    """A subject's withdrawal of one consent."""

    FIELDS: ClassVar[list[dict[str, str]]] = WITHDRAWAL_FIELDS

    identity: str
    organization: str
    purpose: bytes
    category: bytes
    nonce: int
    deadline: int


Request = GrantRequest | WithdrawalRequest


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
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("kind") not in ("grant", "withdrawal"):
                raise ValueError('"kind" must be "grant" or "withdrawal"')
            grant = data["kind"] == "grant"
            fields = GRANT_FIELDS if grant else WITHDRAWAL_FIELDS
            raw = data["request"]
            if not isinstance(raw, dict):
                raise ValueError('"request" must be an object')
            names = {_ATTRS.get(f["name"], f["name"]) for f in fields}
            if set(raw) != names:
                raise ValueError(f"the request's fields must be exactly {sorted(names)}")
            body: dict[str, Any] = {}
            for name, value in raw.items():
                if name in _BYTES_FIELDS:
                    body[name] = _bytes32(value, name)
                elif name in _UINT_BITS:
                    body[name] = _uint(value, name, _UINT_BITS[name])
                else:
                    body[name] = to_checksum_address(_text(value, name))
            request: Request = GrantRequest(**body) if grant else WithdrawalRequest(**body)
            sig = data["signature"]
            signed = cls(
                request=request,
                v=_uint(sig["v"], "signature.v", 8),
                r=_bytes32(sig["r"], "signature.r"),
                s=_bytes32(sig["s"], "signature.s"),
                signer=to_checksum_address(_text(data["signer"], "signer")),
                chain_id=_uint(data["chainId"], "chainId", 256),
                verifying_contract=to_checksum_address(
                    _text(data["verifyingContract"], "verifyingContract")
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            missing = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ConsentError(
                f"not a signed consent request: {missing}",
                hint="expected the JSON written by `collective consent sign`",
            ) from None
        check_signature_encoding(signed.v, signed.r, signed.s)
        if recover_signer(signed) != signed.signer:
            raise SignatureError("the signature does not match the signer named in the request")
        return signed


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


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _uint(value: Any, name: str, bits: int) -> int:
    """An unsigned integer from a JSON integer or a decimal string (never a float: a number
    past 2^53 that went through JavaScript or jq has lost its low digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            f"{name} must be an integer or a decimal string, not {json.dumps(value)}"
            + (
                " (a number past 2^53 loses digits in JSON tools: write it as a string)"
                if isinstance(value, float)
                else ""
            )
        )
    if isinstance(value, str):
        if not value.isdigit() or not value.isascii() or (len(value) > 1 and value[0] == "0"):
            raise ValueError(f"{name} must be a decimal string of digits, not {value!r}")
        value = int(value)
    if not 0 <= value < 2**bits:
        raise ValueError(f"{name} {value} is out of range for uint{bits}")
    return value


def _bytes32(value: Any, name: str) -> bytes:
    text = _text(value, name)
    if not text.startswith("0x") or len(text) != 66:
        raise ValueError(f"{name} must be 0x and 64 hex digits")
    return bytes.fromhex(text[2:])


def typed_data(request: Request, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The full EIP-712 typed-data document for ``request``."""
    grant = isinstance(request, GrantRequest)
    primary = "Grant" if grant else "Withdrawal"
    return {
        "types": {
            "EIP712Domain": _DOMAIN_FIELDS,
            primary: GRANT_FIELDS if grant else WITHDRAWAL_FIELDS,
        },
        "primaryType": primary,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(verifying_contract),
        },
        "message": request.message(),
    }


def sign(
    account: LocalAccount, request: Request, *, chain_id: int, verifying_contract: str
) -> SignedRequest:
    """Sign ``request`` for the ledger at ``verifying_contract`` on chain ``chain_id``."""
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
    """The address that produced ``signed``'s signature."""
    document = typed_data(
        signed.request, chain_id=signed.chain_id, verifying_contract=signed.verifying_contract
    )
    vrs = (signed.v, int.from_bytes(signed.r, "big"), int.from_bytes(signed.s, "big"))
    address: str = Account.recover_message(encode_typed_data(full_message=document), vrs=vrs)
    return address


__all__ = [
    "NO_EXPIRY",
    "GrantRequest",
    "Request",
    "SignedRequest",
    "WithdrawalRequest",
    "check_signature_encoding",
    "code",
    "recover_signer",
    "sign",
    "typed_data",
]
