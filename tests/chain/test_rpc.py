"""The lean JSON-RPC client against a real HTTP server: framing, keep-alive, errors, batches."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from collective.chain.http import BatchRefused, JsonRpc, RpcFailure

MODE: dict[str, str] = {"mode": "length"}
SEEN: dict[str, str | None] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        SEEN["authorization"] = self.headers.get("Authorization")
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        mode = MODE["mode"]
        if isinstance(request, list):
            if mode == "no-batch":
                reply: object = {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": -32600, "message": "batches not supported"},
                }
            else:
                reply = [self.answer(r) for r in reversed(request)]  # any order is allowed
        else:
            reply = self.answer(request)
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                chunk = body[i : i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        if mode == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @staticmethod
    def answer(request: dict[str, object]) -> dict[str, object]:
        if request["method"] == "fail":
            return {
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": 3, "message": "execution reverted", "data": "0x1234"},
            }
        return {"jsonrpc": "2.0", "id": request["id"], "result": request["params"]}


@pytest.fixture
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        MODE["mode"] = "length"


@pytest.mark.parametrize("mode", ["length", "chunked", "close"])
def test_calls_and_batches_in_every_framing(url: str, mode: str) -> None:
    MODE["mode"] = mode
    rpc = JsonRpc(url)
    for i in range(3):  # the same connection is reused (or reopened after Connection: close)
        assert rpc.call("echo", [i, "x" * 50]) == [i, "x" * 50]
    assert rpc.batch([("echo", [1]), ("echo", [2])]) == [[1], [2]]


def test_errors_carry_code_message_and_data(url: str) -> None:
    rpc = JsonRpc(url)
    with pytest.raises(RpcFailure) as caught:
        rpc.call("fail", [])
    assert (caught.value.code, caught.value.message, caught.value.data) == (
        3,
        "execution reverted",
        "0x1234",
    )
    ok, failed = rpc.batch([("echo", [1]), ("fail", [])])
    assert ok == [1] and isinstance(failed, RpcFailure)


def test_a_node_refusing_batches_fails_every_item(url: str) -> None:
    MODE["mode"] = "no-batch"
    results = JsonRpc(url).batch([("echo", [1]), ("echo", [2])])
    assert all(isinstance(r, BatchRefused) and "batches" in r.message for r in results)


def test_an_unreachable_node_raises_oserror() -> None:
    with pytest.raises(OSError):
        JsonRpc("http://127.0.0.1:9/", timeout=2).call("echo", [])


def test_credentials_in_the_url_are_sent_as_basic_authentication(url: str) -> None:
    with_credentials = url.replace("http://", "http://alice:s%40cret@")
    assert JsonRpc(with_credentials).call("echo", [1]) == [1]
    assert SEEN["authorization"] == "Basic " + base64.b64encode(b"alice:s@cret").decode()
    assert JsonRpc(url).call("echo", [2]) == [2]
    assert SEEN["authorization"] is None
