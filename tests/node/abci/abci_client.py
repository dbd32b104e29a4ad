"""A minimal ABCI socket client for the tests: sends framed Requests, reads framed Responses,
as CometBFT's socket client does (request, then flush, then read both answers)."""

from __future__ import annotations

import socket

from collective.node.abci import types_pb2 as abci
from collective.node.abci.framing import FrameReader, frame
from collective.node.abci.server import parse_address


class AbciClient:
    """A connection to an ABCI server at ``address`` (``tcp://...`` or ``unix://...``)."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        family, target = parse_address(address)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(target)
        self.reader = FrameReader(self.sock)

    def send(self, *requests: abci.Request) -> None:
        """Send ``requests`` (no flush added)."""
        self.sock.sendall(b"".join(frame(r.SerializeToString()) for r in requests))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self) -> abci.Response:
        """The next Response (AssertionError if the server closed the connection)."""
        message = self.reader.read()
        assert message is not None, "the server closed the connection"
        response = abci.Response()
        response.ParseFromString(message)
        return response

    def call(self, request: abci.Request) -> abci.Response:
        """Send ``request`` and a flush; return the answer to ``request`` (after checking the
        flush was answered)."""
        self.send(request, abci.Request(flush=abci.RequestFlush()))
        answer = self.receive()
        assert self.receive().WhichOneof("value") == "flush"
        return answer

    def closed_by_server(self) -> bool:
        """Did the server close this connection (EOF or reset within the timeout)?"""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> AbciClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
