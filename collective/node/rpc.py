"""The JSON-RPC 2.0 dispatcher: one table from method name to handler, as web3.py's
``providers/eth_tester/defaults.py``; single and batch requests; errors by the book.

A handler takes the :class:`~collective.node.node.Node` and the params list and returns a
JSON-able value, or :class:`Raw` (already-rendered JSON text from the store, spliced into the
response without re-encoding).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from eth.abc import BlockHeaderAPI, StateAPI
from eth.exceptions import Revert
from eth_typing import Address
from eth_utils.crypto import keccak

from collective.node import params as p
from collective.node.errors import (
    EXECUTION_REVERTED,
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    TX_REJECTED,
    RpcError,
    invalid_params,
    rejected,
)
from collective.node.evm import CallResult, base_fee, revert_data
from collective.node.logindex import LogQuery, find_logs, logs_json
from collective.node.node import Node
from collective.node.render import dumps, hexbytes, hexint
from collective.node.senders import MIN_BATCH, Recovered

log = logging.getLogger("collective.node")
PRIORITY_FEE = 1_000_000_000  # 1 gwei, as anvil suggests
Handler = Callable[[Node, list[Any]], Any]


class Raw(str):
    """JSON text to splice into a response as is."""


# --- blocks and states ---------------------------------------------------------------------


def _number(node: Node, ref: p.BlockRef) -> int:
    chain = node.chain
    head = chain.head.block_number
    if ref.hash is not None:
        stored = chain.store.block_by_hash(ref.hash)
        if stored is None:
            raise rejected(f"header for hash 0x{ref.hash.hex()} not found")
        return stored.number
    if ref.tag is not None:
        return 0 if ref.tag == "earliest" else head
    assert ref.number is not None
    return ref.number


def _header(node: Node, ref: p.BlockRef) -> BlockHeaderAPI:
    number = _number(node, ref)
    header = node.chain.header_at(number)
    if header is None:
        raise rejected("header not found")
    return header


def _state(node: Node, ref: p.BlockRef) -> StateAPI:
    if ref.tag in ("latest", "pending", "safe", "finalized") or (
        ref.number is not None and ref.number == node.chain.head.block_number
    ):
        return node.chain.head_state
    return node.chain.evm.state(_header(node, ref))


def _call_state(node: Node, ref: p.BlockRef) -> StateAPI:
    """A throwaway state for a call: the block's context (the next block's for "pending"),
    with base fee zero so calls without a gas price run, as geth does."""
    chain = node.chain
    header = chain.pending_header() if ref.tag == "pending" else _header(node, ref)
    return chain.evm.state(header.copy(base_fee_per_gas=0))


def _block_json(node: Node, number: int, full: bool) -> Any:
    chain = node.chain
    stored = chain.store.block_by_number(number)
    if stored is None:
        return None
    if full:
        txs = ",".join(chain.store.block_tx_json(number))
    else:
        txs = ",".join('"' + hexbytes(h) + '"' for h in chain.store.block_tx_hashes(number))
    return Raw(stored.json[:-1] + ',"transactions":[' + txs + "]}")


def _pending_block(node: Node, full: bool) -> Any:
    from collective.node import render

    chain = node.chain
    header = chain.pending_header()
    block = render.block(header, size=0)
    block["hash"] = block["nonce"] = block["miner"] = None
    block["number"] = hexint(header.block_number)
    txs = chain.pending.txs
    if full:
        block["transactions"] = [
            render.transaction(tx, block_hash=None, block_number=None, index=None, base_fee=None)
            for tx in txs
        ]
    else:
        block["transactions"] = [hexbytes(tx.hash) for tx in txs]
    return block


# --- handlers: node info -------------------------------------------------------------------


def web3_client_version(node: Node, params: list[Any]) -> Any:
    return node.client_version


def web3_sha3(node: Node, params: list[Any]) -> Any:
    return hexbytes(keccak(p.data(p.arg(params, 0, "data"), "data")))


def net_version(node: Node, params: list[Any]) -> Any:
    return str(node.chain.chain_id)


def eth_chain_id(node: Node, params: list[Any]) -> Any:
    return hexint(node.chain.chain_id)


def eth_block_number(node: Node, params: list[Any]) -> Any:
    return hexint(node.chain.head.block_number)


def eth_syncing(node: Node, params: list[Any]) -> Any:
    return False


def eth_accounts(node: Node, params: list[Any]) -> Any:
    if node.dev is None:
        return []
    return ["0x" + a.hex() for a in node.dev.addresses]


def eth_coinbase(node: Node, params: list[Any]) -> Any:
    return "0x" + node.chain.authority.hex()


def eth_gas_price(node: Node, params: list[Any]) -> Any:
    return hexint(base_fee(node.chain.pending_header()) + PRIORITY_FEE)


def eth_max_priority_fee(node: Node, params: list[Any]) -> Any:
    return hexint(PRIORITY_FEE)


def eth_fee_history(node: Node, params: list[Any]) -> Any:
    count = p.quantity(p.arg(params, 0, "blockCount"), "blockCount")
    newest = _number(node, p.block_ref(p.arg(params, 1, "newestBlock"), "newestBlock"))
    percentiles = p.arg(params, 2, "rewardPercentiles", required=False)
    if percentiles is not None and (
        not isinstance(percentiles, list)
        or not all(isinstance(x, int | float) and 0 <= x <= 100 for x in percentiles)
    ):
        raise invalid_params("rewardPercentiles: expected a list of numbers from 0 to 100")
    count = max(0, min(count, 1024, newest + 1))
    chain = node.chain
    newest = min(newest, chain.head.block_number)
    oldest = newest - count + 1
    base_fees, ratios, rewards = [], [], []
    for number in range(oldest, newest + 1):
        header = chain.header_at(number)
        assert header is not None
        base_fees.append(hexint(base_fee(header)))
        ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
        rewards.append([hexint(PRIORITY_FEE if header.gas_used else 0)] * len(percentiles or []))
    last = chain.header_at(newest)
    assert last is not None
    from collective.node.evm import VM_CLASS

    following = VM_CLASS.create_header_from_parent(last, gas_limit=last.gas_limit)
    base_fees.append(hexint(base_fee(following)))
    result: dict[str, Any] = {
        "oldestBlock": hexint(max(oldest, 0)),
        "baseFeePerGas": base_fees if count else [],
        "gasUsedRatio": ratios,
    }
    if percentiles is not None:
        result["reward"] = rewards
    return result


# --- handlers: state -----------------------------------------------------------------------


def eth_get_balance(node: Node, params: list[Any]) -> Any:
    who = p.address(p.arg(params, 0, "address"), "address")
    ref = p.block_ref(p.arg(params, 1, "block", required=False), "block")
    return hexint(_state(node, ref).get_balance(who))


def eth_get_transaction_count(node: Node, params: list[Any]) -> Any:
    who = p.address(p.arg(params, 0, "address"), "address")
    ref = p.block_ref(p.arg(params, 1, "block", required=False), "block")
    if ref.tag == "pending":
        return hexint(node.chain.nonce(who, pending=True))
    return hexint(_state(node, ref).get_nonce(who))


def eth_get_code(node: Node, params: list[Any]) -> Any:
    who = p.address(p.arg(params, 0, "address"), "address")
    ref = p.block_ref(p.arg(params, 1, "block", required=False), "block")
    return hexbytes(_state(node, ref).get_code(who))


def eth_get_storage_at(node: Node, params: list[Any]) -> Any:
    who = p.address(p.arg(params, 0, "address"), "address")
    slot = p.storage_slot(p.arg(params, 1, "slot"), "slot")
    ref = p.block_ref(p.arg(params, 2, "block", required=False), "block")
    value = _state(node, ref).get_storage(who, slot)
    return hexbytes(int(value).to_bytes(32, "big"))


def _raise_if_failed(result: CallResult) -> None:
    error = result.error
    if error is None:
        return
    if isinstance(error, Revert):
        payload = revert_data(error)
        message = "execution reverted"
        if payload[:4] == bytes.fromhex("08c379a0"):
            try:
                from eth_abi.abi import decode

                (reason,) = decode(["string"], payload[4:])
                message = f"execution reverted: {reason}"
            except Exception:
                pass
        raise RpcError(EXECUTION_REVERTED, message, hexbytes(payload))
    raise rejected(str(error) or type(error).__name__)


def _run(node: Node, params: list[Any], estimate: bool) -> Any:
    call = p.call_args(p.arg(params, 0, "transaction"), "transaction")
    default = "pending" if estimate else "latest"
    ref = p.block_ref(p.arg(params, 1, "block", required=False), "block", default=default)
    if len(params) > 2 and params[2] is not None and not isinstance(params[2], dict):
        raise invalid_params("stateOverrides: expected an object")
    chain = node.chain
    state = _call_state(node, ref)
    sender = call.sender or Address(b"\x00" * 20)
    cap = chain.head.gas_limit
    gas = call.gas if call.gas is not None else cap
    price = call.gas_price if call.gas_price is not None else (call.max_fee or 0)
    if price:
        balance = int(state.get_balance(sender))
        if balance < gas * price + call.value:
            raise rejected("insufficient funds for gas * price + value")
    if call.value and int(state.get_balance(sender)) < call.value:
        raise rejected("insufficient funds for transfer")
    try:
        if estimate:
            result = chain.evm.estimate(
                state,
                sender=sender,
                to=call.to,
                data=call.data,
                value=call.value,
                cap=min(gas, cap) if call.gas is not None else cap,
            )
        else:
            result = chain.evm.call(
                state,
                sender=sender,
                to=call.to,
                data=call.data,
                value=call.value,
                gas=gas,
            )
    except RpcError:
        raise
    except Exception as exc:  # py-evm validation: intrinsic gas, nonce, balance
        raise rejected(_validation_message(str(exc))) from None
    if estimate and result.error is not None and not isinstance(result.error, Revert):
        raise rejected(f"gas required exceeds allowance ({gas})")
    _raise_if_failed(result)
    return hexint(result.gas_used) if estimate else hexbytes(result.output)


def _validation_message(text: str) -> str:
    lower = text.lower()
    if "intrinsic" in lower:
        return "intrinsic gas too low"
    if "balance" in lower or "afford" in lower:
        return "insufficient funds for gas * price + value"
    return text


def eth_call(node: Node, params: list[Any]) -> Any:
    return _run(node, params, estimate=False)


def eth_estimate_gas(node: Node, params: list[Any]) -> Any:
    return _run(node, params, estimate=True)


# --- handlers: blocks and transactions -----------------------------------------------------


def eth_get_block_by_number(node: Node, params: list[Any]) -> Any:
    ref = p.block_ref(p.arg(params, 0, "block"), "block")
    full = p.boolean(
        p.arg(params, 1, "fullTransactions", required=False) or False, "fullTransactions"
    )
    if ref.tag == "pending":
        return _pending_block(node, full)
    return _block_json(node, _number(node, ref), full)


def eth_get_block_by_hash(node: Node, params: list[Any]) -> Any:
    block_hash = p.hash32(p.arg(params, 0, "blockHash"), "blockHash")
    full = p.boolean(
        p.arg(params, 1, "fullTransactions", required=False) or False, "fullTransactions"
    )
    stored = node.chain.store.block_by_hash(block_hash)
    return None if stored is None else _block_json(node, stored.number, full)


def _tx_count(node: Node, number: int | None) -> Any:
    if number is None or node.chain.store.block_by_number(number) is None:
        return None
    return hexint(len(node.chain.store.block_tx_hashes(number)))


def eth_get_block_tx_count_by_number(node: Node, params: list[Any]) -> Any:
    ref = p.block_ref(p.arg(params, 0, "block"), "block")
    if ref.tag == "pending":
        return hexint(len(node.chain.pending.txs))
    return _tx_count(node, _number(node, ref))


def eth_get_block_tx_count_by_hash(node: Node, params: list[Any]) -> Any:
    stored = node.chain.store.block_by_hash(p.hash32(p.arg(params, 0, "blockHash"), "blockHash"))
    return _tx_count(node, stored.number if stored else None)


def eth_get_transaction_by_hash(node: Node, params: list[Any]) -> Any:
    from collective.node import render

    tx_hash = p.hash32(p.arg(params, 0, "transactionHash"), "transactionHash")
    chain = node.chain
    stored = chain.store.tx(tx_hash)
    if stored is not None:
        return Raw(stored.json)
    if tx_hash in chain.pending.raw:
        for tx in chain.pending.txs:
            if bytes(tx.hash) == tx_hash:
                return render.transaction(
                    tx, block_hash=None, block_number=None, index=None, base_fee=None
                )
    dropped = chain.pending.dropped.get(tx_hash)
    if dropped is not None:
        raise RpcError(TX_REJECTED, dropped.message, dropped.to_json())
    return None


def _tx_by_block_index(node: Node, number: int | None, index: int) -> Any:
    if number is None:
        return None
    rows = node.chain.store.block_tx_json(number)
    return Raw(rows[index]) if 0 <= index < len(rows) else None


def eth_get_tx_by_block_number_and_index(node: Node, params: list[Any]) -> Any:
    ref = p.block_ref(p.arg(params, 0, "block"), "block")
    index = p.quantity(p.arg(params, 1, "index"), "index")
    return _tx_by_block_index(node, _number(node, ref), index)


def eth_get_tx_by_block_hash_and_index(node: Node, params: list[Any]) -> Any:
    stored = node.chain.store.block_by_hash(p.hash32(p.arg(params, 0, "blockHash"), "blockHash"))
    index = p.quantity(p.arg(params, 1, "index"), "index")
    return _tx_by_block_index(node, stored.number if stored else None, index)


def eth_get_transaction_receipt(node: Node, params: list[Any]) -> Any:
    tx_hash = p.hash32(p.arg(params, 0, "transactionHash"), "transactionHash")
    stored = node.chain.store.tx(tx_hash)
    return None if stored is None else Raw(stored.receipt)


def eth_get_block_receipts(node: Node, params: list[Any]) -> Any:
    ref = p.block_ref(p.arg(params, 0, "block"), "block")
    number = _number(node, ref)
    if node.chain.store.block_by_number(number) is None:
        return None
    return Raw("[" + ",".join(node.chain.store.block_receipts(number)) + "]")


def eth_send_raw_transaction(node: Node, params: list[Any]) -> Any:
    raw = p.data(p.arg(params, 0, "transaction"), "transaction")
    if not raw:
        raise invalid_params("transaction: empty")
    return hexbytes(node.chain.submit(raw, _recovered_sender(raw)))


# A batch's raw transactions go to the sender-recovery helper before the batch is answered
# item by item (collective.node.senders); the handler of each item picks its sender up here.
_recovered: ContextVar[tuple[dict[bytes, int], Recovered] | None] = ContextVar(
    "recovered", default=None
)


def _start_recovery(node: Node, batch: list[Any]) -> tuple[dict[bytes, int], Recovered] | None:
    pool = node.senders
    if pool is None or not pool.ready or len(batch) < MIN_BATCH:
        return None
    positions: dict[bytes, int] = {}
    for item in batch:
        if not isinstance(item, dict) or item.get("method") != "eth_sendRawTransaction":
            continue
        params = item.get("params")
        if not isinstance(params, list) or not params or not isinstance(params[0], str):
            continue
        text = params[0]
        try:
            raw = bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)
        except ValueError:
            continue  # the handler reports it
        positions.setdefault(raw, len(positions))
    recovered = pool.recover(list(positions))
    return None if recovered is None else (positions, recovered)


def _recovered_sender(raw: bytes) -> bytes | None:
    found = _recovered.get()
    if found is None:
        return None
    index = found[0].get(raw)
    return None if index is None else found[1][index]


def eth_send_transaction(node: Node, params: list[Any]) -> Any:
    dev = node.dev
    if dev is None:
        raise RpcError(
            METHOD_NOT_FOUND,
            "the method eth_sendTransaction does not exist/is not "
            "available (start the node with --dev, or send signed transactions)",
        )
    call = p.call_args(p.arg(params, 0, "transaction"), "transaction")
    if call.sender is None:
        raise invalid_params("transaction.from: missing (the sending dev account)")
    if call.sender not in dev.keys:
        raise rejected(
            f"unknown account 0x{call.sender.hex()}: only the dev accounts can send "
            "unsigned transactions"
        )
    chain = node.chain
    nonce = call.nonce if call.nonce is not None else chain.nonce(call.sender, pending=True)
    gas = call.gas
    if gas is None:
        estimate_params: list[Any] = [dict(params[0]), "pending"]
        gas = int(eth_estimate_gas(node, estimate_params), 16)
    tx: dict[str, Any] = {
        "chainId": chain.chain_id,
        "nonce": nonce,
        "gas": gas,
        "value": call.value,
        "data": call.data,
    }
    if call.to is not None:
        tx["to"] = call.to
    if call.gas_price is not None:
        tx["gasPrice"] = call.gas_price
    else:
        base = base_fee(chain.pending_header())
        tip = call.max_priority_fee if call.max_priority_fee is not None else PRIORITY_FEE
        tx["maxPriorityFeePerGas"] = tip
        tx["maxFeePerGas"] = call.max_fee if call.max_fee is not None else 2 * base + tip
    return hexbytes(chain.submit(dev.sign(call.sender, tx)))


# --- handlers: logs and filters ------------------------------------------------------------


def _log_query(node: Node, criteria: p.LogFilter, start: int | None = None) -> LogQuery:
    if criteria.block_hash is not None:
        stored = node.chain.store.block_by_hash(criteria.block_hash)
        if stored is None:
            raise rejected("unknown block")
        first = last = stored.number
    else:
        head = node.chain.head.block_number
        first = min(_number(node, criteria.from_block), head + 1)
        last = min(_number(node, criteria.to_block), head)
        if (
            criteria.from_block.number is not None
            and criteria.to_block.number is not None
            and criteria.from_block.number > criteria.to_block.number
        ):
            raise invalid_params("fromBlock is after toBlock")
    if start is not None:  # a filter's poll: what is new since the last one
        tagged = criteria.from_block.tag in ("latest", "pending", "safe", "finalized")
        first = start if tagged else max(first, start)
    return LogQuery(first, last, criteria.addresses, criteria.topics)


def eth_get_logs(node: Node, params: list[Any]) -> Any:
    criteria = p.log_filter(p.arg(params, 0, "filter"), "filter")
    return Raw(logs_json(find_logs(node.chain.store, _log_query(node, criteria))))


def eth_new_filter(node: Node, params: list[Any]) -> Any:
    criteria = p.log_filter(p.arg(params, 0, "filter"), "filter")
    _log_query(node, criteria)  # validate now
    return node.filters.add("logs", criteria, node.chain.head.block_number)


def eth_new_block_filter(node: Node, params: list[Any]) -> Any:
    return node.filters.add("blocks", None, node.chain.head.block_number)


def eth_new_pending_tx_filter(node: Node, params: list[Any]) -> Any:
    return node.filters.add("pending", None, node.chain.head.block_number)


def _filter(node: Node, params: list[Any]) -> Any:
    filter_id = p.arg(params, 0, "filterId")
    if not isinstance(filter_id, str):
        raise invalid_params("filterId: expected a hex filter id")
    found = node.filters.get(filter_id)
    if found is None:
        raise rejected("filter not found")
    return found


def eth_get_filter_changes(node: Node, params: list[Any]) -> Any:
    found = _filter(node, params)
    head = node.chain.head.block_number
    start, found.last_block = found.last_block + 1, head
    if found.kind == "blocks":
        return ["0x" + h.hex() for h in node.chain.store.block_hashes(start, head)]
    if found.kind == "pending":
        return []
    query = _log_query(node, found.criteria, start)
    return Raw(logs_json(find_logs(node.chain.store, query)))


def eth_get_filter_logs(node: Node, params: list[Any]) -> Any:
    found = _filter(node, params)
    if found.kind != "logs":
        raise rejected("filter not found")
    return Raw(logs_json(find_logs(node.chain.store, _log_query(node, found.criteria))))


def eth_uninstall_filter(node: Node, params: list[Any]) -> Any:
    filter_id = p.arg(params, 0, "filterId")
    return isinstance(filter_id, str) and node.filters.remove(filter_id)


# --- handlers: dev -------------------------------------------------------------------------


def _require_dev(node: Node, method: str) -> None:
    if node.dev is None:
        raise RpcError(
            METHOD_NOT_FOUND,
            f"the method {method} does not exist/is not available (start the node with --dev)",
        )


def evm_snapshot(node: Node, params: list[Any]) -> Any:
    _require_dev(node, "evm_snapshot")
    assert node.dev is not None
    node.chain.seal_all()
    return hexint(node.dev.snapshot(node.chain.head.block_number))


def evm_revert(node: Node, params: list[Any]) -> Any:
    _require_dev(node, "evm_revert")
    assert node.dev is not None
    snap = p.quantity(p.arg(params, 0, "snapshotId"), "snapshotId")
    block = node.dev.take(snap)
    if block is None:
        return False
    node.chain.revert_to(block)
    node.filters.rewind(block)
    return True


def evm_mine(node: Node, params: list[Any]) -> Any:
    _require_dev(node, "evm_mine")
    timestamp = None
    first = p.arg(params, 0, "timestamp", required=False)
    if first is not None:
        timestamp = p.quantity(first, "timestamp")
        node.chain.time_offset += max(0, timestamp - node.chain.now())
    node.chain.seal(timestamp)
    return "0x0"


def evm_increase_time(node: Node, params: list[Any]) -> Any:
    _require_dev(node, "evm_increaseTime")
    raw = p.arg(params, 0, "seconds")
    seconds = (
        raw if isinstance(raw, int) and not isinstance(raw, bool) else p.quantity(raw, "seconds")
    )
    if seconds < 0:
        raise invalid_params("seconds: must not be negative")
    node.chain.time_offset += seconds
    return hexint(node.chain.time_offset)


METHODS: dict[str, Handler] = {
    "web3_clientVersion": web3_client_version,
    "web3_sha3": web3_sha3,
    "net_version": net_version,
    "net_listening": lambda node, params: True,
    "net_peerCount": lambda node, params: "0x0",
    "eth_chainId": eth_chain_id,
    "eth_blockNumber": eth_block_number,
    "eth_syncing": eth_syncing,
    "eth_mining": lambda node, params: True,
    "eth_hashrate": lambda node, params: "0x0",
    "eth_accounts": eth_accounts,
    "eth_coinbase": eth_coinbase,
    "eth_gasPrice": eth_gas_price,
    "eth_maxPriorityFeePerGas": eth_max_priority_fee,
    "eth_feeHistory": eth_fee_history,
    "eth_getBalance": eth_get_balance,
    "eth_getTransactionCount": eth_get_transaction_count,
    "eth_getCode": eth_get_code,
    "eth_getStorageAt": eth_get_storage_at,
    "eth_call": eth_call,
    "eth_estimateGas": eth_estimate_gas,
    "eth_getBlockByNumber": eth_get_block_by_number,
    "eth_getBlockByHash": eth_get_block_by_hash,
    "eth_getBlockTransactionCountByNumber": eth_get_block_tx_count_by_number,
    "eth_getBlockTransactionCountByHash": eth_get_block_tx_count_by_hash,
    "eth_getUncleCountByBlockNumber": lambda node, params: "0x0",
    "eth_getUncleCountByBlockHash": lambda node, params: "0x0",
    "eth_getTransactionByHash": eth_get_transaction_by_hash,
    "eth_getTransactionByBlockNumberAndIndex": eth_get_tx_by_block_number_and_index,
    "eth_getTransactionByBlockHashAndIndex": eth_get_tx_by_block_hash_and_index,
    "eth_getTransactionReceipt": eth_get_transaction_receipt,
    "eth_getBlockReceipts": eth_get_block_receipts,
    "eth_sendRawTransaction": eth_send_raw_transaction,
    "eth_sendTransaction": eth_send_transaction,
    "eth_getLogs": eth_get_logs,
    "eth_newFilter": eth_new_filter,
    "eth_newBlockFilter": eth_new_block_filter,
    "eth_newPendingTransactionFilter": eth_new_pending_tx_filter,
    "eth_getFilterChanges": eth_get_filter_changes,
    "eth_getFilterLogs": eth_get_filter_logs,
    "eth_uninstallFilter": eth_uninstall_filter,
    "evm_snapshot": evm_snapshot,
    "evm_revert": evm_revert,
    "evm_mine": evm_mine,
    "evm_increaseTime": evm_increase_time,
}


# --- requests ------------------------------------------------------------------------------


def _error(request_id: Any, error: RpcError) -> str:
    return dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


def _valid_id(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int | float) and not isinstance(value, bool))
    )


def handle_one(node: Node, request: Any) -> str | None:
    """Answer one request object (None for a notification)."""
    if not isinstance(request, dict):
        return _error(None, RpcError(INVALID_REQUEST, "invalid request: expected an object"))
    request_id = request.get("id")
    if not _valid_id(request_id):
        return _error(None, RpcError(INVALID_REQUEST, "invalid request: bad id"))
    method = request.get("method")
    if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return _error(
            request_id,
            RpcError(INVALID_REQUEST, 'invalid request: expected "jsonrpc": "2.0" and a method'),
        )
    params = request.get("params", [])
    if params is None:
        params = []
    handler = METHODS.get(method)
    if handler is None:
        error = RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
        return _error(request_id, error) if "id" in request else None
    if not isinstance(params, list):
        return _error(request_id, invalid_params("expected params to be an array"))
    try:
        with node.lock:
            result = handler(node, params)
    except RpcError as exc:
        return _error(request_id, exc)
    except Exception as exc:
        log.exception("internal error in %s", method)
        return _error(request_id, RpcError(INTERNAL_ERROR, f"internal error: {exc!r}"[:300]))
    if "id" not in request:
        return None
    body = result if isinstance(result, Raw) else dumps(result)
    return '{"jsonrpc":"2.0","id":' + dumps(request_id) + ',"result":' + body + "}"


def handle_body(node: Node, body: bytes) -> str | None:
    """Answer an HTTP body: one request or a batch. None when there is nothing to send."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return _error(None, RpcError(PARSE_ERROR, "parse error: the body is not valid JSON"))
    if isinstance(decoded, list):
        if not decoded:
            return _error(None, RpcError(INVALID_REQUEST, "invalid request: empty batch"))
        if len(decoded) > node.config.max_batch:
            return _error(
                None,
                RpcError(
                    INVALID_REQUEST,
                    f"invalid request: batch of {len(decoded)} exceeds the limit of "
                    f"{node.config.max_batch}",
                ),
            )
        recovery = _start_recovery(node, decoded)
        token = _recovered.set(recovery)
        try:
            answers = [answer for item in decoded if (answer := handle_one(node, item)) is not None]
        finally:
            _recovered.reset(token)
            if recovery is not None:
                recovery[1].close()
        node.after_request()
        return "[" + ",".join(answers) + "]" if answers else None
    answer = handle_one(node, decoded)
    node.after_request()
    return answer


__all__ = ["METHODS", "Raw", "handle_body", "handle_one"]
