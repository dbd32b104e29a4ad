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

from typing import TYPE_CHECKING

from collective._lazy import lazy_names

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
    "Backend": "collective.chain.backend",
    "DevBackend": "collective.chain.backend",
    "DEV_ACCOUNT_COUNT": "collective.chain.connectors",
    "DEV_CHAIN_ID": "collective.chain.connectors",
    "DEV_MNEMONIC": "collective.chain.connectors",
    "PROBE_TIMEOUT": "collective.chain.connectors",
    "account_from_key": "collective.chain.connectors",
    "connect": "collective.chain.connectors",
    "connect_embedded": "collective.chain.connectors",
    "connect_rpc": "collective.chain.connectors",
    "dev_keys_from_mnemonic": "collective.chain.connectors",
    "is_dev_node": "collective.chain.connectors",
    # 0.1's private spellings
    "_dev_keys_from_mnemonic": "collective.chain.connectors:dev_keys_from_mnemonic",
    "Chain": "collective.chain.connection",
    "Transactable": "collective.chain.connection",
    "EmbeddedBackend": "collective.chain.embedded",
    "TesterBackend": "collective.chain.embedded",
    "HttpBackend": "collective.chain.http",
    "receipt_from_rpc": "collective.chain.shapes",
    "_receipt_from_rpc": "collective.chain.shapes:receipt_from_rpc",
    "FEE_CACHE_SECONDS": "collective.chain.transactions",
    "RECEIPT_TIMEOUT": "collective.chain.transactions",
    "PendingTransaction": "collective.chain.transactions",
    "TxListener": "collective.chain.transactions",
    "TxStage": "collective.chain.transactions",
}


__getattr__ = lazy_names(globals(), _LAZY)


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
