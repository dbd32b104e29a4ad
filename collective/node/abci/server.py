"""The ABCI socket server: serves an :class:`~collective.node.abci.application.Application` to
CometBFT over its socket protocol (spec/abci/abci++_client_server.md "Socket"; in the Go
source, abci/server/socket_server.go, which this follows).

Shape: one thread accepts connections; each connection is served by its own thread (CometBFT
opens four: consensus, mempool, query, snapshot). A connection thread reads uvarint-delimited
``Request`` messages (:mod:`collective.node.abci.framing`), dispatches each on its ``value``
oneof to the application method of the same name, and appends the ``Response`` to a write
buffer, so responses go out in request order. The buffer is sent when a ``flush`` request is
answered (CometBFT sends one after each request it waits on), when it passes 64 KiB (as Go's
buffered writer would), after an exception, and before the thread blocks waiting for more
requests (so answers are never held back for a flush still in flight). ``echo`` and ``flush``
are answered by the server itself.

The protocol has no authentication: whoever connects drives the application. Serve on
127.0.0.1 or a Unix socket, never on an address other machines reach.

One lock serialises every call into the application, across all connections, as CometBFT's
Go socket server (``appMtx``) and its in-process local client do: the application sees one
call at a time and needs no locking against the server. A slow call (FinalizeBlock of a big
block) therefore also delays CheckTx and Query on the other connections.

Failures:
- an exception raised by the application is logged with its traceback and answered with
  ``ResponseException`` carrying its text; the connection and the server keep serving. CometBFT
  treats the exception as fatal: its socket client stops and the node shuts down
  (abci/client/socket_client.go, proxy/multi_app_conn.go ``killTMOnClientError``), which is the
  point: consensus cannot go on past a call the application failed;
- a peer that breaks the protocol (a bad varint, a length over ``max_message_bytes``, bytes
  that are not a ``Request``, a request with no known method, the connection ending inside a
  message) gets its connection closed with one log line; the server and the other connections
  keep working.

Threads and blocking sockets, not asyncio: the application is synchronous Python and runs under
one lock anyway, and four long-lived connections need no event loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError, Message

from collective.errors import CollectiveError, InvalidInputError, NodeError
from collective.node.abci.application import Application
from collective.node.abci.framing import MAX_MESSAGE_BYTES, FrameReader, FramingError, frame
from collective.node.abci.proto.tendermint.abci import types_pb2 as abci

log = logging.getLogger("collective.node.abci")

ACCEPT_RETRY_SECONDS = 0.1
"""Pause after a failed accept() (e.g. EMFILE) before trying again."""

WRITE_BUFFER_BYTES = 64 * 1024
"""Responses buffered past this many bytes are sent without waiting for a flush request."""

APP_METHODS: frozenset[str] = frozenset(
    {
        "info",
        "init_chain",
        "query",
        "check_tx",
        "prepare_proposal",
        "process_proposal",
        "finalize_block",
        "extend_vote",
        "verify_vote_extension",
        "commit",
        "list_snapshots",
        "offer_snapshot",
        "load_snapshot_chunk",
        "apply_snapshot_chunk",
    }
)
"""The ``Request.value`` oneof names answered by the application method of the same name
(the ``Response.value`` field is named the same too)."""


def parse_address(address: str) -> tuple[int, str | tuple[str, int]]:
    """Split ``tcp://HOST:PORT`` or ``unix:///path`` (CometBFT's ``proxy_app`` forms).

    Returns:
        ``(socket family, bind address)``: ``(AF_INET or AF_INET6, (host, port))`` or
        ``(AF_UNIX, path)``.

    Raises:
        InvalidInputError: another scheme, a missing host or path, a port that is not a number
            in 0..65535.
    """
    scheme, sep, rest = address.partition("://")
    if not sep or scheme not in ("tcp", "unix"):
        raise InvalidInputError(
            f"ABCI address {address!r} is neither tcp://HOST:PORT nor unix:///path"
        )
    if scheme == "unix":
        if not rest:
            raise InvalidInputError(f"ABCI address {address!r} names no socket path")
        return socket.AF_UNIX, rest
    host, colon, port_text = rest.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise InvalidInputError(
            f"ABCI address {address!r} needs a host and a port in 0..65535 (tcp://HOST:PORT)"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port_text))


class AbciServer:
    """Serves ``app`` to CometBFT on ``address`` (see the module docstring).

    Args:
        app: the application; its methods are called one at a time, under one lock.
        address: ``tcp://HOST:PORT`` (port 0 picks a free port, see :attr:`port`) or
            ``unix:///path`` (a stale socket file at the path is replaced).
        max_message_bytes: the largest request accepted, in bytes (default
            :data:`~collective.node.abci.framing.MAX_MESSAGE_BYTES`, 128 MiB).

    Raises:
        InvalidInputError: ``address`` is malformed (raised by the constructor).
    """

    def __init__(
        self,
        app: Application,
        address: str,
        *,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self._app = app
        self._family, self._bind = parse_address(address)
        self._address = address
        self._max_message_bytes = max_message_bytes
        self._app_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._port: int | None = None
        self._closing = False
        self._handlers: dict[str, Callable[[Any], Message]] = {
            name: getattr(app, name) for name in APP_METHODS
        }

    @property
    def address(self) -> str:
        """The address served, in ``proxy_app`` form: after :meth:`start` with the bound port
        (``tcp://127.0.0.1:41234``), before it as given."""
        if self._port is None:
            return self._address
        assert isinstance(self._bind, tuple)
        host = self._bind[0]
        shown = f"[{host}]" if ":" in host else host
        return f"tcp://{shown}:{self._port}"

    @property
    def port(self) -> int:
        """The bound TCP port (the one picked when the address said port 0).

        Raises:
            NodeError: the server was never started, or serves a Unix socket.
        """
        if self._port is None:
            raise NodeError(f"the ABCI server on {self._address} has no bound TCP port")
        return self._port

    def start(self) -> None:
        """Bind, listen and start accepting connections in a background thread; returns once
        the server is listening.

        Raises:
            NodeError: already started, or the address cannot be bound (in use, no permission).
        """
        if self._listener is not None or self._closing:
            raise NodeError(f"the ABCI server on {self._address} was already started")
        listener = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            if self._family == socket.AF_UNIX:
                assert isinstance(self._bind, str)
                _remove_stale_socket(self._bind)
            else:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(self._bind)
            listener.listen(16)
        except OSError as exc:
            listener.close()
            raise NodeError(
                f"cannot listen for ABCI on {self._address}: {exc.strerror or exc}",
                hint="choose another address, or stop what holds this one",
            ) from exc
        self._listener = listener
        if self._family != socket.AF_UNIX:
            self._port = int(listener.getsockname()[1])
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"abci-accept {self.address}", daemon=True
        )
        self._accept_thread.start()
        log.info("ABCI server listening on %s", self.address)

    def close(self) -> None:
        """Stop accepting, close every connection and join the threads (a connection inside an
        application call finishes that call first). Removes the Unix socket file. Idempotent."""
        with self._state_lock:
            if self._closing or self._listener is None:
                self._closing = True
                return
            self._closing = True
            connections = list(self._connections.items())
        # shutdown() wakes a thread blocked in accept() or recv() (close() alone does not).
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join()
        for sock, _thread in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _sock, thread in connections:
            thread.join()
        if self._family == socket.AF_UNIX:
            assert isinstance(self._bind, str)
            with contextlib.suppress(OSError):
                os.unlink(self._bind)
        log.info("ABCI server on %s closed", self.address)

    def __enter__(self) -> AbciServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                sock, peer = self._listener.accept()
            except OSError:
                if self._closing:
                    return
                log.exception("ABCI server on %s: accept failed", self.address)
                time.sleep(ACCEPT_RETRY_SECONDS)  # out of file descriptors: do not spin
                continue
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            name = f"abci-conn {peer or 'unix'}"
            thread = threading.Thread(target=self._serve, args=(sock, name), name=name)
            with self._state_lock:
                if self._closing:
                    sock.close()
                    return
                self._connections[sock] = thread
            thread.start()
            log.debug("ABCI connection %s accepted", name)

    def _serve(self, sock: socket.socket, name: str) -> None:
        try:
            self._serve_requests(sock, name)
        except FramingError as exc:
            log.warning("ABCI connection %s closed: %s", name, exc)
        except OSError as exc:
            if not self._closing:
                log.warning("ABCI connection %s closed: %s", name, exc)
        except Exception:  # a bug here: drop this connection, keep the server
            log.exception("ABCI connection %s closed after an unexpected error", name)
        finally:
            with self._state_lock:
                self._connections.pop(sock, None)
            sock.close()

    def _serve_requests(self, sock: socket.socket, name: str) -> None:
        reader = FrameReader(sock, self._max_message_bytes)
        out = bytearray()
        while True:
            if out and not reader.has_frame():
                # No whole request is waiting to be answered: send what is written before
                # blocking on the peer (Go's server would hold it until a Flush; this way a
                # client that waits for an answer without flushing still gets it).
                sock.sendall(out)
                out.clear()
            message = reader.read()
            if message is None:
                log.debug("ABCI connection %s closed by the peer", name)
                return
            request = abci.Request()
            try:
                request.ParseFromString(message)
            except DecodeError as exc:
                raise FramingError(f"undecodable Request ({len(message)} bytes): {exc}") from exc
            response, send_now = self._answer(request, name)
            out += frame(response.SerializeToString())
            if send_now or len(out) >= WRITE_BUFFER_BYTES:
                sock.sendall(out)
                out.clear()

    def _answer(self, request: abci.Request, name: str) -> tuple[abci.Response, bool]:
        """The response to ``request`` and whether to send the buffer now."""
        kind = request.WhichOneof("value")
        if kind == "echo":
            return abci.Response(echo=abci.ResponseEcho(message=request.echo.message)), False
        if kind == "flush":
            return abci.Response(flush=abci.ResponseFlush()), True
        if kind not in APP_METHODS:
            raise FramingError(f"unknown request (no known method set): {request!r:.200}")
        handler = self._handlers[kind]
        response = abci.Response()
        try:
            with self._app_lock:
                result = handler(getattr(request, kind))
            getattr(response, kind).CopyFrom(result)  # TypeError if the app returned junk
        except CollectiveError as exc:  # the application refuses, saying why: no traceback
            log.error("ABCI %s refused: %s%s", kind, exc, f" ({exc.hint})" if exc.hint else "")
            error = f"{kind}: {exc}"
            return abci.Response(exception=abci.ResponseException(error=error)), True
        except Exception as exc:
            log.exception("ABCI %s on connection %s raised", kind, name)
            error = f"{kind}: {type(exc).__name__}: {exc}"
            return abci.Response(exception=abci.ResponseException(error=error)), True
        return response, False


def _remove_stale_socket(path: str) -> None:
    """Remove a Unix socket file left at ``path`` by a process that is gone: one nothing
    accepts connections on. A live socket, or a file of another kind, is left for bind to
    report as in use."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)
        except OSError:
            return


__all__ = ["APP_METHODS", "AbciServer", "parse_address"]
