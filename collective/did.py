"""did:ethr identifiers, and DID documents read from the ERC-1056 registry.

A did:ethr identity is an Ethereum address (or a compressed secp256k1 public key, which names
the address derived from it) on one chain::

    did:ethr:0xb9c5714089478a327f09197987f16f9e5d936e8a          mainnet (no network part)
    did:ethr:sepolia:0xb9c5714089478a327f09197987f16f9e5d936e8a  a network by name
    did:ethr:0x7a69:0xb9c5714089478a327f09197987f16f9e5d936e8a   a chain by hex id (31337)
    did:ethr:0x02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71  public key

:func:`resolve` builds the W3C DID Core document exactly as the reference resolver
(npm ``ethr-did-resolver``) does: it reads ``changed(identity)`` and follows each event's
``previousChange`` link backwards, asking the node for the identity's logs of one block at a
time, so resolving costs one ``eth_getLogs`` per block that changed the identity, however long
the chain. The write helpers wrap the registry's owner, delegate and attribute functions: each
is sent by ``sender`` (the identity's current owner) through :meth:`Chain.transact
<collective.chain.Chain.transact>` and returns the receipt; ``gas`` defaults to the node's
estimate.

A DID is only acted on, and only resolved, on the chain its network names
(:func:`check_network`): the chain id in hex (``did:ethr:0x200cd:...``), a network name
that ``hardhat.config.json`` gives the same chain id, or no network part at all, which means
the connected chain. Any other network is refused, and :func:`resolution` answers
``unknownNetwork`` exactly as ethr-did-resolver does for a network it has no configuration
for.

In a Collective deployment the registry lives at the ConsentLedger's address.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, Literal

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PublicKey
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.types import TxReceipt

from collective.addresses import checksum_mismatch, is_hex_address
from collective.artifacts import load_artifact
from collective.chain import Chain
from collective.config import ProjectConfig, load_config
from collective.errors import ChainError, ConfigurationError

VERI_KEY: Final = b"veriKey".ljust(32, b"\0")
"""Delegate type of a key that may sign on the identity's behalf (an assertion method)."""
SIG_AUTH: Final = b"sigAuth".ljust(32, b"\0")
"""Delegate type of a key that may also authenticate as the identity (e.g. a guardian)."""

NULL_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
DEACTIVATED: Final = "0x000000000000000000000000000000000000dEaD"
"""What the registry's ``identityOwner`` returns for a deactivated identity (its
``DIDOwnerChanged`` event says the zero address, as did:ethr resolvers expect)."""
UNKNOWN_NETWORK: Final = "unknownNetwork"
"""The DID resolution error for a DID anchored on a network the resolver is not configured for."""

DID_CONTEXT: Final = (
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
    "https://w3id.org/security/v3-unstable",
)
"""The ``@context`` of every document, as ethr-did-resolver writes it."""

KNOWN_NETWORKS: Final[dict[str, int]] = {
    "mainnet": 1,
    "goerli": 5,
    "gno": 100,
    "polygon": 137,
    "holesky": 17000,
    "sepolia": 11155111,
}
"""Chain ids of the network names did:ethr commonly uses (from ethr-did-resolver's list)."""

RECOVERY_METHOD: Final = "EcdsaSecp256k1RecoveryMethod2020"
VERIFICATION_KEY: Final = "EcdsaSecp256k1VerificationKey2019"

_PREFIX = "did:ethr:"
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_NETWORK = re.compile(r"[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)*", re.ASCII)
# JavaScript's \w and $ (no flags): ASCII word characters, end of input only.
_ATTRIBUTE = re.compile(r"did/(pub|svc)/(\w+)(/(\w+))?(/(\w+))?\Z", re.ASCII)
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_LEGACY_ATTR_TYPES = {
    "sigAuth": "SignatureAuthentication2018",
    "veriKey": "VerificationKey2018",
    "enc": "KeyAgreementKey2019",
}
_LEGACY_ALGOS = {
    "Secp256k1VerificationKey2018": VERIFICATION_KEY,
    "Ed25519SignatureAuthentication2018": "Ed25519VerificationKey2018",
    "Secp256k1SignatureAuthentication2018": VERIFICATION_KEY,
    "RSAVerificationKey2018": "RSAVerificationKey2018",
    "Ed25519VerificationKey2018": "Ed25519VerificationKey2018",
    "X25519KeyAgreementKey2019": "X25519KeyAgreementKey2019",
}

EventName = Literal["DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged"]
_EVENTS: dict[bytes, tuple[EventName, list[str]]] = {
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


# --- identifiers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Did:
    """A parsed did:ethr identifier.

    ``chain_id`` is known for a hex chain id and for the names in :data:`KNOWN_NETWORKS`;
    both are None for a DID without a network part, which by convention means mainnet and
    which :func:`resolve` resolves on whatever chain it is given. ``public_key`` is set for
    the public-key form; ``address`` is then the address derived from it.
    """

    network: str | None
    chain_id: int | None
    address: str
    public_key: bytes | None = None

    def __str__(self) -> str:
        identifier = "0x" + self.public_key.hex() if self.public_key else self.address
        if self.network is not None:
            return f"{_PREFIX}{self.network}:{identifier}"
        if self.chain_id is not None and self.chain_id != 1:
            return f"{_PREFIX}{hex(self.chain_id)}:{identifier}"
        return _PREFIX + identifier


def parse_did(text: str) -> Did:
    """Parse a did:ethr identifier; ConfigurationError says what is wrong with a bad one."""
    if not isinstance(text, str) or not text.startswith(_PREFIX):
        raise ConfigurationError(
            f"{text!r} is not a did:ethr DID", hint="expected did:ethr:[network:]0x<address>"
        )
    if any(mark in text for mark in "/?#"):
        raise ConfigurationError(
            f"{text!r} is a DID URL (path, query or fragment), not a DID",
            hint="drop everything from the first '/', '?' or '#'",
        )
    network_part, colon, identifier = text[len(_PREFIX) :].rpartition(":")
    if colon and not network_part:
        raise ConfigurationError(f"{text!r} has an empty network name (two colons in a row)")
    network, chain_id = _parse_network(network_part, text)
    if identifier[:2] != "0x" or not _HEX.fullmatch(identifier[2:]):
        raise ConfigurationError(
            f"{text!r} does not end in a 0x-prefixed address or public key",
            hint="expected 40 hex digits (an address) or 66 (a compressed public key)",
        )
    digits = identifier[2:]
    if len(digits) == 40:
        return Did(network, chain_id, _checksummed(identifier, f"the address in {text!r}"))
    if len(digits) == 66:
        public_key = bytes.fromhex(digits)
        return Did(network, chain_id, _address_of_key(public_key, text), public_key)
    raise ConfigurationError(
        f"{text!r} ends in {len(digits)} hex digits",
        hint="expected 40 (an address) or 66 (a compressed secp256k1 public key)",
    )


def format_did(address: str, chain_id: int | None = None) -> str:
    """The did:ethr of ``address`` on chain ``chain_id`` (no network part for mainnet or None).

    The chain is written as a hex chain id, as ethr-did-resolver names networks configured by
    chain id: ``format_did(a, 31337) == "did:ethr:0x7a69:" + a``.
    """
    if chain_id is not None and (
        isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0
    ):
        raise ConfigurationError(f"chain id {chain_id!r} is not a positive integer")
    return str(Did(None, chain_id, _checksummed(address, "address")))


def _parse_network(part: str, text: str) -> tuple[str | None, int | None]:
    if not part:
        return None, None
    if part.startswith("0x"):
        if not _HEX.fullmatch(part[2:]):
            raise ConfigurationError(
                f"{text!r} names chain {part!r}, which is not a hex chain id",
                hint="write the chain id in hex, e.g. 0x7a69 for 31337",
            )
        chain_id = int(part, 16)
        if chain_id == 0:
            raise ConfigurationError(f"{text!r} names chain id 0, which no chain has")
        return None, chain_id
    if not _NETWORK.fullmatch(part):
        raise ConfigurationError(
            f"{text!r} has a malformed network name {part!r}",
            hint="use letters, digits, '.', '_' or '-' (segments separated by ':')",
        )
    return part, KNOWN_NETWORKS.get(part)


def _checksummed(address: str, what: str) -> ChecksumAddress:
    """``address`` checksummed; ConfigurationError naming ``what`` if it is not an address or
    its mixed case is not its EIP-55 checksum (the rules of :mod:`collective.addresses`, in
    did.py's own words)."""
    if not is_hex_address(address):
        raise ConfigurationError(f"{what} {address!r} is not an address (0x and 40 hex digits)")
    if checksum_mismatch(address):
        raise ConfigurationError(
            f"{what} {address} has a wrong checksum (its mixed case does not match EIP-55)",
            hint=f"check it for a typo; checksummed it would read {to_checksum_address(address)}",
        )
    return to_checksum_address(address)


def _address_of_key(public_key: bytes, text: str) -> str:
    if public_key[0] not in (2, 3):
        raise ConfigurationError(
            f"{text!r} carries a 33-byte public key that is not compressed (02 or 03 prefix)"
        )
    try:
        return str(PublicKey.from_compressed_bytes(public_key).to_checksum_address())
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{text!r} carries a public key that is not on the secp256k1 curve"
        ) from None


def _identity_address(identity: str | Did, chain: Chain) -> str:
    """The identity's address; a DID must be anchored on ``chain`` (ConfigurationError)."""
    if isinstance(identity, Did) or (isinstance(identity, str) and identity.startswith("did:")):
        if network_id(identity) is None:
            return (
                parse_did(str(identity)).address if isinstance(identity, str) else identity.address
            )
        return DidNetworks.of(chain.chain_id, connected_as=chain.name).check(identity).address
    return _checksummed(identity, "identity")


# --- networks -----------------------------------------------------------------------------------


def network_id(did: str | Did) -> str | None:
    """The network part of ``did`` as written (``"sepolia"``, ``"0x7a69"``); None when it has
    none. ConfigurationError for a malformed DID.

    This is the key ethr-did-resolver looks its configured networks up by, as text: it knows
    ``0x7a69`` for chain 31337, not ``0x7A69`` or ``0x07a69``. (It calls a DID without a
    network part "mainnet"; here such a DID means the connected chain.)
    """
    if isinstance(did, Did):
        if did.network is not None:
            return did.network
        return None if did.chain_id is None else hex(did.chain_id)
    parse_did(did)
    return did[len(_PREFIX) :].rpartition(":")[0] or None


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
        """The networks of chain ``chain_id``:

        - its chain id in hex as ethr-did-resolver keys it (``0x200cd``: lowercase, no
          leading zeros);
        - every network name ``config`` (default: hardhat.config.json) gives this chain id;
        - ``connected_as``, the configured network the chain was reached by, when the
          configuration gives that network no chain id (``local``);
        - the well-known name of this chain id (:data:`KNOWN_NETWORKS`), unless the
          configuration uses that name for a network of its own.
        """
        config = config if config is not None else load_config()
        ids = {hex(chain_id)}
        names = {name: known for name, known in KNOWN_NETWORKS.items()}
        for name, net in config.networks.items():
            names.pop(name, None)
            if net.chain_id is not None:
                names[name] = net.chain_id
            elif name == connected_as:
                names[name] = chain_id
        ids.update(name for name, known in names.items() if known == chain_id)
        return cls(chain_id, frozenset(ids), names)

    def chain_of(self, network: str) -> int | None:
        """The chain id ``network`` (a DID's network part) names, None when unknown."""
        if network.startswith("0x"):
            return int(network, 16) if _HEX.fullmatch(network[2:]) else None
        return self.names.get(network)

    def accepts(self, did: str | Did) -> bool:
        """Is ``did`` anchored on this chain (or without a network part)?"""
        network = network_id(did)
        return network is None or network in self.ids

    def check(self, did: str | Did) -> Did:
        """``did`` parsed, when it is anchored on this chain (or has no network part).

        Raises ConfigurationError naming the DID, its network and this chain otherwise (and
        for a malformed DID)."""
        parsed = did if isinstance(did, Did) else parse_did(did)
        network = network_id(did)
        if network is None or network in self.ids:
            return parsed
        raise self.refusal(str(did), network, parsed.address)

    def refusal(self, did: str, network: str, address: str) -> ConfigurationError:
        """The error for ``did``, whose network ``network`` is not this chain."""
        elsewhere = self.chain_of(network)
        if elsewhere is None:
            where = "a network configured for no chain"
        elif elsewhere == self.chain_id:
            where = f"chain {elsewhere}, written {network} instead of {hex(elsewhere)}"
        else:
            where = f"chain {elsewhere}"
        ours = ", ".join(sorted(self.ids, key=lambda n: (not n.startswith("0x"), n)))
        return ConfigurationError(
            f"{did} is a DID of network {network} ({where}), but the connected chain is "
            f"{self.chain_id} (did:ethr networks {ours}); {UNKNOWN_NETWORK}: "
            f"{unknown_network_message(network)}",
            hint=f"act for that identity through a connection to its own network; on this "
            f"chain the address's DID is {format_did(address, self.chain_id)}",
        )


def unknown_network_message(network: str) -> str:
    """ethr-did-resolver's message for a DID on a network it has no configuration for."""
    return f"The DID resolver does not have a configuration for network: {network}"


# --- the registry's history ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryEvent:
    """One ERC-1056 event of an identity, decoded.

    ``kind`` is the delegate type or attribute name, decoded from bytes32 as UTF-8 without
    trailing NULs; ``delegate`` and ``value`` are set for delegate and attribute events.
    """

    name: EventName
    block_number: int
    previous_change: int
    owner: str | None = None
    kind: str | None = None
    delegate: str | None = None
    value: bytes | None = None
    valid_to: int = 0


def change_log(chain: Chain, registry: Contract | str, identity: str | Did) -> list[RegistryEvent]:
    """Every registry event of ``identity``, oldest first, by following the changed links.

    Reads ``changed(identity)`` and then, per linked block, only that block's logs of this
    registry with the identity as first indexed topic. Events whose bytes32 field is not
    UTF-8 (not did:ethr data) are left out but their links are followed, as ethr-did-resolver
    does.
    """
    address = _identity_address(identity, chain)
    contract = _contract(chain, registry)
    try:
        with chain.reading(f"reading changed({address})"):
            previous = int(contract.functions.changed(address).call())
    except ChainError:
        if not chain.code_at(contract.address):
            raise ConfigurationError(
                f"there is no registry contract at {contract.address} on {chain.where}",
                hint="use the ConsentLedger address of the deployment (it holds the registry)",
            ) from None
        raise
    topic = _hex(bytes.fromhex(address[2:]).rjust(32, b"\0"))
    history: list[RegistryEvent] = []
    while previous:
        block = previous
        with chain.reading(f"reading the logs of block {block}"):
            logs = chain.w3.eth.get_logs(
                {
                    "address": contract.address,
                    "topics": [[_hex(t) for t in _EVENTS], topic],
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
            event = _decode(bytes(log["topics"][0]), bytes(log["data"]), int(log["blockNumber"]))
            if event is None:
                continue
            link = event.previous_change
            if 0 < link < block and (previous == 0 or link < previous):
                previous = link
            if event.name == "DIDOwnerChanged" or event.kind is not None:
                events.append(event)
        history[:0] = events
    return history


def _decode(topic: bytes, data: bytes, block: int) -> RegistryEvent | None:
    known = _EVENTS.get(topic)
    if known is None:
        return None
    name, types = known
    try:
        values = abi.decode(types, data)
    except (DecodingError, ValueError, OverflowError):
        return None
    if name == "DIDOwnerChanged":
        owner, previous = values
        return RegistryEvent(name, block, int(previous), owner=to_checksum_address(owner))
    raw_kind, subject, valid_to, previous = values
    # A bytes32 that is not UTF-8 marks an event that is not did:ethr data: keep only its link.
    kind = _utf8(bytes(raw_kind))
    kind = kind.rstrip("\0") if kind is not None else None
    if name == "DIDDelegateChanged":
        delegate = to_checksum_address(subject)
        return RegistryEvent(
            name, block, int(previous), kind=kind, delegate=delegate, valid_to=int(valid_to)
        )
    return RegistryEvent(
        name, block, int(previous), kind=kind, value=bytes(subject), valid_to=int(valid_to)
    )


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- documents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DidDocument:
    """A resolved DID: the W3C DID Core document (JSON-LD) and its document metadata.

    Both dicts are exactly what ethr-did-resolver returns as ``didDocument`` and
    ``didDocumentMetadata`` (``versionId`` is the block number as a string, ``updated`` an
    ISO 8601 UTC time without fractions, ``deactivated`` present only when true).
    """

    document: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def id(self) -> str:
        """The DID the document describes."""
        return str(self.document["id"])

    @property
    def deactivated(self) -> bool:
        """True once the owner was changed to the zero address."""
        return bool(self.metadata.get("deactivated", False))

    @property
    def version_id(self) -> int | None:
        """Block of the latest change included, None for an identity never changed."""
        version = self.metadata.get("versionId")
        return int(version) if version is not None else None

    @property
    def updated(self) -> datetime | None:
        """Time of the latest change included."""
        updated = self.metadata.get("updated")
        return datetime.fromisoformat(updated) if updated else None

    @property
    def controller(self) -> str | None:
        """The address controlling the identity (its owner); None when deactivated."""
        for method in self.verification_methods:
            if method["id"] == f"{self.id}#controller":
                return _account_address(method)
        return None

    @property
    def verification_methods(self) -> list[dict[str, Any]]:
        """Every key: controller, delegates and ``did/pub`` keys."""
        return list(self.document.get("verificationMethod", []))

    @property
    def authentication(self) -> list[str]:
        """Ids of the keys that may authenticate as the identity."""
        return list(self.document.get("authentication", []))

    @property
    def assertion_methods(self) -> list[str]:
        """Ids of the keys that may sign on the identity's behalf."""
        return list(self.document.get("assertionMethod", []))

    @property
    def services(self) -> list[dict[str, Any]]:
        """The ``did/svc`` services."""
        return list(self.document.get("service", []))

    def accounts(
        self, relationship: Literal["authentication", "assertionMethod"] = "authentication"
    ) -> list[str]:
        """Addresses (blockchain accounts) of the keys listed under ``relationship``."""
        wanted = set(self.document.get(relationship, []))
        found = (_account_address(m) for m in self.verification_methods if m["id"] in wanted)
        return [address for address in found if address is not None]

    def resolution_result(self) -> dict[str, Any]:
        """The DID resolution result in did-resolver's JSON shape."""
        return {
            "didDocument": self.document,
            "didDocumentMetadata": self.metadata,
            "didResolutionMetadata": {"contentType": "application/did+ld+json"},
        }


def _account_address(method: dict[str, Any]) -> str | None:
    account = method.get("blockchainAccountId")
    return str(account).rsplit(":", 1)[1] if account else None


def resolve(
    chain: Chain,
    registry: Contract | str,
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

    ``networks`` are the DID networks that name ``chain`` (default:
    ``DidNetworks.of(chain.chain_id, connected_as=chain.name)``, from hardhat.config.json).
    Raises ConfigurationError for a malformed DID or one of another network (the
    ``unknownNetwork`` of :func:`resolution`), and ChainError when the node fails.
    """
    parsed = _networks_of(chain, networks).check(did)
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
    return _document(
        text, parsed.address, controller_key, history, chain.chain_id, block, now, chain
    )


def resolution(
    chain: Chain,
    registry: Contract | str,
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

    Raises ConfigurationError for a malformed DID and ChainError when the node fails.
    """
    known = _networks_of(chain, networks)
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


def _networks_of(chain: Chain, networks: DidNetworks | None) -> DidNetworks:
    if networks is None:
        return DidNetworks.of(chain.chain_id, connected_as=chain.name)
    if networks.chain_id != chain.chain_id:
        raise ConfigurationError(
            f"the DID networks given are chain {networks.chain_id}'s, not {chain.where}'s "
            f"(chain {chain.chain_id})"
        )
    return networks


def _document(
    did: str,
    address: str,
    controller_key: str | None,
    history: Sequence[RegistryEvent],
    chain_id: int,
    block: int | None,
    now: int,
    chain: Chain,
) -> DidDocument:
    """ethr-did-resolver's ``wrapDidDocument``, step for step."""
    controller = address
    authentication = [f"{did}#controller"]
    assertion = [f"{did}#controller"]
    version_id = 0
    next_version_id: int | None = None
    deactivated = False
    delegate_count = 0
    service_count = 0
    auth: dict[str, str] = {}
    key_agreement: dict[str, str] = {}
    signing: dict[str, str] = {}
    keys_by_event: dict[str, dict[str, Any]] = {}
    services: dict[str, dict[str, Any]] = {}

    for event in history:
        if block is not None and event.block_number > block:
            if next_version_id is None or event.block_number < next_version_id:
                next_version_id = event.block_number
            continue
        version_id = max(version_id, event.block_number)
        subject = (
            event.delegate if event.delegate is not None else "0x" + (event.value or b"").hex()
        )
        index = f"{event.name}-{event.kind or _js_or(event)}-{subject}"
        if event.valid_to and event.valid_to >= now:
            if event.name == "DIDDelegateChanged":
                delegate_count += 1
                ref = f"{did}#delegate-{delegate_count}"
                if event.kind in ("sigAuth", "veriKey"):
                    if event.kind == "sigAuth":
                        auth[index] = ref
                    keys_by_event[index] = {
                        "id": ref,
                        "type": RECOVERY_METHOD,
                        "controller": did,
                        "blockchainAccountId": f"eip155:{chain_id}:{event.delegate}",
                    }
                    signing[index] = ref
            elif event.name == "DIDAttributeChanged":
                match = _ATTRIBUTE.match(event.kind or "")
                if not match:
                    continue
                section, algorithm, purpose, encoding = match[1], match[2], match[4], match[6]
                value = event.value or b""
                if section == "pub":
                    delegate_count += 1
                    ref = f"{did}#delegate-{delegate_count}"
                    kind = _LEGACY_ATTR_TYPES.get(purpose, purpose) if purpose else "undefined"
                    key: dict[str, Any] = {
                        "id": ref,
                        "type": _LEGACY_ALGOS.get(algorithm + kind, algorithm),
                        "controller": did,
                    }
                    if encoding in (None, "hex"):
                        key["publicKeyHex"] = value.hex()
                    elif encoding == "base64":
                        key["publicKeyBase64"] = base64.b64encode(value).decode()
                    elif encoding == "base58":
                        key["publicKeyBase58"] = _base58(value)
                    elif encoding == "pem":
                        pem = _utf8(value)
                        if pem is None:
                            continue  # not did:ethr data; the number is used up all the same
                        key["publicKeyPem"] = pem
                    else:
                        key["value"] = value.hex()
                    keys_by_event[index] = key
                    if purpose == "sigAuth":
                        auth[index] = ref
                        signing[index] = ref
                    elif purpose == "enc":
                        key_agreement[index] = ref
                    else:
                        signing[index] = ref
                else:
                    service_count += 1
                    endpoint = _utf8(value)
                    if endpoint is None:
                        continue
                    services[index] = {
                        "id": f"{did}#service-{service_count}",
                        "type": algorithm,
                        "serviceEndpoint": _json_like_javascript(endpoint),
                    }
        elif event.name == "DIDOwnerChanged":
            controller = event.owner or NULL_ADDRESS
            if controller == NULL_ADDRESS:
                deactivated = True
                break
        else:
            name = event.kind or ""
            if event.name == "DIDDelegateChanged" or name.startswith("did/pub/"):
                delegate_count += 1
            elif name.startswith("did/svc/"):
                service_count += 1
            # Not key_agreement: ethr-did-resolver leaves a revoked key's id there, and so must we.
            for table in (auth, signing, keys_by_event, services):
                table.pop(index, None)

    base: dict[str, Any] = {
        "id": did,
        "verificationMethod": [],
        "authentication": [],
        "assertionMethod": [],
    }
    if deactivated:
        document = base
    else:
        methods: list[dict[str, Any]] = [
            {
                "id": f"{did}#controller",
                "type": RECOVERY_METHOD,
                "controller": did,
                "blockchainAccountId": f"eip155:{chain_id}:{controller}",
            }
        ]
        if controller_key is not None and controller == address:
            methods.append(
                {
                    "id": f"{did}#controllerKey",
                    "type": VERIFICATION_KEY,
                    "controller": did,
                    "publicKeyHex": controller_key,
                }
            )
            authentication.append(f"{did}#controllerKey")
            assertion.append(f"{did}#controllerKey")
        document = {
            **base,
            "verificationMethod": methods + list(keys_by_event.values()),
            "authentication": authentication + list(auth.values()),
            "assertionMethod": assertion + list(signing.values()),
        }
        if services:
            document["service"] = list(services.values())
        if key_agreement:
            document["keyAgreement"] = list(key_agreement.values())
    document["@context"] = list(DID_CONTEXT)

    metadata: dict[str, Any] = {"deactivated": True} if deactivated else {}
    if version_id:
        metadata["versionId"] = str(version_id)
        metadata["updated"] = _iso(_block_time(chain, version_id))
    if next_version_id is not None:
        metadata["nextVersionId"] = str(next_version_id)
        metadata["nextUpdate"] = _iso(_block_time(chain, next_version_id))
    return DidDocument(document=document, metadata=metadata)


def _js_or(event: RegistryEvent) -> str:
    """What ``delegateType || name`` gives in JavaScript when the first is empty."""
    return "undefined" if event.name == "DIDDelegateChanged" else ""


def _base58(data: bytes) -> str:
    """Bitcoin base58, as ethers' encodeBase58 writes it (one '1' per leading zero byte)."""
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, rest = divmod(number, 58)
        digits = _BASE58[rest] + digits
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + digits


def _json_like_javascript(text: str) -> Any:
    """``JSON.parse(text)``, falling back to the text itself, as ethr-did-resolver does."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def number(digits: str) -> int | float:
        value = int(digits)
        return value if abs(value) <= 2**53 else float(value)

    try:
        return json.loads(text, parse_constant=no_constants, parse_int=number)
    except (ValueError, RecursionError):
        return text


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _block_time(chain: Chain, block: int | Literal["latest"]) -> int:
    with chain.reading(f"reading block {block}"):
        return int(chain.w3.eth.get_block(block)["timestamp"])


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


# --- writing ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _registry_abi() -> tuple[dict[str, Any], ...]:
    return tuple(load_artifact("DIDRegistry").abi)


def _contract(chain: Chain, registry: Contract | str) -> Contract:
    if isinstance(registry, str):
        address = _checksummed(registry, "registry")
        return chain.w3.eth.contract(address=address, abi=list(_registry_abi()))
    return registry


def _bytes32(value: str | bytes, what: str) -> bytes:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    if len(raw) > 32:
        raise ConfigurationError(f"{what} {value!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def add_delegate(
    chain: Chain,
    registry: Contract | str,
    sender: LocalAccount,
    identity: str | Did,
    delegate_type: str | bytes,
    delegate: str,
    validity: int,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Make ``delegate`` a delegate of ``delegate_type`` (VERI_KEY, SIG_AUTH) for ``validity`` s."""
    fn = _contract(chain, registry).functions.addDelegate(
        _identity_address(identity, chain),
        _bytes32(delegate_type, "delegate type"),
        _checksummed(delegate, "delegate"),
        validity,
    )
    return chain.transact(fn, sender, gas=gas)


def revoke_delegate(
    chain: Chain,
    registry: Contract | str,
    sender: LocalAccount,
    identity: str | Did,
    delegate_type: str | bytes,
    delegate: str,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Revoke ``delegate`` of ``delegate_type`` now."""
    fn = _contract(chain, registry).functions.revokeDelegate(
        _identity_address(identity, chain),
        _bytes32(delegate_type, "delegate type"),
        _checksummed(delegate, "delegate"),
    )
    return chain.transact(fn, sender, gas=gas)


def change_owner(
    chain: Chain,
    registry: Contract | str,
    sender: LocalAccount,
    identity: str | Did,
    new_owner: str,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Hand ``identity`` to ``new_owner``; the zero address deactivates it for good."""
    fn = _contract(chain, registry).functions.changeOwner(
        _identity_address(identity, chain), _checksummed(new_owner, "new owner")
    )
    return chain.transact(fn, sender, gas=gas)


def set_attribute(
    chain: Chain,
    registry: Contract | str,
    sender: LocalAccount,
    identity: str | Did,
    name: str | bytes,
    value: str | bytes,
    validity: int,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Publish attribute ``name`` (e.g. ``did/svc/HubService``) for ``validity`` seconds.

    A str ``value`` is stored as UTF-8 (a service endpoint); pass bytes for key material.
    """
    fn = _contract(chain, registry).functions.setAttribute(
        _identity_address(identity, chain),
        _bytes32(name, "attribute name"),
        value.encode() if isinstance(value, str) else bytes(value),
        validity,
    )
    return chain.transact(fn, sender, gas=gas)


def revoke_attribute(
    chain: Chain,
    registry: Contract | str,
    sender: LocalAccount,
    identity: str | Did,
    name: str | bytes,
    value: str | bytes,
    *,
    gas: int | None = None,
) -> TxReceipt:
    """Revoke attribute ``name`` = ``value`` (both as they were set)."""
    fn = _contract(chain, registry).functions.revokeAttribute(
        _identity_address(identity, chain),
        _bytes32(name, "attribute name"),
        value.encode() if isinstance(value, str) else bytes(value),
    )
    return chain.transact(fn, sender, gas=gas)


__all__ = [
    "DEACTIVATED",
    "DID_CONTEXT",
    "KNOWN_NETWORKS",
    "SIG_AUTH",
    "UNKNOWN_NETWORK",
    "VERI_KEY",
    "Did",
    "DidDocument",
    "DidNetworks",
    "RegistryEvent",
    "add_delegate",
    "change_log",
    "change_owner",
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
