"""The HTTP backend: a lean JSON-RPC 2.0 client, one keep-alive connection per thread.

web3's HTTP provider runs each request through middleware, validation (it asks the node for
its chain id before every send) and requests' proxy lookup: ~1.5 ms of Python per call.
:class:`JsonRpc` posts the JSON itself over a socket (or :mod:`http.client` for HTTPS), which
keeps the client's own cost well under the node's. :class:`HttpBackend` puts it behind the
:class:`~collective.chain.backend.Backend` seam: every request a
:class:`~collective.chain.Chain` on a node makes, and the auditor's and the benchmarks', go
through it.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import socket
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from collective.chain.backend import (
    BatchRefused,
    Call,
    DevBackend,
    RpcFailure,
    TransportError,
)
from collective.chain.jsonints import SAFE_DEPTH, loads


class JsonRpc:
    """``call(method, params)`` against one node URL, thread-safe (a connection per thread).

    Args:
        url: the node's ``http://`` or ``https://`` URL.
        timeout: seconds to connect, and to wait for each reply.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json"}
        if parts.username is not None:  # http://user:password@host: HTTP basic authentication
            secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
        self._timeout = timeout
        self._local = threading.local()
        self._ids = itertools.count(1)

    def _connection(self) -> _Connection:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = _Connection(
                self._host, self._port, self._path, self._headers, self._timeout, self._https
            )
            self._local.conn = conn
        return conn

    def call(self, method: str, params: Sequence[Any]) -> Any:
        """The JSON-RPC result of ``method`` with ``params``.

        Raises:
            RpcFailure: the node answered with an error.
            OSError | http.client.HTTPException: the transport failed.
            ValueError: the reply was not JSON.
        """
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        return _result(self._post(request))

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Several calls in one JSON-RPC batch; each item is its result or an RpcFailure
        (:class:`BatchRefused` in each when the node takes no batches).

        Raises:
            OSError | http.client.HTTPException: the transport failed.
            ValueError: the reply was not JSON.
        """
        first = next(self._ids)
        requests = [
            {"jsonrpc": "2.0", "id": first + i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        for _ in calls[1:]:
            next(self._ids)
        replies = self._post(requests)
        if not isinstance(replies, list):  # a node that refuses batches answers with one error
            answer = _failure(replies)
            refused = BatchRefused(
                answer.code if answer else 0,
                answer.message if answer else "the node does not accept batches",
            )
            return [refused for _ in calls]
        by_id = {reply.get("id"): reply for reply in replies}
        out: list[Any] = []
        for request in requests:
            reply = by_id.get(request["id"], {"error": {"message": "no reply"}})
            out.append(_failure(reply) or reply.get("result"))
        return out

    def close(self) -> None:
        """Close this thread's connection (other threads' close when they are collected)."""
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        for attempt in (1, 2):  # a keep-alive connection the node closed: reconnect once
            conn = self._connection()
            try:
                status, answer = conn.post(body)
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        if status != 200 and not answer.lstrip().startswith((b"{", b"[")):
            raise http.client.HTTPException(f"HTTP {status} from the node")
        return loads(answer, max_depth=SAFE_DEPTH)  # refuses nesting the C decoder dies on


class _Connection:
    """One keep-alive HTTP/1.1 connection. Plain HTTP writes each request with a single
    ``sendall`` (http.client writes headers and body apart) and reads the reply by
    Content-Length (or chunks); HTTPS goes through http.client."""

    def __init__(
        self, host: str, port: int, path: str, headers: dict[str, str], timeout: float, https: bool
    ) -> None:
        self._path = path
        self._headers = headers
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{lines}Connection: keep-alive\r\n"
        ).encode()
        self._https: http.client.HTTPSConnection | None = None
        self._sock: socket.socket | None = None
        if https:
            self._https = http.client.HTTPSConnection(host, port, timeout=timeout)
            return
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = self._sock.makefile("rb")

    def post(self, body: bytes) -> tuple[int, bytes]:
        if self._https is not None:
            self._https.request("POST", self._path, body, self._headers)
            response = self._https.getresponse()
            return response.status, response.read()
        assert self._sock is not None
        self._sock.sendall(self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status_line = self._reader.readline()
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise http.client.HTTPException(f"not an HTTP reply: {status_line[:40]!r}")
        length, chunked, closing = -1, False, False
        while True:
            line = self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif key == b"connection" and b"close" in value.lower():
                closing = True
        if chunked:
            answer = self._read_chunks()
        elif length >= 0:
            answer = self._reader.read(length)
        else:
            answer, closing = self._reader.read(), True
        if closing:
            self.close()
        return int(parts[1]), answer

    def _read_chunks(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self._reader.readline().split(b";")[0], 16)
            if size == 0:
                self._reader.readline()
                return b"".join(chunks)
            chunks.append(self._reader.read(size))
            self._reader.readline()

    @property
    def closed(self) -> bool:
        return self._https is None and self._sock is None

    def close(self) -> None:
        if self._https is not None:
            self._https.close()
        if self._sock is not None:
            self._reader.close()
            self._sock.close()
            self._sock = None


def _failure(reply: Any) -> RpcFailure | None:
    error = reply.get("error") if isinstance(reply, dict) else None
    if not error:
        return None
    if not isinstance(error, dict):
        return RpcFailure(0, str(error))
    return RpcFailure(int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))


def _result(reply: Any) -> Any:
    failure = _failure(reply)
    if failure is not None:
        raise failure
    return reply.get("result") if isinstance(reply, dict) else None


class HttpBackend(DevBackend):
    """The :class:`~collective.chain.backend.Backend` for a JSON-RPC node at ``url``.

    Dev commands are the ``evm_*`` methods anvil, hardhat and ``collective node --dev`` take;
    any other node refuses them with an :class:`RpcFailure`.

    Args:
        url: the node's ``http://`` or ``https://`` URL.
        timeout: seconds to connect, and to wait for each reply.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.where = url
        self.timeout = timeout
        self._rpc = JsonRpc(url, timeout)

    def __repr__(self) -> str:
        return f"HttpBackend({self.url!r})"

    def request(self, method: str, params: Sequence[Any]) -> Any:
        """See :meth:`Backend.request`; transport failures become :class:`TransportError`."""
        try:
            return self._rpc.call(method, params)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise TransportError(reason(exc)) from exc

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """See :meth:`Backend.batch`; transport failures become :class:`TransportError`."""
        try:
            return self._rpc.batch(calls)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise TransportError(reason(exc)) from exc

    def close(self) -> None:
        """Close this thread's keep-alive connection."""
        self._rpc.close()

    def snapshot(self) -> object:
        """``evm_snapshot``: the node's snapshot id (a hex string)."""
        return self.request("evm_snapshot", [])

    def revert(self, snapshot: object) -> bool:
        """``evm_revert``: False when the node does not know ``snapshot``."""
        return self.request("evm_revert", [snapshot]) is not False

    def mine(self, blocks: int = 1) -> None:
        """``evm_mine``, ``blocks`` times."""
        for _ in range(blocks):
            self.request("evm_mine", [])

    def increase_time(self, seconds: int) -> None:
        """``evm_increaseTime`` then ``evm_mine``."""
        self.request("evm_increaseTime", [seconds])
        self.request("evm_mine", [])


def reason(exc: BaseException) -> str:
    """A short cause for a transport failure, without urllib3's or socket's nested reprs:
    "connection refused", "timed out", ... or the exception's class name."""
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "No route"):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(exc).__name__


__all__ = ["BatchRefused", "HttpBackend", "JsonRpc", "RpcFailure", "TransportError", "reason"]
