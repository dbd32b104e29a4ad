"""Strict reading of a consent receipt's JSON: typed access to each field, with the field's
path (``services[0].purposes[0].purpose``) in every error.

A receipt is only taken as :func:`~collective.receipts.build.build_receipt` wrote it: every
field present with its type, integers exact (a JSON integer or a decimal string, never a
float: :func:`collective.chain.jsonints.read_uint`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from collective.chain.jsonints import read_uint
from collective.errors import InvalidInputError
from collective.types import Address


def bad(path: str, why: str) -> InvalidInputError:
    """The error for field ``path`` (``evidence.expiry``) of a receipt, which is ``why``."""
    return InvalidInputError(
        f"the consent receipt's field {path} is {why}",
        hint="a receipt must be the JSON that build_receipt wrote, unchanged",
    )


class Reader:
    """Typed access to one JSON object of a receipt, with the field path in every error.

    ``data`` is the object, ``prefix`` its path in the receipt (``""`` for the document).
    Every accessor raises :class:`~collective.errors.InvalidInputError` naming the field when
    it is missing or not of the type asked for.
    """

    def __init__(self, data: Any, prefix: str) -> None:
        """Raises InvalidInputError when ``data`` is not a JSON object."""
        if not isinstance(data, dict):
            raise InvalidInputError(
                f"the consent receipt's {prefix or 'document'} is not a JSON object"
            )
        self.data: dict[str, Any] = data
        self.prefix = prefix

    def path(self, key: str) -> str:
        """The full path of field ``key`` (``evidence.expiry``)."""
        return f"{self.prefix}.{key}" if self.prefix else key

    def get(self, key: str) -> Any:
        """Field ``key`` as parsed, of any type; it must be present."""
        if key not in self.data:
            raise InvalidInputError(
                f"the consent receipt has no field {self.path(key)}",
                hint="a receipt must be the JSON that build_receipt wrote",
            )
        return self.data[key]

    def text(self, key: str) -> str:
        """A non-empty string."""
        value = self.get(key)
        if not isinstance(value, str) or not value:
            raise bad(self.path(key), "not a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        """A non-empty string, or None when the field is missing or null."""
        if self.data.get(key) is None:
            return None
        return self.text(key)

    def integer(self, key: str) -> int:
        """A non-negative integer: a JSON integer or a decimal string, never a float."""
        value = self.get(key)
        try:
            return read_uint(value, self.path(key))
        except ValueError as exc:
            why = str(exc).removeprefix(self.path(key) + " ")
            raise bad(self.path(key), f"not a non-negative integer ({why})") from None

    def boolean(self, key: str) -> bool:
        """``true`` or ``false``."""
        value = self.get(key)
        if not isinstance(value, bool):
            raise bad(self.path(key), "not true or false")
        return value

    def array(self, key: str) -> list[Any]:
        """A JSON array."""
        value = self.get(key)
        if not isinstance(value, list):
            raise bad(self.path(key), "not a list")
        return value

    def obj(self, key: str) -> dict[str, Any]:
        """A JSON object."""
        value = self.get(key)
        if not isinstance(value, dict):
            raise bad(self.path(key), "not an object")
        return value

    def address(self, key: str) -> Address:
        """An address (``0x`` + 40 hex), returned EIP-55 checksummed."""
        value = self.text(key)
        if not is_address(value):
            raise bad(self.path(key), "not an address")
        return Address(to_checksum_address(value))

    def hex32(self, key: str) -> str:
        """32 bytes as ``0x`` + 64 hex digits, returned lowercase."""
        value = self.text(key)
        try:
            raw = bytes.fromhex(value.removeprefix("0x")) if value.startswith("0x") else b""
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise bad(self.path(key), "not 0x and 64 hex digits")
        return "0x" + raw.hex()

    def uuid(self, key: str) -> str:
        """A UUID, returned in its canonical lowercase form."""
        value = self.text(key)
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise bad(self.path(key), "not a UUID") from None

    def timestamp(self, key: str) -> int:
        """An ISO 8601 UTC time ``YYYY-MM-DDTHH:MM:SSZ``, returned as epoch seconds."""
        value = self.text(key)
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise bad(self.path(key), "not an ISO-8601 UTC time (YYYY-MM-DDTHH:MM:SSZ)") from None
        return int(moment.timestamp())

    def same(self, key: str, expected: Any, other: str | None = None) -> None:
        """Check that field ``key`` equals ``expected`` (same JSON type too).

        ``other`` names the field ``expected`` came from, for the message (the receipt
        contradicts itself); without it the field must have that fixed value.
        """
        value = self.get(key)
        if value != expected or type(value) is not type(expected):
            what = f"{expected!r}" if other is None else f"{other} ({expected!r})"
            raise InvalidInputError(
                f"the consent receipt's field {self.path(key)} is {value!r}, which contradicts "
                f"{what}",
                hint="the receipt was altered: ask for the original, or build it again",
            )


__all__ = ["Reader", "bad"]
