"""Blocks, transactions, receipts and logs in the JSON shapes Ethereum clients expect.

Rendered once, when a block is sealed, and stored as text; every read afterwards is a lookup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI

ZERO_HASH = "0x" + "00" * 32
EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps with options
# builds an encoder per call


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (no spaces), as ``json.dumps(value, separators=(",",
    ":"))``. Raises TypeError for a value JSON cannot hold."""
    return _ENCODER.encode(value)


def json_array(texts: list[str]) -> str:
    """JSON texts (rendered values) as one JSON array text, built in one copy: an answer of
    stored logs or receipts may be megabytes, and ``"[" + ",".join(texts) + "]"`` copies it
    three times. ``texts`` is left as it was."""
    if len(texts) < 2:
        return "[" + ",".join(texts) + "]"
    return ",".join(["[" + texts[0], *texts[1:-1], texts[-1] + "]"])


def hexint(value: int) -> str:
    """A JSON-RPC quantity: ``value`` as 0x-hex without leading zeros (``0x0`` for zero)."""
    return hex(value)


def hexbytes(value: bytes) -> str:
    """JSON-RPC data: ``value`` as 0x-hex, two digits a byte."""
    return "0x" + value.hex()


def address(value: bytes | None) -> str | None:
    """A 20-byte address as lower-case 0x-hex; None for none (empty ``to`` of a create)."""
    return None if not value else "0x" + bytes(value).hex()


def topic(value: int | bytes) -> bytes:
    """A log topic as 32 bytes (py-evm hands them as ints or bytes)."""
    return value.to_bytes(32, "big") if isinstance(value, int) else bytes(value)


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    """The wei per gas ``tx`` pays in a block of ``base_fee`` (EIP-1559: the legacy and
    access-list price, else min(max fee, base fee + tip))."""
    if tx.type_id is None or tx.type_id == 1:
        return int(tx.gas_price)
    return min(int(tx.max_fee_per_gas), base_fee + int(tx.max_priority_fee_per_gas))


def created_address(tx: SignedTransactionAPI) -> bytes | None:
    """The address a contract-creating ``tx`` creates (sender and nonce); None for a call."""
    if tx.to:
        return None
    return bytes(generate_contract_address(tx.sender, tx.nonce))


def transaction(
    tx: SignedTransactionAPI,
    *,
    block_hash: bytes | None,
    block_number: int | None,
    index: int | None,
    base_fee: int | None,
) -> dict[str, Any]:
    """A transaction object (``eth_getTransactionByHash``)."""
    type_id = tx.type_id or 0
    out: dict[str, Any] = {
        "type": hex(type_id),
        "hash": hexbytes(tx.hash),
        "nonce": hexint(tx.nonce),
        "blockHash": hexbytes(block_hash) if block_hash else None,
        "blockNumber": hexint(block_number) if block_number is not None else None,
        "transactionIndex": hexint(index) if index is not None else None,
        "from": address(tx.sender),
        "to": address(tx.to),
        "value": hexint(tx.value),
        "gas": hexint(tx.gas),
        "input": hexbytes(tx.data),
        "r": hexint(tx.r),
        "s": hexint(tx.s),
    }
    if type_id == 0:
        out["gasPrice"] = hexint(tx.gas_price)
        out["v"] = hexint(getattr(tx, "v", 0))
        if tx.chain_id is not None:
            out["chainId"] = hexint(tx.chain_id)
        return out
    out["chainId"] = hexint(tx.chain_id or 0)
    out["v"] = hexint(tx.y_parity)
    out["yParity"] = hexint(tx.y_parity)
    out["accessList"] = [
        {
            "address": address(item[0]),
            "storageKeys": [hexbytes(topic(key)) for key in item[1]],
        }
        for item in tx.access_list
    ]
    if type_id == 1:
        out["gasPrice"] = hexint(tx.gas_price)
        return out
    out["maxFeePerGas"] = hexint(tx.max_fee_per_gas)
    out["maxPriorityFeePerGas"] = hexint(tx.max_priority_fee_per_gas)
    price = effective_gas_price(tx, base_fee) if base_fee is not None else tx.max_fee_per_gas
    out["gasPrice"] = hexint(price)
    if type_id == 3:
        out["maxFeePerBlobGas"] = hexint(tx.max_fee_per_blob_gas)
        out["blobVersionedHashes"] = [hexbytes(h) for h in tx.blob_versioned_hashes]
    if type_id == 4:
        out["authorizationList"] = [
            {
                "chainId": hexint(auth.chain_id),
                "address": address(auth.address),
                "nonce": hexint(auth.nonce),
                "yParity": hexint(auth.y_parity),
                "r": hexint(auth.r),
                "s": hexint(auth.s),
            }
            for auth in tx.authorization_list
        ]
    return out


def log_entry(
    log_address: bytes,
    topics: Sequence[bytes],
    data: bytes,
    *,
    block_hash: bytes,
    block_number: int,
    block_timestamp: int,
    tx_hash: bytes,
    tx_index: int,
    log_index: int,
) -> dict[str, Any]:
    """A log object (``eth_getLogs``, a receipt's ``logs``), with ``blockTimestamp``."""
    return {
        "address": address(log_address),
        "topics": [hexbytes(t) for t in topics],
        "data": hexbytes(data),
        "blockHash": hexbytes(block_hash),
        "blockNumber": hexint(block_number),
        "blockTimestamp": hexint(block_timestamp),
        "transactionHash": hexbytes(tx_hash),
        "transactionIndex": hexint(tx_index),
        "logIndex": hexint(log_index),
        "removed": False,
    }


def receipt(
    tx: SignedTransactionAPI,
    rcpt: ReceiptAPI,
    *,
    gas_used: int,
    logs: list[dict[str, Any]],
    block_hash: bytes,
    block_number: int,
    index: int,
    base_fee: int,
) -> dict[str, Any]:
    """A receipt object (``eth_getTransactionReceipt``)."""
    created = created_address(tx)
    return {
        "type": hex(tx.type_id or 0),
        "transactionHash": hexbytes(tx.hash),
        "transactionIndex": hexint(index),
        "blockHash": hexbytes(block_hash),
        "blockNumber": hexint(block_number),
        "from": address(tx.sender),
        "to": address(tx.to),
        "cumulativeGasUsed": hexint(rcpt.gas_used),
        "gasUsed": hexint(gas_used),
        "effectiveGasPrice": hexint(effective_gas_price(tx, base_fee)),
        "contractAddress": address(created) if created else None,
        "logs": logs,
        "logsBloom": hexbytes(int(rcpt.bloom).to_bytes(256, "big")),
        "status": "0x1" if rcpt.state_root == b"\x01" else "0x0",
    }


def block(header: Any, *, size: int) -> dict[str, Any]:
    """A block object without ``transactions`` (added when it is read)."""
    return {
        "number": hexint(header.block_number),
        "hash": hexbytes(header.hash),
        "parentHash": hexbytes(header.parent_hash),
        "nonce": hexbytes(header.nonce),
        "sha3Uncles": hexbytes(header.uncles_hash),
        "logsBloom": hexbytes(int(header.bloom).to_bytes(256, "big")),
        "transactionsRoot": hexbytes(header.transaction_root),
        "stateRoot": hexbytes(header.state_root),
        "receiptsRoot": hexbytes(header.receipt_root),
        "miner": address(header.coinbase) or "0x" + "00" * 20,
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "extraData": hexbytes(header.extra_data),
        "size": hexint(size),
        "gasLimit": hexint(header.gas_limit),
        "gasUsed": hexint(header.gas_used),
        "timestamp": hexint(header.timestamp),
        "uncles": [],
        "baseFeePerGas": hexint(header.base_fee_per_gas),
        "mixHash": hexbytes(header.mix_hash),
        "withdrawalsRoot": hexbytes(header.withdrawals_root),
        "withdrawals": [],
        "blobGasUsed": hexint(header.blob_gas_used),
        "excessBlobGas": hexint(header.excess_blob_gas),
        "parentBeaconBlockRoot": hexbytes(header.parent_beacon_block_root),
        "requestsHash": hexbytes(header.requests_hash),
    }


def block_size(header: BlockHeaderAPI, raw_txs: Sequence[bytes]) -> int:
    """Length of the RLP-encoded block: header, transactions, empty uncles and withdrawals."""
    body = sum(
        len(raw) + (1 if len(raw) < 56 else 1 + (len(raw).bit_length() + 7) // 8) for raw in raw_txs
    )
    header_len = len(rlp.encode(header))
    payload = header_len + body + (1 if body < 56 else 4) + 2
    return payload + (1 if payload < 56 else 1 + (payload.bit_length() + 7) // 8)


__all__ = ["block", "dumps", "json_array", "log_entry", "receipt", "transaction"]
