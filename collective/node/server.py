"""The HTTP side: a threading HTTP/1.1 server (stdlib) that hands each POST body to the
dispatcher. Bodies above the node's ``max_body`` are refused unread (413 with a JSON-RPC
error); keep-alive connections are reused; GET answers a one-line health check, or with ``Upgrade:
websocket`` becomes a WebSocket connection (:mod:`collective.node.websocket`).
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from collective.node.errors import INVALID_REQUEST, RpcError
from collective.node.node import Node
from collective.node.rpc.dispatch import handle_body

log = logging.getLogger("collective.node")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # answers go out at once: no Nagle wait for the client's (delayed, up to 40 ms) ACK
    disable_nagle_algorithm = True
    server: RpcServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        # headers and body in one write (end_headers would send the headers alone first)
        self._headers_buffer.append(b"\r\n" + body)  # type: ignore[attr-defined]
        self.flush_headers()

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        from collective.node import websocket

        if websocket.is_upgrade(self.headers):  # JSON-RPC over WebSocket, eth_subscribe
            self.close_connection = True
            websocket.serve(self.server.node, self.connection, self.requestline, self.headers)
            return
        self._send(200, f"{self.server.node.client_version}\n".encode(), "text/plain")

    def do_POST(self) -> None:
        node = self.server.node
        try:
            length = int(self.headers.get("Content-Length") or "-1")
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            error = RpcError(INVALID_REQUEST, "invalid request: Content-Length is required")
            self._send(411, _error_body(error))
            return
        if length > node.config.max_body:
            self.close_connection = True
            error = RpcError(
                INVALID_REQUEST,
                f"invalid request: body of {length} bytes exceeds the limit of "
                f"{node.config.max_body}",
            )
            self._send(413, _error_body(error))
            return
        body = self.rfile.read(length)
        answer = handle_body(node, body)
        self._send(200, answer.encode() if answer is not None else b"")


def _error_body(error: RpcError) -> bytes:
    import json

    return json.dumps({"jsonrpc": "2.0", "id": None, "error": error.to_json()}).encode()


class RpcServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, node: Node, host: str, port: int) -> None:
        self.node = node
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def serve_in_thread(node: Node, host: str = "127.0.0.1", port: int = 0) -> RpcServer:
    """Start serving ``node`` on a background thread; ``server.shutdown()`` stops it."""
    server = RpcServer(node, host, port)
    node.start()
    threading.Thread(target=server.serve_forever, name="rpc", daemon=True).start()
    return server


__all__ = ["RpcServer", "serve_in_thread"]
