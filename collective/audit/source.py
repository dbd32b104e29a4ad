"""Where the indexer reads the chain: block headers and event logs, from a node or in process.

A :class:`LogSource` answers three questions: the head block number, the headers of a block
range (number, hash, parent hash, timestamp) and the logs of a block range whose first topic
is one of a set. Logs come back in JSON-RPC's shape (hex strings), whatever the source:

- :class:`RpcSource` speaks JSON-RPC over one keep-alive HTTP connection, sends the headers of
  a range as batched requests, and classifies failures: :class:`Transient` (the connection
  dropped, the node restarted, a read timed out: retry), :class:`RangeTooLarge` (the node
  refuses or times out on the range: ask for a smaller one).
- :class:`EmbeddedSource` reads the embedded chain's py-evm database directly: eth-tester's
  own log query takes ~95 s for 1,000 logs.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from collective.chain import Chain
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


@dataclass(frozen=True)
class Header:
    """What the index keeps of a block."""

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
    """A :class:`LogSource` over HTTP JSON-RPC (anvil, ``collective node``, Besu, geth)."""

    HEADER_BATCH = 500

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.where = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._id = 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, body: bytes) -> Any:
        try:
            if self._conn is None:
                kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                conn = kind(self._host, self._port, timeout=self._timeout)
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._conn = conn
            self._conn.request("POST", self._path, body, {"Content-Type": "application/json"})
            response = self._conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if isinstance(exc, TimeoutError | socket.timeout):
                raise RangeTooLarge(
                    f"{self.where} did not answer within {self._timeout:g} s"
                ) from None
            raise Transient(
                f"lost the connection to {self.where}: {exc or type(exc).__name__}"
            ) from None
        if response.status != 200 and not payload.startswith((b"{", b"[")):
            if response.status in (413, 502, 503, 504):
                raise RangeTooLarge(f"HTTP {response.status} from {self.where}")
            raise Transient(f"HTTP {response.status} from {self.where}")
        try:
            return json.loads(payload)
        except ValueError:
            raise Transient(f"{self.where} sent a reply that is not JSON") from None

    def _body(self, method: str, params: list[Any]) -> dict[str, Any]:
        self._id += 1
        return {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}

    @staticmethod
    def _result(reply: Any, what: str, where: str) -> Any:
        if not isinstance(reply, dict):
            raise Transient(f"{where} sent a malformed reply to {what}")
        error = reply.get("error")
        if error:
            message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
            if any(marker in message.lower() for marker in _TOO_LARGE):
                raise RangeTooLarge(f"{where} refused {what}: {message}")
            raise ChainError(f"{where} refused {what}: {message}")
        return reply.get("result")

    def call(self, method: str, params: list[Any]) -> Any:
        reply = self._post(json.dumps(self._body(method, params)).encode())
        return self._result(reply, method, self.where)

    def head(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def headers(self, start: int, end: int) -> list[Header]:
        out: list[Header] = []
        for first in range(start, end + 1, self.HEADER_BATCH):
            last = min(end, first + self.HEADER_BATCH - 1)
            bodies = [
                self._body("eth_getBlockByNumber", [hex(n), False]) for n in range(first, last + 1)
            ]
            replies = self._post(json.dumps(bodies).encode())
            if not isinstance(replies, list):
                # A node without batch support answers with one error object.
                replies = [
                    {"id": body["id"], "result": self.call(body["method"], body["params"])}
                    for body in bodies
                ]
            by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
            for body in bodies:
                block = self._result(by_id.get(body["id"]), "eth_getBlockByNumber", self.where)
                if block is None:
                    return out  # past the head
                out.append(
                    Header(
                        number=int(block["number"], 16),
                        hash=_hexbytes(block["hash"]),
                        parent_hash=_hexbytes(block["parentHash"]),
                        timestamp=int(block["timestamp"], 16),
                    )
                )
        return out

    def logs(self, start: int, end: int, topics: Sequence[str]) -> list[dict[str, Any]]:
        query = {"fromBlock": hex(start), "toBlock": hex(end), "topics": [list(topics)]}
        result = self.call("eth_getLogs", [query])
        if not isinstance(result, list):
            raise Transient(f"{self.where} answered eth_getLogs without a list")
        return result


class EmbeddedSource:
    """A :class:`LogSource` reading the embedded chain's py-evm database in process."""

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
        with self._chain.exclusive():
            return int(self._evm.get_canonical_head().block_number)

    def _block(self, number: int) -> Any:
        from eth.exceptions import BlockNotFound, HeaderNotFound

        try:
            return self._evm.get_canonical_block_by_number(number)
        except (BlockNotFound, HeaderNotFound):
            return None

    def headers(self, start: int, end: int) -> list[Header]:
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
