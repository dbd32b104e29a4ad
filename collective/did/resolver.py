"""Resolving a did:ethr DID from the ERC-1056 registry (W3C DID Core §7.1 "DID Resolution").

:func:`resolve` reads the identity's history with :func:`~collective.did.registry.change_log`
and builds the document as ethr-did-resolver does
(:func:`~collective.did.conformance.wrap_did_document`); :func:`resolution` returns the
resolution result in did-resolver's JSON shape, ``unknownNetwork`` included.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from collective.chain import Chain
from collective.did.conformance import wrap_did_document
from collective.did.document import DidDocument
from collective.did.identifiers import Did
from collective.did.networks import (
    UNKNOWN_NETWORK,
    DidNetworks,
    network_id,
    networks_of,
    unknown_network_message,
)
from collective.did.registry import Registry, change_log


def resolve(
    chain: Chain,
    registry: Registry,
    did: str | Did,
    *,
    block: int | None = None,
    now: int | None = None,
    networks: DidNetworks | None = None,
) -> DidDocument:
    """Resolve ``did`` against the ERC-1056 ``registry`` on ``chain``.

    The document's ``id`` is ``did`` as given. ``block`` resolves the version as of that block
    (ethr-did-resolver's ``?versionId=``); changes after it only show as ``nextVersionId``.
    A delegate or attribute counts while its ``validTo >= now``. ``now`` defaults to the
    block's timestamp for ``block``, else to the later of this machine's clock (what
    ethr-did-resolver uses) and one second after the latest block, so that an entry revoked in
    the latest block (``validTo`` = that block's time) is gone at once, as the registry's
    ``validDelegate`` (``validTo > block.timestamp``) says.

    Args:
        chain: the chain the registry is on.
        registry: the registry's address (``0x`` + 40 hex) or contract.
        did: DID text or a parsed :class:`Did`, anchored on ``chain`` or without a network.
        block: a block number to resolve as of, or None for the latest.
        now: epoch seconds, see above.
        networks: the DID networks that name ``chain`` (default:
            ``DidNetworks.of(chain.chain_id, connected_as=chain.name)``, from
            hardhat.config.json).

    Returns:
        The :class:`DidDocument`.

    Raises:
        InvalidInputError: a malformed DID, one of another network (the ``unknownNetwork``
            of :func:`resolution`), or ``networks`` of another chain.
        NotFoundError: there is no registry contract at ``registry``, or no block ``block``.
        ChainError: the node failed.
    """
    parsed = networks_of(chain, networks).check(did)
    text = str(did)
    if now is None:
        if block is None:
            latest = _block_time(chain, "latest")
            now = max(int(time.time()), latest + 1)
        else:
            now = _block_time(chain, block)
    history = change_log(chain, registry, parsed.address)
    controller_key = None
    if parsed.public_key is not None:
        # ethr-did-resolver copies the key's hex from the DID as written.
        controller_key = text.rsplit(":", 1)[1][2:]
    return wrap_did_document(
        text,
        parsed.address,
        controller_key,
        history,
        chain.chain_id,
        block,
        now,
        lambda number: _block_time(chain, number),
    )


def resolution(
    chain: Chain,
    registry: Registry,
    did: str | Did,
    *,
    block: int | None = None,
    now: int | None = None,
    networks: DidNetworks | None = None,
) -> dict[str, Any]:
    """The DID resolution result of ``did`` in did-resolver's JSON shape, as
    ethr-did-resolver returns it: :meth:`DidDocument.resolution_result` when it resolves, and
    for a DID of a network that does not name ``chain`` (see :func:`resolve`)::

        {"didResolutionMetadata": {"error": "unknownNetwork", "message": "The DID resolver
         does not have a configuration for network: sepolia"},
         "didDocumentMetadata": {}, "didDocument": None}

    Arguments as for :func:`resolve`.

    Raises:
        InvalidInputError: a malformed DID, or ``networks`` of another chain.
        NotFoundError: there is no registry contract at ``registry``.
        ChainError: the node failed.
    """
    known = networks_of(chain, networks)
    if not known.accepts(did):
        network = network_id(did)
        assert network is not None
        return {
            "didResolutionMetadata": {
                "error": UNKNOWN_NETWORK,
                "message": unknown_network_message(network),
            },
            "didDocumentMetadata": {},
            "didDocument": None,
        }
    return resolve(chain, registry, did, block=block, now=now, networks=known).resolution_result()


def _block_time(chain: Chain, block: int | Literal["latest"]) -> int:
    """The timestamp (epoch seconds) of block ``block``."""
    return int(chain.get_block(block)["timestamp"])


__all__ = ["resolution", "resolve"]
