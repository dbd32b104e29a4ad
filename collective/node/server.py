"""The HTTP side: a threading HTTP/1.1 server (stdlib) that hands each POST body to the
dispatcher. Bodies above the node's ``max_body`` are refused unread (413 with a JSON-RPC
error); keep-alive connections are reused; GET answers a one-line health check, or with ``Upgrade:
websocket`` becomes a WebSocket connection (:mod:`collective.node.websocket`).

Per request, the stdlib's handler spends more time on the HTTP head than the dispatcher spends
on a small request: it parses the headers with the ``email`` package (~40% of the server's
own time per keep-alive request) and formats the ``Date`` header anew. The common request, an
``HTTP/1.1`` request line with plain ``Name: value`` headers, is read here by
:func:`read_headers` instead, with the stdlib's limits (65,536 bytes a line, 100 headers) and
its answers to breaking them (431); anything else (other versions, folded or odd header
lines) goes through the stdlib's own parser, unchanged. Answers carry the same status line and
headers as before (``Server``, ``Date``, ``Content-Type``, ``Content-Length``,
``Access-Control-Allow-Origin``), written in one ``send``.
"""

from __future__ import annotations

import email.parser
import email.utils
import http.client
import logging
import re
import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any

from collective.node.errors import INVALID_REQUEST, RpcError
from collective.node.node import Node
from collective.node.rpc.dispatch import handle_body

log = logging.getLogger("collective.node")
MAX_LINE = 65_536  # bytes in one header line (http.client's _MAXLINE)
MAX_HEADERS = 100  # header lines (http.client's _MAXHEADERS)
_NAME = re.compile(rb"[!-9;-~]+")  # a header name as the email parser reads one
_END = (b"\r\n", b"\n", b"")


class Headers:
    """Request headers as read off the wire, with the part of
    :class:`email.message.Message`'s interface the server uses: :meth:`get` (any letter case,
    the first of repeated headers, as ``Message.get``) and :meth:`items` (all of them, in
    order, names as sent)."""

    __slots__ = ("_first", "_items")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._first: dict[str, str] = {}
        for name, value in items:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        """The value of header ``name`` (any letter case), or ``default``."""
        return self._first.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        """Every header as (name, value), in the order received."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first


def read_headers(rfile: BufferedIOBase) -> Any:
    """Read a request's header lines, up to the blank line that ends them.

    Args: ``rfile``, the connection's buffered reader, just past the request line.
    Returns: :class:`Headers` when every line is a plain ``Name: value`` (values as the
    ``email`` parser gives them: leading blanks and the line end stripped); otherwise the
    :class:`http.client.HTTPMessage` that :func:`http.client.parse_headers` would return.
    Raises: :class:`http.client.LineTooLong` for a line over :data:`MAX_LINE` bytes,
    :class:`http.client.HTTPException` for more than :data:`MAX_HEADERS` lines.
    """
    lines = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in _END:
            break
    items = []
    for line in lines[:-1]:
        name, colon, value = line.partition(b":")
        if not colon or _NAME.fullmatch(name) is None:  # folded or odd: the stdlib's reading
            return _stdlib_headers(lines)
        items.append(
            (name.decode("latin-1"), value.lstrip(b" \t").rstrip(b"\r\n").decode("latin-1"))
        )
    return Headers(items)


def _stdlib_headers(lines: Iterable[bytes]) -> http.client.HTTPMessage:
    text = b"".join(lines).decode("iso-8859-1")
    message: http.client.HTTPMessage = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(
        text
    )
    return message


_date: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The ``Date`` header's value (RFC 9110 section 5.6.7), formatted once a second."""
    global _date
    now = time.time()
    second, text = _date
    if int(now) != second:
        text = email.utils.formatdate(now, usegmt=True)
        _date = (int(now), text)
    return text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # answers go out at once: no Nagle wait for the client's (delayed, up to 40 ms) ACK
    disable_nagle_algorithm = True
    server: RpcServer
    raw_requestline: bytes

    def log_message(self, format: str, *args: Any) -> None:
        """Log one request line at DEBUG (formatted only when DEBUG is on)."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s " + format, self.address_string(), *args)

    def parse_request(self) -> bool:
        """The stdlib's ``parse_request`` for an ``HTTP/1.1`` request line, with the headers
        read by :func:`read_headers`; every other request line goes to the stdlib's."""
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] != "HTTP/1.1":
            return super().parse_request()
        self.requestline = requestline
        self.command, path, self.request_version = words
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        self.close_connection = False
        try:
            self.headers = read_headers(self.rfile)
        except http.client.LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(err)
            )
            return False
        if self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True
        if self.headers.get("Expect", "").lower() == "100-continue":
            return self.handle_expect_100()
        return True

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        if self.request_version == "HTTP/1.1":  # status line, headers and body in one write
            self.log_request(status)
            head = (
                f"HTTP/1.1 {status} {self.responses[status][0]}\r\n"
                f"Server: {self.version_string()}\r\nDate: {_http_date()}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Access-Control-Allow-Origin: *\r\n\r\n"
            )
            self.wfile.write(head.encode("latin-1") + body)
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        # headers and body in one write (end_headers would send the headers alone first)
        self._headers_buffer.append(b"\r\n" + body)  # type: ignore[attr-defined]
        self.flush_headers()

    def do_OPTIONS(self) -> None:
        """A CORS preflight: 204, any origin may POST JSON."""
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        """A WebSocket upgrade (then the connection is the WebSocket's), else the health
        check: 200 with the client version."""
        from collective.node import websocket

        if websocket.is_upgrade(self.headers):  # JSON-RPC over WebSocket, eth_subscribe
            self.close_connection = True
            websocket.serve(self.server.node, self.connection, self.requestline, self.headers)
            return
        self._send(200, f"{self.server.node.client_version}\n".encode(), "text/plain")

    def do_POST(self) -> None:
        """A JSON-RPC body: 411 without Content-Length, 413 over ``max_body`` (both close the
        connection, the body unread), else 200 with the dispatcher's answer (empty for
        notifications)."""
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
        answer = handle_body(node, body, seal=False)
        self._send(200, answer.encode() if answer is not None else b"")
        # in instant mode, the block of what the body pooled is sealed now, while the answer
        # travels: the next request on this connection is read after it, and a read on any
        # other waits for it (handle_body)
        node.after_request()


def _error_body(error: RpcError) -> bytes:
    import json

    return json.dumps({"jsonrpc": "2.0", "id": None, "error": error.to_json()}).encode()


class RpcServer(ThreadingHTTPServer):
    """The node's HTTP server: a thread per connection (daemon threads), keep-alive."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, node: Node, host: str, port: int) -> None:
        self.node = node
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        """``http://host:port`` it listens on."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def serve_in_thread(node: Node, host: str = "127.0.0.1", port: int = 0) -> RpcServer:
    """Start serving ``node`` on a background thread; ``server.shutdown()`` stops it."""
    server = RpcServer(node, host, port)
    node.start()
    threading.Thread(target=server.serve_forever, name="rpc", daemon=True).start()
    return server


__all__ = ["RpcServer", "serve_in_thread"]
