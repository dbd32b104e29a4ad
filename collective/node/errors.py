"""JSON-RPC errors the node answers with.

:class:`RpcError` is a :class:`~collective.errors.NodeError` carrying the JSON-RPC ``code``, the
``message`` and optional ``data``. Codes follow JSON-RPC 2.0 and what geth and anvil answer:

==========  ===================================================================================
-32700      parse error: the body is not JSON
-32600      invalid request: not a request object, an empty or oversized batch, a huge body
-32601      method not found (or only available with ``--dev``)
-32602      invalid params, naming the argument and the field, in geth's words
            (``invalid argument 1 (block): hex number with leading zero digits``; see
            :mod:`collective.node.rpc.params`), and geth's eth_getLogs range errors (``invalid
            block range params``, ``block range extends beyond current head block``)
-32000      the transaction was refused (nonce too low, replacement transaction underpriced,
            txpool is full, insufficient funds, intrinsic gas too low, exceeds block gas limit,
            invalid chain id, invalid sender, not permitted);
            or, looked up by hash, it was dropped from the pool unmined (``transaction 0x… was
            dropped: sender 0x… is not permitted by AccountRules at block N``)
3           execution reverted; ``data`` holds the revert data (0x-hex), as geth and anvil send
-32603      internal error (a bug; the node keeps serving)
==========  ===================================================================================
"""

from __future__ import annotations

from typing import Any

from collective.errors import NodeError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TX_REJECTED = -32000
LIMIT_EXCEEDED = -32005
EXECUTION_REVERTED = 3


class RpcError(NodeError):
    """An error to send back as a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The JSON-RPC error object: ``{code, message[, data]}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    """A -32602 error: ``invalid params: <message>``."""
    return RpcError(INVALID_PARAMS, f"invalid params: {message}")


def rejected(message: str) -> RpcError:
    """A -32000 error with geth's ``message`` (a refused transaction, a missing header...)."""
    return RpcError(TX_REJECTED, message)


__all__ = [
    "EXECUTION_REVERTED",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "LIMIT_EXCEEDED",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "TX_REJECTED",
    "RpcError",
    "invalid_params",
    "rejected",
]
