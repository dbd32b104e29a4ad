"""Scalar JSON-RPC parameters, parsed as geth's ``hexutil`` and ``rpc`` packages parse them.

Every parser takes ``(value, path)`` -- the decoded JSON value and the name of the field for
messages (``filter.topics[1]``) -- and returns the typed value, or raises :class:`ParamError`
(-32602) naming the field and the problem in geth's words. Quantities (``hexutil.Big``,
``hexutil.Uint64``), bytes (``hexutil.Bytes``), addresses and hashes (``common.Address``,
``common.Hash``), storage keys, booleans, filter ids, fee-history counts
(``math.HexOrDecimal64``), anvil's dev numbers and reward percentiles live here; the compound
ones (blocks, call objects, log filters, trace options) in :mod:`collective.node.rpc.objects`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from eth_typing import Address

from collective.node.errors import INVALID_PARAMS, RpcError

MAX_QUANTITY = 2**256 - 1
MAX_UINT64 = 2**64 - 1
MAX_PERCENTILES = 100  # geth's maxQueryLimit for eth_feeHistory
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HEX_BODY = re.compile(r"[0-9a-fA-F]*")  # fullmatch: long inputs (raw transactions) go fast


class ParamError(RpcError):
    """A -32602 error about one field of one parameter: ``path`` names it
    (``filter.topics[1]``), ``problem`` says what is wrong with it."""

    def __init__(self, path: str, problem: str, index: int | None = None) -> None:
        where = f"invalid argument {index} ({path})" if index is not None else path
        super().__init__(INVALID_PARAMS, f"{where}: {problem}")
        self.path = path
        self.problem = problem
        self.index = index


def kind(value: Any) -> str:
    """The JSON type of ``value``, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- hex: quantities, bytes, addresses, hashes (geth's hexutil) ----------------------------


def string(value: Any, path: str, want: str) -> str:
    """``value`` if it is a JSON string. Raises :class:`ParamError` ``want <want>, got <kind>``."""
    if not isinstance(value, str):
        raise ParamError(path, f"want {want}, got {kind(value)}")
    return value


def _digits(text: str, path: str) -> str:
    """The hex digits after the 0x prefix (checked to be hex digits)."""
    if not text:
        raise ParamError(path, "empty hex string")
    if text[:2] not in ("0x", "0X"):
        raise ParamError(path, "hex string without 0x prefix")
    return text[2:]


def _check_syntax(digits: str, path: str) -> None:
    if _HEX_BODY.fullmatch(digits) is None:
        raise ParamError(path, "invalid hex string")


def hex_number(value: Any, path: str, bits: int) -> int:
    """A 0x-prefixed hex number of at most ``bits`` bits without leading zeros, as an int.
    Raises :class:`ParamError` in ``hexutil``'s words (``hex number > 64 bits``...)."""
    digits = _digits(string(value, path, "a 0x-prefixed hex quantity"), path)
    if not digits:
        raise ParamError(path, 'hex string "0x"')
    if len(digits) > 1 and digits[0] == "0":
        raise ParamError(path, "hex number with leading zero digits")
    if len(digits) > bits // 4:
        raise ParamError(path, f"hex number > {bits} bits")
    _check_syntax(digits, path)
    return int(digits, 16)


def quantity(value: Any, path: str) -> int:
    """A 0x-prefixed hex number of at most 256 bits, without leading zeros (``hexutil.Big``)."""
    return hex_number(value, path, 256)


def uint64(value: Any, path: str) -> int:
    """A 0x-prefixed hex number of at most 64 bits (``hexutil.Uint64``: gas, nonce, index)."""
    return hex_number(value, path, 64)


def _plain(text: str) -> bytes | None:
    """The bytes of ``text`` when it is plainly ``0x`` and hex digit pairs (most params are),
    read in one step; None for anything else, which the checks then name. (``bytes.fromhex``
    also skips whitespace between pairs: the length check refuses that.)"""
    if text[:2] != "0x":
        return None
    try:
        raw = bytes.fromhex(text[2:])
    except ValueError:
        return None
    return raw if 2 * len(raw) == len(text) - 2 else None


def data(value: Any, path: str) -> bytes:
    """0x-prefixed hex bytes of even length (``hexutil.Bytes``; ``""`` is no bytes, as geth)."""
    text = string(value, path, "0x-prefixed hex bytes")
    raw = _plain(text)
    if raw is not None:
        return raw
    if not text:
        return b""
    digits = _digits(text, path)
    if len(digits) % 2:
        raise ParamError(path, "hex string of odd length")
    _check_syntax(digits, path)
    return bytes.fromhex(digits)


def _fixed(value: Any, path: str, size: int, type_name: str) -> bytes:
    text = string(value, path, f"a 0x-prefixed hex {type_name}")
    raw = _plain(text)
    if raw is not None and len(raw) == size:
        return raw
    digits = _digits(text, path) if text else ""
    if len(digits) % 2:
        raise ParamError(path, "hex string of odd length")
    if len(digits) != 2 * size:
        raise ParamError(
            path, f"hex string has length {len(digits)}, want {2 * size} for {type_name}"
        )
    _check_syntax(digits, path)
    return bytes.fromhex(digits)


def address(value: Any, path: str) -> Address:
    """A 20-byte 0x-prefixed hex address (``common.Address``; any letter case)."""
    return Address(_fixed(value, path, 20, "common.Address"))


def hash32(value: Any, path: str) -> bytes:
    """A 32-byte 0x-prefixed hex hash (``common.Hash``)."""
    return _fixed(value, path, 32, "common.Hash")


def storage_slot(value: Any, path: str) -> int:
    """A storage key: hex of at most 32 bytes, 0x optional, odd length padded (geth's
    ``decodeStorageKey``)."""
    text = string(value, path, "a hex storage key")
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if len(digits) > 64:
        raise ParamError(path, "storage key too long (want at most 32 bytes)")
    if not _HEX_DIGITS.issuperset(digits):
        raise ParamError(path, "invalid hex in storage key")
    return int(digits, 16) if digits else 0


def boolean(value: Any, path: str) -> bool:
    """A JSON ``true`` or ``false``. Raises :class:`ParamError` for anything else."""
    if isinstance(value, bool):
        return value
    raise ParamError(path, f"want true or false, got {kind(value)}")


def filter_id(value: Any, path: str) -> str:
    """A filter id as ``eth_newFilter`` gave it (``rpc.ID``: a string)."""
    return string(value, path, "a filter id string")


def hex_or_decimal(value: Any, path: str) -> int:
    """A 64-bit count as a JSON number, a decimal string or a hex string
    (``math.HexOrDecimal64``: ``eth_feeHistory``'s ``blockCount``)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UINT64:
        return value
    if isinstance(value, str):
        hex_digits = value[2:] if value[:2] in ("0x", "0X") else None
        if hex_digits is not None:
            valid = bool(hex_digits) and _HEX_DIGITS.issuperset(hex_digits)
            number = int(hex_digits, 16) if valid else -1
        else:
            number = int(value) if value.isascii() and value.isdigit() else 0 if not value else -1
        if 0 <= number <= MAX_UINT64:
            return number
    raise ParamError(path, f"invalid hex or decimal integer {value!r}")


def anvil_number(value: Any, path: str) -> int:
    """A non-negative 64-bit JSON number or hex quantity, as anvil's dev methods take them."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ParamError(path, "must not be negative")
        if value > MAX_UINT64:
            raise ParamError(path, "number > 64 bits")
        return value
    if isinstance(value, str):
        return uint64(value, path)
    raise ParamError(path, f"want a number or a 0x-prefixed hex quantity, got {kind(value)}")


def percentiles(value: Any, path: str) -> list[float]:
    """``eth_feeHistory``'s reward percentiles: at most 100 numbers from 0 to 100, increasing."""
    if not isinstance(value, list):
        raise ParamError(path, f"want an array of numbers, got {kind(value)}")
    if len(value) > MAX_PERCENTILES:
        raise ParamError(path, f"invalid reward percentile: over the query limit {MAX_PERCENTILES}")
    out: list[float] = []
    for i, item in enumerate(value):
        if not isinstance(item, int | float) or isinstance(item, bool):
            raise ParamError(f"{path}[{i}]", f"want a number, got {kind(item)}")
        if isinstance(item, float) and not math.isfinite(item):
            raise ParamError(f"{path}[{i}]", f"invalid reward percentile: {item}")
        if not 0 <= item <= 100:
            raise ParamError(f"{path}[{i}]", f"invalid reward percentile: {item:f}")
        if out and item <= out[-1]:
            raise ParamError(
                path, f"invalid reward percentile: #{i - 1}:{out[-1]:f} >= #{i}:{item:f}"
            )
        out.append(float(item))
    return out


def object_fields(value: Any, path: str, fields: frozenset[str], what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object whose keys are all in ``fields``. Raises
    :class:`ParamError` ``want <what>`` or ``unknown field 'x'`` (the first, sorted)."""
    if not isinstance(value, dict):
        raise ParamError(path, f"want {what}, got {kind(value)}")
    if not fields.issuperset(value):
        unknown = set(value) - fields
        raise ParamError(path, f"unknown field {sorted(unknown)[0]!r}")
    return value


def list_of(parse: Callable[[Any, str], Any]) -> Callable[[Any, str], list[Any]]:
    """A parser of a JSON array whose items ``parse`` parses (paths ``name[i]``).

    Args: ``parse``, a parser ``(value, path) -> value``.
    Returns: a parser ``(value, path) -> list``; it raises :class:`ParamError` for a
    non-array or for the first item ``parse`` refuses.
    """

    def parse_list(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise ParamError(path, f"want an array, got {kind(value)}")
        return [parse(item, f"{path}[{i}]") for i, item in enumerate(value)]

    return parse_list


storage_keys = list_of(storage_slot)  # eth_getProof's storage keys


__all__ = [
    "MAX_PERCENTILES",
    "MAX_QUANTITY",
    "MAX_UINT64",
    "ParamError",
    "address",
    "anvil_number",
    "boolean",
    "data",
    "filter_id",
    "hash32",
    "hex_number",
    "hex_or_decimal",
    "kind",
    "list_of",
    "object_fields",
    "percentiles",
    "quantity",
    "storage_keys",
    "storage_slot",
    "string",
    "uint64",
]
