"""Where the indexer reads the chain: block headers and event logs, from a node or in process.

A :class:`LogSource` answers three questions: the head block number, the headers of a block
range (number, hash, parent hash, timestamp) and the logs of a block range whose first topic
is one of a set. Logs come back in JSON-RPC's shape (hex strings), whatever the source:

- :class:`RpcSource` speaks JSON-RPC over the chain layer's keep-alive HTTP transport
  (:class:`~collective.chain.http.HttpBackend`), sends the headers of a range as batches,
  and classifies failures: :class:`Transient` (the connection dropped, the node restarted:
  retry), :class:`RangeTooLarge` (the node refuses or times out on the range: ask for a
  smaller one).
- :class:`EmbeddedSource` reads the embedded chain's py-evm database directly: eth-tester's
  own log query takes ~95 s for 1,000 logs.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from collective.chain import Chain
from collective.chain.backend import BatchRefused, RpcFailure, TransportError
from collective.chain.http import HttpBackend
from collective.errors import ChainError

# JSON-RPC error texts (geth, anvil, besu, erigon, hosted providers) that mean "ask for less".
_TOO_LARGE = (
    "too many",
    "limit",
    "exceed",
    "range",
    "timeout",
    "timed out",
    "too large",
    "response size",
    "query returned more than",
)


_HTTP_STATUS = re.compile(r"HTTP (\d{3}) ")  # the transport's "HTTP 503 from the node"


@dataclass(frozen=True)
class Header:
    """What the index keeps of a block: number, hash and parent hash (32 bytes), time
    (unix seconds)."""

    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int


class Transient(ChainError):
    """The node could not be reached or did not answer in time; retrying may help."""


class RangeTooLarge(ChainError):
    """The node refused (or timed out on) a log query over this many blocks."""


class LogSource(Protocol):
    """Read-only access to one chain for the indexer."""

    where: str

    def head(self) -> int:
        """The latest block number."""
        ...

    def headers(self, start: int, end: int) -> list[Header]:
        """Headers of blocks ``start..end`` (inclusive), in order; fewer if the chain is
        shorter (a block past the head is left out)."""
        ...

    def logs(self, start: int, end: int, topics: Sequence[str]) -> list[dict[str, Any]]:
        """Logs of blocks ``start..end`` whose topic0 is in ``topics``, any address, in chain
        order; each a JSON-RPC log object (hex strings)."""
        ...


def _hexbytes(text: str) -> bytes:
    return bytes.fromhex(text[2:])


class RpcSource:
    """A :class:`LogSource` over HTTP JSON-RPC (anvil, ``collective node``, Besu, geth), on the
    chain layer's keep-alive transport (:class:`~collective.chain.http.HttpBackend`).

    Args:
        url: the node's ``http://`` or ``https://`` URL.
        timeout: seconds to connect and to wait for each reply; a reply later than that is
            taken as :class:`RangeTooLarge` (the node struggles with the range).
    """

    HEADER_BATCH = 500

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.where = url
        self._timeout = timeout
        self._backend = HttpBackend(url, timeout)

    def close(self) -> None:
        """Close this thread's connection; the next request opens a new one."""
        self._backend.close()

    def call(self, method: str, params: list[Any]) -> Any:
        """The JSON-RPC result of ``method`` with ``params`` (JSON-RPC form).

        Raises:
            RangeTooLarge: the node refused, or did not answer in time, as "ask for less".
            Transient: the connection failed or the reply was not JSON-RPC.
            ChainError: the node refused the request for another reason.
        """
        try:
            return self._backend.request(method, params)
        except RpcFailure as failure:
            raise self._refused(method, failure) from None
        except TransportError as exc:
            raise self._lost(exc) from None

    def head(self) -> int:
        """The latest block number (``eth_blockNumber``); raises as :meth:`call`."""
        return int(self.call("eth_blockNumber", []), 16)

    def headers(self, start: int, end: int) -> list[Header]:
        """Headers of blocks ``start..end`` (inclusive), asked in JSON-RPC batches of
        :attr:`HEADER_BATCH` (one by one from a node that takes no batches); fewer when the
        chain ends first. Raises as :meth:`call`."""
        out: list[Header] = []
        for first in range(start, end + 1, self.HEADER_BATCH):
            last = min(end, first + self.HEADER_BATCH - 1)
            calls = [("eth_getBlockByNumber", [hex(n), False]) for n in range(first, last + 1)]
            try:
                answers = self._backend.batch(calls)
            except TransportError as exc:
                raise self._lost(exc) from None
            for (method, params), answer in zip(calls, answers, strict=True):
                if isinstance(answer, BatchRefused):
                    answer = self.call(method, params)
                elif isinstance(answer, RpcFailure):
                    raise self._refused(method, answer)
                if answer is None:
                    return out  # past the head
                if not isinstance(answer, dict):
                    raise Transient(f"{self.where} sent a malformed reply to {method}")
                out.append(
                    Header(
                        number=int(answer["number"], 16),
                        hash=_hexbytes(answer["hash"]),
                        parent_hash=_hexbytes(answer["parentHash"]),
                        timestamp=int(answer["timestamp"], 16),
                    )
                )
        return out

    def logs(self, start: int, end: int, topics: Sequence[str]) -> list[dict[str, Any]]:
        """Logs of blocks ``start..end`` whose topic0 is in ``topics`` (``eth_getLogs``, any
        address). Raises as :meth:`call`."""
        query = {"fromBlock": hex(start), "toBlock": hex(end), "topics": [list(topics)]}
        result = self.call("eth_getLogs", [query])
        if not isinstance(result, list):
            raise Transient(f"{self.where} answered eth_getLogs without a list")
        return result

    def _refused(self, what: str, failure: RpcFailure) -> ChainError:
        message = failure.message
        if any(marker in message.lower() for marker in _TOO_LARGE):
            return RangeTooLarge(f"{self.where} refused {what}: {message}")
        return ChainError(f"{self.where} refused {what}: {message}")

    def _lost(self, exc: TransportError) -> ChainError:
        """Classify a transport failure: a timeout or an overloaded node's HTTP status asks
        for a smaller range, anything else is transient."""
        cause = exc.__cause__
        if isinstance(cause, TimeoutError | socket.timeout):
            return RangeTooLarge(f"{self.where} did not answer within {self._timeout:g} s")
        status = _HTTP_STATUS.match(str(cause)) if cause is not None else None
        if status is not None:
            code = int(status.group(1))
            kind = RangeTooLarge if code in (413, 502, 503, 504) else Transient
            return kind(f"HTTP {code} from {self.where}")
        if isinstance(cause, ValueError):
            return Transient(f"{self.where} sent a reply that is not JSON")
        return Transient(f"lost the connection to {self.where}: {cause or exc.reason}")


class EmbeddedSource:
    """A :class:`LogSource` reading the embedded chain's py-evm database in process.

    Raises:
        ChainError: ``chain`` is not the embedded chain.
    """

    def __init__(self, chain: Chain) -> None:
        if chain.tester is None:
            raise ChainError(f"{chain.where} is not the embedded chain")
        self.where = chain.where
        self._chain = chain
        self._tester = chain.tester

    @property
    def _evm(self) -> Any:
        # Looked up on every call: eth-tester replaces the chain object on snapshot revert.
        return self._tester.backend.chain

    def head(self) -> int:
        """The latest block number."""
        with self._chain.exclusive():
            return int(self._evm.get_canonical_head().block_number)

    def _block(self, number: int) -> Any:
        from eth.exceptions import BlockNotFound, HeaderNotFound

        try:
            return self._evm.get_canonical_block_by_number(number)
        except (BlockNotFound, HeaderNotFound):
            return None

    def headers(self, start: int, end: int) -> list[Header]:
        """Headers of blocks ``start..end`` (inclusive); fewer when the chain ends first."""
        out: list[Header] = []
        with self._chain.exclusive():
            for number in range(start, end + 1):
                block = self._block(number)
                if block is None:
                    break
                header = block.header
                out.append(
                    Header(number, bytes(header.hash), bytes(header.parent_hash), header.timestamp)
                )
        return out

    def logs(self, start: int, end: int, topics: Sequence[str]) -> list[dict[str, Any]]:
        """Logs of blocks ``start..end`` whose topic0 is in ``topics`` (``0x`` hex), any
        address, in chain order, in JSON-RPC's shape."""
        wanted = {int(topic, 16) for topic in topics}
        out: list[dict[str, Any]] = []
        with self._chain.exclusive():
            evm = self._evm
            for number in range(start, end + 1):
                block = self._block(number)
                if block is None:
                    break
                block_hash = "0x" + bytes(block.header.hash).hex()
                receipts = block.get_receipts(evm.chaindb)
                log_index = 0
                for tx_index, (tx, receipt) in enumerate(
                    zip(block.transactions, receipts, strict=True)
                ):
                    for entry in receipt.logs:
                        if entry.topics and entry.topics[0] in wanted:
                            out.append(
                                {
                                    "address": "0x" + bytes(entry.address).hex(),
                                    "topics": [
                                        "0x" + t.to_bytes(32, "big").hex() for t in entry.topics
                                    ],
                                    "data": "0x" + bytes(entry.data).hex(),
                                    "blockNumber": hex(number),
                                    "blockHash": block_hash,
                                    "transactionHash": "0x" + bytes(tx.hash).hex(),
                                    "transactionIndex": hex(tx_index),
                                    "logIndex": hex(log_index),
                                }
                            )
                        log_index += 1
        return out


def source_for(chain: Chain, timeout: float = 30.0) -> LogSource:
    """The fastest :class:`LogSource` for ``chain``: in process for the embedded chain."""
    if chain.embedded:
        return EmbeddedSource(chain)
    assert chain.url is not None
    return RpcSource(chain.url, timeout)


__all__ = [
    "EmbeddedSource",
    "Header",
    "LogSource",
    "RangeTooLarge",
    "RpcSource",
    "Transient",
    "source_for",
]
