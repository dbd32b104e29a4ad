"""Values between their two spellings: JSON-RPC's (hex strings) and web3's (ints, HexBytes,
checksummed addresses in ``AttributeDict``).

A :class:`~collective.chain.backend.Backend` speaks JSON-RPC only; the
:class:`~collective.chain.Chain` methods return web3's shapes, as they did when they called
web3. :func:`to_rpc` writes parameters, :func:`web3_result` reads results with web3's own
result formatters (one table per method), :func:`receipt_from_rpc` is the fast path for the
transaction receipts every send waits for, and :func:`decode_call` decodes an ``eth_call``'s
return data exactly as a web3 ``ContractFunction.call()`` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, cast

from hexbytes import HexBytes
from web3._utils.abi import map_abi_data, named_tree, recursive_dict_to_namedtuple
from web3._utils.method_formatters import PYTHONIC_RESULT_FORMATTERS
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS
from web3.contract.contract import ContractFunction
from web3.datastructures import AttributeDict
from web3.types import RPCEndpoint, TxReceipt

from collective.chain.codec import checksum


def to_rpc(value: Any) -> Any:
    """``value`` in JSON-RPC's spelling: ints as hex quantities, bytes as ``0x`` hex, mappings
    and sequences item by item; strings, booleans and None unchanged.

    Args:
        value: a parameter or a result in Python's shapes (web3's or eth-tester's).

    Returns:
        The JSON-encodable equivalent.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {key: to_rpc(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_rpc(item) for item in value]
    return value


def web3_result(method: str, result: Any) -> Any:
    """The JSON-RPC ``result`` of ``method`` in the shape web3's ``w3.eth`` returns it.

    Args:
        method: the JSON-RPC method that was answered, e.g. ``"eth_getBlockByNumber"``.
        result: its JSON-RPC result.

    Returns:
        web3's shape: quantities as ints, hashes as HexBytes, addresses checksummed, dicts as
        (recursive) ``AttributeDict``; None stays None.
    """
    formatter = PYTHONIC_RESULT_FORMATTERS.get(RPCEndpoint(method))
    formatted = formatter(result) if formatter is not None and result is not None else result
    if isinstance(formatted, dict):
        return AttributeDict.recursive(formatted)
    if isinstance(formatted, list):
        return [
            AttributeDict.recursive(item) if isinstance(item, dict) else item for item in formatted
        ]
    return formatted


def receipt_from_rpc(raw: Mapping[str, Any]) -> TxReceipt:
    """A JSON-RPC transaction receipt in web3's shape, without web3's (slow, recursive)
    formatters: what :meth:`Chain.wait` returns for every transaction.

    Args:
        raw: the ``eth_getTransactionReceipt`` result.

    Returns:
        The receipt as web3's ``TxReceipt`` (``AttributeDict``), its logs included.
    """
    ints = ("blockNumber", "gasUsed", "cumulativeGasUsed", "status", "transactionIndex")
    receipt: dict[str, Any] = dict(raw)
    for key in (*ints, "effectiveGasPrice", "type"):
        if isinstance(raw.get(key), str):
            receipt[key] = int(raw[key], 16)
    for key in ("transactionHash", "blockHash", "logsBloom"):
        if raw.get(key):
            receipt[key] = HexBytes(raw[key])
    for key in ("from", "to", "contractAddress"):
        if raw.get(key):
            receipt[key] = checksum(raw[key])
    receipt["logs"] = [
        AttributeDict(
            {
                **log,
                "address": checksum(log["address"]),
                "topics": [HexBytes(topic) for topic in log["topics"]],
                "data": HexBytes(log["data"]),
                "blockNumber": int(log["blockNumber"], 16),
                "transactionHash": HexBytes(log["transactionHash"]),
                "transactionIndex": int(log["transactionIndex"], 16),
                "blockHash": HexBytes(log["blockHash"]),
                "logIndex": int(log["logIndex"], 16),
            }
        )
        for log in raw.get("logs", [])
    ]
    return cast(TxReceipt, AttributeDict(receipt))


def decode_call(fn: ContractFunction, data: bytes) -> Any:
    """``fn``'s return values from an ``eth_call``'s return ``data``, as ``fn.call()`` gives
    them: one output alone, several as a list (named tuples when the contract was built with
    ``decode_tuples``), addresses checksummed.

    Raises:
        eth_abi.exceptions.DecodingError: ``data`` does not hold ``fn``'s outputs (no code
            at the address, or another ABI).
    """
    from eth_utils.abi import get_abi_output_types

    output_types = get_abi_output_types(fn.abi)
    values = fn.w3.codec.decode(output_types, data)
    normalizers = itertools.chain(BASE_RETURN_NORMALIZERS, fn._return_data_normalizers or ())
    normalized: Any = map_abi_data(normalizers, output_types, values)
    if fn.decode_tuples and fn.abi["type"] == "function":
        normalized = recursive_dict_to_namedtuple(named_tree(fn.abi["outputs"], normalized))
    if len(normalized) == 1:
        return normalized[0]
    return normalized


__all__ = ["decode_call", "receipt_from_rpc", "to_rpc", "web3_result"]
