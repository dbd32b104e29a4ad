"""What one request may cost the node, and how a body is decoded within it.

A request must never take the node down or hold everyone else up. The limits:

- **Body** (:data:`~collective.node.node.DEFAULT_MAX_BODY`, refused unread by the server) and
  **batch length** (``max_batch``): -32600.
- **Nesting.** :func:`decode_body` refuses JSON nested deeper than :data:`MAX_DEPTH` before the
  parser sees it (-32700): CPython's parser recurses once per level in C, and py-evm raises the
  recursion limit so high that 100,000 levels overflow the thread's stack (a SIGSEGV, not a
  ``RecursionError``). Real requests nest a handful of levels.
- **Numbers.** Integers of more than 4,300 digits (CPython's limit), ``NaN``, ``Infinity`` and
  floats that overflow to infinity are a parse error: none of them can be a JSON-RPC value,
  and an infinite id could not be written back as JSON.
- **Execution.** ``eth_call`` and ``eth_estimateGas`` run with at most :data:`RPC_GAS_CAP` gas
  (geth's ``--rpc.gascap``) and stop after :data:`RPC_EVM_TIMEOUT` seconds (geth's
  ``--rpc.evmtimeout``) with geth's message, ``execution aborted (timeout = 5s)``; a batch
  shares one budget of :data:`RPC_BATCH_TIMEOUT` seconds for all its calls, after which every
  call left in it is answered -32002 ``request timed out`` (geth's code for a timed-out
  request). :class:`~collective.node.node.NodeConfig` can change all three. The deadline is
  checked by the interpreter (:mod:`collective.node.execution.interpreter`) at every taken
  jump, the only way EVM code loops. On a file-backed chain the calls run outside the chain
  lock, on a read-only SQLite connection of their own
  (:class:`~collective.node.storage.ReadKeyValue`), so other clients' requests never wait
  for them: under two clients' batches of 20 looping calls, an
  ``eth_blockNumber``/``eth_getBalance`` probe answers in ~30 ms (p50), ~130 ms (p99) on two
  cores, from 1.4-6.2 s before.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate
from typing import Any

from collective.node.errors import PARSE_ERROR, RpcError

MAX_DEPTH = 128  # arrays and objects inside each other
RPC_GAS_CAP = 50_000_000  # geth's default --rpc.gascap
RPC_EVM_TIMEOUT = 5.0  # seconds, geth's default --rpc.evmtimeout
RPC_BATCH_TIMEOUT = 5.0  # seconds for all the calls of one batch
TIMED_OUT = -32002  # geth's errcodeTimeout

# a JSON string, or an unterminated one to the end (possessive, always matching: one pass
# over the body); brackets inside a string do not nest
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def nesting(body: bytes) -> int:
    """How deep arrays and objects nest in ``body`` (strings skipped)."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return 0  # too few openers to be too deep: the common case, no scan
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON-RPC value")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:20]}... is too large")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def decode_body(body: bytes) -> Any:
    """The JSON value of a request body, or -32700 naming what is wrong with it."""
    depth = nesting(body)
    if depth > MAX_DEPTH:
        raise RpcError(
            PARSE_ERROR,
            f"parse error: the body nests arrays or objects {depth} deep; the limit is {MAX_DEPTH}",
        )
    try:  # json.loads(body, parse_constant=..., parse_float=...) without a decoder per call
        return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise RpcError(PARSE_ERROR, "parse error: the body nests too deep") from None
    except ValueError as exc:
        message = str(exc)
        if "digits" in message or "too large" in message or "not a JSON-RPC" in message:
            reason = message.split(";")[0]
            raise RpcError(PARSE_ERROR, f"parse error: {reason}") from None
        raise RpcError(PARSE_ERROR, "parse error: the body is not valid JSON") from None


# --- execution deadlines ---------------------------------------------------------------------


class CallTimeout(Exception):
    """Raised inside the interpreter when the running call's deadline has passed."""


_local = threading.local()


def deadline() -> float | None:
    """The monotonic time the calls of this thread must finish by (None: no limit)."""
    found: float | None = getattr(_local, "deadline", None)
    return found


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Run the calls inside within ``seconds`` (or the enclosing budget, if it ends first)."""
    previous = deadline()
    limit = time.monotonic() + seconds
    _local.deadline = limit if previous is None else min(previous, limit)
    try:
        yield
    finally:
        _local.deadline = previous


__all__ = [
    "MAX_DEPTH",
    "RPC_BATCH_TIMEOUT",
    "RPC_EVM_TIMEOUT",
    "RPC_GAS_CAP",
    "TIMED_OUT",
    "CallTimeout",
    "budget",
    "deadline",
    "decode_body",
    "nesting",
]
