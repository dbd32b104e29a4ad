"""JSON-RPC params, declared once per method and validated as geth validates them.

Each method of the dispatcher's table (:data:`collective.node.rpc.METHODS`) lists its positional
parameters as :class:`Param` entries: a name, a parser, whether it is required. Before a handler
runs, :func:`parse_params` checks the array as geth's ``rpc`` package does (``non-array args``,
``too many arguments, want at most N``, ``missing value for required argument N``) and runs each
parser; the handler receives parsed, typed values. Every failure is a -32602 error whose message
names the argument's position and the field, then the problem in geth's words::

    invalid argument 0 (filter.toBlock): hex number with leading zero digits
    invalid argument 1 (block): hex string has length 62, want 64 for common.Hash
    missing value for required argument 1 (fullTransactions)

Parsers follow geth's types (``hexutil`` for quantities, bytes, addresses and hashes,
``rpc.BlockNumber`` / ``rpc.BlockNumberOrHash`` for blocks, ``FilterCriteria`` for log filters,
``math.HexOrDecimal64`` for fee-history counts), with their messages. Where this node is
stricter than geth, on purpose: ``null`` is no value for a required argument (geth may decode
it as a zero value), unknown fields in a transaction, filter or block object are refused (geth
ignores them, so a misspelt field silently changes nothing), and an empty string is not the
quantity zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_typing import Address

from collective.node.errors import INVALID_PARAMS, RpcError

BLOCK_TAGS = ("latest", "pending", "earliest", "safe", "finalized")
MAX_QUANTITY = 2**256 - 1
MAX_UINT64 = 2**64 - 1
MAX_INT64 = 2**63 - 1
MAX_TOPICS = 4  # LOG0..LOG4
MAX_SUB_TOPICS = 1000  # alternatives per topic position (geth's maxSubTopics)
MAX_PERCENTILES = 100  # geth's maxQueryLimit for eth_feeHistory
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HEX_BODY = re.compile(r"[0-9a-fA-F]*")  # fullmatch: long inputs (raw transactions) go fast
# geth's words for combinations it refuses
_HASH_AND_NUMBER = "cannot specify both BlockHash and BlockNumber, choose one or the other"
_HASH_AND_RANGE = "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"
_PRICE_AND_FEES = "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified"
_DATA_AND_INPUT = (
    'both "data" and "input" are set and not equal. Please use "input" to pass transaction '
    "call data"
)


class ParamError(RpcError):
    """A -32602 error about one field of one parameter: ``path`` names it
    (``filter.topics[1]``), ``problem`` says what is wrong with it."""

    def __init__(self, path: str, problem: str, index: int | None = None) -> None:
        where = f"invalid argument {index} ({path})" if index is not None else path
        super().__init__(INVALID_PARAMS, f"{where}: {problem}")
        self.path = path
        self.problem = problem
        self.index = index


def _kind(value: Any) -> str:
    """The JSON type of ``value``, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- the declaration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One positional parameter: its name in messages, its parser, whether it must be given.
    A missing or ``null`` optional parameter reaches the handler as ``default``."""

    name: str
    parse: Callable[[Any, str], Any]
    required: bool = True
    default: Any = None


def parse_params(spec: tuple[Param, ...], params: Any) -> list[Any]:
    """``params`` checked against ``spec``: one parsed value per declared parameter."""
    if params is None:
        params = []
    if not isinstance(params, list):
        raise RpcError(
            INVALID_PARAMS, f"non-array args: params must be an array, not {_kind(params)}"
        )
    if len(params) > len(spec):
        raise RpcError(INVALID_PARAMS, f"too many arguments, want at most {len(spec)}")
    values = []
    for index, param in enumerate(spec):
        value = params[index] if index < len(params) else None
        if value is None:
            if param.required:
                raise RpcError(
                    INVALID_PARAMS,
                    f"missing value for required argument {index} ({param.name})",
                )
            values.append(param.default)
            continue
        try:
            values.append(param.parse(value, param.name))
        except ParamError as exc:
            raise ParamError(exc.path, exc.problem, index) from None
    return values


# --- hex: quantities, bytes, addresses, hashes (geth's hexutil) ----------------------------


def _string(value: Any, path: str, want: str) -> str:
    if not isinstance(value, str):
        raise ParamError(path, f"want {want}, got {_kind(value)}")
    return value


def _digits(text: str, path: str) -> str:
    """The hex digits after the 0x prefix (checked to be hex digits)."""
    if not text:
        raise ParamError(path, "empty hex string")
    if text[:2] not in ("0x", "0X"):
        raise ParamError(path, "hex string without 0x prefix")
    return text[2:]


def _check_syntax(digits: str, path: str) -> None:
    if _HEX_BODY.fullmatch(digits) is None:
        raise ParamError(path, "invalid hex string")


def _number(value: Any, path: str, bits: int) -> int:
    digits = _digits(_string(value, path, "a 0x-prefixed hex quantity"), path)
    if not digits:
        raise ParamError(path, 'hex string "0x"')
    if len(digits) > 1 and digits[0] == "0":
        raise ParamError(path, "hex number with leading zero digits")
    if len(digits) > bits // 4:
        raise ParamError(path, f"hex number > {bits} bits")
    _check_syntax(digits, path)
    return int(digits, 16)


def quantity(value: Any, path: str) -> int:
    """A 0x-prefixed hex number of at most 256 bits, without leading zeros (``hexutil.Big``)."""
    return _number(value, path, 256)


def uint64(value: Any, path: str) -> int:
    """A 0x-prefixed hex number of at most 64 bits (``hexutil.Uint64``: gas, nonce, index)."""
    return _number(value, path, 64)


def data(value: Any, path: str) -> bytes:
    """0x-prefixed hex bytes of even length (``hexutil.Bytes``; ``""`` is no bytes, as geth)."""
    text = _string(value, path, "0x-prefixed hex bytes")
    if not text:
        return b""
    digits = _digits(text, path)
    if len(digits) % 2:
        raise ParamError(path, "hex string of odd length")
    _check_syntax(digits, path)
    return bytes.fromhex(digits)


def _fixed(value: Any, path: str, size: int, type_name: str) -> bytes:
    text = _string(value, path, f"a 0x-prefixed hex {type_name}")
    digits = _digits(text, path) if text else ""
    if len(digits) % 2:
        raise ParamError(path, "hex string of odd length")
    if len(digits) != 2 * size:
        raise ParamError(
            path, f"hex string has length {len(digits)}, want {2 * size} for {type_name}"
        )
    _check_syntax(digits, path)
    return bytes.fromhex(digits)


def address(value: Any, path: str) -> Address:
    """A 20-byte 0x-prefixed hex address (``common.Address``; any letter case)."""
    return Address(_fixed(value, path, 20, "common.Address"))


def hash32(value: Any, path: str) -> bytes:
    """A 32-byte 0x-prefixed hex hash (``common.Hash``)."""
    return _fixed(value, path, 32, "common.Hash")


def storage_slot(value: Any, path: str) -> int:
    """A storage key: hex of at most 32 bytes, 0x optional, odd length padded (geth's
    ``decodeStorageKey``)."""
    text = _string(value, path, "a hex storage key")
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if len(digits) > 64:
        raise ParamError(path, "storage key too long (want at most 32 bytes)")
    if not _HEX_DIGITS.issuperset(digits):
        raise ParamError(path, "invalid hex in storage key")
    return int(digits, 16) if digits else 0


def boolean(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ParamError(path, f"want true or false, got {_kind(value)}")


def filter_id(value: Any, path: str) -> str:
    """A filter id as ``eth_newFilter`` gave it (``rpc.ID``: a string)."""
    return _string(value, path, "a filter id string")


def hex_or_decimal(value: Any, path: str) -> int:
    """A 64-bit count as a JSON number, a decimal string or a hex string
    (``math.HexOrDecimal64``: ``eth_feeHistory``'s ``blockCount``)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UINT64:
        return value
    if isinstance(value, str):
        hex_digits = value[2:] if value[:2] in ("0x", "0X") else None
        if hex_digits is not None:
            valid = bool(hex_digits) and _HEX_DIGITS.issuperset(hex_digits)
            number = int(hex_digits, 16) if valid else -1
        else:
            number = int(value) if value.isascii() and value.isdigit() else 0 if not value else -1
        if 0 <= number <= MAX_UINT64:
            return number
    raise ParamError(path, f"invalid hex or decimal integer {value!r}")


def anvil_number(value: Any, path: str) -> int:
    """A non-negative 64-bit JSON number or hex quantity, as anvil's dev methods take them."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ParamError(path, "must not be negative")
        if value > MAX_UINT64:
            raise ParamError(path, "number > 64 bits")
        return value
    if isinstance(value, str):
        return uint64(value, path)
    raise ParamError(path, f"want a number or a 0x-prefixed hex quantity, got {_kind(value)}")


def percentiles(value: Any, path: str) -> list[float]:
    """``eth_feeHistory``'s reward percentiles: at most 100 numbers from 0 to 100, increasing."""
    if not isinstance(value, list):
        raise ParamError(path, f"want an array of numbers, got {_kind(value)}")
    if len(value) > MAX_PERCENTILES:
        raise ParamError(path, f"invalid reward percentile: over the query limit {MAX_PERCENTILES}")
    out: list[float] = []
    for i, item in enumerate(value):
        if not isinstance(item, int | float) or isinstance(item, bool):
            raise ParamError(f"{path}[{i}]", f"want a number, got {_kind(item)}")
        if isinstance(item, float) and not math.isfinite(item):
            raise ParamError(f"{path}[{i}]", f"invalid reward percentile: {item}")
        if not 0 <= item <= 100:
            raise ParamError(f"{path}[{i}]", f"invalid reward percentile: {item:f}")
        if out and item <= out[-1]:
            raise ParamError(
                path, f"invalid reward percentile: #{i - 1}:{out[-1]:f} >= #{i}:{item:f}"
            )
        out.append(float(item))
    return out


def _object(value: Any, path: str, fields: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParamError(path, f"want {what}, got {_kind(value)}")
    unknown = set(value) - fields
    if unknown:
        raise ParamError(path, f"unknown field {sorted(unknown)[0]!r}")
    return value


# --- blocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockRef:
    """A block named by tag, number or hash (EIP-1898)."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None

    def describe(self) -> str:
        if self.tag is not None:
            return self.tag
        if self.number is not None:
            return hex(self.number)
        assert self.hash is not None
        return "0x" + self.hash.hex()


LATEST = BlockRef(tag="latest")
PENDING = BlockRef(tag="pending")


def _block_number_text(text: str, path: str) -> BlockRef:
    if text in BLOCK_TAGS:
        return BlockRef(tag=text)
    number = _number(text, path, 64)
    if number > MAX_INT64:
        raise ParamError(path, "block number larger than int64")
    return BlockRef(number=number)


def block_number(value: Any, path: str) -> BlockRef:
    """A block number or tag, not a hash (``rpc.BlockNumber``)."""
    tags = ", ".join(BLOCK_TAGS)
    return _block_number_text(_string(value, path, f"a hex block number or a tag ({tags})"), path)


_BLOCK_FIELDS = frozenset({"blockHash", "blockNumber", "requireCanonical"})


def block_ref(value: Any, path: str) -> BlockRef:
    """A block number, tag, hash, or EIP-1898 object (``rpc.BlockNumberOrHash``)."""
    if isinstance(value, dict):
        fields = _object(value, path, _BLOCK_FIELDS, "a block")
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
    tags = ", ".join(BLOCK_TAGS)
    text = _string(value, path, f'a block number, a tag ({tags}), a hash or {{"blockHash": …}}')
    if len(text) == 66 and text not in BLOCK_TAGS:
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


def _list_of(parse: Callable[[Any, str], Any]) -> Callable[[Any, str], list[Any]]:
    def parse_list(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise ParamError(path, f"want an array, got {_kind(value)}")
        return [parse(item, f"{path}[{i}]") for i, item in enumerate(value)]

    return parse_list


def _access_entry(value: Any, path: str) -> None:
    entry = _object(value, path, frozenset({"address", "storageKeys"}), "an access-list entry")
    address(entry.get("address"), f"{path}.address")
    _list_of(hash32)(entry.get("storageKeys", []), f"{path}.storageKeys")


def _authorization(value: Any, path: str) -> None:
    fields = frozenset({"chainId", "address", "nonce", "yParity", "v", "r", "s"})
    entry = _object(value, path, fields, "an authorization")
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
    "accessList": _list_of(_access_entry),
    "blobVersionedHashes": _list_of(hash32),
    "maxFeePerBlobGas": quantity,
    "authorizationList": _list_of(_authorization),
}
_CALL_NAMES = frozenset(_CALL_FIELDS)


def call_args(value: Any, path: str) -> CallArgs:
    """geth's ``TransactionArgs``: every field typed, and the combinations geth refuses."""
    fields = _object(value, path, _CALL_NAMES, "a transaction object")
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
        raise ParamError(path, f"want an object, got {_kind(value)}")
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
    fields = _object(value, path, _FILTER_FIELDS, "a filter object")
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


storage_keys = _list_of(storage_slot)  # eth_getProof's storage keys


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
    fields = _object(value, path, _TRACE_FIELDS, "a trace config")
    tracer = fields.get("tracer", "callTracer")
    if tracer != "callTracer":
        raise ParamError(
            f"{path}.tracer",
            f"tracer {tracer!r} is not supported: this node serves {{'tracer': 'callTracer'}}",
        )
    config = fields.get("tracerConfig")
    if config is None:
        return CALL_TRACER
    flags = _object(config, f"{path}.tracerConfig", _TRACER_CONFIG_FIELDS, "a tracer config")
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
    "Param",
    "ParamError",
    "TraceOptions",
    "address",
    "anvil_number",
    "block_number",
    "block_ref",
    "boolean",
    "call_args",
    "data",
    "filter_id",
    "hash32",
    "hex_or_decimal",
    "log_filter",
    "no_overrides",
    "parse_params",
    "percentiles",
    "quantity",
    "storage_keys",
    "storage_slot",
    "trace_options",
    "uint64",
]
