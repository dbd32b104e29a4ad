"""did:ethr networks: which DIDs name the connected chain.

A DID is only acted on, and only resolved, on the chain its network names: the chain id in
hex (``did:ethr:0x200cd:...``), a network name that ``hardhat.config.json`` gives the same
chain id, or no network part at all, which means the connected chain. Any other network is
refused, and :func:`~collective.did.resolution` answers ``unknownNetwork`` exactly as
ethr-did-resolver does for a network it has no configuration for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from collective.chain import Chain
from collective.chain.addresses import parse_address
from collective.config import ProjectConfig, load_config
from collective.did.identifiers import (
    HEX,
    KNOWN_NETWORKS,
    PREFIX,
    Did,
    checksummed,
    format_did,
    parse_did,
)
from collective.errors import ConfigurationError, InvalidInputError
from collective.types import Address

UNKNOWN_NETWORK: Final = "unknownNetwork"
"""The DID resolution error for a DID anchored on a network the resolver is not configured for."""


def network_id(did: str | Did) -> str | None:
    """The network part of ``did`` as written (``"sepolia"``, ``"0x7a69"``).

    This is the key ethr-did-resolver looks its configured networks up by, as text: it knows
    ``0x7a69`` for chain 31337, not ``0x7A69`` or ``0x07a69``. (It calls a DID without a
    network part "mainnet"; here such a DID means the connected chain.)

    Args:
        did: DID text or a parsed :class:`Did`.

    Returns:
        The network id, or None when the DID has no network part.

    Raises:
        InvalidInputError: ``did`` is text that is not a did:ethr DID.
    """
    if isinstance(did, Did):
        if did.network is not None:
            return did.network
        return None if did.chain_id is None else hex(did.chain_id)
    parse_did(did)
    return did[len(PREFIX) :].rpartition(":")[0] or None


def unknown_network_message(network: str) -> str:
    """ethr-did-resolver's message for a DID on a network it has no configuration for.

    Args:
        network: the DID's network part as written.
    """
    return f"The DID resolver does not have a configuration for network: {network}"


@dataclass(frozen=True)
class DidNetworks:
    """Which did:ethr networks name one chain: what a resolver configured for it accepts.

    ``ids`` are the network ids of chain ``chain_id`` (see :meth:`of`); ``names`` maps every
    other network name the configuration or :data:`KNOWN_NETWORKS` knows to its chain id, so
    that an error can say where a foreign DID lives.
    """

    chain_id: int
    ids: frozenset[str]
    names: dict[str, int] = field(default_factory=dict, compare=False)

    @classmethod
    def of(
        cls,
        chain_id: int,
        *,
        config: ProjectConfig | None = None,
        connected_as: str | None = None,
    ) -> DidNetworks:
        """The networks of chain ``chain_id``.

        - its chain id in hex as ethr-did-resolver keys it (``0x200cd``: lowercase, no
          leading zeros);
        - every network name ``config`` (default: hardhat.config.json) gives this chain id;
        - ``connected_as``, the configured network the chain was reached by, when the
          configuration gives that network no chain id (``local``);
        - the well-known name of this chain id (:data:`KNOWN_NETWORKS`), unless the
          configuration uses that name for a network of its own.

        Raises:
            ConfigurationError: hardhat.config.json could not be read (when ``config`` is None).
        """
        config = config if config is not None else load_config()
        ids = {hex(chain_id)}
        names = dict(KNOWN_NETWORKS)
        for name, net in config.networks.items():
            names.pop(name, None)
            if net.chain_id is not None:
                names[name] = net.chain_id
            elif name == connected_as:
                names[name] = chain_id
        ids.update(name for name, known in names.items() if known == chain_id)
        return cls(chain_id, frozenset(ids), names)

    def chain_of(self, network: str) -> int | None:
        """The chain id ``network`` (a DID's network part: a name or a hex id) names; None
        when it is unknown."""
        if network.startswith("0x"):
            return int(network, 16) if HEX.fullmatch(network[2:]) else None
        return self.names.get(network)

    def accepts(self, did: str | Did) -> bool:
        """Is ``did`` anchored on this chain (or without a network part)?

        Raises:
            InvalidInputError: ``did`` is malformed.
        """
        network = network_id(did)
        return network is None or network in self.ids

    def check(self, did: str | Did) -> Did:
        """``did`` parsed, when it is anchored on this chain (or has no network part).

        Raises:
            InvalidInputError: ``did`` is malformed, or names another network (the message
                names the DID, its network, this chain and the ``unknownNetwork`` error).
        """
        parsed = did if isinstance(did, Did) else parse_did(did)
        network = network_id(did)
        if network is None or network in self.ids:
            return parsed
        raise self.refusal(str(did), network, parsed.address)

    def refusal(self, did: str, network: str, address: str) -> InvalidInputError:
        """The error for ``did``, whose network ``network`` is not this chain.

        Args:
            did: the DID as given; network: its network part; address: the address it names.

        Returns:
            The error to raise, with a hint giving the address's DID on this chain.
        """
        elsewhere = self.chain_of(network)
        if elsewhere is None:
            where = "a network configured for no chain"
        elif elsewhere == self.chain_id:
            where = f"chain {elsewhere}, written {network} instead of {hex(elsewhere)}"
        else:
            where = f"chain {elsewhere}"
        ours = ", ".join(sorted(self.ids, key=lambda n: (not n.startswith("0x"), n)))
        return InvalidInputError(
            f"{did} is a DID of network {network} ({where}), but the connected chain is "
            f"{self.chain_id} (did:ethr networks {ours}); {UNKNOWN_NETWORK}: "
            f"{unknown_network_message(network)}",
            hint=f"act for that identity through a connection to its own network; on this "
            f"chain the address's DID is {format_did(address, self.chain_id)}",
        )


def networks_of(chain: Chain, networks: DidNetworks | None) -> DidNetworks:
    """``networks``, or the DID networks of ``chain`` from hardhat.config.json when None.

    Raises:
        InvalidInputError: ``networks`` are another chain's.
    """
    if networks is None:
        return DidNetworks.of(chain.chain_id, connected_as=chain.name)
    if networks.chain_id != chain.chain_id:
        raise InvalidInputError(
            f"the DID networks given are chain {networks.chain_id}'s, not {chain.where}'s "
            f"(chain {chain.chain_id})"
        )
    return networks


def identity_address(identity: str | Did, chain: Chain) -> Address:
    """The address of ``identity``: an address, or a DID anchored on ``chain``.

    A DID without a network part is taken as is; one with a network part must name ``chain``
    (:meth:`DidNetworks.check`).

    Raises:
        InvalidInputError: a malformed address or DID, or a DID of another network.
    """
    if isinstance(identity, Did) or (isinstance(identity, str) and identity.startswith("did:")):
        if network_id(identity) is None:
            parsed = parse_did(identity) if isinstance(identity, str) else identity
            return Address(parsed.address)
        checked = DidNetworks.of(chain.chain_id, connected_as=chain.name).check(identity)
        return Address(checked.address)
    return checksummed(identity, "identity")


@dataclass(frozen=True)
class ChainIdentity:
    """One identity on one chain: its did:ethr DID, its checksummed address and the chain
    id the DID names (see :func:`describe_identity`)."""

    did: str
    address: Address
    chain_id: int


def describe_identity(
    value: str, default_chain: Callable[[], int], *, config: ProjectConfig | None = None
) -> ChainIdentity:
    """An address's DID on a chain, or a DID's address and the chain it names.

    Args:
        value: ``0x`` + 40 hex (EIP-55 checked when in mixed case) or a did:ethr DID.
        default_chain: the chain id for an address, or for a DID without a network part
            (called only then, so a caller may ask a node lazily).
        config: the project configuration whose networks name chains (default:
            hardhat.config.json), for a DID with a network name.

    Returns:
        A :class:`ChainIdentity`; for a DID, ``did`` is the DID as given (stripped).

    Raises:
        InvalidInputError: neither an address nor a well-formed did:ethr DID.
        ConfigurationError: the DID's network names no chain the configuration or the
            well-known names know (or hardhat.config.json could not be read).
    """
    text = value.strip()
    if not text.startswith("did:"):
        address = Address(parse_address(text, "address"))
        chain_id = default_chain()
        return ChainIdentity(format_did(address, chain_id), address, chain_id)
    parsed = parse_did(text)
    network = network_id(text)
    if network is None:  # no network part: the chain the caller chose
        return ChainIdentity(text, parsed.address, default_chain())
    known = DidNetworks.of(1, config=config).chain_of(network)
    if known is None:
        raise ConfigurationError(
            f"{text} is a DID of network {network}, which names no chain here "
            f"({UNKNOWN_NETWORK}: {unknown_network_message(network)})",
            hint="give the network a chainId in hardhat.config.json, or write the "
            "chain id in hex (did:ethr:0x<chain id>:<address>)",
        )
    return ChainIdentity(text, parsed.address, known)


__all__ = [
    "UNKNOWN_NETWORK",
    "ChainIdentity",
    "DidNetworks",
    "describe_identity",
    "identity_address",
    "network_id",
    "networks_of",
    "unknown_network_message",
]
