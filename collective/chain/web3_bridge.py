"""web3.py on top of a backend, for web3 contract objects and for ``Chain.w3`` (deprecated).

Collective builds calldata with web3's contract objects (``contract.functions.f(...)``) in a
few places and tests call ``.call()`` on them; :class:`BackendProvider` makes such a web3
instance ask the chain's backend, so everything still travels one transport and errors come
back as a node would answer them.
"""

from __future__ import annotations

from typing import Any, cast

from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from collective.chain.backend import Backend, RpcFailure, TransportError


def _response(request_id: int, result: Any) -> RPCResponse:
    if isinstance(result, RpcFailure):
        error: dict[str, Any] = {"code": result.code, "message": result.message}
        if result.data is not None:
            error["data"] = result.data
        return cast(RPCResponse, {"jsonrpc": "2.0", "id": request_id, "error": error})
    return cast(RPCResponse, {"jsonrpc": "2.0", "id": request_id, "result": result})


class BackendProvider(JSONBaseProvider):
    """A web3 provider that asks ``backend``.

    A JSON-RPC error comes back as web3 expects it (web3 raises its ``ContractLogicError``
    family or ``Web3RPCError``); a :class:`~collective.chain.backend.TransportError` propagates
    (``Chain.reading`` turns it into a ChainError).
    """

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """Ask the backend ``method`` with ``params`` (already in JSON-RPC form)."""
        try:
            result: Any = self.backend.request(method, list(params or []))
        except RpcFailure as exc:
            result = exc
        return _response(0, result)

    def make_batch_request(
        self, requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        """Ask the backend several methods in one batch."""
        answers = self.backend.batch([(method, list(params or [])) for method, params in requests])
        return [_response(i, answer) for i, answer in enumerate(answers)]

    def is_connected(self, show_traceback: bool = False) -> bool:
        """Whether the chain answers ``eth_chainId``."""
        try:
            self.backend.request("eth_chainId", [])
        except (RpcFailure, TransportError):
            if show_traceback:
                raise
            return False
        return True


__all__ = ["BackendProvider"]
