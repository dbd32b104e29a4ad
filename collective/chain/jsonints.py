"""Integers in the JSON the project writes: none may change on the way through JavaScript.

A JSON number is a double in JavaScript, jq, SQLite's JSON functions and most other readers:
an integer past 2^53 comes back changed. 2^64 - 1, the expiry of a consent "until withdrawn",
is read as 18446744073709551616 (and ethers.js refuses to sign it), and jq writes it back as
1.8446744073709552e+19. So every JSON document the project writes follows one rule:

    An integer is a JSON number only when JavaScript holds it exactly, i.e. when
    |n| <= 2^53 - 1 (``Number.MAX_SAFE_INTEGER``); any other integer is a decimal string.

:func:`jsonable` applies the rule to a value (through dicts, lists and tuples) and
:func:`dumps` writes JSON with it. Who uses it: the CLI's ``--json`` output (one helper,
:func:`collective.cli.common.emit_json`), consent receipts, the audit report's JSON, the
audit index's event arguments and the deployment manifest. The two EIP-712 documents in
:mod:`collective.signing` (the typed data a wallet signs, and a signed request) go further:
their struct's uint fields and the domain's chain id are decimal strings whatever the value,
as their types say which fields are integers and every wallet accepts strings there.

Readers accept both forms: :func:`read_uint` takes an exact JSON integer (what older files
hold) or a decimal string, and refuses a float with an error that says why, because an
integer past 2^53 that went through a JSON tool is a float that has lost its low digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER


def is_safe(value: int) -> bool:
    """Whether JavaScript holds ``value`` exactly as a number."""
    return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def jsonable(value: Any) -> Any:
    """``value`` with every integer JavaScript cannot hold exactly replaced by its decimal
    string, in nested dicts (and other mappings), lists and tuples. Booleans stay booleans;
    an ``IntEnum`` member becomes its plain integer."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        number = int(value)
        return number if is_safe(number) else str(number)
    if isinstance(value, Mapping):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


MAX_DEPTH = 256
# Nesting the C decoder survives even with py_ecc's recursion limit (50,000 deep was parsed in
# the report, 100,000 crashed): the depth allowed in a JSON-RPC answer, checked only when it has
# more opening brackets than this (an answer with fewer cannot nest deeper): 40,000 keeps a
# margin below what was parsed safely and lets a 10,000-log eth_getLogs answer (~2 brackets a
# log) skip the scan.
SAFE_DEPTH = 40_000
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: no per-char branch
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {0x5B: 1, 0x7B: 1, 0x5D: -1, 0x7D: -1}


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` for a document from outside (a file, a node's answer), refusing one
    nested deeper than :data:`MAX_DEPTH` arrays and objects with a ``json.JSONDecodeError``
    before it is parsed; keyword arguments go to ``json.loads``.

    Why: py_ecc, which py-evm imports, raises the interpreter's recursion limit to 100,000,
    so the C decoder of :mod:`json` no longer stops at a RecursionError: a 200 KB document of
    arrays nested 100,000 deep overflows the C stack and kills the process. A document with
    fewer than ``max_depth`` (default :data:`MAX_DEPTH`) opening brackets in all is parsed
    without the scan (a JSON-RPC answer, large and from a known node, passes
    :data:`SAFE_DEPTH`: deep enough that the scan runs only for a hostile one); otherwise
    strings are cut out and the brackets left are summed (C-speed passes, then one step per
    bracket: ~0.1 ms for a 250-log receipt)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if raw.count(b"[") + raw.count(b"{") > max_depth:
        brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
        depth = 0
        for depth in accumulate(map(_STEP.__getitem__, brackets)):
            if depth > max_depth:
                raise json.JSONDecodeError(
                    f"nested deeper than {max_depth} arrays and objects",
                    raw.decode("utf-8", "replace"),
                    0,
                )
    return json.loads(text, **kwargs)


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`jsonable` (``value``); keyword arguments go to ``json.dumps``."""
    return json.dumps(jsonable(value), **kwargs)


def read_uint(value: Any, name: str, bits: int = 256) -> int:
    """An unsigned integer of at most ``bits`` bits from a JSON value: an exact JSON integer or
    a decimal string of digits (no sign, no leading zero, no exponent).

    Raises ValueError naming ``name``, for the caller to turn into its own error; a float is
    refused with the reason (a number past 2^53 loses its low digits in JSON tools), never
    rounded."""
    if isinstance(value, float):
        raise ValueError(
            f"{name} is the number {json.dumps(value)}, not an integer: a number past 2^53 "
            "loses digits in JSON tools such as jq and JavaScript (its low digits are gone), so "
            "write it as a decimal string"
        )
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} must be an integer or a decimal string, not {json.dumps(value)}")
    if isinstance(value, str) and (
        not value.isascii() or not value.isdigit() or (len(value) > 1 and value[0] == "0")
    ):
        raise ValueError(f"{name} must be a decimal string of digits, not {value!r}")
    number = int(value)
    if not 0 <= number < 2**bits:
        raise ValueError(f"{name} {number} is out of range for uint{bits}")
    return number


__all__ = ["MAX_SAFE_INTEGER", "dumps", "is_safe", "jsonable", "read_uint"]
