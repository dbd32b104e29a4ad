"""ABCI 2.0 for `collective node`: run the node as a CometBFT v0.38 application.

- :mod:`~collective.node.abci.proto`: the protobuf types generated from CometBFT's .proto files
  by scripts/gen_abci_proto.py (committed; do not edit). ``types_pb2`` here is
  tendermint/abci/types.proto: ``types_pb2.RequestFinalizeBlock``, ``types_pb2.ExecTxResult``...
- :mod:`~collective.node.abci.application`: :class:`Application`, one method per ABCI request
  with CometBFT's ``BaseApplication`` defaults; the Collective application subclasses it.
- :mod:`~collective.node.abci.framing`: the socket protocol's uvarint length-delimited frames.
- :mod:`~collective.node.abci.server`: :class:`AbciServer`, which serves an application to
  CometBFT over TCP or a Unix socket.

Usage::

    from collective.node.abci import AbciServer, Application, types_pb2

    server = AbciServer(MyApplication(), "tcp://127.0.0.1:26658")
    server.start()      # listening; CometBFT's proxy_app = server.address
    ...
    server.close()
"""

from __future__ import annotations

from collective.node.abci.application import CODE_TYPE_OK, Application
from collective.node.abci.proto.tendermint.abci import types_pb2 as types_pb2
from collective.node.abci.server import AbciServer

__all__ = ["CODE_TYPE_OK", "AbciServer", "Application", "types_pb2"]
