"""Compound JSON-RPC parameters: blocks (EIP-1898), transaction-call objects, log filters
and trace options, parsed as geth's ``rpc.BlockNumberOrHash``, ``TransactionArgs``,
``FilterCriteria`` and tracer config are.

Parsers take ``(value, path)`` and return a frozen record (:class:`BlockRef`,
:class:`CallArgs`, :class:`LogFilter`, :class:`TraceOptions`) or raise
:class:`~collective.node.rpc.scalars.ParamError` (-32602). Stricter than geth on purpose:
unknown fields of an object are refused (a misspelt field would otherwise change nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_typing import Address

from collective.node.rpc.scalars import (
    ParamError,
    address,
    boolean,
    data,
    hash32,
    hex_number,
    kind,
    list_of,
    object_fields,
    quantity,
    string,
    uint64,
)

BLOCK_TAGS = ("latest", "pending", "earliest", "safe", "finalized")
MAX_INT64 = 2**63 - 1
MAX_TOPICS = 4  # LOG0..LOG4
MAX_SUB_TOPICS = 1000  # alternatives per topic position (geth's maxSubTopics)
# geth's words for combinations it refuses
_HASH_AND_NUMBER = "cannot specify both BlockHash and BlockNumber, choose one or the other"
_HASH_AND_RANGE = "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"
_PRICE_AND_FEES = "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified"
_DATA_AND_INPUT = (
    'both "data" and "input" are set and not equal. Please use "input" to pass transaction '
    "call data"
)


# --- blocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockRef:
    """A block named by tag, number or hash (EIP-1898)."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None

    def describe(self) -> str:
        """The block as a request named it: the tag, the number in hex, or the hash."""
        if self.tag is not None:
            return self.tag
        if self.number is not None:
            return hex(self.number)
        assert self.hash is not None
        return "0x" + self.hash.hex()


_TAGGED = {tag: BlockRef(tag=tag) for tag in BLOCK_TAGS}  # one frozen record per tag
LATEST = _TAGGED["latest"]
PENDING = _TAGGED["pending"]
_TAGS = ", ".join(BLOCK_TAGS)
_WANT_NUMBER = f"a hex block number or a tag ({_TAGS})"
_WANT_BLOCK = f'a block number, a tag ({_TAGS}), a hash or {{"blockHash": …}}'


def _block_number_text(text: str, path: str) -> BlockRef:
    tagged = _TAGGED.get(text)
    if tagged is not None:
        return tagged
    number = hex_number(text, path, 64)
    if number > MAX_INT64:
        raise ParamError(path, "block number larger than int64")
    return BlockRef(number=number)


def block_number(value: Any, path: str) -> BlockRef:
    """A block number or tag, not a hash (``rpc.BlockNumber``)."""
    return _block_number_text(string(value, path, _WANT_NUMBER), path)


_BLOCK_FIELDS = frozenset({"blockHash", "blockNumber", "requireCanonical"})


def block_ref(value: Any, path: str) -> BlockRef:
    """A block number, tag, hash, or EIP-1898 object (``rpc.BlockNumberOrHash``)."""
    if isinstance(value, dict):
        fields = object_fields(value, path, _BLOCK_FIELDS, "a block")
        has_hash = fields.get("blockHash") is not None
        has_number = fields.get("blockNumber") is not None
        if has_hash and has_number:
            raise ParamError(path, _HASH_AND_NUMBER)
        if fields.get("requireCanonical") is not None:
            boolean(fields["requireCanonical"], f"{path}.requireCanonical")  # one chain: it is
        if has_hash:
            return BlockRef(hash=hash32(fields["blockHash"], f"{path}.blockHash"))
        if has_number:
            return block_number(fields["blockNumber"], f"{path}.blockNumber")
        raise ParamError(path, "must specify either BlockHash or BlockNumber")
    text = string(value, path, _WANT_BLOCK)
    if len(text) == 66 and text not in _TAGGED:
        return BlockRef(hash=hash32(text, path))
    return _block_number_text(text, path)


# --- transaction-call objects --------------------------------------------------------------


@dataclass(frozen=True)
class CallArgs:
    """A transaction-call object (eth_call, eth_estimateGas, eth_sendTransaction)."""

    sender: Address | None
    to: Address | None
    gas: int | None
    gas_price: int | None
    max_fee: int | None
    max_priority_fee: int | None
    value: int
    data: bytes
    nonce: int | None
    chain_id: int | None = None


def _access_entry(value: Any, path: str) -> None:
    entry = object_fields(
        value, path, frozenset({"address", "storageKeys"}), "an access-list entry"
    )
    address(entry.get("address"), f"{path}.address")
    list_of(hash32)(entry.get("storageKeys", []), f"{path}.storageKeys")


def _authorization(value: Any, path: str) -> None:
    fields = frozenset({"chainId", "address", "nonce", "yParity", "v", "r", "s"})
    entry = object_fields(value, path, fields, "an authorization")
    address(entry.get("address"), f"{path}.address")
    for name in ("chainId", "nonce", "yParity", "v", "r", "s"):
        if entry.get(name) is not None:
            quantity(entry[name], f"{path}.{name}")


_CALL_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "from": address,
    "to": address,
    "gas": uint64,
    "gasPrice": quantity,
    "maxFeePerGas": quantity,
    "maxPriorityFeePerGas": quantity,
    "value": quantity,
    "data": data,
    "input": data,
    "nonce": uint64,
    "chainId": quantity,
    "type": uint64,
    "accessList": list_of(_access_entry),
    "blobVersionedHashes": list_of(hash32),
    "maxFeePerBlobGas": quantity,
    "authorizationList": list_of(_authorization),
}
_CALL_NAMES = frozenset(_CALL_FIELDS)


def call_args(value: Any, path: str) -> CallArgs:
    """geth's ``TransactionArgs``: every field typed, and the combinations geth refuses."""
    fields = object_fields(value, path, _CALL_NAMES, "a transaction object")
    parsed = {
        key: _CALL_FIELDS[key](item, f"{path}.{key}")
        for key, item in fields.items()
        if item is not None
    }
    payload, legacy = parsed.get("input"), parsed.get("data")
    if payload is not None and legacy is not None and payload != legacy:
        raise ParamError(path, _DATA_AND_INPUT)
    max_fee, tip = parsed.get("maxFeePerGas"), parsed.get("maxPriorityFeePerGas")
    if "gasPrice" in parsed and (max_fee is not None or tip is not None):
        raise ParamError(path, _PRICE_AND_FEES)
    if max_fee is not None and tip is not None and max_fee < tip:
        raise ParamError(path, f"maxFeePerGas ({max_fee}) < maxPriorityFeePerGas ({tip})")
    return CallArgs(
        sender=parsed.get("from"),
        to=parsed.get("to"),
        gas=parsed.get("gas"),
        gas_price=parsed.get("gasPrice"),
        max_fee=max_fee,
        max_priority_fee=tip,
        value=parsed.get("value", 0),
        data=payload if payload is not None else legacy or b"",
        nonce=parsed.get("nonce"),
        chain_id=parsed.get("chainId"),
    )


def no_overrides(value: Any, path: str) -> None:
    """State or block overrides: this node applies none, so it accepts none rather than answer
    as if it had (``{}`` is fine)."""
    if not isinstance(value, dict):
        raise ParamError(path, f"want an object, got {kind(value)}")
    if value:
        raise ParamError(path, "overrides are not supported by this node")


# --- log filters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilter:
    """An eth_getLogs / eth_newFilter criteria object, before block tags are resolved.
    ``from_block`` / ``to_block`` are None when absent (geth: "latest")."""

    from_block: BlockRef | None
    to_block: BlockRef | None
    block_hash: bytes | None
    addresses: tuple[Address, ...]
    topics: tuple[tuple[bytes, ...] | None, ...]


_FILTER_FIELDS = frozenset({"fromBlock", "toBlock", "blockHash", "address", "topics"})


def log_filter(value: Any, path: str) -> LogFilter:
    """geth's ``FilterCriteria``: one address or an array of them; up to four topic positions,
    each null (any), a topic, or an array of alternatives (an empty one, or one holding null,
    matches any); a block hash, or a range of block numbers and tags."""
    fields = object_fields(value, path, _FILTER_FIELDS, "a filter object")
    block_hash = None
    if fields.get("blockHash") is not None:
        if fields.get("fromBlock") is not None or fields.get("toBlock") is not None:
            raise ParamError(path, _HASH_AND_RANGE)
        block_hash = hash32(fields["blockHash"], f"{path}.blockHash")
    raw_address = fields.get("address")
    if raw_address is None:
        addresses: tuple[Address, ...] = ()
    elif isinstance(raw_address, list):
        addresses = tuple(address(a, f"{path}.address[{i}]") for i, a in enumerate(raw_address))
    elif isinstance(raw_address, str):
        addresses = (address(raw_address, f"{path}.address"),)
    else:
        raise ParamError(f"{path}.address", "invalid addresses in query")
    raw_topics = fields.get("topics")
    if raw_topics is None:
        raw_topics = []
    if not isinstance(raw_topics, list):
        raise ParamError(f"{path}.topics", "invalid topic(s)")
    if len(raw_topics) > MAX_TOPICS:
        raise ParamError(f"{path}.topics", "exceed max topics")
    topics: list[tuple[bytes, ...] | None] = []
    for i, item in enumerate(raw_topics):
        where = f"{path}.topics[{i}]"
        if item is None:
            topics.append(None)
        elif isinstance(item, str):
            topics.append((hash32(item, where),))
        elif isinstance(item, list):
            if len(item) > MAX_SUB_TOPICS:
                raise ParamError(where, "exceed max topics")
            if any(t is not None and not isinstance(t, str) for t in item):
                raise ParamError(where, "invalid topic(s)")
            alternatives = tuple(
                hash32(t, f"{where}[{j}]") for j, t in enumerate(item) if t is not None
            )
            # a null alternative matches any topic, as in geth
            topics.append(None if not alternatives or None in item else alternatives)
        else:
            raise ParamError(where, "invalid topic(s)")
    from_block = fields.get("fromBlock")
    to_block = fields.get("toBlock")
    return LogFilter(
        from_block=None if from_block is None else block_number(from_block, f"{path}.fromBlock"),
        to_block=None if to_block is None else block_number(to_block, f"{path}.toBlock"),
        block_hash=block_hash,
        addresses=addresses,
        topics=tuple(topics),
    )


@dataclass(frozen=True)
class TraceOptions:
    """debug_traceTransaction's options: geth's ``callTracer`` and its config."""

    only_top_call: bool = False
    with_log: bool = False


CALL_TRACER = TraceOptions()
_TRACE_FIELDS = frozenset({"tracer", "tracerConfig", "timeout", "reexec"})
_TRACER_CONFIG_FIELDS = frozenset({"onlyTopCall", "withLog"})


def trace_options(value: Any, path: str) -> TraceOptions:
    """``{"tracer": "callTracer", "tracerConfig": {"onlyTopCall", "withLog"}}``; the call
    tracer is the only one (and the default here: geth's default, the opcode logger, is not
    served)."""
    fields = object_fields(value, path, _TRACE_FIELDS, "a trace config")
    tracer = fields.get("tracer", "callTracer")
    if tracer != "callTracer":
        raise ParamError(
            f"{path}.tracer",
            f"tracer {tracer!r} is not supported: this node serves {{'tracer': 'callTracer'}}",
        )
    config = fields.get("tracerConfig")
    if config is None:
        return CALL_TRACER
    flags = object_fields(config, f"{path}.tracerConfig", _TRACER_CONFIG_FIELDS, "a tracer config")
    return TraceOptions(
        only_top_call=boolean(flags.get("onlyTopCall", False), f"{path}.tracerConfig.onlyTopCall"),
        with_log=boolean(flags.get("withLog", False), f"{path}.tracerConfig.withLog"),
    )


__all__ = [
    "BLOCK_TAGS",
    "CALL_TRACER",
    "LATEST",
    "PENDING",
    "BlockRef",
    "CallArgs",
    "LogFilter",
    "TraceOptions",
    "block_number",
    "block_ref",
    "call_args",
    "log_filter",
    "no_overrides",
    "trace_options",
]
