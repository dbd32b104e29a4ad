"""The ERC-1056 registry (``EthereumDIDRegistry``): reading an identity's history, and the
owner, delegate and attribute writes.

:func:`change_log` reads ``changed(identity)`` and follows each event's ``previousChange``
link backwards, asking the node for the identity's logs of one block at a time, so reading a
history costs one ``eth_getLogs`` per block that changed the identity, however long the chain
(the pattern of ethr-did-resolver's ``changeLog()``).

The write helpers are sent by ``sender`` (the identity's current owner) through
:meth:`Chain.send_data <collective.chain.Chain.send_data>` and return the transaction receipt;
``gas`` defaults to the node's estimate. In a Collective deployment the registry lives at the
ConsentLedger's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.types import TxReceipt

from collective.build.artifacts import load_artifact
from collective.chain import Chain
from collective.chain.codec import Codec
from collective.did.identifiers import Did, checksummed
from collective.did.networks import identity_address
from collective.errors import ChainError, InvalidInputError, NotFoundError
from collective.types import Address

VERI_KEY: Final = b"veriKey".ljust(32, b"\0")
"""Delegate type of a key that may sign on the identity's behalf (an assertion method)."""
SIG_AUTH: Final = b"sigAuth".ljust(32, b"\0")
"""Delegate type of a key that may also authenticate as the identity (e.g. a guardian)."""

NULL_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
DEACTIVATED: Final = "0x000000000000000000000000000000000000dEaD"
"""What the registry's ``identityOwner`` returns for a deactivated identity (its
``DIDOwnerChanged`` event says the zero address, as did:ethr resolvers expect)."""

Registry = Contract | str
"""The registry: its address (``0x`` + 40 hex), or a web3 contract bound to the chain."""

EventName = Literal["DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged"]
EVENTS: Final[dict[bytes, tuple[EventName, list[str]]]] = {
    keccak(text="DIDOwnerChanged(address,address,uint256)"): (
        "DIDOwnerChanged",
        ["address", "uint256"],
    ),
    keccak(text="DIDDelegateChanged(address,bytes32,address,uint256,uint256)"): (
        "DIDDelegateChanged",
        ["bytes32", "address", "uint256", "uint256"],
    ),
    keccak(text="DIDAttributeChanged(address,bytes32,bytes,uint256,uint256)"): (
        "DIDAttributeChanged",
        ["bytes32", "bytes", "uint256", "uint256"],
    ),
}
"""ERC-1056's three events by topic0: (name, types of the data after the indexed identity)."""


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryEvent:
    """One ERC-1056 event of an identity, decoded.

    ``kind`` is the delegate type or attribute name, decoded from bytes32 as UTF-8 without
    trailing NULs; ``delegate`` and ``value`` are set for delegate and attribute events.
    ``valid_to`` is the entry's expiry in epoch seconds; ``previous_change`` the block of the
    identity's change before this one (0 for the first).
    """

    name: EventName
    block_number: int
    previous_change: int
    owner: Address | None = None
    kind: str | None = None
    delegate: Address | None = None
    value: bytes | None = None
    valid_to: int = 0


def change_log(chain: Chain, registry: Registry, identity: str | Did) -> list[RegistryEvent]:
    """Every registry event of ``identity``, oldest first, by following the changed links.

    Reads ``changed(identity)`` and then, per linked block, only that block's logs of this
    registry with the identity as first indexed topic (ERC-1056 "Efficient lookup of
    events"). Events whose bytes32 field is not UTF-8 (not did:ethr data) are left out but
    their links are followed, as ethr-did-resolver does.

    Args:
        chain: the chain the registry is on.
        registry: the registry's address or contract.
        identity: an address, or a DID anchored on ``chain``.

    Returns:
        The identity's events, oldest first (empty for an identity never changed).

    Raises:
        InvalidInputError: a malformed identity, or a DID of another network.
        NotFoundError: there is no contract at ``registry``.
        ChainError: the node failed, or returned no logs for a block the registry links
            (pruned logs).
    """
    address = identity_address(identity, chain)
    contract = registry_contract(chain, registry)
    try:
        previous = int(chain.call(contract.functions.changed(address)))
    except ChainError:
        if not chain.code_at(contract.address):
            raise NotFoundError(
                f"there is no registry contract at {contract.address} on {chain.where}",
                hint="use the ConsentLedger address of the deployment (it holds the registry)",
            ) from None
        raise
    topic = "0x" + bytes.fromhex(address[2:]).rjust(32, b"\0").hex()
    history: list[RegistryEvent] = []
    while previous:
        block = previous
        logs = chain.get_logs(
            {
                "address": contract.address,
                "topics": [["0x" + t.hex() for t in EVENTS], topic],
                "fromBlock": block,
                "toBlock": block,
            }
        )
        if not logs:
            raise ChainError(
                f"the registry says identity {address} changed in block {block}, but "
                f"{chain.where} returns no logs for it",
                hint="the node may have pruned old logs: use an archive node",
            )
        events: list[RegistryEvent] = []
        previous = 0
        for log in logs:
            event = decode_event(
                bytes(log["topics"][0]), bytes(log["data"]), int(log["blockNumber"])
            )
            if event is None:
                continue
            link = event.previous_change
            if 0 < link < block and (previous == 0 or link < previous):
                previous = link
            if event.name == "DIDOwnerChanged" or event.kind is not None:
                events.append(event)
        history[:0] = events
    return history


def decode_event(topic: bytes, data: bytes, block: int) -> RegistryEvent | None:
    """Decode one ERC-1056 log's topic0 and data, mined in block ``block``.

    Returns:
        The event, or None when ``topic`` is not an ERC-1056 event or the data does not
        decode. A delegate type or attribute name that is not UTF-8 gives ``kind`` None.
    """
    known = EVENTS.get(topic)
    if known is None:
        return None
    name, types = known
    try:
        values = abi.decode(types, data)
    except (DecodingError, ValueError, OverflowError):
        return None
    if name == "DIDOwnerChanged":
        owner, previous = values
        owner_address = Address(to_checksum_address(owner))
        return RegistryEvent(name, block, int(previous), owner=owner_address)
    raw_kind, subject, valid_to, previous = values
    # A bytes32 that is not UTF-8 marks an event that is not did:ethr data: keep only its link.
    kind = utf8(bytes(raw_kind))
    kind = kind.rstrip("\0") if kind is not None else None
    if name == "DIDDelegateChanged":
        delegate = Address(to_checksum_address(subject))
        return RegistryEvent(
            name, block, int(previous), kind=kind, delegate=delegate, valid_to=int(valid_to)
        )
    return RegistryEvent(
        name, block, int(previous), kind=kind, value=bytes(subject), valid_to=int(valid_to)
    )


def utf8(data: bytes) -> str | None:
    """``data`` decoded as UTF-8, or None when it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- the contract -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _registry_abi() -> tuple[dict[str, Any], ...]:
    return tuple(load_artifact("DIDRegistry").abi)


@lru_cache(maxsize=1)
def _codec() -> Codec:
    return Codec(_registry_abi())


def registry_address(registry: Registry) -> Address:
    """The registry's checksummed address.

    Raises:
        InvalidInputError: ``registry`` is text that is not an address.
    """
    if isinstance(registry, str):
        return checksummed(registry, "registry")
    return Address(to_checksum_address(registry.address))


def registry_contract(chain: Chain, registry: Registry) -> Contract:
    """``registry`` as a web3 contract bound to ``chain`` (for :meth:`Chain.call`).

    Raises:
        InvalidInputError: ``registry`` is text that is not an address.
    """
    if not isinstance(registry, str):
        return registry
    contract: Contract = chain.contract(_registry_abi(), registry_address(registry))
    return contract


def bytes32(value: str | bytes, what: str) -> bytes:
    """``value`` (text as UTF-8, or bytes) right-padded with NULs to 32 bytes.

    Raises:
        InvalidInputError: it is longer than 32 bytes.
    """
    raw = value.encode() if isinstance(value, str) else bytes(value)
    if len(raw) > 32:
        raise InvalidInputError(f"{what} {value!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def _seconds(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**256:
        raise InvalidInputError(f"{what} {value!r} is not a whole number of seconds (≥ 0)")
    return value


def _send(
    chain: Chain,
    registry: Registry,
    sender: LocalAccount,
    function: str,
    args: list[Any],
    gas: int | None,
) -> TxReceipt:
    """Send ``function(*args)`` to the registry from ``sender`` and wait for it to be mined."""
    data = _codec().encode(function, args)
    pending = chain.send_data(registry_address(registry), data, sender, what=function, gas=gas)
    return chain.wait(pending)


# --- writing ------------------------------------------------------------------------------------


def add_delegate(
    chain: Chain,
    registry: Registry,
    sender: LocalAccount,
    identity: str | Did,
    delegate_type: str | bytes,
    delegate: str,
    validity: int,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Make ``delegate`` a delegate of ``delegate_type`` for ``identity`` (ERC-1056
    ``addDelegate``).

    Args:
        chain, registry: where the registry is.
        sender: the identity's current owner, who signs and pays.
        identity: an address, or a DID anchored on ``chain``.
        delegate_type: :data:`VERI_KEY`, :data:`SIG_AUTH`, or up to 32 bytes / UTF-8 text.
        delegate: the delegate's address.
        validity: how long it lasts, in seconds from the block's time.
        gas: a gas limit; default the node's estimate.

    Returns:
        The transaction receipt.

    Raises:
        InvalidInputError: a malformed identity, delegate, type or validity, or a DID of
            another network.
        TransactionError: the registry refused it (e.g. ``sender`` is not the owner).
        ChainError: the node failed.
    """
    args = [
        identity_address(identity, chain),
        bytes32(delegate_type, "delegate type"),
        checksummed(delegate, "delegate"),
        _seconds(validity, "validity"),
    ]
    return _send(chain, registry, sender, "addDelegate", args, gas)


def revoke_delegate(
    chain: Chain,
    registry: Registry,
    sender: LocalAccount,
    identity: str | Did,
    delegate_type: str | bytes,
    delegate: str,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Revoke ``delegate`` of ``delegate_type`` now (ERC-1056 ``revokeDelegate``).

    Arguments, result and errors as for :func:`add_delegate`.
    """
    args = [
        identity_address(identity, chain),
        bytes32(delegate_type, "delegate type"),
        checksummed(delegate, "delegate"),
    ]
    return _send(chain, registry, sender, "revokeDelegate", args, gas)


def change_owner(
    chain: Chain,
    registry: Registry,
    sender: LocalAccount,
    identity: str | Did,
    new_owner: str,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Hand ``identity`` to ``new_owner`` (ERC-1056 ``changeOwner``); the zero address
    deactivates it for good.

    Arguments, result and errors as for :func:`add_delegate`; ``new_owner`` is an address.
    """
    args = [identity_address(identity, chain), checksummed(new_owner, "new owner")]
    return _send(chain, registry, sender, "changeOwner", args, gas)


def set_attribute(
    chain: Chain,
    registry: Registry,
    sender: LocalAccount,
    identity: str | Did,
    name: str | bytes,
    value: str | bytes,
    validity: int,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Publish attribute ``name`` (e.g. ``did/svc/HubService``) for ``validity`` seconds
    (ERC-1056 ``setAttribute``).

    A str ``value`` is stored as UTF-8 (a service endpoint); pass bytes for key material.
    Other arguments, result and errors as for :func:`add_delegate`; ``name`` is at most 32
    bytes.
    """
    args = [
        identity_address(identity, chain),
        bytes32(name, "attribute name"),
        value.encode() if isinstance(value, str) else bytes(value),
        _seconds(validity, "validity"),
    ]
    return _send(chain, registry, sender, "setAttribute", args, gas)


def revoke_attribute(
    chain: Chain,
    registry: Registry,
    sender: LocalAccount,
    identity: str | Did,
    name: str | bytes,
    value: str | bytes,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Revoke attribute ``name`` = ``value``, both as they were set (ERC-1056
    ``revokeAttribute``).

    Arguments, result and errors as for :func:`set_attribute`.
    """
    args = [
        identity_address(identity, chain),
        bytes32(name, "attribute name"),
        value.encode() if isinstance(value, str) else bytes(value),
    ]
    return _send(chain, registry, sender, "revokeAttribute", args, gas)


__all__ = [
    "DEACTIVATED",
    "SIG_AUTH",
    "VERI_KEY",
    "RegistryEvent",
    "add_delegate",
    "change_log",
    "change_owner",
    "revoke_attribute",
    "revoke_delegate",
    "set_attribute",
]
