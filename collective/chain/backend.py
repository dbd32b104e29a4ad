"""The seam between :class:`~collective.chain.Chain` and whatever answers its JSON-RPC requests.

A backend answers Ethereum JSON-RPC methods with JSON-RPC results (hex quantities, ``0x``
data, ``null`` for "not found"), whatever it runs on: :class:`~collective.chain.http.HttpBackend`
posts them to a node over one keep-alive connection per thread,
:class:`~collective.chain.embedded.EmbeddedBackend` answers them in process from eth-tester's
py-evm chain. The interface is small on purpose, in the manner of eth-tester's
``BaseChainBackend`` and httpx's transports: everything a chain is asked goes through
:meth:`Backend.request` or :meth:`Backend.batch`, so a test can count, record or fake it.

What a backend raises (and nothing else)::

    RpcFailure          the chain answered with a JSON-RPC error (code, message, data)
    └── BatchRefused    the chain answered a batch with one error: it takes no batches
    TransportError      the request never got an answer (refused, reset, timed out, not JSON)

:mod:`collective.chain.errors` turns both into Collective errors; nothing else in the
package sees them.

:class:`DevBackend` adds what dev chains (the embedded chain, anvil, ``collective node --dev``)
offer for tests: snapshots, reverting to them, mining and moving the clock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

Call = tuple[str, list[Any]]
"""One JSON-RPC request: ``(method, params)``, e.g. ``("eth_getCode", [address, "latest"])``."""


class RpcFailure(Exception):
    """The chain answered with a JSON-RPC error object.

    Attributes:
        code: the error's ``code`` (e.g. 3 for a revert with data, -32000 for a refusal).
        message: its ``message``.
        data: its ``data`` (revert data as ``0x`` hex for a revert), or None.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class BatchRefused(RpcFailure):
    """The chain answered a batch with one error: it does not take batches (ask one by one)."""


class TransportError(Exception):
    """No answer came: the connection was refused, reset or timed out, or the reply was not
    JSON-RPC. ``reason`` is a short cause ("connection refused", "timed out", ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Backend(ABC):
    """Answers JSON-RPC requests for one chain. Implementations must be thread-safe."""

    where: str = "the chain"
    """Where the chain is, for messages: a node's URL or "the embedded chain"."""

    @abstractmethod
    def request(self, method: str, params: Sequence[Any]) -> Any:
        """Ask one JSON-RPC method.

        Args:
            method: the JSON-RPC method, e.g. ``"eth_call"``.
            params: its positional parameters in JSON-RPC form (hex quantities, ``0x`` data).

        Returns:
            The JSON-RPC ``result``: hex strings, dicts and lists as a node sends them, None
            for "not found".

        Raises:
            RpcFailure: the chain answered with an error.
            TransportError: no answer came.
        """

    @abstractmethod
    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Ask several methods in one JSON-RPC batch, answered in order.

        Args:
            calls: ``(method, params)`` pairs.

        Returns:
            One item per call, in order: its result, or the :class:`RpcFailure` it was answered
            with (a :class:`BatchRefused` in every item when the chain takes no batches).

        Raises:
            TransportError: no answer came.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections; a later request opens new ones."""


class DevBackend(Backend):
    """A backend whose chain takes test commands (the embedded chain, anvil, a dev node)."""

    @abstractmethod
    def snapshot(self) -> object:
        """Remember the chain's state; returns the id to give :meth:`revert`.

        Raises:
            RpcFailure: the chain takes no snapshots.
            TransportError: no answer came.
        """

    @abstractmethod
    def revert(self, snapshot: object) -> bool:
        """Return to ``snapshot`` (once); False when the chain does not know it.

        Raises:
            RpcFailure: the chain takes no snapshots.
            TransportError: no answer came.
        """

    @abstractmethod
    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks.

        Raises:
            RpcFailure: the chain cannot be told to mine.
            TransportError: no answer came.
        """

    @abstractmethod
    def increase_time(self, seconds: int) -> None:
        """Move the clock ``seconds`` (≥ 0) forward and mine one block at the new time.

        Raises:
            RpcFailure: the chain's clock cannot be moved.
            TransportError: no answer came.
        """


__all__ = ["Backend", "BatchRefused", "Call", "DevBackend", "RpcFailure", "TransportError"]
