"""JSON-RPC params, declared once per method and validated as geth validates them.

Each method of the dispatcher's table (:data:`collective.node.rpc.methods.METHODS`) lists its
positional parameters as :class:`Param` entries: a name, a parser, whether it is required.
Before a handler runs, :func:`parse_params` checks the array as geth's ``rpc`` package does
(``non-array args``, ``too many arguments, want at most N``, ``missing value for required
argument N``) and runs each parser; the handler receives parsed, typed values. Every failure
is a -32602 error whose message names the argument's position and the field, then the
problem in geth's words::

    invalid argument 0 (filter.toBlock): hex number with leading zero digits
    invalid argument 1 (block): hex string has length 62, want 64 for common.Hash
    missing value for required argument 1 (fullTransactions)

Parsers follow geth's types (``hexutil`` for quantities, bytes, addresses and hashes,
``rpc.BlockNumber`` / ``rpc.BlockNumberOrHash`` for blocks, ``FilterCriteria`` for log filters,
``math.HexOrDecimal64`` for fee-history counts), with their messages. Where this node is
stricter than geth, on purpose: ``null`` is no value for a required argument (geth may decode
it as a zero value), unknown fields in a transaction, filter or block object are refused (geth
ignores them, so a misspelt field silently changes nothing), and an empty string is not the
quantity zero.

The parsers themselves live in :mod:`collective.node.rpc.scalars` (hex quantities, bytes,
addresses, hashes, ...) and :mod:`collective.node.rpc.objects` (blocks, call objects, log
filters, trace options); this module re-exports them, so ``params.address`` and
``params.log_filter`` read as the declarations use them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collective.node.errors import INVALID_PARAMS, RpcError
from collective.node.rpc.objects import (
    BLOCK_TAGS,
    CALL_TRACER,
    LATEST,
    MAX_INT64,
    MAX_SUB_TOPICS,
    MAX_TOPICS,
    PENDING,
    BlockRef,
    CallArgs,
    LogFilter,
    TraceOptions,
    block_number,
    block_ref,
    call_args,
    log_filter,
    no_overrides,
    trace_options,
)
from collective.node.rpc.scalars import (
    MAX_PERCENTILES,
    MAX_QUANTITY,
    MAX_UINT64,
    ParamError,
    address,
    anvil_number,
    boolean,
    data,
    filter_id,
    hash32,
    hex_or_decimal,
    kind,
    percentiles,
    quantity,
    storage_keys,
    storage_slot,
    uint64,
)


@dataclass(frozen=True)
class Param:
    """One positional parameter: its name in messages, its parser, whether it must be given.

    ``parse`` takes ``(value, path)`` and returns the typed value or raises
    :class:`ParamError`. A missing or ``null`` optional parameter reaches the handler as
    ``default``.
    """

    name: str
    parse: Callable[[Any, str], Any]
    required: bool = True
    default: Any = None


def parse_params(spec: tuple[Param, ...], params: Any) -> list[Any]:
    """``params`` checked against ``spec``: one parsed value per declared parameter.

    Args: ``spec``, the method's declared parameters; ``params``, the request's ``params``
    member as decoded (a list, or None when absent).
    Returns: one value per entry of ``spec`` (``default`` for an absent optional one).
    Raises: :class:`~collective.node.errors.RpcError` -32602 for a non-array, too many
    arguments or a missing required one; :class:`ParamError` (index set) for a value a
    parser refuses.
    """
    if params is None:
        params = []
    elif not isinstance(params, list):
        raise RpcError(
            INVALID_PARAMS, f"non-array args: params must be an array, not {kind(params)}"
        )
    count = len(params)
    if count > len(spec):
        raise RpcError(INVALID_PARAMS, f"too many arguments, want at most {len(spec)}")
    values = []
    for index, param in enumerate(spec):
        value = params[index] if index < count else None
        if value is None:
            if param.required:
                raise RpcError(
                    INVALID_PARAMS,
                    f"missing value for required argument {index} ({param.name})",
                )
            values.append(param.default)
            continue
        try:
            values.append(param.parse(value, param.name))
        except ParamError as exc:
            raise ParamError(exc.path, exc.problem, index) from None
    return values


__all__ = [
    "BLOCK_TAGS",
    "CALL_TRACER",
    "LATEST",
    "MAX_INT64",
    "MAX_PERCENTILES",
    "MAX_QUANTITY",
    "MAX_SUB_TOPICS",
    "MAX_TOPICS",
    "MAX_UINT64",
    "PENDING",
    "BlockRef",
    "CallArgs",
    "LogFilter",
    "Param",
    "ParamError",
    "TraceOptions",
    "address",
    "anvil_number",
    "block_number",
    "block_ref",
    "boolean",
    "call_args",
    "data",
    "filter_id",
    "hash32",
    "hex_or_decimal",
    "log_filter",
    "no_overrides",
    "parse_params",
    "percentiles",
    "quantity",
    "storage_keys",
    "storage_slot",
    "trace_options",
    "uint64",
]
