"""``collective node``: a permissioned, durable JSON-RPC node on py-evm.

Modules, one concern each::

    genesis         the genesis file (geth format + config.collective permissioning settings)
    store           SQLite (WAL) store: py-evm's key-value data, blocks, txs, receipts, logs
    evm             py-evm driven directly: genesis, headers, states, calls, gas estimates
    pool            the transaction pool: pending, queued future nonces, replacement, drops
    core            NodeChain: head, admission checks, proof-of-authority sealing
    permissioning   AccountRules.transactionAllowed checks (as Besu)
    logindex        eth_getLogs from the (address, topic0..3, block) indexes
    filters         eth_newFilter & co.
    dev             --dev accounts, snapshots, time travel
    params          JSON-RPC params declared per method, validated as geth (-32602 naming them)
    render          blocks, transactions, receipts, logs as JSON
    rpc             the dispatcher: method table, single and batch requests
    tracing         access lists, call traces (callTracer), Merkle proofs (eth_getProof)
    server          the HTTP server
    websocket       JSON-RPC over WebSocket on the same port, eth_subscribe
    node            Node and NodeConfig: the pieces assembled
"""

from __future__ import annotations

from collective.node.genesis import Genesis
from collective.node.node import Node, NodeConfig

__all__ = ["Genesis", "Node", "NodeConfig"]
