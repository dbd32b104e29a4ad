"""ERC-1056 signed changes: an identity's owner signs a registry change, anyone relays it.

ERC-1056 (``EthereumDIDRegistry``) lets an owner with no ether authorize a change by a
signature over a raw digest (no EIP-191 text prefix, no EIP-712 typed data)::

    keccak256(0x19 || 0x00 || registry || nonce[identityOwner(identity)] || identity
              || action || fields...)

packed as Solidity's ``abi.encodePacked`` (addresses 20 bytes, uints 32 bytes, the action
name's UTF-8, bytes32 as is): for ``addDelegate`` the fields are ``delegateType, delegate,
validity``, for ``revokeDelegate`` ``delegateType, delegate``, for ``changeOwner``
``newOwner`` (``contracts/DIDRegistry.sol``). The nonce is the owner key's, bumped by every
signed change it makes, so a signature counts once.

The digest names the registry but no chain id: Collective deploys the ledger through
ChainBoundDeployer (CREATE2 salted with the chain id), so no two chains share a registry
address. :class:`SignedDelegateChange` still carries the chain id in its JSON so a relayer
can refuse a change meant for another chain before it asks any node.

A raw-hash signature cannot be made by an injected EIP-1193 wallet (wallets sign only
EIP-191 messages and EIP-712 typed data, and the registry accepts neither): a delegate change
is signed with a key the signer holds itself (``eth_account``; in the portal, the browser's
own key derived from the person's secret words).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from eth_abi.packed import encode_packed
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_typing import Hash32
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from collective.chain import jsonints
from collective.chain.addresses import parse_address
from collective.chain.jsonints import read_uint
from collective.did.registry import DEACTIVATED, bytes32
from collective.errors import (
    ConfigurationError,
    IdentityDeactivatedError,
    InvalidInputError,
    NotPermittedError,
    SignatureError,
)
from collective.ledger.signing import check_signature_encoding
from collective.types import Address

Action = Literal["addDelegate", "revokeDelegate"]
ACTIONS: Final[tuple[Action, ...]] = ("addDelegate", "revokeDelegate")
KIND: Final = "delegateChange"
"""The ``kind`` of a :class:`SignedDelegateChange`'s JSON."""

_PREFIX_TYPES = ["bytes1", "bytes1", "address", "uint256", "address", "string"]


def change_digest(
    registry: str, nonce: int, identity: str, action: str, fields: Sequence[tuple[str, Any]]
) -> bytes:
    """ERC-1056's signed-change digest (the module docstring's formula).

    Args:
        registry: the registry's address (``0x`` + 40 hex).
        nonce: ``nonce[identityOwner(identity)]`` in the registry now.
        identity: the identity changed.
        action: ``"addDelegate"``, ``"revokeDelegate"``, ``"changeOwner"``, ...
        fields: the action's arguments after ``identity`` as (Solidity type, value) pairs, e.g.
            ``[("bytes32", kind), ("address", delegate), ("uint256", validity)]``.

    Returns:
        The 32-byte digest the owner signs as is.
    """
    types = _PREFIX_TYPES + [kind for kind, _ in fields]
    values: list[Any] = [b"\x19", b"\x00", registry, nonce, identity, action]
    return keccak(encode_packed(types, values + [value for _, value in fields]))


def sign_digest(key: LocalAccount, digest: bytes) -> tuple[int, bytes, bytes]:
    """Sign a raw 32-byte digest (no EIP-191 prefix), as ERC-1056's ``*Signed`` functions
    expect.

    Returns:
        ``(v, r, s)``: v 27 or 28, r and s 32 bytes each, s low (EIP-2).
    """
    signature = key.unsafe_sign_hash(Hash32(digest))
    return signature.v, signature.r.to_bytes(32, "big"), signature.s.to_bytes(32, "big")


def recover_digest_signer(digest: bytes, v: int, r: bytes, s: bytes) -> Address:
    """The address whose key signed ``digest`` (as the registry's ``ecrecover`` finds it).

    Raises:
        SignatureError: v not 27/28, r or s out of range, a high s (EIP-2; the registry's
            ``_tryRecover`` refuses these), or no key recovers from it.
    """
    check_signature_encoding(v, r, s)
    vrs = (v - 27, int.from_bytes(r, "big"), int.from_bytes(s, "big"))
    try:
        public = Signature(vrs=vrs).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValueError):
        raise SignatureError("the signature recovers to no address") from None
    return Address(to_checksum_address(public.to_canonical_address()))


@dataclass(frozen=True)
class DelegateChange:
    """An ``addDelegate`` or ``revokeDelegate`` of one identity, ready to be signed.

    Attributes:
        action: ``"addDelegate"`` or ``"revokeDelegate"``.
        chain_id: the chain the registry is on (not in the digest; checked by relayers).
        registry: the ERC-1056 registry's address (the suite's ConsentLedger).
        identity: whose delegate.
        delegate_type: 32 bytes (``SIG_AUTH``: a guardian, who may sign consents).
        delegate: the delegate's address.
        nonce: the registry's ``nonce`` of the identity's current owner.
        validity: seconds from the relaying block's time (``addDelegate`` only, else None).
    """

    action: Action
    chain_id: int
    registry: Address
    identity: Address
    delegate_type: bytes
    delegate: Address
    nonce: int
    validity: int | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidInputError(f"action {self.action!r} is not one of {', '.join(ACTIONS)}")
        if (self.validity is None) != (self.action == "revokeDelegate"):
            raise InvalidInputError("addDelegate needs a validity, revokeDelegate takes none")
        if self.validity is not None and not 0 < self.validity < 2**256:
            raise InvalidInputError(f"validity {self.validity} is not a positive number of seconds")
        if len(self.delegate_type) != 32:
            raise InvalidInputError("a delegate type is 32 bytes")

    def fields(self) -> list[tuple[str, Any]]:
        """The action's signed arguments after ``identity`` ((type, value) pairs)."""
        fields: list[tuple[str, Any]] = [
            ("bytes32", self.delegate_type),
            ("address", self.delegate),
        ]
        if self.validity is not None:
            fields.append(("uint256", self.validity))
        return fields

    def digest(self) -> bytes:
        """The ERC-1056 digest the identity's owner signs (:func:`change_digest`)."""
        return change_digest(self.registry, self.nonce, self.identity, self.action, self.fields())

    def sign(self, key: LocalAccount) -> SignedDelegateChange:
        """Sign with ``key`` (it must be the identity's current owner for the registry to
        accept it). Returns the :class:`SignedDelegateChange`."""
        v, r, s = sign_digest(key, self.digest())
        return SignedDelegateChange(self, v, r, s, Address(key.address))


@dataclass(frozen=True)
class SignedDelegateChange:
    """A :class:`DelegateChange` with its owner's signature, as it travels to a relayer.

    JSON (:meth:`to_json`; integers as decimal strings, as JavaScript writes them)::

        {"kind": "delegateChange", "action": "addDelegate", "chainId": "31337",
         "registry": "0x..", "identity": "0x..", "delegateType": "sigAuth",
         "delegate": "0x..", "validity": "31536000", "nonce": "0", "signer": "0x..",
         "signature": {"v": 27, "r": "0x..", "s": "0x.."}}

    ``validity`` only for ``addDelegate``; ``delegateType`` is the type's name (at most 32
    bytes of UTF-8) or ``0x`` and 64 hex digits.
    """

    change: DelegateChange
    v: int
    r: bytes
    s: bytes
    signer: Address

    def to_json(self) -> str:
        """The JSON document above."""
        change = self.change
        kind = change.delegate_type.rstrip(b"\0")
        data: dict[str, Any] = {
            "kind": KIND,
            "action": change.action,
            "chainId": str(change.chain_id),
            "registry": change.registry,
            "identity": change.identity,
            "delegateType": kind.decode() if kind.isascii() else "0x" + change.delegate_type.hex(),
            "delegate": change.delegate,
            "nonce": str(change.nonce),
            "signer": self.signer,
            "signature": {"v": self.v, "r": "0x" + self.r.hex(), "s": "0x" + self.s.hex()},
        }
        if change.validity is not None:
            data["validity"] = str(change.validity)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> SignedDelegateChange:
        """Parse :meth:`to_json` output, checking every field and that the signature has the
        one encoding the registry accepts and recovers to ``signer`` over the digest of the
        named nonce.

        Raises:
            InvalidInputError: malformed (a field missing, of the wrong type or out of range).
            SignatureError: the signature is malformed or was not made by ``signer``.
        """
        try:
            data = jsonints.loads(text)
            if not isinstance(data, dict) or data.get("kind") != KIND:
                raise ValueError(f'"kind" must be "{KIND}"')
            action = data["action"]
            if action not in ACTIONS:
                raise ValueError(f'"action" must be one of {", ".join(ACTIONS)}')
            validity = data.get("validity")
            change = DelegateChange(
                action=action,
                chain_id=read_uint(data["chainId"], "chainId"),
                registry=_address(data["registry"], "registry"),
                identity=_address(data["identity"], "identity"),
                delegate_type=_delegate_type(data["delegateType"]),
                delegate=_address(data["delegate"], "delegate"),
                nonce=read_uint(data["nonce"], "nonce"),
                validity=None if validity is None else read_uint(validity, "validity"),
            )
            signature = data["signature"]
            if not isinstance(signature, dict):
                raise ValueError("signature must be an object with v, r and s")
            v = read_uint(_field(signature, "v", "signature."), "signature.v", 8)
            r = _word(_field(signature, "r", "signature."), "signature.r")
            s = _word(_field(signature, "s", "signature."), "signature.s")
            signer = _address(data["signer"], "signer")
        except KeyError as exc:
            raise InvalidInputError(
                f"not a signed delegate change: it has no field {exc.args[0]}",
                hint="sign the change again on the guardians page",
            ) from None
        except TypeError:  # a value of a type no check above expected: no Python words
            raise InvalidInputError(
                "not a signed delegate change: a field has the wrong type",
                hint="sign the change again on the guardians page",
            ) from None
        except (ValueError, ConfigurationError) as exc:
            why = _message(exc)
            raise InvalidInputError(
                f"not a signed delegate change: {why}",
                hint="sign the change again on the guardians page",
            ) from None
        if recover_digest_signer(change.digest(), v, r, s) != signer:
            raise SignatureError(
                f"the signature was not made by {signer}, the signer the change names",
                hint="sign the change again",
            )
        return cls(change, v, r, s, signer)


def check_relayable(
    signed: SignedDelegateChange, *, chain_id: int, registry: str, owner: str, nonce: int
) -> None:
    """Refuse, before any gas is spent, a signed change the registry would refuse (or, for
    another chain, must not see).

    Args:
        signed: the signed change.
        chain_id, registry: the relayer's chain and registry address.
        owner: ``identityOwner(identity)`` now (``DEACTIVATED`` once deactivated).
        nonce: the registry's ``nonce[owner]`` now.

    Raises:
        InvalidInputError: signed for another chain or registry.
        IdentityDeactivatedError: the identity was deactivated (nothing acts for it).
        NotPermittedError: the signer is not the identity's owner (``NotIdentityOwner``, as
            the registry would refuse it).
        SignatureError: the change was signed at another nonce (relayed already, or another
            change came first: the registry would recover some other address from the
            digest).
    """
    change = signed.change
    if change.chain_id != chain_id or change.registry.lower() != registry.lower():
        raise InvalidInputError(
            f"the change was signed for registry {change.registry} on chain {change.chain_id}, "
            f"not this ledger's registry {registry} on chain {chain_id}",
            hint="sign it again for this ledger",
        )
    if owner.lower() == DEACTIVATED.lower():
        raise IdentityDeactivatedError(
            f"identity {change.identity} is deactivated: nobody can appoint or revoke its "
            "delegates",
            error_name="IdentityDeactivated",
        )
    if owner.lower() != signed.signer.lower():
        raise NotPermittedError(
            f"{signed.signer} signed this change, but identity {change.identity} is owned by "
            f"{owner}: only the owner's key can appoint or revoke its delegates",
            hint="sign with the key that owns the identity now",
            error_name="NotIdentityOwner",
        )
    if change.nonce != nonce:
        raise SignatureError(
            f"the change was signed at registry nonce {change.nonce}, but the owner's nonce "
            f"is {nonce} now: it was relayed already, or another signed change came first",
            hint="read the nonce again and sign the change again",
        )


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, ConfigurationError) else str(exc)


def _address(value: Any, name: str) -> Address:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return Address(parse_address(value, name))


def _field(data: dict[str, Any], key: str, prefix: str) -> Any:
    if key not in data:
        raise KeyError(prefix + key)
    return data[key]


_WORD = re.compile(r"0x[0-9a-fA-F]{64}")


def _word(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise ValueError(f"{name} must be 0x and 64 hex digits")
    return bytes.fromhex(value[2:])


def _delegate_type(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("delegateType must be a string")
    if value.startswith("0x") and len(value) == 66:
        return _word(value, "delegateType")
    return bytes32(value, "delegate type")


__all__ = [
    "ACTIONS",
    "KIND",
    "Action",
    "DelegateChange",
    "SignedDelegateChange",
    "change_digest",
    "check_relayable",
    "recover_digest_signer",
    "sign_digest",
]
