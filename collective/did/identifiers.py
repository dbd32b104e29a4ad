"""did:ethr identifiers: parsing, formatting and the address a DID names.

A did:ethr identity is an Ethereum address (or a compressed secp256k1 public key, which names
the address derived from it) on one chain (did:ethr method specification, "Method specific
identifier")::

    did:ethr:0xb9c5714089478a327f09197987f16f9e5d936e8a          mainnet (no network part)
    did:ethr:sepolia:0xb9c5714089478a327f09197987f16f9e5d936e8a  a network by name
    did:ethr:0x7a69:0xb9c5714089478a327f09197987f16f9e5d936e8a   a chain by hex id (31337)
    did:ethr:0x02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71  public key

Everything here is pure: no chain is asked. Which networks name the connected chain is
:mod:`collective.did.networks`' concern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from eth_keys.datatypes import PublicKey
from eth_utils.address import to_checksum_address

from collective.chain.addresses import checksum_mismatch, is_hex_address
from collective.errors import InvalidInputError
from collective.types import Address

PREFIX: Final = "did:ethr:"

KNOWN_NETWORKS: Final[dict[str, int]] = {
    "mainnet": 1,
    "goerli": 5,
    "gno": 100,
    "polygon": 137,
    "holesky": 17000,
    "sepolia": 11155111,
}
"""Chain ids of the network names did:ethr commonly uses (from ethr-did-resolver's list)."""

HEX: Final = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_NETWORK = re.compile(r"[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)*", re.ASCII)


@dataclass(frozen=True)
class Did:
    """A parsed did:ethr identifier.

    ``chain_id`` is known for a hex chain id and for the names in :data:`KNOWN_NETWORKS`;
    both are None for a DID without a network part, which by convention means mainnet and
    which :func:`~collective.did.resolve` resolves on whatever chain it is given.
    ``public_key`` (33 bytes, compressed secp256k1) is set for the public-key form;
    ``address`` is then the EIP-55 address derived from it.
    """

    network: str | None
    chain_id: int | None
    address: Address
    public_key: bytes | None = None

    def __str__(self) -> str:
        identifier = "0x" + self.public_key.hex() if self.public_key else self.address
        if self.network is not None:
            return f"{PREFIX}{self.network}:{identifier}"
        if self.chain_id is not None and self.chain_id != 1:
            return f"{PREFIX}{hex(self.chain_id)}:{identifier}"
        return PREFIX + identifier


def parse_did(text: str) -> Did:
    """Parse a did:ethr identifier (W3C DID Core §3.1 syntax, did:ethr method grammar).

    Args:
        text: ``did:ethr:[network:]0x<40 hex digits>`` or ``did:ethr:[network:]0x<66 hex
            digits>`` (a compressed public key); the network is a name or a hex chain id.

    Returns:
        The parsed :class:`Did`, its address EIP-55 checksummed.

    Raises:
        InvalidInputError: not a did:ethr DID, a DID URL (path, query, fragment), a malformed
            network, a bad address checksum, or a public key that is not a compressed point
            on secp256k1; the message says which.
    """
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise InvalidInputError(
            f"{text!r} is not a did:ethr DID", hint="expected did:ethr:[network:]0x<address>"
        )
    if any(mark in text for mark in "/?#"):
        raise InvalidInputError(
            f"{text!r} is a DID URL (path, query or fragment), not a DID",
            hint="drop everything from the first '/', '?' or '#'",
        )
    network_part, colon, identifier = text[len(PREFIX) :].rpartition(":")
    if colon and not network_part:
        raise InvalidInputError(f"{text!r} has an empty network name (two colons in a row)")
    network, chain_id = _parse_network(network_part, text)
    if identifier[:2] != "0x" or not HEX.fullmatch(identifier[2:]):
        raise InvalidInputError(
            f"{text!r} does not end in a 0x-prefixed address or public key",
            hint="expected 40 hex digits (an address) or 66 (a compressed public key)",
        )
    digits = identifier[2:]
    if len(digits) == 40:
        return Did(network, chain_id, checksummed(identifier, f"the address in {text!r}"))
    if len(digits) == 66:
        public_key = bytes.fromhex(digits)
        return Did(network, chain_id, _address_of_key(public_key, text), public_key)
    raise InvalidInputError(
        f"{text!r} ends in {len(digits)} hex digits",
        hint="expected 40 (an address) or 66 (a compressed secp256k1 public key)",
    )


def format_did(address: str, chain_id: int | None = None) -> str:
    """The did:ethr of ``address`` on chain ``chain_id``.

    The chain is written as a hex chain id, as ethr-did-resolver names networks configured by
    chain id: ``format_did(a, 31337) == "did:ethr:0x7a69:" + a``; mainnet (1) and None give
    no network part.

    Args:
        address: ``0x`` + 40 hex digits (all one case, or EIP-55 mixed case).
        chain_id: a positive chain id, or None.

    Returns:
        The DID text, its address checksummed.

    Raises:
        InvalidInputError: ``chain_id`` is not a positive int, or ``address`` is not an
            address or has a wrong EIP-55 checksum.
    """
    if chain_id is not None and (
        isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0
    ):
        raise InvalidInputError(f"chain id {chain_id!r} is not a positive integer")
    return str(Did(None, chain_id, checksummed(address, "address")))


def checksummed(address: str, what: str) -> Address:
    """``address`` EIP-55 checksummed.

    The rules of :mod:`collective.chain.addresses`, in the DID module's own words.

    Args:
        address: ``0x`` + 40 hex digits.
        what: names the value in the error (``"delegate"``, ``"the address in 'did:...'"``).

    Raises:
        InvalidInputError: not an address, or its mixed case is not its EIP-55 checksum.
    """
    if not is_hex_address(address):
        raise InvalidInputError(f"{what} {address!r} is not an address (0x and 40 hex digits)")
    if checksum_mismatch(address):
        raise InvalidInputError(
            f"{what} {address} has a wrong checksum (its mixed case does not match EIP-55)",
            hint=f"check it for a typo; checksummed it would read {to_checksum_address(address)}",
        )
    return Address(to_checksum_address(address))


def _parse_network(part: str, text: str) -> tuple[str | None, int | None]:
    """(name, chain id) of a DID's network part: (None, id) for hex, (name, known id or None)."""
    if not part:
        return None, None
    if part.startswith("0x"):
        if not HEX.fullmatch(part[2:]):
            raise InvalidInputError(
                f"{text!r} names chain {part!r}, which is not a hex chain id",
                hint="write the chain id in hex, e.g. 0x7a69 for 31337",
            )
        chain_id = int(part, 16)
        if chain_id == 0:
            raise InvalidInputError(f"{text!r} names chain id 0, which no chain has")
        return None, chain_id
    if not _NETWORK.fullmatch(part):
        raise InvalidInputError(
            f"{text!r} has a malformed network name {part!r}",
            hint="use letters, digits, '.', '_' or '-' (segments separated by ':')",
        )
    return part, KNOWN_NETWORKS.get(part)


def _address_of_key(public_key: bytes, text: str) -> Address:
    """The address of a 33-byte compressed secp256k1 key carried by DID ``text``."""
    if public_key[0] not in (2, 3):
        raise InvalidInputError(
            f"{text!r} carries a 33-byte public key that is not compressed (02 or 03 prefix)"
        )
    try:
        return Address(PublicKey.from_compressed_bytes(public_key).to_checksum_address())
    except (ValueError, TypeError):
        raise InvalidInputError(
            f"{text!r} carries a public key that is not on the secp256k1 curve"
        ) from None


__all__ = ["KNOWN_NETWORKS", "PREFIX", "Did", "checksummed", "format_did", "parse_did"]
