"""JSON-RPC 2.0 requests in, answers out: one request or a batch, ids and errors by the book.

:func:`handle_body` decodes an HTTP or WebSocket body (:func:`~collective.node.limits.decode_body`:
-32700 for what is not JSON, nests too deep or holds an impossible number), answers a batch
item by item within one time budget, and hands the batch's raw transactions to the
sender-recovery helper first. :func:`handle_one` answers one request object: -32600 for one
that is not a request, -32601 for an unknown method (or a dev method on a node without
``--dev``), -32602 for params that do not match the method's declaration, the handler's own
:class:`~collective.node.errors.RpcError`, and -32603 for a damaged store (never answered
from) or a bug (the node keeps serving). Answers are JSON text; a notification (no ``id``)
gets none.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from eth.vm.interrupt import EVMMissingData

from collective.node.errors import INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, RpcError
from collective.node.limits import budget, decode_body
from collective.node.render import dumps, json_array
from collective.node.rpc.context import Raw
from collective.node.rpc.eth_calls import plain_call
from collective.node.rpc.eth_transactions import (
    FORWARDED,
    RECOVERED,
    start_forwarding,
    start_recovery,
)
from collective.node.rpc.methods import METHODS
from collective.node.rpc.params import parse_params
from collective.node.storage import DamagedError

if TYPE_CHECKING:
    from collective.node.node import Node

try:
    from collective_revm import ConstantAnswers as _ConstantAnswers
except ImportError:  # not built (scripts/setup.sh builds it): the general path answers all
    _ConstantAnswers = None

log = logging.getLogger("collective.node")


def error_answer(request_id: Any, error: RpcError) -> str:
    """The JSON-RPC 2.0 error answer (section 5.1) to the request ``request_id`` (None when
    it could not be read), as JSON text."""
    return dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


def _valid_id(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int | float) and not isinstance(value, bool))
    )


def _damaged(node: Node, exc: Exception) -> DamagedError:
    """The store damage behind ``exc`` (the store keeps every state: a trie node or code it
    cannot find under its hash is a damaged row or index)."""
    if isinstance(exc, DamagedError):
        return exc
    if isinstance(exc, EVMMissingData):
        return DamagedError(node.chain.store.path, f"state it must hold is missing ({exc})")
    return DamagedError(node.chain.store.path, f"SQLite reports {exc}")


def handle_one(node: Node, request: Any) -> str | None:
    """Answer one decoded request object.

    Args: ``node``, the node to answer from; ``request``, one decoded JSON value (an object
    to be a request).
    Returns: the answer as JSON text (a result or an error object), or None for a
    notification (a request without ``id``), which gets no answer, even an error.
    Raises: nothing: every failure is an error answer.
    """
    if not isinstance(request, dict):
        return error_answer(None, RpcError(INVALID_REQUEST, "invalid request: expected an object"))
    request_id = request.get("id")
    if not _valid_id(request_id):
        return error_answer(None, RpcError(INVALID_REQUEST, "invalid request: bad id"))
    method = request.get("method")
    if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return error_answer(
            request_id,
            RpcError(INVALID_REQUEST, 'invalid request: expected "jsonrpc": "2.0" and a method'),
        )
    entry = METHODS.get(method)
    if entry is None or (entry.dev and node.dev is None):
        where = "" if entry is None else f" ({entry.hint})"
        error = RpcError(
            METHOD_NOT_FOUND, f"the method {method} does not exist/is not available{where}"
        )
        return error_answer(request_id, error) if "id" in request else None
    try:
        args = parse_params(entry.params, request.get("params"))
        if entry.outside_lock and node.chain.store.path is not None:
            result = entry.handler(node, *args)  # reads committed blocks on its own view
        else:
            with node.lock:
                result = entry.handler(node, *args)
    except RpcError as exc:
        return error_answer(request_id, exc)
    except (DamagedError, sqlite3.DatabaseError, EVMMissingData) as exc:  # never answer from
        damaged = _damaged(node, exc)  # a damaged store
        log.error("%s (%s)", damaged.message, damaged.hint)
        error = RpcError(INTERNAL_ERROR, f"{damaged.message}: {damaged.hint}")
        return error_answer(request_id, error)
    except Exception as exc:
        log.exception("internal error in %s", method)
        return error_answer(request_id, RpcError(INTERNAL_ERROR, f"internal error: {exc!r}"[:300]))
    if "id" not in request:
        return None
    body = result if isinstance(result, Raw) else dumps(result)
    # one join, one copy of a result that may be megabytes (+ would copy it twice)
    return "".join(('{"jsonrpc":"2.0","id":', dumps(request_id), ',"result":', body, "}"))


def _batch_error(node: Node, batch: list[Any]) -> str | None:
    """An error answer for an empty batch or one over ``max_batch``; None for a good one."""
    if not batch:
        return error_answer(None, RpcError(INVALID_REQUEST, "invalid request: empty batch"))
    if len(batch) > node.config.max_batch:
        return error_answer(
            None,
            RpcError(
                INVALID_REQUEST,
                f"invalid request: batch of {len(batch)} exceeds the limit of "
                f"{node.config.max_batch}",
            ),
        )
    return None


def _writes(item: Any) -> bool | None:
    """Whether a batch item hands a transaction to the pool (True), reads (False), or is a
    dev method or no known method (None: neither)."""
    method = item.get("method") if isinstance(item, dict) else None
    entry = METHODS.get(method) if isinstance(method, str) else None
    if entry is None or (entry.dev and not entry.writes):
        return None
    return entry.writes


def _answer_batch(node: Node, batch: list[Any]) -> str | None:
    recovery = start_recovery(node, batch)
    token = RECOVERED.set(recovery)
    # a validator hands the batch's transactions to CometBFT in one request, first
    forwarded = FORWARDED.set(start_forwarding(node, batch))
    answers = []
    wrote = False
    try:
        with budget(node.config.batch_timeout):  # one time budget for all its calls
            for item in batch:
                writes = _writes(item)
                if writes:
                    wrote = True
                elif wrote and writes is not None:  # a read after writes: in instant mode,
                    node.before_read()  # it sees their block (issue 11 item 5)
                    wrote = False
                answer = handle_one(node, item)
                if answer is not None:
                    answers.append(answer)
    finally:
        FORWARDED.reset(forwarded)
        RECOVERED.reset(token)
        if recovery is not None:
            recovery[1].close()
    return json_array(answers) if answers else None


#: methods whose answer is fixed for the node's life and reads nothing of the chain (EIP-695's
#: chain id; the network id): a request for one with no parameters is answered before the
#: general path (:func:`_constant_answer`). web3.py asks ``eth_chainId`` twice per contract
#: call, and its answer then costs a tenth of what it did
CONSTANT_METHODS = ("eth_chainId", "net_version")
_SMALL = 256  # bytes: a body longer than this is no bare constant request
#: per node, its constant answers in native code (``collective_revm.ConstantAnswers``)
_constants: WeakKeyDictionary[Node, Any] = WeakKeyDictionary()


def _constant_answer(node: Node, body: bytes) -> str | None:
    """The answer :func:`handle_one` gives to ``body`` when it is one plain request for a
    :data:`CONSTANT_METHODS` method (no parameters; a null id, an integer id within 64 bits,
    or a printable-ASCII string id), answered natively (``collective_revm.ConstantAnswers``,
    ``serde_json``); None for any other body, and always without the native extension (the
    general path answers those, errors included, with the same text)."""
    if _ConstantAnswers is None or len(body) > _SMALL:
        return None
    answers = _constants.get(node)
    if answers is None:
        results = {name: dumps(METHODS[name].handler(node)) for name in CONSTANT_METHODS}
        answers = _constants[node] = _ConstantAnswers(results)
    found: str | None = answers.answer(body)
    return found


def handle_body(node: Node, body: bytes, *, seal: bool = True) -> str | None:
    """Answer a request body: one request or a batch (JSON-RPC 2.0 section 6).

    Args: ``body``, the body's bytes as received (UTF-8 JSON); ``seal`` False leaves the
    sealing of what the body pooled (:meth:`Node.after_request`) to the caller, once the
    answer is on its way: the HTTP server seals while the client reads the answer, and
    every read waits for it (a read seals the pool first: :meth:`Node.before_read`).
    Returns: the answer as JSON text (an array for a batch), or None when there is nothing
    to send (notifications only).
    Raises: nothing: a body that is not JSON, an empty batch or one longer than the node's
    ``max_batch`` is an error answer with a null id.
    """
    quick = _constant_answer(node, body) or plain_call(node, body)  # the common cases
    if quick is not None:
        if seal:
            node.after_request()
        return quick
    try:
        decoded = decode_body(body)
    except RpcError as exc:  # not JSON, too deep, a number out of range
        return error_answer(None, exc)
    if isinstance(decoded, list):
        refused = _batch_error(node, decoded)
        if refused is not None:
            return refused
        answer = _answer_batch(node, decoded)
        pooled = any(_writes(item) for item in decoded)
    else:
        pooled = bool(_writes(decoded))
        if not pooled:  # a read sees the block of every write answered before it
            node.before_read()
        answer = handle_one(node, decoded)
    if seal:
        node.after_request()
    if pooled:  # what stays pooled outlives a killed process (reads leave the pool alone)
        node.flush_journal()
    return answer


__all__ = ["error_answer", "handle_body", "handle_one"]
