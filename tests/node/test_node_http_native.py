"""The HTTP front's native reading of plain POSTs (collective.node.http.plain_post, in
collective_revm): it takes only requests the reader (httptools) takes alike, with the same
body, keep-alive, Origin and version, and leaves everything else (refusals, Expect, Upgrade,
pipelined and partial requests, odd heads) to it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collective.node.http import MAX_LINE, Refusal, RequestReader, plain_post

pytest.importorskip("collective_revm")
MAX_BODY = 1000


def reader_reads(data: bytes) -> tuple[bytes, bool, bool, str] | None:
    """What the reader makes of ``data`` when it is one whole request it serves without a
    refusal or a 100 Continue: (body, keep_alive, origin, version); None otherwise."""
    reader = RequestReader(MAX_BODY)
    try:
        reader.feed(data)
    except Refusal:
        return None
    except Exception:  # llhttp's own error for what it cannot read at all
        return None
    if len(reader.done) != 1 or not reader.between or reader.continue_wanted:
        return None
    request = reader.done[0]
    if request.method != b"POST" or request.websocket:
        return None
    return b"".join(request.body), request.keep_alive, request.origin, request.version


def natively(data: bytes) -> tuple[bytes, bool, bool, str] | None:
    found = plain_post(data, MAX_BODY)
    if found is None:
        return None
    start, keep_alive, origin, minor = found
    return data[start:], keep_alive, origin, f"1.{minor}"


def request(head: list[bytes], body: bytes, line: bytes = b"POST / HTTP/1.1") -> bytes:
    return b"\r\n".join([line, *head]) + b"\r\n\r\n" + body


BODY = b'{"jsonrpc": "2.0", "method": "eth_chainId", "params": [], "id": 1}'
WEB3 = [  # the head web3.py's HTTPProvider (requests) sends
    b"Host: 127.0.0.1:8545",
    b"User-Agent: web3.py/7.14.0/web3.providers.rpc.rpc.HTTPProvider",
    b"Accept-Encoding: gzip, deflate",
    b"Accept: */*",
    b"Connection: keep-alive",
    b"Content-Type: application/json",
    b"Content-Length: %d" % len(BODY),
]


def test_web3s_requests_are_read_natively_as_the_reader_reads_them() -> None:
    data = request(WEB3, BODY)
    assert natively(data) == reader_reads(data) == (BODY, True, False, "1.1")
    origin = request([*WEB3, b"Origin: http://localhost:3000"], BODY)
    assert natively(origin) == (BODY, True, True, "1.1")
    closing = request([b"Content-Length: 2", b"connection: CLOSE"], b"{}")
    assert natively(closing) == reader_reads(closing) == (b"{}", False, False, "1.1")
    old = request([b"Content-Length: 2"], b"{}", b"POST / HTTP/1.0")
    assert natively(old) == reader_reads(old) == (b"{}", False, False, "1.0")
    kept = request([b"Content-Length: 2", b"Connection: keep-alive"], b"{}", b"POST / HTTP/1.0")
    assert natively(kept) == reader_reads(kept) == (b"{}", True, False, "1.0")


@pytest.mark.parametrize(
    "data",
    [
        request(WEB3, BODY)[:-1],  # partial
        request(WEB3, BODY) + request(WEB3, BODY),  # pipelined
        request(WEB3, BODY) + b"\r\n",
        request(WEB3[:-1], BODY),  # no Content-Length: 411 from the reader
        request([*WEB3, b"Content-Length: %d" % len(BODY)], BODY),  # twice
        request([b"Content-Length: 2000"], b"x" * 2000),  # over max_body: 413
        request([b"Content-Length: +2"], b"{}"),
        request([b"Content-Length: 0x2"], b"{}"),
        request([b"Content-Length: 2", b"Transfer-Encoding: chunked"], b"{}"),
        request([b"Content-Length: 2", b"Expect: 100-continue"], b"{}"),
        request([b"Content-Length: 2", b"Upgrade: h2c", b"Connection: Upgrade"], b"{}"),
        request([b"Content-Length: 2", b"Connection: keep-alive, Upgrade"], b"{}"),
        request([b"Content-Length: 2", b"Connection: close", b"Connection: close"], b"{}"),
        request([b"Content-Length: 2", b"X-Folded: a", b" b"], b"{}"),  # obs-fold
        b"POST / HTTP/1.1\nContent-Length: 2\n\n{}",  # bare LF
        b"POST / HTTP/1.1\r\nContent-Length: 2\n\r\n{}",
        request([b"Content-Length: 2", b"X-Byte: \xe9"], b"{}"),
        request([b"Content-Length: 2", b"X-Long: " + b"a" * MAX_LINE], b"{}"),  # 431
        request([b"Content-Length: 2"] + [b"X-%d: 1" % i for i in range(100)], b"{}"),  # 431
        request([b"Content-Length: 2"], b"{}", b"POST /" + b"a" * MAX_LINE + b" HTTP/1.1"),
        request([b"Content-Length: 2"], b"{}", b"POST / HTTP/2.0"),  # 505
        request([b"Content-Length: 2"], b"{}", b"GET / HTTP/1.1"),
        request([b"Content-Length: 2"], b"{}", b"post / HTTP/1.1"),
        request([b"Content-Length : 2"], b"{}"),
    ],
)
def test_everything_but_a_plain_post_is_left_to_the_reader(data: bytes) -> None:
    assert plain_post(data, MAX_BODY) is None


_PLAIN = [b"Host: x", b"Content-Type: application/json", b"Accept: */*"]
_NAMES = st.sampled_from(
    [b"Connection", b"Connection", b"Origin", b"Origin", b"X-A", b"Content-Length",
     b"content-length", b"Host", b"Expect", b"Transfer-Encoding", b"Upgrade", b"X A",
     b"Content-Length "]
)  # fmt: skip
_VALUES = st.one_of(
    st.sampled_from(
        [b"keep-alive", b"close", b"Keep-Alive", b"CLOSE", b"2", b"02", b" 2", b"2 ", b"2,2",
         b"upgrade", b"100-continue", b"chunked", b"websocket", b"", b"a\tb", b"\xff", b"x"]
    ),
    st.binary(max_size=4),
)  # fmt: skip
_SEPARATORS = st.sampled_from([b": ", b": ", b": ", b":", b" : ", b":\t", b":  "])
_EXTRA = st.lists(st.tuples(_NAMES, _SEPARATORS, _VALUES), max_size=3)


@settings(max_examples=1500, deadline=None)
@given(
    line=st.sampled_from(
        [b"POST / HTTP/1.1", b"POST / HTTP/1.1", b"POST / HTTP/1.0", b"POST /x?y=1 HTTP/1.1",
         b"PUT / HTTP/1.1", b"POST / HTTP/1.2", b"POST  / HTTP/1.1", b"POST / HTTP/1.1 "]
    ),
    extra=_EXTRA,
    at=st.integers(0, 3),
    ends=st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n"]),
    body=st.sampled_from([b"{}", b"{}", b"", b"{}x", b"{"]),
    length=st.sampled_from([b"2", b"2", b"2", None, b"1", b"3"]),
)  # fmt: skip
def test_what_is_read_natively_the_reader_reads_alike(
    line: bytes,
    extra: list[tuple[bytes, bytes, bytes]],
    at: int,
    ends: bytes,
    body: bytes,
    length: bytes | None,
) -> None:
    """For plain heads with odd parts put in, whatever plain_post takes, the reader takes
    alike (same body, keep-alive, Origin, version), without a refusal or a 100 Continue."""
    lines = _PLAIN + ([b"Content-Length: " + length] if length is not None else [])
    lines[at:at] = [name + separator + value for name, separator, value in extra]
    data = ends.join([line, *lines]) + ends + ends + body
    native = natively(data)
    if native is not None:
        assert native == reader_reads(data)
