"""HTTP/1.1 on the node's port, the protocol half: requests read off a connection's bytes by
``httptools`` (llhttp, the parser uvicorn and Node.js use), and answers written as bytes.

:class:`RequestReader` takes whatever a connection's ``recv`` returns and gives back the
requests it completes, in order (pipelined ones included), with the limits and refusals of
RFC 9110/9112 the node keeps:

- 400 for a request llhttp rejects (RFC 9112: obs-folded header lines, bare LF line ends, a
  ``Content-Length`` that is not a number, both ``Content-Length`` and ``Transfer-Encoding``);
- 411 for a POST without ``Content-Length``, or a chunked body (RFC 9110 section 15.5.12: a
  body is taken only with its length told);
- 413 for a ``Content-Length`` over ``max_body``, any method (refused before the body is read,
  RFC 9110 section 15.5.14);
- 414 for a request target over :data:`MAX_LINE` bytes, 431 for a header line over
  :data:`MAX_LINE` bytes or more than :data:`MAX_HEADERS` header lines (RFC 6585 section 5):
  the limits of the standard library's server, which the node served with before.

:func:`plain_post` reads the common case, one plain POST whole in one ``recv``, in native code
(``collective_revm.plain_post``, ``httparse``) when the extension is built: it takes only what
the reader would read alike (tests check it), and leaves the rest to the reader.

``Expect: 100-continue`` (RFC 9110 section 10.1.1) is noted on the request being read
(:attr:`RequestReader.continue_wanted`) for the connection to answer in turn. ``Upgrade`` to
any protocol but WebSocket is ignored (RFC 9110 section 7.8): the request is served as HTTP/1.1.
"""

from __future__ import annotations

import email.utils
import socket
import time
from dataclasses import dataclass, field
from http import HTTPStatus

import httptools

try:
    from collective_revm import plain_post as _plain_post
except ImportError:  # not built (scripts/setup.sh builds it): the reader reads every request
    _plain_post = None

MAX_LINE = 65_536  # bytes in a request target or header line (http.client's _MAXLINE)
MAX_HEADERS = 100  # header lines (http.client's _MAXHEADERS)
MAX_HEAD = MAX_LINE * (MAX_HEADERS + 1)  # bytes of one request head still incomplete
_REASONS = {status.value: status.phrase for status in HTTPStatus}


@dataclass(slots=True)
class Request:
    """One request as read: ``method`` (``b"POST"``...), ``target`` (the request target as
    sent, ``b"/"``), ``version`` (``"1.1"`` or ``"1.0"``), ``headers`` (every header line as
    ``(name, value)`` bytes, in order, names as sent), ``body`` (its chunks), ``keep_alive``
    (whether the connection stays open after the answer, RFC 9112 section 9.3), ``origin``
    (whether an ``Origin`` header came), ``websocket`` (a GET with ``Upgrade: websocket``)."""

    method: bytes
    target: bytes
    version: str
    headers: list[tuple[bytes, bytes]]
    body: list[bytes] = field(default_factory=list)
    keep_alive: bool = True
    origin: bool = False
    websocket: bool = False

    @property
    def request_line(self) -> str:
        """``"GET / HTTP/1.1"``: the request line as it came."""
        return (
            f"{self.method.decode('latin-1')} {self.target.decode('latin-1')} HTTP/{self.version}"
        )

    @property
    def connection(self) -> bytes:
        """The ``Connection`` header its answer carries (RFC 9112 section 9.6): ``close`` when
        the connection closes after it, ``keep-alive`` for an HTTP/1.0 client that asked to
        keep it (RFC 9112 section C.2.2), else none (``b""``)."""
        return connection_header(self.keep_alive, 1 if self.version == "1.1" else 0)


class Refusal(Exception):
    """A request answered with an error status before (or instead of) reading its body;
    the connection closes after the answer. ``status``: the HTTP status; ``message``: the
    reason, for the body; ``origin``: whether the request carried an ``Origin`` header."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.origin = False


class RequestReader:
    """Reads a connection's requests with ``httptools``. Args: ``max_body``, the largest POST
    body accepted, in bytes. Feed it with :meth:`feed`; read :attr:`done` (complete requests,
    for the caller to take and clear) and :attr:`continue_wanted`."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.done: list[Request] = []
        self.continue_wanted = False  # the request being read waits for 100 Continue
        self._parser = httptools.HttpRequestParser(self)
        self._in_head = False
        self._head_bytes = 0
        self._long_head = False
        self._skipped = 0  # bytes of body llhttp left unread after an ignored Upgrade
        self._target = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._wanted: dict[bytes, bytes] = {}
        self._request: Request | None = None

    @property
    def between(self) -> bool:
        """Whether the reader stands between requests (no request partly read): the next
        bytes may go to :func:`plain_post` instead."""
        return self._request is None and not self._in_head and not self._skipped

    def feed(self, data: bytes) -> None:
        """Read ``data``, the connection's next bytes. Complete requests are appended to
        :attr:`done`; nothing more is read after a WebSocket upgrade request.

        Raises: :class:`Refusal` for a request refused (the requests before it are in
        :attr:`done`)."""
        try:
            self._feed(data)
        except Refusal as refusal:
            refusal.origin = b"origin" in self._wanted
            raise

    def _feed(self, data: bytes) -> None:
        if self._skipped:
            data = self._take_skipped(data)
        # a head read in one piece of at most MAX_LINE bytes has no line over it
        self._long_head = self._in_head or len(data) > MAX_LINE
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                raise Refusal(431, "request head too large")
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._upgrade(data[upgrade.args[0] :])
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, Refusal):
                raise error.__context__ from None
            raise
        except httptools.HttpParserError as error:
            raise Refusal(400, f"bad request: {error}") from None

    def _upgrade(self, rest: bytes) -> None:
        request = self.done[-1]
        if request.websocket:  # the client sends nothing more before the handshake's answer
            return  # (RFC 6455 section 4.1): the connection is the WebSocket's from here
        # another protocol (h2c...): ignored, RFC 9110 section 7.8; llhttp skipped its body
        self.done.pop()
        self._request = request
        self._parser = httptools.HttpRequestParser(self)
        self._skipped = int(self._wanted.get(b"content-length", b"0"))
        # llhttp took the head as the whole message: the body it skipped may still await a
        # 100 Continue (RFC 9110 section 10.1.1)
        self.continue_wanted = self._skipped > 0 and _expects_continue(
            request.version, self._wanted
        )
        rest = self._take_skipped(rest)
        if rest:
            self._feed(rest)

    def _take_skipped(self, data: bytes) -> bytes:
        request = self._request
        assert request is not None
        request.body.append(data[: self._skipped])
        taken = min(self._skipped, len(data))
        self._skipped -= taken
        if not self._skipped:
            self.done.append(request)
            self.continue_wanted = False
        return data[taken:]

    # --- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        """A request begins."""
        self._in_head, self._head_bytes = True, 0
        self._target = b""
        self._headers = []
        self._wanted = {}

    def on_url(self, url: bytes) -> None:
        """(A part of) the request target."""
        self._target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        """One header line."""
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        """The head is read. Raises :class:`Refusal`: 414 for a target over
        :data:`MAX_LINE`, 431 for a header line over it or more than :data:`MAX_HEADERS`
        lines, 411 for a POST without ``Content-Length`` or a chunked body, 413 for a body
        over ``max_body``."""
        self._in_head = False
        headers = self._headers
        if len(headers) > MAX_HEADERS:
            raise Refusal(431, f"more than {MAX_HEADERS} headers")
        version = self._parser.get_http_version()
        if version not in ("1.0", "1.1"):  # RFC 9110 section 15.6.6
            raise Refusal(505, f"HTTP version {version} is not supported: HTTP/1.1 is")
        if self._long_head:
            self._check_lines()
        self._wanted = wanted = {name.lower(): value for name, value in headers}
        parser = self._parser
        method = parser.get_method()
        upgrade = wanted.get(b"upgrade")
        self._request = Request(
            method,
            self._target,
            version,
            headers,
            keep_alive=parser.should_keep_alive(),
            origin=b"origin" in wanted,
            websocket=method == b"GET" and upgrade is not None and b"websocket" in upgrade.lower(),
        )
        length = wanted.get(b"content-length")
        if length is None:
            if method == b"POST" or b"transfer-encoding" in wanted:
                raise Refusal(411, "Content-Length is required")
        elif int(length) > self.max_body:
            raise Refusal(413, f"body of {int(length)} bytes exceeds the limit of {self.max_body}")
        self.continue_wanted = _expects_continue(version, wanted)

    def _check_lines(self) -> None:
        if len(self._target) > MAX_LINE:
            raise Refusal(414, "request target too long")
        for name, value in self._headers:
            if len(name) + len(value) + 4 > MAX_LINE:  # with ": " and CRLF
                raise Refusal(431, "header line too long")

    def on_body(self, body: bytes) -> None:
        """A part of the body."""
        assert self._request is not None
        self._request.body.append(body)

    def on_message_complete(self) -> None:
        """The request is complete: it joins :attr:`done`."""
        assert self._request is not None
        self.done.append(self._request)
        self._request = None
        self.continue_wanted = False


def plain_post(data: bytes, max_body: int) -> tuple[int, bool, bool, int] | None:
    """One plain POST, whole, in ``data`` (what a connection's ``recv`` returned between
    requests), read natively; None for anything else (or without the native extension), for
    :class:`RequestReader` to read.

    Plain: HTTP/1.1 or 1.0, CRLF line ends, printable ASCII, no line over :data:`MAX_LINE`,
    at most :data:`MAX_HEADERS` header lines, one ``Content-Length`` (digits, at most
    ``max_body``) that ``data`` ends exactly at, a ``Connection`` of ``keep-alive`` or
    ``close`` if any, and no ``Transfer-Encoding``, ``Expect`` or ``Upgrade``: a request the
    reader takes alike, with no refusal and no 100 Continue.
    Returns: ``(body_start, keep_alive, origin, minor_version)``: the body is
    ``data[body_start:]``; ``keep_alive`` as RFC 9112 section 9.3 has it; ``origin``: an
    ``Origin`` header came; ``minor_version`` 1 or 0 (HTTP/1.1, HTTP/1.0).
    """
    if _plain_post is None:
        return None
    found: tuple[int, bool, bool, int] | None = _plain_post(data, max_body)
    return found


def connection_header(keep_alive: bool, minor_version: int) -> bytes:
    """The ``Connection`` header an answer carries (RFC 9112 section 9.6) to a request of
    HTTP/1.``minor_version`` whose connection stays open (``keep_alive``) or not: ``close``
    when it closes after the answer, ``keep-alive`` for an HTTP/1.0 client that asked to keep
    it (RFC 9112 section C.2.2), else none (``b""``)."""
    if not keep_alive:
        return b"close"
    return b"" if minor_version == 1 else b"keep-alive"


def _expects_continue(version: str, headers: dict[bytes, bytes]) -> bool:
    """Whether a request of HTTP ``version`` with ``headers`` (lower-case names) waits for a
    100 Continue: ``Expect: 100-continue`` from an HTTP/1.1 client (RFC 9110 section 10.1.1:
    never to an HTTP/1.0 one)."""
    return version == "1.1" and headers.get(b"expect", b"").lower() == b"100-continue"


def answer(
    status: int,
    body: bytes,
    content_type: str = "application/json",
    *,
    origin: bool = False,
    connection: bytes = b"",
    extra: str = "",
) -> bytes:
    """An HTTP/1.1 answer, status line, headers and body in one piece of bytes: the
    :func:`answer_head` for ``body``, then ``body``."""
    head = answer_head(status, len(body), content_type,
                       origin=origin, connection=connection, extra=extra)  # fmt: skip
    return head + body


def answer_head(
    status: int,
    length: int,
    content_type: str = "application/json",
    *,
    origin: bool = False,
    connection: bytes = b"",
    extra: str = "",
) -> bytes:
    """An HTTP/1.1 answer's status line and headers, through the blank line that ends them.

    Args: ``status`` (200...), the ``length`` of its body in bytes, the body's
    ``content_type``; ``origin``: the request had an ``Origin`` header, so the answer allows
    any origin (CORS); ``connection``: the ``Connection`` header's value, if any
    (:attr:`Request.connection`); ``extra``: more header lines, each ending in CRLF.
    Returns: the head as bytes. It carries ``Date`` (RFC 9110 section 6.6.1), and but for a
    204 ``Content-Type`` and ``Content-Length``.
    """
    if status == 204:  # no Content-Length with no content (RFC 9110 section 8.6)
        head = b"HTTP/1.1 204 No Content\r\nDate: %s\r\n" % http_date(time.time()).encode()
    else:
        head = _head(status, content_type) + b"%d\r\n" % length
    if extra:
        head += extra.encode("latin-1")
    if origin:
        head += b"Access-Control-Allow-Origin: *\r\n"
    if connection:
        head += b"Connection: " + connection + b"\r\n"
    return head + b"\r\n"


GATHER = 64 * 1024  # bodies from this size on are sent by scatter-gather, not copied


def send_answer(sock: socket.socket, head: bytes, body: bytes) -> None:
    """Send an answer's ``head`` (:func:`answer_head`) and ``body`` on ``sock``: a body under
    :data:`GATHER` bytes joined to the head (one ``send``), a larger one in one ``sendmsg``
    of both (scatter-gather, POSIX ``writev``: the body is not copied onto the head).

    Raises: :class:`OSError` when the client has gone or the send timed out."""
    if len(body) < GATHER:
        sock.sendall(head + body)
        return
    sent = sock.sendmsg([head, body])  # all of it, unless a timeout or signal cut it short
    if sent < len(head):
        sock.sendall(head[sent:])
        sent = len(head)
    if sent < len(head) + len(body):
        sock.sendall(memoryview(body)[sent - len(head) :])


_second = 0
_heads: dict[tuple[int, str], bytes] = {}


def _head(status: int, content_type: str) -> bytes:
    """The status line, ``Date`` and ``Content-Type`` up to ``Content-Length: ``: the same
    bytes all second long, made once a second."""
    global _second
    now = int(time.time())
    if now != _second:
        _heads.clear()
        _second = now
    head = _heads.get((status, content_type))
    if head is None:
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nDate: {http_date(now)}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: "
        ).encode("latin-1")
        _heads[status, content_type] = head
    return head


def http_date(when: float) -> str:
    """The ``Date`` header's value (RFC 9110 section 5.6.7) for ``when``, in seconds since
    the epoch."""
    return email.utils.formatdate(when, usegmt=True)


__all__ = [
    "GATHER",
    "MAX_HEADERS",
    "MAX_LINE",
    "Refusal",
    "Request",
    "RequestReader",
    "answer",
    "answer_head",
    "connection_header",
    "http_date",
    "plain_post",
    "send_answer",
]
