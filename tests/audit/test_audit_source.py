"""RpcSource: how node failures are classified, and batch headers with a fallback."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import collective.audit as audit
from collective.audit.source import RangeTooLarge, RpcSource, Transient
from collective.errors import ChainError
from collective.testing.ports import free_port

Answer = Callable[[Any], Any]


@pytest.fixture
def stub() -> Iterator[Callable[[Answer], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                reply = json.dumps(answer(json.loads(self.rfile.read(length)))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def block(n: int) -> dict[str, str]:
    return {
        "number": hex(n),
        "hash": "0x" + f"{n + 1:064x}",
        "parentHash": "0x" + f"{n:064x}",
        "timestamp": hex(1000 + n),
    }


def test_a_node_that_is_down_is_transient() -> None:
    source = RpcSource(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(Transient):
        source.head()


def test_a_refused_wide_query_asks_for_a_smaller_range(stub: Callable[[Answer], str]) -> None:
    def answer(request: Any) -> Any:
        message = "query returned more than 10000 results"
        return {
            "jsonrpc": "2.0",
            "id": request["id"],
            "error": {"code": -32005, "message": message},
        }

    with pytest.raises(RangeTooLarge):
        RpcSource(stub(answer)).logs(0, 10_000, ["0x" + "00" * 32])


def test_other_errors_are_chain_errors(stub: Callable[[Answer], str]) -> None:
    def answer(request: Any) -> Any:
        return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "nope"}}

    with pytest.raises(ChainError, match="nope") as caught:
        RpcSource(stub(answer)).head()
    assert not isinstance(caught.value, Transient | RangeTooLarge)


def test_headers_are_batched_or_fetched_one_by_one(stub: Callable[[Answer], str]) -> None:
    def batching(request: Any) -> Any:
        return [
            {"jsonrpc": "2.0", "id": r["id"], "result": block(int(r["params"][0], 16))}
            for r in request
        ]

    def no_batches(request: Any) -> Any:
        if isinstance(request, list):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch"}}
        number = int(request["params"][0], 16)
        return {
            "jsonrpc": "2.0",
            "id": request["id"],
            "result": block(number) if number < 8 else None,
        }

    for answer, last in ((batching, 9), (no_batches, 7)):
        headers = RpcSource(stub(answer)).headers(2, 9)
        assert [h.number for h in headers] == list(range(2, last + 1))
        assert headers[0].parent_hash == (2).to_bytes(32, "big")
        assert headers[0].timestamp == 1002


def test_the_python_api_exports_its_names() -> None:
    for name in audit.__all__:
        assert getattr(audit, name) is not None, name
    assert {"sync", "verify", "report", "history", "render"} <= set(audit.__all__)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (503, b"busy", RangeTooLarge),
        (413, b"too big", RangeTooLarge),
        (500, b"oops", Transient),
        (200, b"not json", Transient),
    ],
)
def test_http_failures_are_classified(status: int, body: bytes, kind: type[Exception]) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(kind) as caught:
            RpcSource(f"http://127.0.0.1:{server.server_address[1]}", timeout=5).head()
        assert type(caught.value) is kind
    finally:
        server.shutdown()
        server.server_close()
