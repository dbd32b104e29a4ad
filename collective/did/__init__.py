"""did:ethr identifiers, and DID documents read from the ERC-1056 registry.

One concern per module:

=====================  ===========================================================================
``identifiers``        :class:`Did`, :func:`parse_did`, :func:`format_did` (pure, no chain)
``networks``           which did:ethr networks name the connected chain (:class:`DidNetworks`)
``registry``           ERC-1056 reads (:func:`change_log`) and writes (:func:`add_delegate`, ...)
``document``           :class:`DidDocument`, the W3C DID Core document and its metadata
``resolver``           :func:`resolve` and :func:`resolution`
``conformance``        the document built exactly as ethr-did-resolver builds it
=====================  ===========================================================================

A DID is only acted on, and only resolved, on the chain its network names
(:meth:`DidNetworks.check`). In a Collective deployment the registry lives at the
ConsentLedger's address. Every name importable from ``collective.did`` in 0.1 still is.
"""

from __future__ import annotations

from collective.did.conformance import DID_CONTEXT, RECOVERY_METHOD, VERIFICATION_KEY
from collective.did.document import DidDocument
from collective.did.identifiers import KNOWN_NETWORKS, Did, format_did, parse_did
from collective.did.identifiers import checksummed as _checksummed  # noqa: F401
from collective.did.networks import (
    UNKNOWN_NETWORK,
    ChainIdentity,
    DidNetworks,
    describe_identity,
    network_id,
    unknown_network_message,
)
from collective.did.networks import identity_address as _identity_address  # noqa: F401
from collective.did.registry import (
    DEACTIVATED,
    NULL_ADDRESS,
    SIG_AUTH,
    VERI_KEY,
    EventName,
    RegistryEvent,
    add_delegate,
    change_log,
    change_owner,
    revoke_attribute,
    revoke_delegate,
    set_attribute,
)
from collective.did.registry import bytes32 as _bytes32
from collective.did.resolver import resolution, resolve

__all__ = [
    "DEACTIVATED",
    "DID_CONTEXT",
    "KNOWN_NETWORKS",
    "NULL_ADDRESS",
    "RECOVERY_METHOD",
    "SIG_AUTH",
    "UNKNOWN_NETWORK",
    "VERIFICATION_KEY",
    "VERI_KEY",
    "ChainIdentity",
    "Did",
    "DidDocument",
    "DidNetworks",
    "EventName",
    "RegistryEvent",
    "_bytes32",  # 0.1's private name, still used by collective.client.did
    "add_delegate",
    "change_log",
    "change_owner",
    "describe_identity",
    "format_did",
    "network_id",
    "parse_did",
    "resolution",
    "resolve",
    "revoke_attribute",
    "revoke_delegate",
    "set_attribute",
    "unknown_network_message",
]
