"""Fuzz the node over HTTP with random and mutated JSON-RPC requests: it answers every one
(a JSON-RPC response, or nothing for a notification) and keeps serving."""

from __future__ import annotations

import json
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective.node.rpc import METHODS
from collective.node.server import RpcServer

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
