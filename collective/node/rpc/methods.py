"""The method table: every JSON-RPC method the node serves, its handler and its declared
positional parameters, in one place (as web3.py's ``providers/eth_tester/defaults.py``).

The dispatcher (:mod:`collective.node.rpc.dispatch`) looks a request's method up in
:data:`METHODS`, checks its params against the declaration
(:func:`~collective.node.rpc.params.parse_params`: -32602 naming the argument and the field,
in geth's words) and calls the handler with the node and the parsed values. Handlers live one
module per namespace: :mod:`~collective.node.rpc.web3_net`,
:mod:`~collective.node.rpc.eth_info`, :mod:`~collective.node.rpc.eth_state`,
:mod:`~collective.node.rpc.eth_calls`, :mod:`~collective.node.rpc.eth_blocks`,
:mod:`~collective.node.rpc.eth_transactions`, :mod:`~collective.node.rpc.eth_logs`,
:mod:`~collective.node.rpc.debug`, :mod:`~collective.node.rpc.dev`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collective.node.rpc.context import Handler
from collective.node.rpc.debug import debug_trace_transaction
from collective.node.rpc.dev import evm_increase_time, evm_mine, evm_revert, evm_snapshot
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
from collective.node.rpc.params import (
    CALL_TRACER,
    LATEST,
    PENDING,
    Param,
    address,
    anvil_number,
    block_number,
    block_ref,
    boolean,
    call_args,
    data,
    filter_id,
    hash32,
    hex_or_decimal,
    log_filter,
    no_overrides,
    percentiles,
    storage_keys,
    storage_slot,
    trace_options,
    uint64,
)
from collective.node.rpc.web3_net import net_version, web3_client_version, web3_sha3


@dataclass(frozen=True)
class Method:
    """A JSON-RPC method: its handler and the declaration of its positional parameters.

    ``handler`` takes the node and one parsed value per entry of ``params`` and returns a
    JSON-able value or :class:`~collective.node.rpc.context.Raw` text. ``dev`` methods exist
    only on a ``--dev`` node (-32601 elsewhere, whatever the params, with ``hint``).
    ``outside_lock``: the handler takes the chain lock itself only to resolve its block, and
    runs on a read-only view of the committed blocks on a file-backed chain (calls), or to
    pool a transaction (which a validator hands to CometBFT without the lock instead).
    ``writes``: it hands a transaction to the pool; a read after it in the same batch lets the
    sealer seal first (:meth:`~collective.node.node.Node.before_read`).
    """

    handler: Handler
    params: tuple[Param, ...] = ()
    dev: bool = False
    hint: str = "start the node with --dev"
    outside_lock: bool = False
    writes: bool = False


def _constant(value: Any) -> Handler:
    return lambda node: value


ADDRESS = Param("address", address)
BLOCK = Param("block", block_ref, required=False, default=LATEST)  # latest if absent
PENDING_BLOCK = Param("block", block_ref, required=False, default=PENDING)
BLOCK_NUMBER = Param("block", block_number)  # a number or tag: these methods take no hash
BLOCK_HASH = Param("blockHash", hash32)
TX_HASH = Param("transactionHash", hash32)
FULL_TXS = Param("fullTransactions", boolean)
INDEX = Param("index", uint64)
FILTER_ID = Param("filterId", filter_id)
TRANSACTION = Param("transaction", call_args)
OVERRIDES = (
    Param("stateOverrides", no_overrides, required=False),
    Param("blockOverrides", no_overrides, required=False),
)

METHODS: dict[str, Method] = {
    "web3_clientVersion": Method(web3_client_version),
    "web3_sha3": Method(web3_sha3, (Param("data", data),)),
    "net_version": Method(net_version),
    "net_listening": Method(_constant(True)),
    "net_peerCount": Method(_constant("0x0")),
    "eth_chainId": Method(eth_chain_id),
    "eth_blockNumber": Method(eth_block_number),
    "eth_syncing": Method(_constant(False)),
    "eth_mining": Method(_constant(True)),
    "eth_hashrate": Method(_constant("0x0")),
    "eth_accounts": Method(eth_accounts),
    "eth_coinbase": Method(eth_coinbase),
    "eth_gasPrice": Method(eth_gas_price),
    "eth_maxPriorityFeePerGas": Method(eth_max_priority_fee),
    "eth_feeHistory": Method(
        eth_fee_history,
        (
            Param("blockCount", hex_or_decimal),
            Param("newestBlock", block_number),
            Param("rewardPercentiles", percentiles, required=False),
        ),
    ),
    "eth_getBalance": Method(eth_get_balance, (ADDRESS, BLOCK)),
    "eth_getTransactionCount": Method(eth_get_transaction_count, (ADDRESS, BLOCK)),
    "eth_getCode": Method(eth_get_code, (ADDRESS, BLOCK)),
    "eth_getStorageAt": Method(eth_get_storage_at, (ADDRESS, Param("slot", storage_slot), BLOCK)),
    "eth_call": Method(eth_call, (TRANSACTION, BLOCK, *OVERRIDES), outside_lock=True),
    "eth_estimateGas": Method(
        eth_estimate_gas, (TRANSACTION, PENDING_BLOCK, *OVERRIDES), outside_lock=True
    ),
    "eth_getBlockByNumber": Method(eth_get_block_by_number, (BLOCK_NUMBER, FULL_TXS)),
    "eth_getBlockByHash": Method(eth_get_block_by_hash, (BLOCK_HASH, FULL_TXS)),
    "eth_getBlockTransactionCountByNumber": Method(
        eth_get_block_tx_count_by_number, (BLOCK_NUMBER,)
    ),
    "eth_getBlockTransactionCountByHash": Method(eth_get_block_tx_count_by_hash, (BLOCK_HASH,)),
    "eth_getUncleCountByBlockNumber": Method(eth_get_uncle_count_by_number, (BLOCK_NUMBER,)),
    "eth_getUncleCountByBlockHash": Method(eth_get_uncle_count_by_hash, (BLOCK_HASH,)),
    "eth_getTransactionByHash": Method(eth_get_transaction_by_hash, (TX_HASH,)),
    "eth_getTransactionByBlockNumberAndIndex": Method(
        eth_get_tx_by_block_number_and_index, (BLOCK_NUMBER, INDEX)
    ),
    "eth_getTransactionByBlockHashAndIndex": Method(
        eth_get_tx_by_block_hash_and_index, (BLOCK_HASH, INDEX)
    ),
    "eth_getTransactionReceipt": Method(eth_get_transaction_receipt, (TX_HASH,)),
    "eth_getRawTransactionByHash": Method(eth_get_raw_transaction_by_hash, (TX_HASH,)),
    "eth_createAccessList": Method(
        eth_create_access_list, (TRANSACTION, PENDING_BLOCK), outside_lock=True
    ),
    "eth_getProof": Method(eth_get_proof, (ADDRESS, Param("storageKeys", storage_keys), BLOCK)),
    "debug_traceTransaction": Method(
        debug_trace_transaction,
        (TX_HASH, Param("options", trace_options, required=False, default=CALL_TRACER)),
    ),
    "eth_getBlockReceipts": Method(eth_get_block_receipts, (Param("block", block_ref),)),
    "eth_sendRawTransaction": Method(
        eth_send_raw_transaction, (Param("transaction", data),), writes=True, outside_lock=True
    ),
    "eth_sendTransaction": Method(
        eth_send_transaction,
        (TRANSACTION,),
        dev=True,
        hint="start the node with --dev, or send signed transactions",
        writes=True,
    ),
    "eth_getLogs": Method(eth_get_logs, (Param("filter", log_filter),)),
    "eth_newFilter": Method(eth_new_filter, (Param("filter", log_filter),)),
    "eth_newBlockFilter": Method(eth_new_block_filter),
    "eth_newPendingTransactionFilter": Method(
        eth_new_pending_tx_filter,
        (Param("fullTransactions", boolean, required=False, default=False),),
    ),
    "eth_getFilterChanges": Method(eth_get_filter_changes, (FILTER_ID,)),
    "eth_getFilterLogs": Method(eth_get_filter_logs, (FILTER_ID,)),
    "eth_uninstallFilter": Method(eth_uninstall_filter, (FILTER_ID,)),
    "evm_snapshot": Method(evm_snapshot, dev=True),
    "evm_revert": Method(evm_revert, (Param("snapshotId", anvil_number),), dev=True),
    "evm_mine": Method(evm_mine, (Param("timestamp", anvil_number, required=False),), dev=True),
    "evm_increaseTime": Method(evm_increase_time, (Param("seconds", anvil_number),), dev=True),
}


__all__ = ["METHODS", "Method"]
