"""The HTTP side: a thread per connection (``socketserver``), each reading its requests with
:class:`collective.node.http.RequestReader` (``httptools``) and answering them in order; a
plain POST that arrives whole in one read is read natively instead
(:func:`collective.node.http.plain_post`), unless ``--verbose`` logs every request line.

- POST (any path): the body is a JSON-RPC request or batch, answered 200 by the dispatcher
  (:func:`collective.node.rpc.dispatch.handle_body`; an empty body for notifications). A body
  over the node's ``max_body`` is refused unread (413, a JSON-RPC error) and the connection
  closes; so does a POST without ``Content-Length`` (411), and any head
  :class:`~collective.node.http.RequestReader` refuses (400, 414, 431).
- GET: the health check (200, the client version as text; HEAD: its head), or with
  ``Upgrade: websocket`` the connection becomes a WebSocket (:mod:`collective.node.websocket`).
- OPTIONS: a CORS preflight (204). Any other method: 501.

Connections are kept alive (HTTP/1.1, or HTTP/1.0 with ``Connection: keep-alive``) until
``Connection: close``; pipelined requests are answered in order. An answer leaves in one
``send`` on a TCP_NODELAY socket, with ``Date``, ``Content-Type`` and ``Content-Length``, and
``Access-Control-Allow-Origin: *`` when the request carried an ``Origin`` (only browsers look
at it; POST answers are not cached, RFC 9111 section 3, so they need no ``Vary: Origin``) and
on every GET and OPTIONS answer. A bug in handling a request ends its connection only (logged).

A connection silent for :data:`IDLE_TIMEOUT` seconds (idle, mid-request, or not reading its
answer) is closed, as geth closes them; at most :func:`max_connections` are open at once, and
one more is answered 503 and closed (each holds a thread and a descriptor).
"""

from __future__ import annotations

import logging
import resource
import socket
import socketserver
import struct
import threading
from typing import Any

from collective.node.errors import INVALID_REQUEST, RpcError
from collective.node.http import (
    Refusal,
    Request,
    RequestReader,
    answer,
    answer_head,
    connection_header,
    plain_post,
    send_answer,
)
from collective.node.node import Node
from collective.node.rpc.dispatch import error_answer, handle_body

log = logging.getLogger("collective.node")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
#: seconds a connection may stay silent (between requests, within one, or not reading an
#: answer) before it is closed: geth's idle timeout
IDLE_TIMEOUT = 120.0
MAX_CONNECTIONS = 1024  # open at once (see max_connections)
_PREFLIGHT = (
    "Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n"
    "Access-Control-Allow-Headers: Content-Type\r\n"
)


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: its requests, read and answered in order until it closes."""

    server: RpcServer
    request: socket.socket

    def handle(self) -> None:
        """Serve the connection until the client closes it, a request asks to close, or a
        request is refused. A client gone mid-request ends it quietly; a bug is logged."""
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _kernel_timeouts(sock, IDLE_TIMEOUT)  # a silent or stalled client: a quiet close
        max_body = self.server.node.config.max_body
        verbose = log.isEnabledFor(logging.DEBUG)  # (--verbose: every request line logged)
        reader = RequestReader(max_body)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                plain = plain_post(data, max_body) if reader.between and not verbose else None
                if plain is not None:  # the common case, read natively
                    start, keep_alive, origin, minor = plain
                    self.post(data[start:], origin, connection_header(keep_alive, minor))
                    if not keep_alive:
                        return
                    continue
                refusal = None
                try:
                    reader.feed(data)
                except Refusal as refused:
                    refusal = refused
                for request in reader.done:
                    if not self.serve(request):
                        return
                reader.done.clear()
                if refusal is not None:
                    sock.sendall(_refusal(refusal))
                    return
                if reader.continue_wanted:  # RFC 9110 section 10.1.1, after earlier answers
                    reader.continue_wanted = False
                    sock.sendall(_CONTINUE)
        except OSError:  # the client went away
            pass
        except Exception:
            log.exception("HTTP connection ended by a bug")

    def post(self, body: bytes, origin: bool, connection: bytes) -> None:
        """Answer a POST's JSON-RPC ``body`` (200); ``origin``: the request had an ``Origin``
        header; ``connection``: the answer's ``Connection`` header (``b""``: none)."""
        reply = handle_body(self.server.node, body, seal=False)
        content = reply.encode() if reply is not None else b""
        try:
            head = answer_head(200, len(content), origin=origin, connection=connection)
            send_answer(self.request, head, content)
        finally:
            # in instant mode, the block of what the body pooled is sealed now, while the
            # answer travels: the next request on this connection is answered after it, and
            # a read on any other waits for it (handle_body)
            self.server.node.after_request()

    def serve(self, request: Request) -> bool:
        """Answer one request; returns whether the connection stays open for the next."""
        sock, node, method = self.request, self.server.node, request.method
        if log.isEnabledFor(logging.DEBUG):  # (--verbose)
            log.debug("%s %s", self.client_address[0], request.request_line)
        if method == b"POST":
            self.post(b"".join(request.body), request.origin, request.connection)
            return request.keep_alive
        if method == b"GET" and request.websocket:
            from collective.node import websocket  # (its library loads on the first one)

            _kernel_timeouts(sock, 0.0)  # a subscription may stay quiet for long
            websocket.serve(node, sock, request.request_line, _Headers(request.headers))
            return False
        # GET, HEAD and OPTIONS answers allow any origin: a cache may keep them for any
        if method in (b"GET", b"HEAD"):
            status, text, origin, extra = 200, f"{node.client_version}\n", True, ""
        elif method == b"OPTIONS":
            status, text, origin, extra = 204, "", True, _PREFLIGHT
        else:
            name = method.decode("latin-1")
            status, text = 501, f"method {name} is not served: POST JSON-RPC, or GET\n"
            origin, extra = request.origin, ""
        content = text.encode()
        whole = answer(status, content, "text/plain", origin=origin,
                       connection=request.connection, extra=extra)  # fmt: skip
        if method == b"HEAD":  # GET's answer without its content (RFC 9110 section 9.3.2)
            whole = whole[: len(whole) - len(content)]
        sock.sendall(whole)
        return request.keep_alive


def _kernel_timeouts(sock: socket.socket, seconds: float) -> None:
    """Give ``sock``'s blocking ``recv`` and ``send`` a timeout of ``seconds`` (0: none) in
    the kernel (SO_RCVTIMEO, SO_SNDTIMEO): one expired raises an OSError (EAGAIN). Python's
    own ``settimeout`` would poll() before every receive and send, a system call more per
    request."""
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def _refusal(refusal: Refusal) -> bytes:
    """The answer to a refused request: a JSON-RPC error body (-32600), ``Connection: close``."""
    error = RpcError(INVALID_REQUEST, f"invalid request: {refusal.message}")
    body = error_answer(None, error).encode()
    return answer(refusal.status, body, origin=refusal.origin, connection=b"close")


class _Headers:
    """A request's headers as :func:`collective.node.websocket.serve` reads them: ``get``
    (any letter case, the first of repeated names) and ``items`` (all, in order)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._items = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (any letter case), or ``default``."""
        wanted = name.lower()
        return next((v for n, v in self._items if n.lower() == wanted), default)

    def items(self) -> list[tuple[str, str]]:
        """Every header as (name, value), in the order received."""
        return list(self._items)


class RpcServer(socketserver.ThreadingTCPServer):
    """The node's HTTP server on ``host:port`` (0: a free port), a daemon thread per
    connection. ``serve_forever()`` serves; ``shutdown()`` then ``server_close()`` stop it.
    Raises OSError when the address cannot be bound."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, node: Node, host: str, port: int) -> None:
        self.node = node
        self.max_connections = max_connections()
        self._slots = threading.BoundedSemaphore(self.max_connections)
        super().__init__((host, port), _Connection)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on a thread of its own, or, with :attr:`max_connections`
        open already, answer 503 and close it."""
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                busy = b"too many connections: try again later\n"
                request.sendall(answer(503, busy, "text/plain", connection=b"close"))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """The connection's thread: serve it, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    @property
    def url(self) -> str:
        """``http://host:port`` it listens on."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def max_connections() -> int:
    """How many connections the server keeps open at once: 1,024, or half the process's
    open-file limit when that is lower (each takes a descriptor and a thread; the chain's
    database and CometBFT's socket need some too)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(8, min(MAX_CONNECTIONS, soft // 2))


def serve_in_thread(node: Node, host: str = "127.0.0.1", port: int = 0) -> RpcServer:
    """Start ``node`` and serve it on a background thread at ``host:port`` (0: a free port);
    ``server.shutdown()`` then ``server.server_close()`` stop it."""
    server = RpcServer(node, host, port)
    node.start()
    threading.Thread(target=server.serve_forever, name="rpc", daemon=True).start()
    return server


__all__ = ["IDLE_TIMEOUT", "MAX_CONNECTIONS", "RpcServer", "max_connections", "serve_in_thread"]
