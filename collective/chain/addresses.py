"""Addresses as people type them: ``0x`` and 40 hex digits, with the EIP-55 checksum checked.

EIP-55 hides a checksum in the case of an address's hex letters. An address written in one
case (all digits lower case, or all upper case) carries no checksum and is taken as it is; a
mixed-case address *is* a checksum, and one that does not match is refused: it is almost
always a mistyped digit, and acting on it would act on another account.
:func:`parse_address` is the one place where Collective turns text into an address; the
client (:func:`collective.client.base.address_of`), the CLI's options, the account resolver,
the deployer's board members and signed requests all read addresses through it.
"""

from __future__ import annotations

import re

from eth_typing import ChecksumAddress
from eth_utils.address import is_checksum_address, to_checksum_address

from collective.errors import InvalidInputError

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def is_hex_address(text: str) -> bool:
    """Is ``text`` shaped like an address (``0x`` and 40 hex digits), whatever its checksum?"""
    return isinstance(text, str) and _HEX_ADDRESS.fullmatch(text) is not None


def checksum_mismatch(text: str) -> bool:
    """Is ``text`` a mixed-case address whose case is not its EIP-55 checksum?"""
    digits = text[2:]
    return digits not in (digits.lower(), digits.upper()) and not is_checksum_address(text)


def parse_address(value: str, what: str = "address") -> ChecksumAddress:
    """``value`` (surrounding blanks ignored) as a checksummed address.

    Raises:
        InvalidInputError: naming ``what``, when it is not ``0x`` and 40 hex digits, or when it
            is mixed case and the case is not its EIP-55 checksum (the message names the
            address and its checksummed form).
    """
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not is_hex_address(text):
        raise InvalidInputError(
            f"{what} {text!r} is not an address",
            hint="give 0x and 40 hex digits, or a did:ethr DID",
        )
    if checksum_mismatch(text):
        raise InvalidInputError(
            f"{what} {text} has a wrong EIP-55 checksum: the case of its letters does not "
            "match its digits, so a digit is probably mistyped",
            hint=f"check it against its source; if every digit is right, its checksummed form "
            f"is {to_checksum_address(text)}, and all lower case is accepted too",
        )
    return to_checksum_address(text)


__all__ = ["checksum_mismatch", "is_hex_address", "parse_address"]
