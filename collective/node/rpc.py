"""The JSON-RPC 2.0 dispatcher: one table from method name to handler and parameters, as
web3.py's ``providers/eth_tester/defaults.py``; single and batch requests; errors by the book.

Each entry of :data:`METHODS` is a :class:`Method`: the handler and the declaration of its
positional parameters (:class:`collective.node.params.Param`: name, parser, required). The
dispatcher validates the params against the declaration before the handler runs (-32602 naming
the argument and the field, in geth's words: :mod:`collective.node.params`), so a handler takes
the :class:`~collective.node.node.Node` and the parsed values and returns a JSON-able value, or
:class:`Raw` (already-rendered JSON text from the store, spliced into the response without
re-encoding). What depends on the chain is checked by the handler, as geth does: ``eth_getLogs``
answers -32602 ``invalid block range params`` when ``fromBlock`` is after ``toBlock`` and
``block range extends beyond current head block`` when ``toBlock`` is past the head.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from eth.abc import BlockHeaderAPI, StateAPI
from eth.exceptions import Revert
from eth.vm.interrupt import EVMMissingData
from eth_typing import Address
from eth_utils.crypto import keccak

from collective.node import params as p
from collective.node.errors import (
    EXECUTION_REVERTED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    TX_REJECTED,
    RpcError,
    rejected,
)
from collective.node.evm import CallResult, Evm, base_fee, revert_data
from collective.node.filters import Filter
from collective.node.limits import (
    TIMED_OUT,
    CallTimeout,
    budget,
    deadline,
    decode_body,
)
from collective.node.logindex import LogQuery, find_logs, logs_json
from collective.node.node import Node
from collective.node.render import dumps, hexbytes, hexint
from collective.node.senders import MIN_BATCH, Recovered
from collective.node.store import DamagedError

log = logging.getLogger("collective.node")
PRIORITY_FEE = 1_000_000_000  # 1 gwei, as anvil suggests
Handler = Callable[..., Any]  # (node, *parsed params) -> result


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


def _call_state(node: Node, ref: p.BlockRef, evm: Evm | None = None) -> StateAPI:
    """A throwaway state for a call: the block's context (the next block's for "pending"),
    with base fee zero so calls without a gas price run, as geth does. ``evm`` is the
    execution layer to build it on (the chain's own by default)."""
    chain = node.chain
    with node.lock:  # re-entrant: free when the caller holds it already
        header = chain.pending_header() if ref.tag == "pending" else _header(node, ref)
    return (evm or chain.evm).state(header.copy(base_fee_per_gas=0))


def _block_json(node: Node, number: int, full: bool) -> Any:
    chain = node.chain
    stored = chain.store.block_by_number(number)
    if stored is None:
        return None
    chain.store.verify_body(number)
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


def web3_client_version(node: Node) -> Any:
    return node.client_version


def web3_sha3(node: Node, payload: bytes) -> Any:
    return hexbytes(keccak(payload))


def net_version(node: Node) -> Any:
    return str(node.chain.chain_id)


def eth_chain_id(node: Node) -> Any:
    return hexint(node.chain.chain_id)


def eth_block_number(node: Node) -> Any:
    return hexint(node.chain.head.block_number)


def eth_accounts(node: Node) -> Any:
    if node.dev is None:
        return []
    return ["0x" + a.hex() for a in node.dev.addresses]


def eth_coinbase(node: Node) -> Any:
    return "0x" + node.chain.authority.hex()


def eth_gas_price(node: Node) -> Any:
    return hexint(base_fee(node.chain.pending_header()) + PRIORITY_FEE)


def eth_max_priority_fee(node: Node) -> Any:
    return hexint(PRIORITY_FEE)


def eth_fee_history(
    node: Node, count: int, newest_ref: p.BlockRef, percentiles: list[float] | None
) -> Any:
    chain = node.chain
    head = chain.head.block_number
    newest = _number(node, newest_ref)
    if newest > head:
        raise p.ParamError(
            "newestBlock",
            f"request beyond head block: requested {newest}, head {head}",
            index=1,
        )
    count = max(0, min(count, 1024, newest + 1))
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


def eth_get_balance(node: Node, who: Address, ref: p.BlockRef) -> Any:
    return hexint(_state(node, ref).get_balance(who))


def eth_get_transaction_count(node: Node, who: Address, ref: p.BlockRef) -> Any:
    if ref.tag == "pending":
        return hexint(node.chain.nonce(who, pending=True))
    return hexint(_state(node, ref).get_nonce(who))


def eth_get_code(node: Node, who: Address, ref: p.BlockRef) -> Any:
    return hexbytes(_state(node, ref).get_code(who))


def eth_get_storage_at(node: Node, who: Address, slot: int, ref: p.BlockRef) -> Any:
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


def _check_chain_id(node: Node, call: p.CallArgs) -> None:
    if call.chain_id is not None and call.chain_id != node.chain.chain_id:
        raise p.ParamError(
            "transaction.chainId",
            f"chainId does not match node's (have={call.chain_id}, want={node.chain.chain_id})",
            index=0,
        )


def _run(node: Node, call: p.CallArgs, ref: p.BlockRef, estimate: bool) -> Any:
    """Run a call or an estimate within the RPC limits (:mod:`collective.node.limits`): at
    most ``gas_cap`` gas and ``call_timeout`` seconds (:class:`NodeConfig`; geth's defaults),
    and what is left of the batch's ``batch_timeout``. On a file-backed chain it runs outside
    the chain lock, on a read-only view of the committed blocks: a slow call holds up no one
    else."""
    _check_chain_id(node, call)
    config = node.config
    limit = deadline()
    if limit is not None and time.monotonic() > limit:
        raise RpcError(
            TIMED_OUT,
            f"request timed out: the batch spent its {config.batch_timeout:g}s for calls",
        )
    with node.chain.reading() as evm:
        try:
            with budget(config.call_timeout):
                return _execute(node, evm, call, ref, estimate)
        except CallTimeout:
            raise rejected(f"execution aborted (timeout = {config.call_timeout:g}s)") from None


def _execute(node: Node, evm: Evm, call: p.CallArgs, ref: p.BlockRef, estimate: bool) -> Any:
    chain = node.chain
    state = _call_state(node, ref, evm)
    sender = call.sender or Address(b"\x00" * 20)
    gas_cap = node.config.gas_cap
    cap = min(chain.head.gas_limit, gas_cap)
    gas = min(call.gas, gas_cap) if call.gas is not None else cap
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
    except (RpcError, CallTimeout, DamagedError, sqlite3.DatabaseError, EVMMissingData):
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


def eth_call(node: Node, call: p.CallArgs, ref: p.BlockRef, *overrides: None) -> Any:
    return _run(node, call, ref, estimate=False)


def eth_estimate_gas(node: Node, call: p.CallArgs, ref: p.BlockRef, *overrides: None) -> Any:
    return _run(node, call, ref, estimate=True)


# --- handlers: inspection (access lists, traces, proofs, raw transactions) -----------------


def eth_get_raw_transaction_by_hash(node: Node, tx_hash: bytes) -> Any:
    """The signed transaction's bytes, mined or pooled; null if unknown."""
    chain = node.chain
    stored = chain.store.tx(tx_hash)
    if stored is not None:
        return hexbytes(stored.raw)
    raw = chain.pending.raw.get(tx_hash)
    return None if raw is None else hexbytes(raw)


def eth_create_access_list(node: Node, call: p.CallArgs, ref: p.BlockRef) -> Any:
    """geth's answer: ``{accessList, gasUsed}``, and ``error`` when the call fails with it.
    Within the limits of ``eth_call`` (gas cap, time budget; outside the chain lock on a
    file-backed chain, as :func:`_run`)."""
    from collective.node import tracing

    _check_chain_id(node, call)
    config = node.config
    cap = min(node.chain.head.gas_limit, config.gas_cap)
    gas = min(call.gas, config.gas_cap) if call.gas is not None else cap
    sender = call.sender or Address(b"\x00" * 20)
    with node.chain.reading() as evm:
        state = _call_state(node, ref, evm)
        try:
            with budget(config.call_timeout):
                entries, result = tracing.create_access_list(
                    evm, state, sender=sender, to=call.to, data=call.data, value=call.value,
                    gas=gas,
                )  # fmt: skip
        except CallTimeout:
            raise rejected(f"execution aborted (timeout = {config.call_timeout:g}s)") from None
        except RpcError:
            raise
        except Exception as exc:  # py-evm validation: intrinsic gas, nonce, balance
            raise rejected(_validation_message(str(exc))) from None
    answer: dict[str, Any] = {
        "accessList": tracing.access_list_json(entries),
        "gasUsed": hexint(result.gas_used),
    }
    if result.error is not None:
        answer["error"] = (
            "execution reverted" if isinstance(result.error, Revert) else str(result.error)
        )
    return answer


def eth_get_proof(node: Node, who: Address, slots: list[int], ref: p.BlockRef) -> Any:
    from collective.node import tracing

    header = node.chain.head if ref.tag == "pending" else _header(node, ref)
    return tracing.proof(node.chain.db, bytes(header.state_root), bytes(who), slots)


def debug_trace_transaction(node: Node, tx_hash: bytes, options: p.TraceOptions) -> Any:
    """geth's ``callTracer`` (options ``onlyTopCall``, ``withLog``) over a sealed transaction,
    re-executed on its block's starting state."""
    from collective.node import tracing

    chain = node.chain
    stored = chain.store.tx(tx_hash)
    if stored is None:
        raise rejected(f"transaction 0x{tx_hash.hex()} not found")
    chain.store.verify_receipts(stored.block)
    header = chain.header_at(stored.block)
    parent = chain.header_at(stored.block - 1)
    assert header is not None and parent is not None
    from collective.node.store import row_ids

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


# --- handlers: blocks and transactions -----------------------------------------------------


def eth_get_block_by_number(node: Node, ref: p.BlockRef, full: bool) -> Any:
    if ref.tag == "pending":
        return _pending_block(node, full)
    return _block_json(node, _number(node, ref), full)


def eth_get_block_by_hash(node: Node, block_hash: bytes, full: bool) -> Any:
    stored = node.chain.store.block_by_hash(block_hash)
    return None if stored is None else _block_json(node, stored.number, full)


def _tx_count(node: Node, number: int | None) -> Any:
    if number is None or node.chain.store.block_by_number(number) is None:
        return None
    node.chain.store.verify_body(number)
    return hexint(len(node.chain.store.block_tx_hashes(number)))


def eth_get_block_tx_count_by_number(node: Node, ref: p.BlockRef) -> Any:
    if ref.tag == "pending":
        return hexint(len(node.chain.pending.txs))
    return _tx_count(node, _number(node, ref))


def eth_get_block_tx_count_by_hash(node: Node, block_hash: bytes) -> Any:
    stored = node.chain.store.block_by_hash(block_hash)
    return _tx_count(node, stored.number if stored else None)


def eth_get_uncle_count_by_number(node: Node, ref: p.BlockRef) -> Any:
    if ref.tag == "pending":
        return "0x0"
    return None if node.chain.header_at(_number(node, ref)) is None else "0x0"


def eth_get_uncle_count_by_hash(node: Node, block_hash: bytes) -> Any:
    return None if node.chain.store.block_by_hash(block_hash) is None else "0x0"


def eth_get_transaction_by_hash(node: Node, tx_hash: bytes) -> Any:
    """The transaction, mined or pending; null if unknown. One the pool admitted and later
    dropped (no longer permitted, or no longer applicable) answers -32000 with the reason:
    ``transaction 0x… was dropped: sender 0x… is not permitted by AccountRules at block N``,
    and ``data`` = {hash, from, nonce, block, reason}; its receipt stays null."""
    from collective.node import render

    chain = node.chain
    stored = chain.store.tx(tx_hash)
    if stored is not None:
        return Raw(stored.json)
    pooled = chain.pending.find(tx_hash)
    if pooled is not None:
        return render.transaction(
            pooled, block_hash=None, block_number=None, index=None, base_fee=None
        )
    dropped = chain.pending.dropped.get(tx_hash)
    if dropped is not None:
        raise RpcError(TX_REJECTED, dropped.message, dropped.to_json())
    return None


def _tx_by_block_index(node: Node, number: int | None, index: int) -> Any:
    if number is None or node.chain.store.block_by_number(number) is None:
        return None
    node.chain.store.verify_body(number)
    rows = node.chain.store.block_tx_json(number)
    return Raw(rows[index]) if 0 <= index < len(rows) else None


def eth_get_tx_by_block_number_and_index(node: Node, ref: p.BlockRef, index: int) -> Any:
    if ref.tag == "pending":
        return None
    return _tx_by_block_index(node, _number(node, ref), index)


def eth_get_tx_by_block_hash_and_index(node: Node, block_hash: bytes, index: int) -> Any:
    stored = node.chain.store.block_by_hash(block_hash)
    return _tx_by_block_index(node, stored.number if stored else None, index)


def eth_get_transaction_receipt(node: Node, tx_hash: bytes) -> Any:
    stored = node.chain.store.tx(tx_hash)
    if stored is None:
        return None
    node.chain.store.verify_receipts(stored.block)
    return Raw(stored.receipt)


def eth_get_block_receipts(node: Node, ref: p.BlockRef) -> Any:
    number = _number(node, ref)
    if node.chain.store.block_by_number(number) is None:
        return None
    node.chain.store.verify_receipts(number)
    return Raw("[" + ",".join(node.chain.store.block_receipts(number)) + "]")


def eth_send_raw_transaction(node: Node, raw: bytes) -> Any:
    if not raw:
        raise p.ParamError("transaction", "empty", index=0)
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


def eth_send_transaction(node: Node, call: p.CallArgs) -> Any:
    dev = node.dev
    assert dev is not None  # a dev-only method (see METHODS)
    if call.sender is None:
        raise p.ParamError("transaction.from", "missing (the sending dev account)", index=0)
    _check_chain_id(node, call)
    if call.sender not in dev.keys:
        raise rejected(
            f"unknown account 0x{call.sender.hex()}: only the dev accounts can send "
            "unsigned transactions"
        )
    chain = node.chain
    nonce = call.nonce if call.nonce is not None else chain.nonce(call.sender, pending=True)
    gas = call.gas
    if gas is None:
        gas = int(_run(node, call, p.PENDING, estimate=True), 16)
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

_HEADISH = ("latest", "safe", "finalized")  # one authority, instant finality: all the head


def _bound(node: Node, ref: p.BlockRef | None) -> int:
    """A range bound as a block number (absent means "latest", as in geth)."""
    if ref is None or ref.tag in _HEADISH:
        return node.chain.head.block_number
    if ref.tag == "earliest":
        return 0
    assert ref.number is not None
    return ref.number


def _describe(ref: p.BlockRef | None, number: int) -> str:
    named = "latest" if ref is None else ref.describe()
    return named if ref is not None and ref.number is not None else f"{named} = {hex(number)}"


def _no_pending(criteria: p.LogFilter) -> None:
    for name, ref in (("fromBlock", criteria.from_block), ("toBlock", criteria.to_block)):
        if ref is not None and ref.tag == "pending":
            raise RpcError(INVALID_PARAMS, f"pending logs are not supported (filter.{name})")


def _backwards(start: p.BlockRef | None, first: int, end: str) -> RpcError:
    return RpcError(
        INVALID_PARAMS,
        f"invalid block range params: filter.fromBlock ({_describe(start, first)}) is after "
        f"filter.toBlock ({end})",
    )


def _log_range(node: Node, criteria: p.LogFilter) -> tuple[int, int]:
    """The block range of a query, checked as geth's eth_getLogs checks it."""
    if criteria.block_hash is not None:
        stored = node.chain.store.block_by_hash(criteria.block_hash)
        if stored is None:
            raise rejected("unknown block")
        return stored.number, stored.number
    _no_pending(criteria)
    head = node.chain.head.block_number
    first, last = _bound(node, criteria.from_block), _bound(node, criteria.to_block)
    if first > last:
        raise _backwards(criteria.from_block, first, _describe(criteria.to_block, last))
    if last > head:
        raise RpcError(
            INVALID_PARAMS,
            f"block range extends beyond current head block: filter.toBlock "
            f"({_describe(criteria.to_block, last)}) is after the head ({hex(head)})",
        )
    return first, last


def _query(criteria: p.LogFilter, first: int, last: int) -> LogQuery:
    return LogQuery(first, last, criteria.addresses, criteria.topics)


def eth_get_logs(node: Node, criteria: p.LogFilter) -> Any:
    first, last = _log_range(node, criteria)
    return Raw(logs_json(find_logs(node.chain.store, _query(criteria, first, last))))


def eth_new_filter(node: Node, criteria: p.LogFilter) -> Any:
    """A log filter; as geth, its range may lie in the future, but not run backwards (nor from
    the head to a fixed block), and pending logs are not supported."""
    _no_pending(criteria)
    start, end = criteria.from_block, criteria.to_block
    if criteria.block_hash is None and end is not None and end.number is not None:
        if start is None or start.tag in _HEADISH:
            raise RpcError(
                INVALID_PARAMS,
                f"invalid block range params: a filter from the head (filter.fromBlock "
                f"{'latest' if start is None else start.tag}) cannot end at a fixed block "
                f"(filter.toBlock {hex(end.number)})",
            )
        if start.number is not None and start.number > end.number:
            raise _backwards(start, start.number, hex(end.number))
    return node.filters.add("logs", criteria, node.chain.head.block_number)


def eth_new_block_filter(node: Node) -> Any:
    return node.filters.add("blocks", None, node.chain.head.block_number)


def eth_new_pending_tx_filter(node: Node, full: bool) -> Any:
    return node.filters.add("pending", None, node.chain.head.block_number)


def _filter(node: Node, filter_id: str) -> Filter:
    found = node.filters.get(filter_id)
    if found is None:
        raise rejected("filter not found")
    return found


def eth_get_filter_changes(node: Node, filter_id: str) -> Any:
    found = _filter(node, filter_id)
    head = node.chain.head.block_number
    start, found.last_block = found.last_block + 1, head
    if found.kind == "blocks":
        return ["0x" + h.hex() for h in node.chain.store.block_hashes(start, head)]
    if found.kind == "pending":
        return []
    criteria = found.criteria
    assert criteria is not None
    if criteria.block_hash is not None:  # its block's logs, once
        first, last = _log_range(node, criteria)
        first = max(first, start)
    else:  # what is new since the last poll, within the filter's range
        tagged = criteria.from_block is None or criteria.from_block.tag in _HEADISH
        first = start if tagged else max(_bound(node, criteria.from_block), start)
        last = min(_bound(node, criteria.to_block), head)
    return Raw(logs_json(find_logs(node.chain.store, _query(criteria, first, last))))


def eth_get_filter_logs(node: Node, filter_id: str) -> Any:
    found = _filter(node, filter_id)
    if found.kind != "logs" or found.criteria is None:
        raise rejected("filter not found")
    return eth_get_logs(node, found.criteria)


def eth_uninstall_filter(node: Node, filter_id: str) -> Any:
    return node.filters.remove(filter_id)


# --- handlers: dev -------------------------------------------------------------------------


def evm_snapshot(node: Node) -> Any:
    assert node.dev is not None
    node.chain.seal_all()
    return hexint(node.dev.snapshot(node.chain.head.block_number))


def evm_revert(node: Node, snap: int) -> Any:
    assert node.dev is not None
    block = node.dev.take(snap)
    if block is None:
        return False
    node.chain.revert_to(block)
    node.filters.rewind(block)
    return True


def evm_mine(node: Node, timestamp: int | None) -> Any:
    if timestamp is not None:
        node.chain.time_offset += max(0, timestamp - node.chain.now())
    node.chain.seal(timestamp)
    return "0x0"


def evm_increase_time(node: Node, seconds: int) -> Any:
    node.chain.time_offset += seconds
    return hexint(node.chain.time_offset)


# --- the method table ----------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    """A JSON-RPC method: its handler and the declaration of its positional parameters.
    ``dev`` methods exist only on a ``--dev`` node (-32601 elsewhere, whatever the params)."""

    handler: Handler
    params: tuple[p.Param, ...] = ()
    dev: bool = False
    hint: str = "start the node with --dev"


def _constant(value: Any) -> Handler:
    return lambda node: value


ADDRESS = p.Param("address", p.address)
BLOCK = p.Param("block", p.block_ref, required=False, default=p.LATEST)  # latest if absent
PENDING_BLOCK = p.Param("block", p.block_ref, required=False, default=p.PENDING)
BLOCK_NUMBER = p.Param("block", p.block_number)  # a number or tag: these methods take no hash
BLOCK_HASH = p.Param("blockHash", p.hash32)
TX_HASH = p.Param("transactionHash", p.hash32)
FULL_TXS = p.Param("fullTransactions", p.boolean)
INDEX = p.Param("index", p.uint64)
FILTER_ID = p.Param("filterId", p.filter_id)
TRANSACTION = p.Param("transaction", p.call_args)
OVERRIDES = (
    p.Param("stateOverrides", p.no_overrides, required=False),
    p.Param("blockOverrides", p.no_overrides, required=False),
)

METHODS: dict[str, Method] = {
    "web3_clientVersion": Method(web3_client_version),
    "web3_sha3": Method(web3_sha3, (p.Param("data", p.data),)),
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
            p.Param("blockCount", p.hex_or_decimal),
            p.Param("newestBlock", p.block_number),
            p.Param("rewardPercentiles", p.percentiles, required=False),
        ),
    ),
    "eth_getBalance": Method(eth_get_balance, (ADDRESS, BLOCK)),
    "eth_getTransactionCount": Method(eth_get_transaction_count, (ADDRESS, BLOCK)),
    "eth_getCode": Method(eth_get_code, (ADDRESS, BLOCK)),
    "eth_getStorageAt": Method(
        eth_get_storage_at, (ADDRESS, p.Param("slot", p.storage_slot), BLOCK)
    ),
    "eth_call": Method(eth_call, (TRANSACTION, BLOCK, *OVERRIDES)),
    "eth_estimateGas": Method(
        eth_estimate_gas,
        (TRANSACTION, PENDING_BLOCK, *OVERRIDES),
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
    "eth_createAccessList": Method(eth_create_access_list, (TRANSACTION, PENDING_BLOCK)),
    "eth_getProof": Method(eth_get_proof, (ADDRESS, p.Param("storageKeys", p.storage_keys), BLOCK)),
    "debug_traceTransaction": Method(
        debug_trace_transaction,
        (TX_HASH, p.Param("options", p.trace_options, required=False, default=p.CALL_TRACER)),
    ),
    "eth_getBlockReceipts": Method(eth_get_block_receipts, (p.Param("block", p.block_ref),)),
    "eth_sendRawTransaction": Method(eth_send_raw_transaction, (p.Param("transaction", p.data),)),
    "eth_sendTransaction": Method(
        eth_send_transaction,
        (TRANSACTION,),
        dev=True,
        hint="start the node with --dev, or send signed transactions",
    ),
    "eth_getLogs": Method(eth_get_logs, (p.Param("filter", p.log_filter),)),
    "eth_newFilter": Method(eth_new_filter, (p.Param("filter", p.log_filter),)),
    "eth_newBlockFilter": Method(eth_new_block_filter),
    "eth_newPendingTransactionFilter": Method(
        eth_new_pending_tx_filter,
        (p.Param("fullTransactions", p.boolean, required=False, default=False),),
    ),
    "eth_getFilterChanges": Method(eth_get_filter_changes, (FILTER_ID,)),
    "eth_getFilterLogs": Method(eth_get_filter_logs, (FILTER_ID,)),
    "eth_uninstallFilter": Method(eth_uninstall_filter, (FILTER_ID,)),
    "evm_snapshot": Method(evm_snapshot, dev=True),
    "evm_revert": Method(evm_revert, (p.Param("snapshotId", p.anvil_number),), dev=True),
    "evm_mine": Method(evm_mine, (p.Param("timestamp", p.anvil_number, required=False),), dev=True),
    "evm_increaseTime": Method(evm_increase_time, (p.Param("seconds", p.anvil_number),), dev=True),
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


# calls that take the chain lock only to resolve their block (see _run)
_OUTSIDE_LOCK: frozenset[Handler] = frozenset({eth_call, eth_estimate_gas, eth_create_access_list})


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
    entry = METHODS.get(method)
    if entry is None or (entry.dev and node.dev is None):
        where = "" if entry is None else f" ({entry.hint})"
        error = RpcError(
            METHOD_NOT_FOUND, f"the method {method} does not exist/is not available{where}"
        )
        return _error(request_id, error) if "id" in request else None
    try:
        args = p.parse_params(entry.params, request.get("params"))
        if entry.handler in _OUTSIDE_LOCK and node.chain.store.path is not None:
            result = entry.handler(node, *args)  # reads committed blocks on its own view
        else:
            with node.lock:
                result = entry.handler(node, *args)
    except RpcError as exc:
        return _error(request_id, exc)
    except (DamagedError, sqlite3.DatabaseError, EVMMissingData) as exc:  # never answer from
        # a damaged store (the store keeps every state: a trie node or code it cannot find
        # under its hash is a damaged row or index)
        if isinstance(exc, DamagedError):
            damaged = exc
        elif isinstance(exc, EVMMissingData):
            damaged = DamagedError(node.chain.store.path, f"state it must hold is missing ({exc})")
        else:
            damaged = DamagedError(node.chain.store.path, f"SQLite reports {exc}")
        log.error("%s (%s)", damaged.message, damaged.hint)
        return _error(request_id, RpcError(INTERNAL_ERROR, f"{damaged.message}: {damaged.hint}"))
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
        decoded = decode_body(body)
    except RpcError as exc:  # not JSON, too deep, a number out of range
        return _error(None, exc)
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
            with budget(node.config.batch_timeout):  # one time budget for all its calls
                answers = [a for item in decoded if (a := handle_one(node, item)) is not None]
        finally:
            _recovered.reset(token)
            if recovery is not None:
                recovery[1].close()
        node.after_request()
        return "[" + ",".join(answers) + "]" if answers else None
    answer = handle_one(node, decoded)
    node.after_request()
    return answer


__all__ = ["METHODS", "Method", "Raw", "handle_body", "handle_one"]
