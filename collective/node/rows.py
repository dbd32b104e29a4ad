"""The rows a sealed block is stored as (:mod:`collective.node.storage`): what
``eth_getTransactionByHash``, ``eth_getTransactionReceipt`` and ``eth_getLogs`` answer,
rendered once, when the block is committed (:meth:`NodeChain.commit_built
<collective.node.core.NodeChain.commit_built>`).
"""

from __future__ import annotations

from collective.node import render
from collective.node.building import Built
from collective.node.execution.pyevm import base_fee
from collective.node.storage import StoredLog, StoredTx


def stored_rows(built: Built) -> tuple[list[StoredTx], list[StoredLog]]:
    """The stored rows of a block :func:`~collective.node.building.build_block` built: each
    transaction's (its raw bytes, its JSON-RPC transaction and receipt renderings) and each
    log's (its address and topics for the log index, its JSON-RPC rendering), in order.

    Returns: (transaction rows, log rows)."""
    final = built.header
    block_hash = bytes(final.hash)
    number = final.block_number
    fee = base_fee(final)
    stored_txs: list[StoredTx] = []
    stored_logs: list[StoredLog] = []
    previous_cumulative = 0
    log_index = 0
    for index, (tx, receipt, raw) in enumerate(
        zip(built.applied, built.receipts, built.raws, strict=True)
    ):
        tx_hash = bytes(tx.hash)
        logs_json = []
        for log in receipt.logs:
            topics = [render.topic(t) for t in log.topics]
            entry = render.log_entry(
                bytes(log.address),
                topics,
                bytes(log.data),
                block_hash=block_hash,
                block_number=number,
                block_timestamp=final.timestamp,
                tx_hash=tx_hash,
                tx_index=index,
                log_index=log_index,
            )
            logs_json.append(entry)
            stored_logs.append(
                StoredLog(number, log_index, bytes(log.address), topics, render.dumps(entry))
            )
            log_index += 1
        gas_used = receipt.gas_used - previous_cumulative
        previous_cumulative = receipt.gas_used
        tx_json = render.transaction(
            tx, block_hash=block_hash, block_number=number, index=index, base_fee=fee
        )
        receipt_json = render.receipt(
            tx,
            receipt,
            gas_used=gas_used,
            logs=logs_json,
            block_hash=block_hash,
            block_number=number,
            index=index,
            base_fee=fee,
        )
        stored_txs.append(
            StoredTx(
                tx_hash,
                number,
                index,
                bytes(tx.sender),
                tx.nonce,
                raw,
                render.dumps(tx_json),
                render.dumps(receipt_json),
            )
        )
    return stored_txs, stored_logs


__all__ = ["stored_rows"]
