"""JSON-RPC over WebSocket (RFC 6455) on the HTTP port, with ``eth_subscribe``.

A GET with ``Upgrade: websocket`` is handed here by the HTTP server
(:mod:`collective.node.server`); the framing is the ``websockets`` library's sans-I/O
:class:`~websockets.server.ServerProtocol` (handshake, masking, fragments, ping/pong, close),
driven by the connection's own thread. Every text message is a JSON-RPC request or batch,
answered as over HTTP (:func:`collective.node.rpc.handle_body`), except the two methods that
need a connection, as geth serves them:

- ``eth_subscribe("newHeads")``: a notification per new block, its header as
  ``eth_getBlockByNumber`` renders it (without transactions);
- ``eth_subscribe("logs", {address, topics})``: a notification per matching log of each new
  block, as ``eth_getLogs`` renders it;
- ``eth_subscribe("newPendingTransactions")``: the hash of each transaction the pool admits
  (``ethers``' ``provider.on("pending")``, viem's ``watchPendingTransactions``);
- ``eth_unsubscribe(id)``: true if the subscription existed.

Notifications are ``{"jsonrpc": "2.0", "method": "eth_subscription", "params":
{"subscription": id, "result": ...}}``. The connection thread waits on its socket at most
:data:`POLL_SECONDS` at a time and then looks at the head: blocks sealed meanwhile are
announced in order (and a head moved back by ``evm_revert`` announces from there on). Over
HTTP, ``eth_subscribe`` stays -32601, as geth answers ("notifications not supported").
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import socket
from dataclasses import dataclass
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from collective.node.errors import INVALID_PARAMS, INVALID_REQUEST, RpcError
from collective.node.logindex import LogQuery, logs_json
from collective.node.node import Node
from collective.node.render import dumps
from collective.node.rpc import params as p
from collective.node.rpc.dispatch import handle_body

log = logging.getLogger("collective.node")
POLL_SECONDS = 0.05
SUBSCRIPTION_KINDS = ("newHeads", "logs", "newPendingTransactions")


@dataclass(frozen=True)
class Subscription:
    """One ``eth_subscribe``: its kind, and for ``logs`` its address and topic criteria."""

    kind: str  # "newHeads", "logs" or "newPendingTransactions"
    criteria: p.LogFilter | None


def is_upgrade(headers: Any) -> bool:
    """Whether an HTTP request asks to become a WebSocket."""
    return "websocket" in str(headers.get("Upgrade", "")).lower()


def serve(node: Node, sock: socket.socket, request_line: str, headers: Any) -> None:
    """Answer the handshake of an upgrade request already read from ``sock`` (its request
    line and headers, handed to the protocol as they came), then serve the connection until
    it closes."""
    protocol = ServerProtocol(max_size=node.config.max_body)
    head = request_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    protocol.receive_data((head + "\r\n").encode("latin-1"))
    requests = [e for e in protocol.events_received() if isinstance(e, Request)]
    if requests:
        protocol.send_response(protocol.accept(requests[0]))
    sock.sendall(b"".join(protocol.data_to_send()))
    if protocol.state is not State.OPEN:
        return
    Connection(node, sock, protocol).run()


class Connection:
    """One WebSocket connection: its messages, its subscriptions."""

    def __init__(self, node: Node, sock: socket.socket, protocol: ServerProtocol) -> None:
        self.node = node
        self.sock = sock
        self.protocol = protocol
        self.subscriptions: dict[str, Subscription] = {}
        self.seen = node.view.head_number
        self.arrived = node.chain.pending.arrived  # pool admissions announced so far
        self.parts: list[bytes] = []

    def run(self) -> None:
        """Serve the connection until it closes: answer its messages, and every
        :data:`POLL_SECONDS` announce what its subscriptions wait for. Returns when the client
        closes or goes away; a bug ends this connection only (logged)."""
        sock, protocol = self.sock, self.protocol
        try:
            while protocol.state is not State.CLOSED:
                readable, _, _ = select.select([sock], [], [], POLL_SECONDS)
                if readable:
                    data = sock.recv(65536)
                    if data:
                        protocol.receive_data(data)
                    else:
                        protocol.receive_eof()
                    for event in protocol.events_received():
                        if isinstance(event, Frame):
                            self.frame(event.opcode, bytes(event.data), event.fin)
                if self.subscriptions and protocol.state is State.OPEN:
                    self.announce()
                self.flush()
                if not readable and protocol.state is State.CLOSING:
                    break
        except OSError:  # the client went away
            pass
        except Exception:  # a bug, or the node closing under us: this connection ends
            log.exception("websocket connection ended")
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def flush(self) -> None:
        """Write the frames the protocol has ready to the socket. Raises OSError when the
        client is gone."""
        data = b"".join(self.protocol.data_to_send())
        if data:
            self.sock.sendall(data)

    def send(self, text: str) -> None:
        """Queue ``text`` as one text message (dropped once the connection is closing)."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_text(text.encode())

    # --- messages ---------------------------------------------------------------------------

    def frame(self, opcode: Opcode, data: bytes, fin: bool) -> None:
        """Take one received data frame (RFC 6455 section 5.4: a message may come in
        fragments); a complete message is answered. Control frames are the protocol's."""
        if opcode in (Opcode.TEXT, Opcode.BINARY):
            self.parts = [data]
        elif opcode is Opcode.CONT:
            self.parts.append(data)
        else:  # ping, pong, close: the protocol answers them
            return
        if fin:
            body, self.parts = b"".join(self.parts), []
            answer = self.message(body)
            if answer is not None:
                self.send(answer)

    def message(self, body: bytes) -> str | None:
        """The answer to one message's JSON-RPC body (subscriptions here, everything else as
        over HTTP), or None for notifications only."""
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):
            request = None
        if isinstance(request, dict) and request.get("method") in (
            "eth_subscribe",
            "eth_unsubscribe",
        ):
            return self.subscription_request(request)
        return handle_body(self.node, body)

    def subscription_request(self, request: dict[str, Any]) -> str:
        """Answer an ``eth_subscribe`` / ``eth_unsubscribe`` request object: the subscription
        id, true/false, or a JSON-RPC error (-32600, -32602)."""
        request_id = request.get("id")
        params = request.get("params")
        try:
            if not isinstance(params, list):
                raise RpcError(INVALID_REQUEST, "invalid request: params must be an array")
            if request["method"] == "eth_unsubscribe":
                (sub_id,) = p.parse_params((p.Param("subscriptionId", p.filter_id),), params)
                result: Any = self.subscriptions.pop(sub_id, None) is not None
            else:
                result = self.subscribe(params)
        except RpcError as exc:
            return dumps({"jsonrpc": "2.0", "id": request_id, "error": exc.to_json()})
        return dumps({"jsonrpc": "2.0", "id": request_id, "result": result})

    def subscribe(self, params: list[Any]) -> str:
        """Add a subscription (``params``: its kind, and for ``logs`` a filter without a block
        range). Returns its id. Raises :class:`RpcError` -32602 for another kind or params."""
        if not params or params[0] not in SUBSCRIPTION_KINDS:
            raise RpcError(
                INVALID_PARAMS,
                f"invalid argument 0 (kind): no such subscription {params[0] if params else ''!r}"
                f" (this node has {', '.join(SUBSCRIPTION_KINDS)})",
            )
        kind = params[0]
        if kind in ("newHeads", "newPendingTransactions"):
            if len(params) > 1:
                raise RpcError(INVALID_PARAMS, "too many arguments, want at most 1")
            criteria = None
        else:
            if len(params) > 2:
                raise RpcError(INVALID_PARAMS, "too many arguments, want at most 2")
            criteria = p.log_filter(params[1] if len(params) > 1 else {}, "invalid argument 1")
            if criteria.block_hash is not None or criteria.from_block or criteria.to_block:
                raise RpcError(
                    INVALID_PARAMS, "invalid argument 1: a logs subscription takes no block range"
                )
        sub_id = "0x" + os.urandom(16).hex()
        with self.node.lock:
            if not self.subscriptions:
                self.seen = self.node.view.head_number
                self.arrived = self.node.chain.pending.arrived
        self.subscriptions[sub_id] = Subscription(kind, criteria)
        return sub_id

    # --- notifications ----------------------------------------------------------------------

    def announce(self) -> None:
        """Notify the subscriptions of what arrived since the last call: pool admissions
        (``newPendingTransactions``), then each new block's header and matching logs in
        order (from the new head after a dev revert)."""
        chain = self.node.chain
        pool = chain.pending
        if pool.arrived != self.arrived:
            with self.node.lock:
                hashes, self.arrived = pool.arrived_since(self.arrived), pool.arrived
            for sub_id, sub in self.subscriptions.items():
                if sub.kind == "newPendingTransactions":
                    for tx_hash in hashes:
                        self.notify(sub_id, '"0x' + tx_hash.hex() + '"')
        head = self.node.view.head_number
        if head == self.seen:
            return
        if head < self.seen:  # reverted (dev): announce the new head
            self.seen = head - 1
        with self.node.lock:
            blocks = []
            for number in range(self.seen + 1, self.node.view.head_number + 1):
                stored = chain.store.block_by_number(number)
                if stored is None:
                    break
                logs: dict[str, str] = {}
                for sub_id, sub in self.subscriptions.items():
                    if sub.kind == "logs" and sub.criteria is not None:
                        query = LogQuery(
                            number, number, sub.criteria.addresses, sub.criteria.topics
                        )
                        logs[sub_id] = logs_json(self.node.view.logs(query))
                blocks.append((number, stored.json, logs))
        for number, header_json, logs in blocks:
            for sub_id, sub in self.subscriptions.items():
                if sub.kind == "newHeads":
                    self.notify(sub_id, header_json)
                elif sub.kind == "logs":
                    for entry in json.loads(logs.get(sub_id, "[]")):
                        self.notify(sub_id, dumps(entry))
            self.seen = number

    def notify(self, sub_id: str, result_json: str) -> None:
        """Send one ``eth_subscription`` notification carrying ``result_json`` (JSON text)."""
        self.send(
            '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"'
            + sub_id
            + '","result":'
            + result_json
            + "}}"
        )


__all__ = ["Connection", "Subscription", "is_upgrade", "serve"]
