"""A lean JSON-RPC 2.0 client for the hot paths: one keep-alive HTTP connection per thread.

web3's HTTP provider runs each request through middleware, validation (it asks the node for
its chain id before every send) and requests' proxy lookup: ~1.5 ms of Python per call. For the
four calls every transaction makes (estimate, send, receipt, nonce) :class:`JsonRpc` posts the
JSON itself over :mod:`http.client`, which keeps the client's own cost well under the node's.
Everything else still goes through web3.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from collective.jsonints import SAFE_DEPTH, loads


class RpcFailure(Exception):
    """The node answered with a JSON-RPC error (internal: :mod:`collective.chain` maps it)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class BatchRefused(RpcFailure):
    """The node answered a batch with one error: it does not take batches."""


class JsonRpc:
    """``call(method, params)`` against one node URL, thread-safe."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._local = threading.local()
        self._ids = itertools.count(1)

    def _connection(self) -> _Connection:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = _Connection(self._host, self._port, self._path, self._timeout, self._https)
            self._local.conn = conn
        return conn

    def call(self, method: str, params: list[Any]) -> Any:
        """The result; RpcFailure for a JSON-RPC error; OSError / HTTPException on transport."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        return _result(self._post(request))

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one JSON-RPC batch; each item is its result or an RpcFailure."""
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

    def __init__(self, host: str, port: int, path: str, timeout: float, https: bool) -> None:
        self._path = path
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nConnection: keep-alive\r\n"
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
            self._https.request("POST", self._path, body, {"Content-Type": "application/json"})
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


__all__ = ["BatchRefused", "JsonRpc", "RpcFailure"]
