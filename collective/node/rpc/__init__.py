"""The node's JSON-RPC layer, in the layers reth and geth draw: a method table, one handler
module per namespace, declared parameters, and a dispatcher.

- :mod:`~collective.node.rpc.dispatch`: requests and batches in, answers out
  (:func:`handle_body`, :func:`handle_one`).
- :mod:`~collective.node.rpc.methods`: :data:`METHODS`, name -> :class:`Method` (handler and
  declared parameters).
- :mod:`~collective.node.rpc.params` (with :mod:`~collective.node.rpc.scalars` and
  :mod:`~collective.node.rpc.objects`): the parameter types, validated as geth validates them.
- handlers, one module per namespace: :mod:`~collective.node.rpc.web3_net`,
  :mod:`~collective.node.rpc.eth_info`, :mod:`~collective.node.rpc.eth_state`,
  :mod:`~collective.node.rpc.eth_calls`, :mod:`~collective.node.rpc.eth_blocks`,
  :mod:`~collective.node.rpc.eth_transactions`, :mod:`~collective.node.rpc.eth_logs`,
  :mod:`~collective.node.rpc.debug`, :mod:`~collective.node.rpc.dev`; what they share in
  :mod:`~collective.node.rpc.context`.

The names the single ``collective/node/rpc.py`` module had stay importable from here.
"""

from __future__ import annotations

from collective.node.rpc.context import PRIORITY_FEE, Handler, Raw
from collective.node.rpc.debug import debug_trace_transaction
from collective.node.rpc.dev import evm_increase_time, evm_mine, evm_revert, evm_snapshot
from collective.node.rpc.dispatch import handle_body, handle_one
from collective.node.rpc.eth_blocks import (
    eth_get_block_by_hash,
    eth_get_block_by_number,
    eth_get_block_receipts,
    eth_get_block_tx_count_by_hash,
    eth_get_block_tx_count_by_number,
    eth_get_uncle_count_by_hash,
    eth_get_uncle_count_by_number,
)
from collective.node.rpc.eth_calls import eth_call, eth_create_access_list, eth_estimate_gas
from collective.node.rpc.eth_info import (
    eth_accounts,
    eth_block_number,
    eth_chain_id,
    eth_coinbase,
    eth_fee_history,
    eth_gas_price,
    eth_max_priority_fee,
)
from collective.node.rpc.eth_logs import (
    eth_get_filter_changes,
    eth_get_filter_logs,
    eth_get_logs,
    eth_new_block_filter,
    eth_new_filter,
    eth_new_pending_tx_filter,
    eth_uninstall_filter,
)
from collective.node.rpc.eth_state import (
    eth_get_balance,
    eth_get_code,
    eth_get_proof,
    eth_get_storage_at,
    eth_get_transaction_count,
)
from collective.node.rpc.eth_transactions import (
    eth_get_raw_transaction_by_hash,
    eth_get_transaction_by_hash,
    eth_get_transaction_receipt,
    eth_get_tx_by_block_hash_and_index,
    eth_get_tx_by_block_number_and_index,
    eth_send_raw_transaction,
    eth_send_transaction,
)
from collective.node.rpc.methods import METHODS, Method
from collective.node.rpc.web3_net import net_version, web3_client_version, web3_sha3

__all__ = [
    "METHODS",
    "PRIORITY_FEE",
    "Handler",
    "Method",
    "Raw",
    "debug_trace_transaction",
    "eth_accounts",
    "eth_block_number",
    "eth_call",
    "eth_chain_id",
    "eth_coinbase",
    "eth_create_access_list",
    "eth_estimate_gas",
    "eth_fee_history",
    "eth_gas_price",
    "eth_get_balance",
    "eth_get_block_by_hash",
    "eth_get_block_by_number",
    "eth_get_block_receipts",
    "eth_get_block_tx_count_by_hash",
    "eth_get_block_tx_count_by_number",
    "eth_get_code",
    "eth_get_filter_changes",
    "eth_get_filter_logs",
    "eth_get_logs",
    "eth_get_proof",
    "eth_get_raw_transaction_by_hash",
    "eth_get_storage_at",
    "eth_get_transaction_by_hash",
    "eth_get_transaction_count",
    "eth_get_transaction_receipt",
    "eth_get_tx_by_block_hash_and_index",
    "eth_get_tx_by_block_number_and_index",
    "eth_get_uncle_count_by_hash",
    "eth_get_uncle_count_by_number",
    "eth_max_priority_fee",
    "eth_new_block_filter",
    "eth_new_filter",
    "eth_new_pending_tx_filter",
    "eth_send_raw_transaction",
    "eth_send_transaction",
    "eth_uninstall_filter",
    "evm_increase_time",
    "evm_mine",
    "evm_revert",
    "evm_snapshot",
    "handle_body",
    "handle_one",
    "net_version",
    "web3_client_version",
    "web3_sha3",
]
