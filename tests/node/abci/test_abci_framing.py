"""The socket protocol's uvarint length-delimited framing (libs/protoio in CometBFT)."""

from __future__ import annotations

import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collective.node.abci import types_pb2
from collective.node.abci.framing import (
    FrameReader,
    FramingError,
    decode_uvarint,
    encode_uvarint,
    frame,
)

abci = types_pb2


def read_all(stream: bytes, pieces: list[int], max_message_bytes: int = 1 << 20) -> list[bytes]:
    """Frames read by a FrameReader from ``stream`` sent in pieces of the given sizes (a
    writer thread sends them one by one, so reads see the splits)."""
    ours, theirs = socket.socketpair()
    with ours, theirs:

        def write() -> None:
            at = 0
            for size in [*pieces, len(stream)]:
                if at < len(stream):
                    theirs.sendall(stream[at : at + size])
                    at += size
            theirs.shutdown(socket.SHUT_WR)

        writer = threading.Thread(target=write)
        writer.start()
        reader = FrameReader(ours, max_message_bytes)
        frames = []
        try:
            while (message := reader.read()) is not None:
                frames.append(message)
        finally:
            writer.join()
        return frames


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_uvarint_round_trips(value: int) -> None:
    encoded = encode_uvarint(value)
    assert decode_uvarint(encoded) == (value, len(encoded))
    assert len(encoded) == max(1, (value.bit_length() + 6) // 7)
    assert decode_uvarint(encoded[:-1]) is None  # incomplete


def test_uvarint_matches_go_binary_put_uvarint() -> None:
    assert encode_uvarint(0) == b"\x00"
    assert encode_uvarint(1) == b"\x01"
    assert encode_uvarint(127) == b"\x7f"
    assert encode_uvarint(128) == b"\x80\x01"
    assert encode_uvarint(300) == b"\xac\x02"
    assert encode_uvarint((1 << 64) - 1) == b"\xff" * 9 + b"\x01"
    with pytest.raises(ValueError, match="out of range"):
        encode_uvarint(1 << 64)


@pytest.mark.parametrize(
    "data",
    [b"\x80" * 10 + b"\x00", b"\xff" * 9 + b"\x02", b"\x80" * 9 + b"\x7f"],
    ids=["11 bytes", "overflow", "10th byte over 1"],
)
def test_varints_go_refuses_are_refused(data: bytes) -> None:
    with pytest.raises(FramingError):
        decode_uvarint(data)


@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.lists(st.integers(min_value=1, max_value=64), max_size=20),
)
def test_frames_round_trip_whatever_the_read_boundaries(
    messages: list[bytes], pieces: list[int]
) -> None:
    stream = b"".join(frame(m) for m in messages)
    assert read_all(stream, pieces) == messages


requests = st.one_of(
    st.builds(lambda m: abci.Request(echo=abci.RequestEcho(message=m)), st.text(max_size=50)),
    st.builds(
        lambda txs, h: abci.Request(
            finalize_block=abci.RequestFinalizeBlock(txs=txs, height=h, hash=b"\x01" * 32)
        ),
        st.lists(st.binary(max_size=200), max_size=5),
        st.integers(min_value=0, max_value=(1 << 63) - 1),
    ),
    st.builds(
        lambda tx, t: abci.Request(check_tx=abci.RequestCheckTx(tx=tx, type=t)),
        st.binary(max_size=200),
        st.sampled_from([abci.NEW, abci.RECHECK]),
    ),
)


@given(st.lists(requests, min_size=1, max_size=5), st.lists(st.integers(1, 7), max_size=30))
def test_requests_round_trip_through_frames(batch: list[abci.Request], pieces: list[int]) -> None:
    stream = b"".join(frame(r.SerializeToString()) for r in batch)
    decoded = []
    for message in read_all(stream, pieces):
        request = abci.Request()
        request.ParseFromString(message)
        decoded.append(request)
    assert decoded == batch


@pytest.mark.parametrize(
    "stream, error",
    [
        (b"\x85", "inside a length prefix"),
        (frame(b"abcdef")[:-2], "after 4 of a 6-byte message"),
        (encode_uvarint(1001), "over the 1000-byte limit"),
    ],
)
def test_bad_streams_raise_framing_errors(stream: bytes, error: str) -> None:
    with pytest.raises(FramingError, match=error):
        read_all(stream, [], max_message_bytes=1000)


def test_a_frame_of_exactly_the_limit_is_read() -> None:
    assert read_all(frame(b"x" * 1000), [], max_message_bytes=1000) == [b"x" * 1000]
