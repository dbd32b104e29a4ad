"""Parsing JSON-RPC params: every failure is a -32602 error naming the parameter and field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_typing import Address

from collective.node.errors import RpcError, invalid_params

_HEX = re.compile(r"0x[0-9a-fA-F]*\Z")
_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]*)\Z")
BLOCK_TAGS = ("latest", "pending", "earliest", "safe", "finalized")
MAX_QUANTITY = 2**256 - 1


@dataclass(frozen=True)
class BlockRef:
    """A block named by tag, number or hash (EIP-1898)."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None


def arg(params: list[Any], index: int, name: str, *, required: bool = True) -> Any:
    if index < len(params):
        return params[index]
    if required:
        raise invalid_params(f"missing value for required argument {index} ({name})")
    return None


def expect_count(params: list[Any], most: int, method: str) -> None:
    if len(params) > most:
        raise invalid_params(f"too many arguments for {method}, want at most {most}")


def quantity(value: Any, name: str) -> int:
    if isinstance(value, str) and _QUANTITY.match(value):
        number = int(value, 16)
        if number <= MAX_QUANTITY:
            return number
        raise invalid_params(f"{name}: hex number > 256 bits")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_QUANTITY:
        return value  # some clients send plain numbers; geth accepts them for a few fields
    raise invalid_params(f"{name}: expected a 0x-prefixed hex quantity without leading zeros")


def data(value: Any, name: str) -> bytes:
    if isinstance(value, str) and _HEX.match(value) and len(value) % 2 == 0:
        return bytes.fromhex(value[2:])
    raise invalid_params(f"{name}: expected 0x-prefixed hex bytes of even length")


def address(value: Any, name: str) -> Address:
    if isinstance(value, str) and _HEX.match(value) and len(value) == 42:
        return Address(bytes.fromhex(value[2:]))
    raise invalid_params(f"{name}: expected a 20-byte 0x-prefixed hex address")


def hash32(value: Any, name: str) -> bytes:
    if isinstance(value, str) and _HEX.match(value) and len(value) == 66:
        return bytes.fromhex(value[2:])
    raise invalid_params(f"{name}: expected a 32-byte 0x-prefixed hex hash")


def storage_slot(value: Any, name: str) -> int:
    if isinstance(value, str) and _HEX.match(value) and 2 < len(value) <= 66:
        return int(value, 16)
    raise invalid_params(f"{name}: expected a hex storage slot of at most 32 bytes")


def boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise invalid_params(f"{name}: expected true or false")


def block_ref(value: Any, name: str, default: str = "latest") -> BlockRef:
    if value is None:
        return BlockRef(tag=default)
    if isinstance(value, str):
        if value in BLOCK_TAGS:
            return BlockRef(tag=value)
        return BlockRef(number=quantity(value, name))
    if isinstance(value, dict):
        if "blockHash" in value:
            return BlockRef(hash=hash32(value["blockHash"], f"{name}.blockHash"))
        if "blockNumber" in value:
            return block_ref(value["blockNumber"], f"{name}.blockNumber")
    raise invalid_params(
        f'{name}: expected a block number, a tag ({", ".join(BLOCK_TAGS)}) or {{"blockHash": ...}}'
    )


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


_CALL_FIELDS = {
    "from",
    "to",
    "gas",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "value",
    "data",
    "input",
    "nonce",
    "chainId",
    "type",
    "accessList",
    "blobVersionedHashes",
    "maxFeePerBlobGas",
    "authorizationList",
}


def call_args(value: Any, name: str) -> CallArgs:
    if not isinstance(value, dict):
        raise invalid_params(f"{name}: expected a transaction object")
    unknown = set(value) - _CALL_FIELDS
    if unknown:
        raise invalid_params(f"{name}: unknown field {sorted(unknown)[0]!r}")

    def opt(key: str, parse: Any) -> Any:
        item = value.get(key)
        return None if item is None else parse(item, f"{name}.{key}")

    data_field = opt("input", data)
    legacy_data = opt("data", data)
    if data_field is not None and legacy_data is not None and data_field != legacy_data:
        raise invalid_params(f'{name}: both "data" and "input" are set and differ')
    to = opt("to", address)
    return CallArgs(
        sender=opt("from", address),
        to=to,
        gas=opt("gas", quantity),
        gas_price=opt("gasPrice", quantity),
        max_fee=opt("maxFeePerGas", quantity),
        max_priority_fee=opt("maxPriorityFeePerGas", quantity),
        value=opt("value", quantity) or 0,
        data=data_field if data_field is not None else (legacy_data or b""),
        nonce=opt("nonce", quantity),
    )


@dataclass(frozen=True)
class LogFilter:
    """An eth_getLogs / eth_newFilter criteria object, before block tags are resolved."""

    from_block: BlockRef
    to_block: BlockRef
    block_hash: bytes | None
    addresses: tuple[Address, ...]
    topics: tuple[tuple[bytes, ...] | None, ...]


def log_filter(value: Any, name: str) -> LogFilter:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise invalid_params(f"{name}: expected a filter object")
    unknown = set(value) - {"fromBlock", "toBlock", "blockHash", "address", "topics"}
    if unknown:
        raise invalid_params(f"{name}: unknown field {sorted(unknown)[0]!r}")
    block_hash = None
    if value.get("blockHash") is not None:
        if value.get("fromBlock") is not None or value.get("toBlock") is not None:
            raise invalid_params(f"{name}: blockHash cannot be combined with fromBlock/toBlock")
        block_hash = hash32(value["blockHash"], f"{name}.blockHash")
    raw_address = value.get("address")
    if raw_address is None:
        addresses: tuple[Address, ...] = ()
    elif isinstance(raw_address, list):
        addresses = tuple(address(a, f"{name}.address[{i}]") for i, a in enumerate(raw_address))
    else:
        addresses = (address(raw_address, f"{name}.address"),)
    raw_topics = value.get("topics") or []
    if not isinstance(raw_topics, list) or len(raw_topics) > 4:
        raise invalid_params(f"{name}.topics: expected a list of at most 4 entries")
    topics: list[tuple[bytes, ...] | None] = []
    for i, item in enumerate(raw_topics):
        if item is None:
            topics.append(None)
        elif isinstance(item, list):
            alternatives = tuple(hash32(t, f"{name}.topics[{i}]") for t in item if t is not None)
            topics.append(alternatives or None)
        else:
            topics.append((hash32(item, f"{name}.topics[{i}]"),))
    return LogFilter(
        from_block=block_ref(value.get("fromBlock"), f"{name}.fromBlock"),
        to_block=block_ref(value.get("toBlock"), f"{name}.toBlock"),
        block_hash=block_hash,
        addresses=addresses,
        topics=tuple(topics),
    )


__all__ = [
    "BlockRef",
    "CallArgs",
    "LogFilter",
    "RpcError",
    "address",
    "arg",
    "block_ref",
    "call_args",
    "data",
    "hash32",
    "log_filter",
    "quantity",
]
