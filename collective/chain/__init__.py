"""A connection to one chain: the embedded py-evm chain, or any Ethereum JSON-RPC node.

:func:`connect` returns a :class:`Chain`, the one object the rest of Collective talks to a chain
through. It signs locally (the node never holds keys), sends raw transactions, waits for the
receipt and turns every revert into a decoded :class:`~collective.errors.TransactionError`
(see :mod:`collective.chain.revert`). Test helpers (snapshots, time travel, mining) work on the
embedded chain and on dev nodes such as anvil.

The package, one concern per module:

- :mod:`~collective.chain.backend`: the seam, ``request`` / ``batch`` / ``close`` (and the
  dev commands), and the only exceptions a backend raises.
- :mod:`~collective.chain.http`: the HTTP backend (one keep-alive connection per thread).
- :mod:`~collective.chain.embedded`: the in-process backend (eth-tester's py-evm chain).
- :mod:`~collective.chain.connection`: :class:`Chain`; :mod:`~collective.chain.reads` its
  reads, one request each.
- :mod:`~collective.chain.transactions`: fees, nonces, sending and waiting.
- :mod:`~collective.chain.connectors`: :func:`connect`, :func:`connect_rpc`,
  :func:`connect_embedded`, dev-node detection.
- :mod:`~collective.chain.errors`: foreign exceptions into Collective errors, in one place.
- :mod:`~collective.chain.shapes`: JSON-RPC values into web3's shapes and back.
- :mod:`~collective.chain.web3_bridge`: a web3 provider on a backend (contract objects).
- :mod:`~collective.chain.codec`, :mod:`~collective.chain.revert`,
  :mod:`~collective.chain.addresses`, :mod:`~collective.chain.jsonints`: ABI encoding and
  log decoding, revert decoding, EIP-55 addresses, JSON integers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collective.chain.backend import Backend, DevBackend
    from collective.chain.connection import Chain, Transactable
    from collective.chain.connectors import (
        DEV_ACCOUNT_COUNT,
        DEV_CHAIN_ID,
        DEV_MNEMONIC,
        PROBE_TIMEOUT,
        account_from_key,
        connect,
        connect_embedded,
        connect_rpc,
        dev_keys_from_mnemonic,
        is_dev_node,
    )
    from collective.chain.embedded import EmbeddedBackend, TesterBackend
    from collective.chain.http import HttpBackend
    from collective.chain.shapes import receipt_from_rpc
    from collective.chain.transactions import (
        FEE_CACHE_SECONDS,
        RECEIPT_TIMEOUT,
        PendingTransaction,
        TxListener,
        TxStage,
    )

# Imported on first use: a module of this package (jsonints, addresses, codec) must not drag in
# web3 and eth-account (~0.6 s) for a caller that needs only it, e.g. `collective node start`.
_LAZY = {
    "Backend": "backend",
    "DevBackend": "backend",
    "DEV_ACCOUNT_COUNT": "connectors",
    "DEV_CHAIN_ID": "connectors",
    "DEV_MNEMONIC": "connectors",
    "PROBE_TIMEOUT": "connectors",
    "account_from_key": "connectors",
    "connect": "connectors",
    "connect_embedded": "connectors",
    "connect_rpc": "connectors",
    "dev_keys_from_mnemonic": "connectors",
    "is_dev_node": "connectors",
    "_dev_keys_from_mnemonic": "connectors:dev_keys_from_mnemonic",  # 0.1's private spelling
    "Chain": "connection",
    "Transactable": "connection",
    "EmbeddedBackend": "embedded",
    "TesterBackend": "embedded",
    "HttpBackend": "http",
    "receipt_from_rpc": "shapes",
    "_receipt_from_rpc": "shapes:receipt_from_rpc",  # 0.1's private spelling
    "FEE_CACHE_SECONDS": "transactions",
    "RECEIPT_TIMEOUT": "transactions",
    "PendingTransaction": "transactions",
    "TxListener": "transactions",
    "TxStage": "transactions",
}


def __getattr__(name: str) -> Any:
    """The package's names, each imported from its module when first asked for."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, _, attribute = where.partition(":")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute or name)
    globals()[name] = value
    return value


__all__ = [
    "DEV_ACCOUNT_COUNT",
    "DEV_CHAIN_ID",
    "DEV_MNEMONIC",
    "FEE_CACHE_SECONDS",
    "PROBE_TIMEOUT",
    "RECEIPT_TIMEOUT",
    "Backend",
    "Chain",
    "DevBackend",
    "EmbeddedBackend",
    "HttpBackend",
    "PendingTransaction",
    "TesterBackend",
    "Transactable",
    "TxListener",
    "TxStage",
    "account_from_key",
    "connect",
    "connect_embedded",
    "connect_rpc",
    "dev_keys_from_mnemonic",
    "is_dev_node",
    "receipt_from_rpc",
]
