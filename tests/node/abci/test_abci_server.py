"""AbciServer against real sockets: dispatch, BaseApplication defaults, exceptions, peers that
break the protocol, Unix sockets, close()."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from collective.errors import InvalidInputError, NodeError
from collective.node.abci import AbciServer, Application, types_pb2
from collective.node.abci.framing import MAX_MESSAGE_BYTES, encode_uvarint, frame
from collective.node.abci.server import APP_METHODS, parse_address
from tests.node.abci.abci_client import AbciClient

abci = types_pb2


class Recording(Application):
    """Records the calls; raises in query when asked to (path "boom")."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def info(self, request: abci.RequestInfo) -> abci.ResponseInfo:
        self.calls.append("info")
        return abci.ResponseInfo(data="recording", last_block_height=7)

    def query(self, request: abci.RequestQuery) -> abci.ResponseQuery:
        self.calls.append("query")
        if request.path == "boom":
            raise RuntimeError("query exploded")
        return abci.ResponseQuery(value=request.data[::-1])


@pytest.fixture
def app() -> Recording:
    return Recording()


@pytest.fixture
def server(app: Recording) -> Iterator[AbciServer]:
    with AbciServer(app, "tcp://127.0.0.1:0") as running:
        yield running


def info() -> abci.Request:
    return abci.Request(info=abci.RequestInfo(version="test"))


def test_echo_flush_and_app_calls_are_answered_in_order(server: AbciServer, app: Recording) -> None:
    with AbciClient(server.address) as client:
        client.send(
            abci.Request(echo=abci.RequestEcho(message="hello")),
            info(),
            abci.Request(query=abci.RequestQuery(data=b"abc")),
            abci.Request(flush=abci.RequestFlush()),
        )
        kinds = [client.receive() for _ in range(4)]
    assert [r.WhichOneof("value") for r in kinds] == ["echo", "info", "query", "flush"]
    assert kinds[0].echo.message == "hello"
    assert kinds[1].info.last_block_height == 7
    assert kinds[2].query.value == b"cba"
    assert app.calls == ["info", "query"]


def test_base_application_defaults_match_cometbft() -> None:
    """abci/types/application.go BaseApplication, call by call."""
    base = Application()
    prepared = base.prepare_proposal(
        abci.RequestPrepareProposal(txs=[b"a" * 4, b"b" * 4, b"c" * 1], max_tx_bytes=8)
    )
    assert list(prepared.txs) == [b"a" * 4, b"b" * 4]  # stops at the first that overflows
    stops = base.prepare_proposal(
        abci.RequestPrepareProposal(txs=[b"a" * 4, b"b" * 9, b"c"], max_tx_bytes=8)
    )
    assert list(stops.txs) == [b"a" * 4]  # "break", not "skip": c is not taken
    assert (
        base.process_proposal(abci.RequestProcessProposal()).status
        == abci.ResponseProcessProposal.ACCEPT
    )
    assert (
        base.verify_vote_extension(abci.RequestVerifyVoteExtension()).status
        == abci.ResponseVerifyVoteExtension.ACCEPT
    )
    finalized = base.finalize_block(abci.RequestFinalizeBlock(txs=[b"x", b"y"]))
    assert [r.code for r in finalized.tx_results] == [0, 0]
    assert finalized.app_hash == b""
    assert base.check_tx(abci.RequestCheckTx(tx=b"x")).code == 0
    assert base.query(abci.RequestQuery()).code == 0
    assert base.info(abci.RequestInfo()) == abci.ResponseInfo()
    assert base.commit(abci.RequestCommit()).retain_height == 0
    assert base.offer_snapshot(abci.RequestOfferSnapshot()).result == 0
    assert base.apply_snapshot_chunk(abci.RequestApplySnapshotChunk()).result == 0


def test_every_request_kind_reaches_its_method() -> None:
    oneof = abci.Request.DESCRIPTOR.oneofs_by_name["value"]
    assert {f.name for f in oneof.fields} == APP_METHODS | {"echo", "flush"}
    response_oneof = abci.Response.DESCRIPTOR.oneofs_by_name["value"]
    assert {f.name for f in response_oneof.fields} > APP_METHODS
    with (
        AbciServer(Application(), "tcp://127.0.0.1:0") as server,
        AbciClient(server.address) as client,
    ):
        for name in sorted(APP_METHODS):
            request = abci.Request()
            getattr(request, name).SetInParent()
            assert client.call(request).WhichOneof("value") == name


def test_an_app_exception_is_answered_and_the_connection_keeps_serving(
    server: AbciServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, "collective.node.abci"),
        AbciClient(server.address) as client,
    ):
        failed = client.call(abci.Request(query=abci.RequestQuery(path="boom")))
        assert failed.WhichOneof("value") == "exception"
        assert "RuntimeError: query exploded" in failed.exception.error
        assert client.call(info()).info.data == "recording"
    assert "query exploded" in caplog.text
    assert "Traceback" in caplog.text


def test_an_app_returning_the_wrong_type_gets_an_exception(server: AbciServer) -> None:
    class Wrong(Application):
        def info(self, request: abci.RequestInfo) -> abci.ResponseInfo:
            return abci.ResponseQuery()  # not a ResponseInfo

    with AbciServer(Wrong(), "tcp://127.0.0.1:0") as wrong, AbciClient(wrong.address) as client:
        assert client.call(info()).WhichOneof("value") == "exception"
        assert client.call(info()).WhichOneof("value") == "exception"


GARBAGE = {
    "varint longer than 10 bytes": b"\x80" * 11,
    "varint overflowing 64 bits": b"\xff" * 9 + b"\x02",
    "length over the limit": encode_uvarint(MAX_MESSAGE_BYTES + 1) + b"\x0a",
    "2**63 length": encode_uvarint(1 << 63),
    "undecodable protobuf": frame(b"\x0a\x05ab"),  # field 1 claims 5 bytes, has 2
    "invalid utf-8 in echo": frame(b"\x0a\x03\x0a\x01\xff"),  # echo.message = b"\xff"
    "no request set": frame(b""),
    "unknown field only": frame(b"\xa8\x06\x01"),  # field 101, varint
}


@pytest.mark.parametrize("garbage", list(GARBAGE.values()), ids=list(GARBAGE))
def test_a_peer_breaking_the_protocol_loses_its_connection_only(
    server: AbciServer, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with AbciClient(server.address) as before:
        assert before.call(info()).WhichOneof("value") == "info"
        with (
            caplog.at_level(logging.WARNING, "collective.node.abci"),
            AbciClient(server.address) as bad,
        ):
            bad.send_raw(garbage)
            assert bad.closed_by_server()
        assert "ABCI connection" in caplog.text and "closed" in caplog.text
        assert before.call(info()).WhichOneof("value") == "info"
    with AbciClient(server.address) as after:
        assert after.call(info()).WhichOneof("value") == "info"


@pytest.mark.parametrize(
    "partial",
    [b"\x80", frame(info().SerializeToString())[:-1], encode_uvarint(1000) + b"x" * 10],
    ids=["half a varint", "message short by one byte", "10 of 1000 bytes"],
)
def test_a_peer_closing_inside_a_message_does_not_hurt_the_server(
    server: AbciServer, partial: bytes
) -> None:
    with AbciClient(server.address) as bad:
        bad.send_raw(partial)
    with AbciClient(server.address) as after:
        assert after.call(info()).WhichOneof("value") == "info"


def test_responses_arrive_without_a_flush_when_the_client_waits(server: AbciServer) -> None:
    with AbciClient(server.address) as client:
        client.send(info())
        assert client.receive().WhichOneof("value") == "info"


def test_four_connections_are_served_at_once_and_app_calls_never_overlap() -> None:
    inside = threading.Lock()
    overlaps: list[str] = []

    class Exclusive(Application):
        def check_tx(self, request: abci.RequestCheckTx) -> abci.ResponseCheckTx:
            if not inside.acquire(blocking=False):
                overlaps.append("check_tx")
                return abci.ResponseCheckTx(code=1)
            try:
                sum(range(2000))
                return abci.ResponseCheckTx(code=0)
            finally:
                inside.release()

    with AbciServer(Exclusive(), "tcp://127.0.0.1:0") as server:
        clients = [AbciClient(server.address) for _ in range(4)]
        try:

            def hammer(client: AbciClient) -> None:
                for i in range(200):
                    answer = client.call(abci.Request(check_tx=abci.RequestCheckTx(tx=b"%d" % i)))
                    assert answer.check_tx.code == 0

            threads = [threading.Thread(target=hammer, args=(c,)) for c in clients]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            for client in clients:
                client.close()
    assert overlaps == []


def test_unix_socket_and_stale_socket_file(tmp_path: Path) -> None:
    path = tmp_path / "abci.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # leaves the file, as a killed process would
    server = AbciServer(Application(), f"unix://{path}")
    server.start()
    try:
        assert server.address == f"unix://{path}"
        with AbciClient(server.address) as client:
            assert client.call(info()).WhichOneof("value") == "info"
        with pytest.raises(NodeError, match="no bound TCP port"):
            _ = server.port
    finally:
        server.close()
    assert not path.exists()


def test_close_ends_idle_connections_and_frees_the_port() -> None:
    server = AbciServer(Application(), "tcp://127.0.0.1:0")
    server.start()
    port = server.port
    assert server.address == f"tcp://127.0.0.1:{port}"
    client = AbciClient(server.address)
    assert client.call(info()).WhichOneof("value") == "info"
    server.close()
    server.close()  # idempotent
    assert client.closed_by_server()
    client.close()
    again = AbciServer(Application(), f"tcp://127.0.0.1:{port}")
    again.start()
    again.close()


def test_a_port_in_use_is_a_clear_error(server: AbciServer) -> None:
    with pytest.raises(NodeError, match="cannot listen for ABCI on"):
        AbciServer(Application(), server.address).start()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1:26658",
        "http://127.0.0.1:1",
        "tcp://127.0.0.1",
        "tcp://:1",
        "tcp://h:70000",
        "unix://",
        "tcp://h:x",
    ],
)
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidInputError, match="ABCI address"):
        AbciServer(Application(), address)


def test_parse_address_forms() -> None:
    assert parse_address("tcp://0.0.0.0:26658") == (socket.AF_INET, ("0.0.0.0", 26658))
    assert parse_address("tcp://[::1]:5") == (socket.AF_INET6, ("::1", 5))
    assert parse_address("unix:///tmp/a.sock") == (socket.AF_UNIX, "/tmp/a.sock")


def test_large_requests_and_responses_pass_whole(server: AbciServer) -> None:
    """A 2 MiB request and responses past the 64 KiB write buffer, pipelined."""
    txs = [bytes([i]) * 65_536 for i in range(32)]
    data = b"q" * 300_000
    with AbciClient(server.address) as client:
        client.send(
            abci.Request(finalize_block=abci.RequestFinalizeBlock(txs=txs, height=3)),
            *[abci.Request(query=abci.RequestQuery(data=data)) for _ in range(3)],
            abci.Request(flush=abci.RequestFlush()),
        )
        finalized = client.receive()
        queried = [client.receive() for _ in range(3)]
        assert client.receive().WhichOneof("value") == "flush"
    assert len(finalized.finalize_block.tx_results) == 32
    assert all(q.query.value == data[::-1] for q in queried)


def test_a_partial_request_does_not_hold_back_earlier_answers(server: AbciServer) -> None:
    """Request A whole and the first half of B, no flush: A's answer still arrives."""
    with AbciClient(server.address) as client:
        second = frame(info().SerializeToString())
        client.send_raw(frame(info().SerializeToString()) + second[:3])
        assert client.receive().WhichOneof("value") == "info"
        client.send_raw(second[3:])
        assert client.receive().WhichOneof("value") == "info"


def test_a_live_unix_socket_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "abci.sock"
    with AbciServer(Application(), f"unix://{path}"):
        with pytest.raises(NodeError, match="cannot listen for ABCI on"):
            AbciServer(Application(), f"unix://{path}").start()
        with AbciClient(f"unix://{path}") as client:
            assert client.call(info()).WhichOneof("value") == "info"


def test_a_closed_server_does_not_start_again() -> None:
    server = AbciServer(Application(), "tcp://127.0.0.1:0")
    server.start()
    server.close()
    with pytest.raises(NodeError, match="already started"):
        server.start()
