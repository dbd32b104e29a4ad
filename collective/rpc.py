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


class RpcFailure(Exception):
    """The node answered with a JSON-RPC error (internal: :mod:`collective.chain` maps it)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


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

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = kind(self._host, self._port, timeout=self._timeout)
            conn.connect()
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm
            # holds the body back until the node acknowledges the headers.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.conn = conn
        return conn

    def call(self, method: str, params: list[Any]) -> Any:
        """The result; RpcFailure for a JSON-RPC error; OSError / HTTPException on transport."""
        body = json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        ).encode()
        headers = {"Content-Type": "application/json"}
        for attempt in (1, 2):  # a keep-alive connection the node closed: reconnect once
            conn = self._connection()
            try:
                conn.request("POST", self._path, body, headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        if response.status != 200 and not payload.startswith(b"{"):
            raise http.client.HTTPException(f"HTTP {response.status} from the node")
        reply = json.loads(payload)
        error = reply.get("error")
        if error:
            raise RpcFailure(
                int(error.get("code", 0)), str(error.get("message", "")), error.get("data")
            )
        return reply.get("result")


__all__ = ["JsonRpc", "RpcFailure"]
