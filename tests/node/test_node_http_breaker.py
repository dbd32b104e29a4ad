"""The node's HTTP/1.1 front (collective/node/server.py, collective/node/http.py) under attack
and careless clients, on a real server and raw sockets: request smuggling (Content-Length and
Transfer-Encoding together, two lengths, lengths that are not a plain number), a head
dribbled a byte at a time while others are served, a body in many tiny packets, hundreds of
connections at once (every one served, their threads gone once they close), a client that
resets the connection before reading a large answer, odd request targets and methods, a
body nested too deep to decode, a WebSocket upgrade followed by garbage; and the two
versions RFC 9110 bars a server from treating as HTTP/1.1 (a 1xx answer to an HTTP/1.0
client; a request line of another major version)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from typing import Any

import pytest

from collective.node.server import RpcServer

CHAIN_ID = b'"result":"0x200cd"'


def _call(method: str, *params: Any, id: int = 1) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": id, "method": method, "params": list(params)}
    ).encode()


def _post(body: bytes, *headers: bytes, version: bytes = b"1.1") -> bytes:
    head = b"POST / HTTP/" + version + b"\r\nHost: x\r\n" + b"".join(h + b"\r\n" for h in headers)
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _connect(server: RpcServer) -> socket.socket:
    host, port = server.server_address[:2]
    return socket.create_connection((str(host), int(port)), timeout=10)


def _read_all(sock: socket.socket, wait: float = 0.3) -> tuple[bytes, bool]:
    """Everything the server sends within ``wait`` seconds of quiet; and whether it closed."""
    sock.settimeout(wait)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out, True
            out += chunk
    except TimeoutError:
        return out, False
    except ConnectionResetError:
        return out, True


def _answers(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The answers in ``data``, each checked: a status line, headers, and exactly
    Content-Length bytes of body (none for 1xx and 204)."""
    found = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"an incomplete answer: {data!r}"
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 "), lines[0]
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            assert colon, line
            headers[name.lower()] = value.strip()
        length = 0 if status < 200 or status == 204 else int(headers["content-length"])
        assert len(rest) >= length, "the body is shorter than its Content-Length"
        found.append((status, headers, rest[:length]))
        data = rest[length:]
    return found


def _served(server: RpcServer) -> None:
    """The server still answers a plain request on a new connection."""
    sock = _connect(server)
    sock.sendall(_post(_call("eth_chainId")))
    data, _ = _read_all(sock, 0.2)
    sock.close()
    assert CHAIN_ID in data


def _exchange(
    server: RpcServer, data: bytes
) -> tuple[list[tuple[int, dict[str, str], bytes]], bool]:
    sock = _connect(server)
    sock.sendall(data)
    out, closed = _read_all(sock)
    sock.close()
    return _answers(out), closed


BODY = _call("eth_chainId")


@pytest.mark.parametrize(
    "attack",
    [
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
        b"POST / HTTP/1.1\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n"
        % (len(BODY), len(BODY))
        + BODY,
        b"POST / HTTP/1.1\r\nContent-Length: %d, %d\r\n\r\n" % (len(BODY), len(BODY)) + BODY,
        b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n" + BODY,
        b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n" + BODY,
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n" + BODY,
        b"POST / HTTP/1.1\r\nContent-Length : %d\r\n\r\n" % len(BODY) + BODY,
        b"POST / HTTP/1.1\r\nX: a\x00b\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
        b"GET /\xff HTTP/1.1\r\n\r\n",
        b"post / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
        b"POST / HTTP/1.1\rX: y\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
    ],
    ids=[
        "cl-then-te",
        "te-then-cl",
        "two-lengths",
        "two-equal-lengths",
        "length-list",
        "negative",
        "plus-sign",
        "overflow",
        "space-before-colon",
        "nul",
        "non-ascii-target",
        "lower-case-method",
        "bare-cr",
    ],
)
def test_smuggling_and_malformed_heads_are_refused_and_closed(
    dev_server: RpcServer, attack: bytes
) -> None:
    """Every way to make two parsers disagree on where a request ends is refused (400, a
    JSON-RPC error body), nothing after it is read as a request, and the connection closes;
    the server goes on serving (RFC 9112 sections 6.1, 6.3, 11.2)."""
    smuggled = _post(_call("eth_blockNumber"))  # would be a second request if it were read
    answers, closed = _exchange(dev_server, attack + smuggled)
    assert [status for status, _, _ in answers] == [400], answers
    assert json.loads(answers[0][2])["error"]["code"] == -32600
    assert answers[0][1]["connection"] == "close" and closed
    _served(dev_server)


def test_requests_llhttp_accepts_are_served_as_sent(dev_server: RpcServer) -> None:
    """An absolute-form target, ``*``, a dot-segment path, a header value of bytes that are
    not UTF-8, a padded Content-Length, leading empty lines (RFC 9112 section 2.2), an
    HTTP/1.0 keep-alive request, and a GET with a body followed by another request."""
    sent = (
        b"POST http://example.com/rpc HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
        + b"POST * HTTP/1.1\r\nX-Bytes: \xff\xfe\x80\r\nContent-Length:  %d  \r\n\r\n" % len(BODY)
        + BODY
        + b"\r\n\r\n" + _post(BODY)
        + b"GET /../../etc/passwd HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
        + b"OPTIONS * HTTP/1.1\r\n\r\n"
        + _post(BODY, b"Connection: keep-alive", version=b"1.0")
    )  # fmt: skip
    answers, closed = _exchange(dev_server, sent)
    assert [status for status, _, _ in answers] == [200, 200, 200, 200, 204, 200]
    assert all(CHAIN_ID in body for i, (_, _, body) in enumerate(answers) if i in (0, 1, 2, 5))
    assert answers[3][2].startswith(b"collective")
    assert answers[5][1]["connection"] == "keep-alive" and not closed


def test_a_dribbled_head_holds_up_no_one(dev_server: RpcServer) -> None:
    """A request sent a byte at a time (a slow client) is answered when complete, and other
    connections are served meanwhile, each in well under the dribble's time."""
    request = _post(BODY)
    slow = _connect(dev_server)
    done = threading.Event()

    def dribble() -> None:
        for byte in request:
            slow.sendall(bytes([byte]))
            time.sleep(0.005)
        done.set()

    thread = threading.Thread(target=dribble)
    thread.start()
    served = 0
    while not done.is_set():
        started = time.perf_counter()
        _served(dev_server)
        assert time.perf_counter() - started < 0.25
        served += 1
    thread.join()
    assert served >= 3
    out, closed = _read_all(slow)
    slow.close()
    assert CHAIN_ID in out and not closed


def test_a_body_in_many_tiny_packets_then_a_pipelined_read(dev_server: RpcServer) -> None:
    """A write's body in 3-byte packets, then (in the same packet as its last bytes) a read
    that must see the write's block: answered in order, the read after the seal."""
    sock = _connect(dev_server)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(_post(_call("eth_blockNumber")))
    before = int(json.loads(_answers(_read_all(sock)[0])[0][2])["result"], 16)
    sender = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    write = _post(_call("eth_sendTransaction", {"from": sender, "to": sender, "value": "0x1"}))
    cut = len(write) - 5
    for i in range(0, cut, 3):
        sock.sendall(write[i : min(i + 3, cut)])
        time.sleep(0.001)
    sock.sendall(write[cut:] + _post(_call("eth_blockNumber")))
    out, closed = _read_all(sock, 1.0)
    sock.close()
    answers = _answers(out)
    assert [status for status, _, _ in answers] == [200, 200] and not closed
    assert json.loads(answers[0][2])["result"].startswith("0x")
    assert int(json.loads(answers[1][2])["result"], 16) == before + 1


def test_hundreds_of_connections_are_served_and_leave_no_thread(dev_server: RpcServer) -> None:
    """300 connections open at once, each sends a request: all are answered; once they
    close, their threads end."""
    threads_before = threading.active_count()
    socks = [_connect(dev_server) for _ in range(300)]
    for sock in socks:
        sock.sendall(_post(BODY))
    for sock in socks:
        sock.settimeout(10)
        data = b""
        while b"0x200cd" not in data:
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
    for sock in socks:
        sock.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads_before
    _served(dev_server)


def test_a_client_that_resets_before_reading_a_large_answer(dev_server: RpcServer) -> None:
    """A batch whose answer is far larger than the socket buffers, the connection reset
    (RST) before a byte of it is read: the server's send fails quietly, and it serves on."""
    batch = b"[" + b",".join(
        _call("eth_getBlockByNumber", "latest", True, id=i) for i in range(1000)
    ) + b"]"  # fmt: skip
    for _ in range(2):
        sock = _connect(dev_server)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(_post(batch))
        time.sleep(0.05)
        sock.close()
    _served(dev_server)


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_a_body_nested_too_deep_is_a_parse_error(dev_server: RpcServer, depth: int) -> None:
    """A body of ``depth`` nested arrays or objects is answered -32700 (not a dropped
    connection: no RecursionError escapes), and the connection stays open."""
    for body in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        answers, closed = _exchange(dev_server, _post(body))
        assert [status for status, _, _ in answers] == [200] and not closed
        assert json.loads(answers[0][2])["error"]["code"] == -32700


def test_a_websocket_upgrade_then_garbage(dev_server: RpcServer) -> None:
    """A WebSocket handshake followed at once by bytes that are no frame: the handshake is
    answered (101), what follows is not served as HTTP, and the server serves others."""
    sock = _connect(dev_server)
    sock.sendall(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        + b"\xff" * 64
        + _post(BODY)
    )
    out, _ = _read_all(sock)
    sock.sendall(b"\x00\xff" * 512)  # more garbage, now as frames
    more, _ = _read_all(sock)
    sock.close()
    assert out.startswith(b"HTTP/1.1 101 ")
    assert CHAIN_ID not in out + more
    _served(dev_server)


def _head_then_body(server: RpcServer, head: bytes) -> tuple[bytes, bytes]:
    """Send ``head``, read what comes within 0.3 s, then send BODY: (early, rest)."""
    sock = _connect(server)
    sock.sendall(head)
    early, _ = _read_all(sock, 0.3)
    sock.sendall(BODY)
    rest, _ = _read_all(sock, 0.3)
    sock.close()
    return early, rest


def test_no_100_continue_for_an_http_1_0_client(dev_server: RpcServer) -> None:
    head = b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    early, rest = _head_then_body(dev_server, head)
    assert early == b""
    assert CHAIN_ID in rest


def test_another_major_version_is_505(dev_server: RpcServer) -> None:
    answers, closed = _exchange(dev_server, _post(BODY, version=b"2.0"))
    assert [status for status, _, _ in answers] == [505] and closed


def test_100_continue_for_an_ignored_upgrade(dev_server: RpcServer) -> None:
    head = _post(BODY, b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c",
                 b"HTTP2-Settings: x", b"Expect: 100-continue")[: -len(BODY)]  # fmt: skip
    early, rest = _head_then_body(dev_server, head)
    assert early == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert CHAIN_ID in rest
