"""EIP-712 erasure requests (GDPR Art. 17) that a subject signs offline and anyone admitted relays.

The typed data matches ``ErasureRegistry.sol``: the ledger's domain ``{name: "Collective",
version: "2", chainId, verifyingContract}`` and the struct ``ErasureRequest(address identity,
address organization, uint64 deadline)``. There is no nonce: the ledger accepts one request per
(identity, organization), so a signature cannot be replayed on its chain and contract, and the
deadline bounds how long it can be relayed at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from collective.chain import jsonints
from collective.chain.addresses import parse_address
from collective.chain.jsonints import read_uint
from collective.errors import ConfigurationError, SignatureError
from collective.ledger.requests import DOMAIN_FIELDS, DOMAIN_NAME, DOMAIN_VERSION
from collective.ledger.signing import check_signature_encoding

ERASURE_FIELDS = [
    {"name": "identity", "type": "address"},
    {"name": "organization", "type": "address"},
    {"name": "deadline", "type": "uint64"},
]


@dataclass(frozen=True)
class ErasureRequest:
    """A subject identity's request that ``organization`` erase its data.

    ``identity`` and ``organization`` are checksummed addresses; ``deadline`` is the unix time
    (seconds) after which the signature can no longer be relayed."""

    identity: str
    organization: str
    deadline: int

    def as_tuple(self) -> tuple[str, str, int]:
        """The ``ErasureRequest`` struct, for ``requestErasureSigned``."""
        return (self.identity, self.organization, self.deadline)


def erasure_typed_data(
    request: ErasureRequest, *, chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    """The EIP-712 typed-data document of ``request`` (uints as decimal strings), as an
    external wallet signs it (``eth_signTypedData_v4``)."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, "ErasureRequest": ERASURE_FIELDS},
        "primaryType": "ErasureRequest",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": str(chain_id),
            "verifyingContract": to_checksum_address(verifying_contract),
        },
        "message": {
            "identity": to_checksum_address(request.identity),
            "organization": to_checksum_address(request.organization),
            "deadline": str(request.deadline),
        },
    }


@dataclass(frozen=True)
class SignedErasure:
    """An erasure request with its signature (v 27/28, low s), signer and domain."""

    request: ErasureRequest
    v: int
    r: bytes
    s: bytes
    signer: str
    chain_id: int
    verifying_contract: str

    def call_args(self) -> tuple[Any, ...]:
        """Arguments for ``requestErasureSigned``."""
        return (self.request.as_tuple(), self.v, self.r, self.s)

    def to_json(self) -> str:
        """JSON for the relayer (``kind`` "erasure"; integers as decimal strings)."""
        return json.dumps(
            {
                "kind": "erasure",
                "request": {
                    "identity": self.request.identity,
                    "organization": self.request.organization,
                    "deadline": str(self.request.deadline),
                },
                "signature": {"v": self.v, "r": "0x" + self.r.hex(), "s": "0x" + self.s.hex()},
                "signer": self.signer,
                "chainId": str(self.chain_id),
                "verifyingContract": self.verifying_contract,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> SignedErasure:
        """Parse :meth:`to_json` output, checking ranges, the signature's encoding (EIP-2 low
        s, v 27/28) and that it recovers to the named signer. Raises SignatureError."""
        try:
            data = jsonints.loads(text)
            if not isinstance(data, dict) or data.get("kind") != "erasure":
                raise ValueError('"kind" must be "erasure"')
            body, sig = data["request"], data["signature"]
            signed = cls(
                request=ErasureRequest(
                    parse_address(str(body["identity"]), "request.identity"),
                    parse_address(str(body["organization"]), "request.organization"),
                    read_uint(body["deadline"], "request.deadline", 64),
                ),
                v=read_uint(sig["v"], "signature.v", 8),
                r=_bytes32(sig["r"]),
                s=_bytes32(sig["s"]),
                signer=parse_address(str(data["signer"]), "signer"),
                chain_id=read_uint(data["chainId"], "chainId", 256),
                verifying_contract=parse_address(
                    str(data["verifyingContract"]), "verifyingContract"
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError, ConfigurationError) as exc:
            raise SignatureError(
                f"not a signed erasure request: {exc}",
                hint="expected the JSON written by `collective erasure request --sign-only`",
            ) from None
        check_signature_encoding(signed.v, signed.r, signed.s)
        document = erasure_typed_data(
            signed.request, chain_id=signed.chain_id, verifying_contract=signed.verifying_contract
        )
        recovered = Account.recover_message(
            encode_typed_data(full_message=document), vrs=(signed.v, signed.r, signed.s)
        )
        if recovered != signed.signer:
            raise SignatureError("the signature does not match the signer named in the request")
        return signed


def sign_erasure(
    account: LocalAccount, request: ErasureRequest, *, chain_id: int, verifying_contract: str
) -> SignedErasure:
    """Sign ``request`` (EIP-712) as ``account`` (the identity's owner or a ``sigAuth``
    delegate) for the ledger at ``verifying_contract`` on chain ``chain_id``."""
    document = erasure_typed_data(request, chain_id=chain_id, verifying_contract=verifying_contract)
    sig = account.sign_message(encode_typed_data(full_message=document))
    return SignedErasure(
        request=request,
        v=sig.v,
        r=sig.r.to_bytes(32, "big"),
        s=sig.s.to_bytes(32, "big"),
        signer=account.address,
        chain_id=chain_id,
        verifying_contract=to_checksum_address(verifying_contract),
    )


def _bytes32(value: object) -> bytes:
    text = str(value)
    raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    if len(raw) != 32:
        raise ValueError("a signature's r and s are 32 bytes")
    return raw
