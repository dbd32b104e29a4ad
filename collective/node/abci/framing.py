"""The socket protocol's framing: each message is its protobuf bytes prefixed by their length
as an unsigned varint (spec/abci/abci++_client_server.md "Socket"; in the Go source,
libs/protoio's ``NewDelimitedWriter`` / ``NewDelimitedReader``, whose length is read with
``encoding/binary.ReadUvarint``).

:func:`encode_uvarint` and :func:`frame` write; :class:`FrameReader` reads frames from a
socket, refusing what Go's reader refuses (a varint over 10 bytes or 64 bits, a length over the
limit) and a connection that ends inside a frame.
"""

from __future__ import annotations

import socket

from collective.errors import NodeError

MAX_VARINT_BYTES = 10
"""A uint64 takes at most 10 varint bytes (Go's ``binary.MaxVarintLen64``)."""

MAX_MESSAGE_BYTES = 128 * 1024 * 1024
"""The largest frame read by default, in bytes. CometBFT's own reader accepts up to 2 GiB
(abci/types/messages.go ``maxMsgSize = math.MaxInt32``), but no request it sends to a chain
with a block size limit is larger than a block, at most 100 MiB (types/params.go
``MaxBlockSizeBytes``); 128 MiB leaves room for the request's other fields while a garbage
length cannot make the server buffer gigabytes."""


class FramingError(NodeError):
    """The peer broke the framing: a bad varint, a length over the limit, or the connection
    ended inside a frame. The connection cannot be resynchronised and must be closed."""


def encode_uvarint(value: int) -> bytes:
    """``value`` (0 <= value < 2**64) as an unsigned LEB128 varint, as Go's
    ``binary.PutUvarint``. Raises ValueError for a value out of range (a programming error)."""
    if not 0 <= value < 1 << 64:
        raise ValueError(f"uvarint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def frame(message: bytes) -> bytes:
    """``message`` (serialized protobuf) with its uvarint length prefix."""
    return encode_uvarint(len(message)) + message


def decode_uvarint(data: bytes | bytearray, start: int = 0) -> tuple[int, int] | None:
    """Read a uvarint from ``data[start:]``.

    Returns:
        ``(value, end)``, ``end`` the index just past the varint; None when ``data`` ends
        before the varint does (more bytes are needed).

    Raises:
        FramingError: the varint is longer than 10 bytes or overflows 64 bits (Go's
            ``binary.ReadUvarint`` refuses the same).
    """
    value = 0
    for i in range(MAX_VARINT_BYTES):
        if start + i >= len(data):
            return None
        byte = data[start + i]
        if i == MAX_VARINT_BYTES - 1 and byte > 1:
            raise FramingError("message length varint overflows 64 bits")
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value, start + i + 1
    raise FramingError("message length varint is longer than 10 bytes")


class FrameReader:
    """Reads length-delimited frames from a connected socket.

    Args:
        sock: a connected stream socket (TCP or Unix), blocking.
        max_message_bytes: the largest frame accepted, in bytes.
    """

    def __init__(self, sock: socket.socket, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._sock = sock
        self._max = max_message_bytes
        self._buffer = bytearray()

    def has_frame(self) -> bool:
        """Is a whole frame (or a framing error) already received, so that :meth:`read`
        returns without waiting for the peer?"""
        try:
            header = decode_uvarint(self._buffer)
        except FramingError:
            return True
        if header is None:
            return False
        length, start = header
        return length > self._max or len(self._buffer) >= start + length

    def read(self) -> bytes | None:
        """The next frame's message bytes (blocking until it has arrived whole).

        Returns:
            The message, or None when the peer closed the connection between frames.

        Raises:
            FramingError: a bad varint, a length over ``max_message_bytes``, or the
                connection ended inside a frame.
            OSError: the socket failed (reset, or closed by this side).
        """
        while True:
            header = decode_uvarint(self._buffer)
            if header is not None:
                break
            if not self._receive():
                if self._buffer:
                    raise FramingError(
                        f"connection closed inside a length prefix ({len(self._buffer)} bytes)"
                    )
                return None
        length, start = header
        if length > self._max:
            raise FramingError(f"message of {length} bytes is over the {self._max}-byte limit")
        while len(self._buffer) < start + length:
            if not self._receive():
                raise FramingError(
                    f"connection closed after {len(self._buffer) - start} of a "
                    f"{length}-byte message"
                )
        message = bytes(self._buffer[start : start + length])
        del self._buffer[: start + length]  # O(1) in CPython: bytearray drops its head in place
        return message

    def _receive(self) -> bool:
        chunk = self._sock.recv(1 << 16)
        self._buffer += chunk
        return bool(chunk)


__all__ = [
    "MAX_MESSAGE_BYTES",
    "FrameReader",
    "FramingError",
    "decode_uvarint",
    "encode_uvarint",
    "frame",
]
