"""EIP-712 erasure requests (GDPR Art. 17) that a subject signs offline and anyone admitted relays.

The typed data matches ``ErasureRegistry.sol``: the ledger's domain ``{name: "Collective",
version: "2", chainId, verifyingContract}`` and the struct ``ErasureRequest(address identity,
address organization, uint64 deadline)``. There is no nonce: the ledger accepts one request per
(identity, organization), so a signature cannot be replayed on its chain and contract, and the
deadline bounds how long it can be relayed at all. The envelope (JSON, checks) is
:class:`~collective.ledger.typed_request.SignedStruct`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from eth_account.signers.local import LocalAccount

from collective.ledger.typed_request import SignedStruct, TypedStruct

ERASURE_FIELDS = [
    {"name": "identity", "type": "address"},
    {"name": "organization", "type": "address"},
    {"name": "deadline", "type": "uint64"},
]


@dataclass(frozen=True)
class ErasureRequest(TypedStruct):
    """A subject identity's request that ``organization`` erase its data.

    ``identity`` and ``organization`` are checksummed addresses; ``deadline`` is the unix time
    (seconds) after which the signature can no longer be relayed."""

    PRIMARY_TYPE: ClassVar[str] = "ErasureRequest"
    FIELDS: ClassVar[list[dict[str, str]]] = ERASURE_FIELDS

    identity: str
    organization: str
    deadline: int


def erasure_typed_data(
    request: ErasureRequest, *, chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    """The EIP-712 typed-data document of ``request`` (uints as decimal strings), as an
    external wallet signs it (``eth_signTypedData_v4``)."""
    return request.typed_data(chain_id=chain_id, verifying_contract=verifying_contract)


@dataclass(frozen=True)
class SignedErasure(SignedStruct[ErasureRequest]):
    """An erasure request with its signature (v 27/28, low s), signer and domain; JSON
    ``kind`` "erasure", for ``requestErasureSigned``. :meth:`from_json` raises
    SignatureError for anything malformed or not signed by ``signer``."""

    KIND: ClassVar[str] = "erasure"
    REQUEST: ClassVar[type[TypedStruct]] = ErasureRequest
    WHAT: ClassVar[str] = "erasure request"
    WRITTEN_BY: ClassVar[str] = "expected the JSON written by `collective erasure request --sign`"


def sign_erasure(
    account: LocalAccount, request: ErasureRequest, *, chain_id: int, verifying_contract: str
) -> SignedErasure:
    """Sign ``request`` (EIP-712) as ``account`` (the identity's owner or a ``sigAuth``
    delegate) for the ledger at ``verifying_contract`` on chain ``chain_id``."""
    return SignedErasure.sign(
        account, request, chain_id=chain_id, verifying_contract=verifying_contract
    )


__all__ = [
    "ERASURE_FIELDS",
    "ErasureRequest",
    "SignedErasure",
    "erasure_typed_data",
    "sign_erasure",
]
