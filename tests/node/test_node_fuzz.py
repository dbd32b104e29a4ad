"""Fuzz the node over HTTP with random and mutated JSON-RPC requests: it answers every one
(a JSON-RPC response, or nothing for a notification) and keeps serving."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective.node.rpc import METHODS
from collective.node.server import RpcServer
from tests.node.conftest import NodeProcess, call

VALID = [
    {"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance",
     "params": ["0x" + "11" * 20, "latest"]},
    {"jsonrpc": "2.0", "id": 2, "method": "eth_call",
     "params": [{"to": "0x" + "22" * 20, "data": "0x1234"}, "latest"]},
    {"jsonrpc": "2.0", "id": 3, "method": "eth_getLogs",
     "params": [{"fromBlock": "0x0", "topics": [None, ["0x" + "33" * 32]]}]},
    {"jsonrpc": "2.0", "id": 4, "method": "eth_sendRawTransaction", "params": ["0x02f86b"]},
    {"jsonrpc": "2.0", "id": 5, "method": "eth_getBlockByNumber", "params": ["0x0", True]},
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=70)
    | st.sampled_from(["0x", "0x0", "0x00", "latest", "pending", "0x" + "ab" * 20,
                       "0x" + "cd" * 32, "0xzz"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)  # fmt: skip
requests_st = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "1.0", None]), "method": st.sampled_from(sorted(METHODS))
     | st.text(max_size=20), "params": json_values},
    optional={"id": st.integers(0, 2**40) | st.text(max_size=8) | st.none()},
)  # fmt: skip


def _mutate(data: st.DataObject) -> bytes:
    body = bytearray(json.dumps(data.draw(st.sampled_from(VALID))).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(body) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            body[position] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "delete":
            del body[position]
        else:
            body.insert(position, data.draw(st.integers(0, 255)))
    return bytes(body)


def _post(url: str, body: bytes) -> Any:
    reply = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert reply.status_code == 200
    return reply.json() if reply.content else None


def _check(answer: Any) -> None:
    items = answer if isinstance(answer, list) else [answer]
    for item in items:
        if item is None:
            continue
        assert item["jsonrpc"] == "2.0"
        assert ("result" in item) != ("error" in item)
        if "error" in item:
            assert isinstance(item["error"]["code"], int) and item["error"]["message"]
            assert item["error"]["code"] != -32603, item  # no internal errors


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(request=requests_st | st.lists(requests_st, min_size=1, max_size=5))
def test_random_requests(dev_server: RpcServer, request: Any) -> None:
    _check(_post(dev_server.url, json.dumps(request).encode()))


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_requests(dev_server: RpcServer, data: st.DataObject) -> None:
    body = _mutate(data)
    try:
        answer = _post(dev_server.url, body)
    except UnicodeDecodeError:
        return
    _check(answer)
    alive = _post(dev_server.url, b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}')
    assert alive["result"] == "0x200cd"


def test_oversized_body_refused(dev_server: RpcServer) -> None:
    huge = b"[" + b" " * (dev_server.node.config.max_body + 1) + b"]"
    reply = requests.post(dev_server.url, data=huge, timeout=30)
    assert reply.status_code == 413 and reply.json()["error"]["code"] == -32600


# Bodies that exhaust a resource: nesting (100,000 levels overflowed the parser's C stack and
# killed the process with SIGSEGV), number size, string size, batch length. Each is answered
# -32700 or -32600 by a node in a subprocess (so a crash fails the test) that keeps serving.
_EXHAUSTING = {
    "arrays 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "objects 100,000 deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "params 100,000 deep": b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":'
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
    "unclosed arrays": b"[" * 1_000_000,
    "brackets in an unterminated string": b'["' + b'\\"[' * 1_000_000,
    "a 100,000-digit id": b'{"jsonrpc":"2.0","method":"eth_chainId","id":' + b"9" * 100_000 + b"}",
    "an id of 1e999": b'{"jsonrpc":"2.0","method":"eth_chainId","id":1e999}',
    "NaN": b'{"jsonrpc":"2.0","method":"eth_chainId","id":NaN}',
    "a 20 MB string": b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["'
    + b"a" * 20_000_000
    + b'"]}',
    "a batch of 100,000": b"["
    + b",".join([b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'] * 100_000)
    + b"]",
}  # fmt: skip


def test_exhausting_bodies_answered_and_node_survives(
    tmp_path: Path, spawn_node: Callable[[list[str]], NodeProcess]
) -> None:
    node = spawn_node(["--data-dir", str(tmp_path / "chain"), "--dev"])
    for name, body in _EXHAUSTING.items():
        reply = requests.post(node.url, data=body, timeout=60)
        answer = reply.json()
        items = answer if isinstance(answer, list) else [answer]
        codes = {item["error"]["code"] for item in items if "error" in item}
        assert codes and codes <= {-32700, -32600, -32602}, (name, answer)
        assert node.process.poll() is None, f"{name}: the node exited ({node.process.returncode})"
        alive = call(node.url, "eth_chainId")
        assert alive["result"] == "0x200cd", name
