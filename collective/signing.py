"""EIP-712 consent requests that a data subject signs offline and anyone admitted relays.

The typed data matches ``ConsentRegistry.sol``: domain ``{name: "Collective", version: "1",
chainId, verifyingContract}`` and the ``Grant`` / ``Withdrawal`` structs. Each request quotes
the consent's current nonce and a deadline, so a signature is valid once, before its deadline,
on one chain, for one contract.

A signed request serializes to JSON (:meth:`SignedRequest.to_json`) so it can travel from the
subject's device to the relaying organization.
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

from collective.errors import ConsentError

DOMAIN_NAME = "Collective"
DOMAIN_VERSION = "1"
NO_EXPIRY = 2**64 - 1

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
    {"name": "nonce", "type": "uint32"},
    {"name": "deadline", "type": "uint64"},
]
WITHDRAWAL_FIELDS = [
    *_KEY_FIELDS,
    {"name": "nonce", "type": "uint32"},
    {"name": "deadline", "type": "uint64"},
]


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
            attr = "policy_version" if spec["name"] == "policyVersion" else spec["name"]
            value = getattr(self, attr)
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
        body = asdict(self.request)
        for key in ("purpose", "category"):
            body[key] = "0x" + body[key].hex()
        return json.dumps(
            {
                "kind": self.kind,
                "request": body,
                "signature": {"v": self.v, "r": "0x" + self.r.hex(), "s": "0x" + self.s.hex()},
                "signer": self.signer,
                "chainId": self.chain_id,
                "verifyingContract": self.verifying_contract,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> SignedRequest:
        """Parse :meth:`to_json` output, checking that the signature matches its signer."""
        try:
            data = json.loads(text)
            body = dict(data["request"])
            for key in ("purpose", "category"):
                body[key] = bytes.fromhex(body[key].removeprefix("0x"))
            request: Request = (
                GrantRequest(**body) if data["kind"] == "grant" else WithdrawalRequest(**body)
            )
            sig = data["signature"]
            signed = cls(
                request=request,
                v=int(sig["v"]),
                r=bytes.fromhex(sig["r"].removeprefix("0x")),
                s=bytes.fromhex(sig["s"].removeprefix("0x")),
                signer=to_checksum_address(data["signer"]),
                chain_id=int(data["chainId"]),
                verifying_contract=to_checksum_address(data["verifyingContract"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConsentError(
                f"not a signed consent request: {exc}",
                hint="expected the JSON written by `collective consent sign`",
            ) from None
        if recover_signer(signed) != signed.signer:
            raise ConsentError("the signature does not match the signer named in the request")
        return signed


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
    "code",
    "recover_signer",
    "sign",
    "typed_data",
]
