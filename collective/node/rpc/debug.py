"""The ``debug_*`` namespace: ``debug_traceTransaction`` with geth's ``callTracer``.

The handler takes the :class:`~collective.node.node.Node` and the parsed params (see
:data:`collective.node.rpc.methods.METHODS`) and returns a JSON-able value.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from collective.node import tracing
from collective.node.errors import rejected
from collective.node.rpc.objects import TraceOptions
from collective.node.storage import row_ids

if TYPE_CHECKING:
    from collective.node.node import Node


def debug_trace_transaction(node: Node, tx_hash: bytes, options: TraceOptions) -> Any:
    """``debug_traceTransaction``: geth's ``callTracer`` frame (options ``onlyTopCall``,
    ``withLog``) of a sealed transaction, re-executed on its block's starting state.

    Returns: ``{type, from, to, value, gas, gasUsed, input, output[, error], calls[, logs]}``.
    Raises: -32000 ``transaction 0x… not found`` for one that is not sealed;
    :class:`~collective.node.storage.DamagedError` when the block's receipts do not match its
    header.
    """
    chain = node.chain
    stored = chain.store.tx(tx_hash)
    if stored is None:
        raise rejected(f"transaction 0x{tx_hash.hex()} not found")
    chain.store.verify_receipts(stored.block)
    header = chain.header_at(stored.block)
    parent = chain.header_at(stored.block - 1)
    assert header is not None and parent is not None
    rows = chain.store.query(
        "SELECT raw FROM txs WHERE id BETWEEN ? AND ? ORDER BY id", row_ids(stored.block)
    )
    txs = [chain.evm.decode_transaction(bytes(row[0])) for row in rows]
    computation = tracing.replay(chain.evm, bytes(parent.state_root), header, txs, stored.index)
    tx = txs[stored.index]
    receipt = json.loads(stored.receipt)
    kind = "CREATE" if tx.to == b"" else "CALL"
    return tracing.call_frame(
        computation,
        kind=kind,
        sender=stored.sender,
        gas=int(tx.gas),
        gas_used=int(receipt["gasUsed"], 16),
        only_top=options.only_top_call,
        with_log=options.with_log,
        log_offset=int(receipt["logs"][0]["logIndex"], 16) if receipt["logs"] else 0,
    )


__all__ = ["debug_trace_transaction"]
