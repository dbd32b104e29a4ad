"""``collective node``: a permissioned, durable JSON-RPC node on py-evm.

Layers, top to bottom (each calls only downward)::

    rpc/            JSON-RPC: the method table, one handler module per namespace, declared params
    server          the HTTP server (websocket: JSON-RPC over WebSocket, eth_subscribe)
    view            ChainView: the read-only chain the RPC layer reads
    pool            the transaction pool: admission (decode, sender, nonce, funds, gas,
                    AccountRules), pending and queued transactions, replacement, drops
    sealer          who decides a block's contents and when (the local authority: instant or
                    every --block-time; a consensus engine next)
    core            NodeChain: the head, executing a block and committing it
    execution/      the VM behind one interface (py-evm's Prague, trimmed)
    storage/        the SQLite store: blocks, transactions, receipts, logs, state; integrity

and beside them: genesis (the genesis file, building one), permissioning (AccountRules checks,
as Besu), logindex (eth_getLogs from the indexes), filters, dev (--dev accounts, snapshots,
time), authority (block seals), senders (sender recovery in a helper process), limits
(what a call may cost), node (Node and NodeConfig: the pieces assembled).
"""

from __future__ import annotations

from collective.node.genesis import Genesis
from collective.node.node import Node, NodeConfig

__all__ = ["Genesis", "Node", "NodeConfig"]
