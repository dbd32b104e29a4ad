"""The node's HTTP/1.1 front (collective/node/server.py, collective/node/http.py) on a real
server and raw sockets: keep-alive and closing, pipelining, HTTP/1.0, Expect: 100-continue,
the refusals (400, 411, 413 unread, 414, 431), CORS, the health check, other methods, and
clients that go away mid-request."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import time
from typing import Any

import pytest

from collective.node.server import RpcServer

CHAIN_ID = b'"result":"0x200cd"'


class Client:
    """A raw keep-alive connection to the server, reading answers by Content-Length."""

    def __init__(self, server: RpcServer) -> None:
        host, port = server.server_address[:2]
        self.sock = socket.create_connection((str(host), int(port)), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        """The next answer: status, headers (names in lower case), body."""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, f"closed before an answer: {self.buffer!r}"
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            assert chunk, "closed mid-body"
            rest += chunk
        self.buffer = rest[length:]
        return int(lines[0].split()[1]), headers, rest[:length]

    def closed(self) -> bool:
        """Whether the server closed the connection (nothing more comes)."""
        try:
            return not self.buffer and self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def post(body: bytes, *headers: bytes, version: bytes = b"1.1") -> bytes:
    head = b"POST / HTTP/" + version + b"\r\nHost: x\r\nContent-Type: application/json\r\n"
    return (
        head
        + b"".join(h + b"\r\n" for h in headers)
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def call(method: str, *params: Any, id: int = 1) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": id, "method": method, "params": list(params)}
    ).encode()


@pytest.fixture
def client(dev_server: RpcServer) -> Any:
    connection = Client(dev_server)
    yield connection
    connection.close()


def test_answers_are_not_held_back_by_nagle_and_delayed_acks(dev_server: RpcServer) -> None:
    """Headers and body leave in one write on a TCP_NODELAY socket: sequential keep-alive
    requests take about a millisecond each, not the 40 ms a delayed ACK costs when the body
    waits behind the headers."""
    host, port = dev_server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port))
    body = call("eth_blockNumber")
    started = time.perf_counter()
    for _ in range(30):
        conn.request("POST", "/", body, {"Content-Type": "application/json"})
        assert "result" in json.loads(conn.getresponse().read())
    elapsed = time.perf_counter() - started
    conn.close()
    assert elapsed < 30 * 0.02, f"30 requests took {elapsed:.2f} s"


def test_keep_alive_and_its_headers(client: Client) -> None:
    """Answers carry Date, Content-Type and Content-Length (no Server); the connection stays
    open until Connection: close, whose answer says so and is the last."""
    for _ in range(3):
        client.send(post(call("eth_chainId")))
        status, headers, body = client.answer()
        assert status == 200 and CHAIN_ID in body
        assert set(headers) == {"date", "content-type", "content-length"}
        assert headers["date"].endswith(" GMT") and headers["content-type"] == "application/json"
    client.send(post(call("eth_chainId"), b"Connection: close"))
    status, headers, body = client.answer()
    assert status == 200 and headers["connection"] == "close" and CHAIN_ID in body
    assert client.closed()


def test_pipelined_requests_are_answered_in_order(client: Client) -> None:
    """Several requests in one packet are answered in order; in instant mode a receipt asked
    for right behind the transaction (same packet) finds its block: the block is sealed after
    the first answer, before the next request is handled."""
    client.send(post(call("eth_accounts")))
    sender = json.loads(client.answer()[2])["result"][0]
    tx = {"from": sender, "to": sender, "value": "0x1"}
    client.send(post(call("eth_sendTransaction", tx, id=1)))
    tx_hash = json.loads(client.answer()[2])["result"]
    client.send(
        post(call("eth_sendTransaction", tx, id=2))
        + post(call("eth_getTransactionReceipt", tx_hash, id=3))
        + post(call("eth_chainId", id=4))
    )
    answers = [json.loads(client.answer()[2]) for _ in range(3)]
    assert [a["id"] for a in answers] == [2, 3, 4]
    second = answers[0]["result"]
    client.send(post(call("eth_getTransactionReceipt", second, id=5)))
    assert json.loads(client.answer()[2])["result"]["status"] == "0x1"
    assert answers[1]["result"]["transactionHash"] == tx_hash


def test_http_1_0_closes_unless_keep_alive_is_asked(dev_server: RpcServer) -> None:
    """HTTP/1.0 (RFC 9112 section 9.3): answered, then closed; with Connection: keep-alive
    the connection stays open, and the answers say so (RFC 9112 section C.2.2)."""
    plain = Client(dev_server)
    plain.send(post(call("eth_chainId"), version=b"1.0"))
    status, headers, body = plain.answer()
    assert status == 200 and CHAIN_ID in body and headers["connection"] == "close"
    assert plain.closed()
    plain.close()
    kept = Client(dev_server)
    for _ in range(2):
        kept.send(post(call("eth_chainId"), b"Connection: keep-alive", version=b"1.0"))
        _, headers, body = kept.answer()
        assert CHAIN_ID in body and headers["connection"] == "keep-alive"
    kept.close()


def test_expect_100_continue(client: Client, dev_server: RpcServer) -> None:
    """Expect: 100-continue gets 100 before the body is sent; a body over the limit gets 413
    at once instead (RFC 9110 section 10.1.1)."""
    body = call("eth_chainId")
    head = post(body, b"Expect: 100-continue")[: -len(body)]
    client.send(head)
    assert client.sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    client.send(body)
    assert CHAIN_ID in client.answer()[2]
    too_big = dev_server.node.config.max_body + 1
    client.send(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % too_big)
    assert client.answer()[0] == 413


@pytest.mark.parametrize("method", [b"POST", b"PUT"])
def test_oversized_body_refused_unread_and_closed(
    client: Client, dev_server: RpcServer, method: bytes
) -> None:
    """A Content-Length over max_body (any method): 413 with a JSON-RPC error (-32600) before
    the body is sent, then the connection closes."""
    limit = dev_server.node.config.max_body
    client.send(method + b" / HTTP/1.1\r\nContent-Length: %d\r\n\r\n[" % (limit + 1))
    status, headers, body = client.answer()
    assert status == 413 and headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["code"] == -32600 and str(limit) in error["message"]
    assert client.closed()


@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    ],
)
def test_a_body_without_content_length_is_refused(client: Client, head: bytes) -> None:
    """411 for a POST without a length, or a chunked body (any method: a body is taken only
    with its length told), and the connection closes."""
    client.send(head)
    status, _, body = client.answer()
    assert status == 411 and json.loads(body)["error"]["code"] == -32600
    assert client.closed()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"POST / HTTP/1.1\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{}", 400),
        (b"POST / HTTP/1.1\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}", 400),
        (b"POST / HTTP/1.1\nBare: newline\nContent-Length: 2\n\n{}", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 2x\r\n\r\n{}", 400),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
    ],
)
def test_bad_heads_are_refused_and_closed(
    client: Client, dev_server: RpcServer, request_bytes: bytes, status: int
) -> None:
    """Heads over the standard library's limits (a line over 65,536 bytes, more than 100
    header lines) answer 431 (414 for the target), and heads RFC 9112 lets a server reject
    (obs-fold, a line without a colon, bare LF line ends, a bad Content-Length) 400; then
    the connection closes, and the server serves others."""
    client.send(request_bytes)
    assert client.answer()[0] == status
    assert client.closed()
    other = Client(dev_server)
    other.send(post(call("eth_chainId")))
    assert CHAIN_ID in other.answer()[2]
    other.close()


def test_heads_as_sent_are_served(client: Client) -> None:
    """Repeated, empty, padded and Latin-1 header values, lower-case names: served."""
    client.send(
        post(call("eth_chainId"), b"x-twice: one", b"X-Twice: two", b"X-Blank:", b"X-Pad: \t v ")
        + post(call("eth_chainId"), b"X-Latin: caf\xe9")
    )
    assert CHAIN_ID in client.answer()[2] and CHAIN_ID in client.answer()[2]


def test_cors_only_for_requests_with_an_origin(client: Client) -> None:
    """Access-Control-Allow-Origin: * answers a POST with an Origin (browsers') and not one
    without; the preflight (OPTIONS) answers 204 with the methods and headers allowed."""
    client.send(post(call("eth_chainId"), b"Origin: http://localhost:3000"))
    assert client.answer()[1]["access-control-allow-origin"] == "*"
    client.send(post(call("eth_chainId")))
    assert "access-control-allow-origin" not in client.answer()[1]
    client.send(
        b"OPTIONS / HTTP/1.1\r\nOrigin: http://localhost:3000\r\n"
        b"Access-Control-Request-Method: POST\r\n\r\n"
    )
    status, headers, body = client.answer()
    assert status == 204 and body == b"" and "content-length" not in headers
    assert headers["access-control-allow-origin"] == "*"
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == "Content-Type"


def test_health_check_and_other_methods(client: Client, dev_server: RpcServer) -> None:
    """GET (any path) answers the client version as text, HEAD its head; JSON-RPC is served
    on any path; other methods answer 501 and the connection stays open."""
    client.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = client.answer()
    assert status == 200 and headers["content-type"] == "text/plain"
    assert headers["access-control-allow-origin"] == "*"  # (cacheable: for any origin)
    assert body.decode() == f"{dev_server.node.client_version}\n"
    client.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")  # the GET's head, no content
    client.buffer += client.sock.recv(65536)
    head, _, rest = client.buffer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and rest == b""
    assert f"Content-Length: {len(body)}".encode() in head
    client.buffer = b""
    client.send(post(call("eth_chainId")).replace(b"POST / ", b"POST /rpc/v1 "))
    assert CHAIN_ID in client.answer()[2]
    client.send(b"PUT / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    assert client.answer()[0] == 501
    client.send(post(call("eth_chainId")))
    assert CHAIN_ID in client.answer()[2]


@pytest.mark.parametrize(
    "upgrade",
    [
        (b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c", b"HTTP2-Settings: x"),
        (b"Connection: Upgrade", b"Upgrade: websocket", b"Sec-WebSocket-Version: 13"),
    ],
)
def test_an_ignored_upgrade_keeps_its_body(client: Client, upgrade: tuple[bytes, ...]) -> None:
    """An Upgrade to another protocol (h2c), or of a POST, is ignored (RFC 9110 section
    7.8): the request and its body are served as HTTP/1.1, and the next one too."""
    body = call("eth_chainId")
    client.send(post(body, *upgrade) + post(body))
    assert CHAIN_ID in client.answer()[2]
    assert CHAIN_ID in client.answer()[2]
    for part in (post(body, *upgrade)[: -len(body)], body[:5], body[5:]):  # the body later
        client.send(part)
        time.sleep(0.02)
    assert CHAIN_ID in client.answer()[2]


@pytest.mark.parametrize(
    "partial",
    [
        b'POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"jsonrpc"',
        b"POST / HTTP/1.1\r\nContent-Le",
        b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
    ],
)
def test_a_client_gone_mid_request_leaves_the_server_serving(
    dev_server: RpcServer, partial: bytes
) -> None:
    """A client that closes (or resets) mid-head or mid-body ends its connection only."""
    for linger in (False, True):
        gone = Client(dev_server)
        gone.send(partial)
        if linger:  # close with RST
            gone.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        gone.close()
    other = Client(dev_server)
    other.send(post(call("eth_chainId")))
    assert CHAIN_ID in other.answer()[2]
    other.close()


def test_a_bug_ends_its_connection_only(
    dev_server: RpcServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception out of the dispatcher (a bug: it answers every error as JSON-RPC) closes
    that connection, logged; the server goes on serving."""
    from collective.node import server

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(server, "handle_body", broken)
    hit = Client(dev_server)
    hit.send(post(call("eth_chainId")))
    assert hit.closed()
    hit.close()
    monkeypatch.undo()
    assert "HTTP connection ended by a bug" in caplog.text
    other = Client(dev_server)
    other.send(post(call("eth_chainId")))
    assert CHAIN_ID in other.answer()[2]
    other.close()


def test_connections_beyond_the_limit_are_answered_503(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most max_connections() are open at once (each holds a thread and a descriptor):
    one more is answered 503 and closed; once one closes, a new one is served."""
    from collective.node import Node, NodeConfig, server

    monkeypatch.setattr(server, "max_connections", lambda: 2)
    node = Node(NodeConfig(dev=True))
    rpc = server.serve_in_thread(node)
    clients = []
    try:
        clients = [Client(rpc), Client(rpc)]
        for client in clients:  # both served (and so both counted)
            client.send(post(call("eth_chainId")))
            assert client.answer()[0] == 200
        extra = Client(rpc)
        status, headers, body = extra.answer()
        assert (status, headers["connection"]) == (503, "close")
        assert b"too many connections" in body and extra.closed()
        clients.pop().close()
        deadline = time.monotonic() + 5
        while True:  # the closed one's thread frees its slot
            again = Client(rpc)
            again.send(post(call("eth_chainId")))
            status = again.answer()[0]
            again.close()
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert status == 200
    finally:
        for client in clients:
            client.close()
        rpc.shutdown()
        rpc.server_close()
        node.close()


def test_a_silent_connection_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection silent for IDLE_TIMEOUT seconds, between requests or within one, is
    closed (geth's idle timeout); the server goes on serving others."""
    from collective.node import Node, NodeConfig, server

    monkeypatch.setattr(server, "IDLE_TIMEOUT", 0.3)
    node = Node(NodeConfig(dev=True))
    rpc = server.serve_in_thread(node)
    try:
        idle, halfway = Client(rpc), Client(rpc)
        idle.send(post(call("eth_chainId")))
        assert idle.answer()[0] == 200
        halfway.send(post(call("eth_chainId"))[:30])  # a head never finished
        time.sleep(0.8)
        assert idle.closed() and halfway.closed()
        fresh = Client(rpc)
        fresh.send(post(call("eth_chainId")))
        assert fresh.answer()[2].find(CHAIN_ID) > 0
        fresh.close()
    finally:
        rpc.shutdown()
        rpc.server_close()
        node.close()


def test_a_large_answer_arrives_whole_and_in_order(client: Client) -> None:
    """An answer over GATHER bytes (sent by scatter-gather: head and body in one sendmsg)
    arrives whole, its Content-Length exact, and the answer pipelined behind it follows it.
    The call runs init code that reverts with 128 KiB of zeros (PUSH3 0x020000, PUSH1 0,
    REVERT): the error answer carries the revert data."""
    from collective.node.http import GATHER

    size = 0x20000
    create = call("eth_call", {"data": "0x620200006000fd"}, "latest")
    client.send(post(create) + post(call("eth_chainId", id=2)))
    status, headers, body = client.answer()
    assert status == 200 and int(headers["content-length"]) == len(body) > GATHER
    assert json.loads(body)["error"]["data"] == "0x" + "00" * size
    status, _, body = client.answer()
    assert status == 200 and json.loads(body) == {"jsonrpc": "2.0", "id": 2, "result": "0x200cd"}


def _sent_and_read(body: bytes, delay: float = 0.0, send_timeout: float = 0.0) -> bytes:
    """What a reader gets when send_answer writes a 200 head and ``body`` into a socket
    pair; the reader starts ``delay`` seconds late, and the writer's sends time out after
    ``send_timeout`` seconds (SO_SNDTIMEO; 0: never)."""
    import threading

    from collective.node.http import answer_head, send_answer

    head = answer_head(200, len(body))
    writer, reader = socket.socketpair()
    if send_timeout:
        whole = int(send_timeout)
        usec = int((send_timeout - whole) * 1_000_000)
        writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", whole, usec))
    received = bytearray()

    def read() -> None:
        time.sleep(delay)
        while len(received) < len(head) + len(body):
            chunk = reader.recv(1 << 20)
            if not chunk:
                return
            received.extend(chunk)

    drain = threading.Thread(target=read)
    drain.start()
    try:
        send_answer(writer, head, body)
        drain.join(10)
    finally:
        writer.close()
        reader.close()
    assert bytes(received[: len(head)]) == head
    return bytes(received[len(head) :])


@pytest.mark.parametrize("size", [0, 10, 64 * 1024 - 1, 64 * 1024, 3 * 1024 * 1024])
def test_send_answer_sends_head_and_body_exactly(size: int) -> None:
    """send_answer writes the head, then the body, byte for byte, small or large (3 MiB is
    far over the socket buffers: the send blocks while the reader drains)."""
    body = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert _sent_and_read(body) == body


def test_send_answer_finishes_a_send_cut_short() -> None:
    """A sendmsg cut short (here by the send timeout, 0.2 s, while nobody reads) is finished
    by sending the rest: the reader, 0.3 s late, still gets every byte, in order."""
    body = bytes(range(256)) * 16384  # 4 MiB: far more than the socket buffers hold
    assert _sent_and_read(body, delay=0.3, send_timeout=0.2) == body
