"""The root of an ordered Merkle-Patricia trie (transactions, receipts) built in one pass.

py-evm inserts item by item into a ``HexaryTrie``, re-hashing the path on every insert; a
block's transaction and receipt roots only need the final root, which a recursive build over
the sorted keys gives with one hash per node. Same result (tested against py-evm).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rlp
from eth.rlp.receipts import Receipt
from eth.vm.forks.berlin.receipts import TypedReceipt
from eth_utils.crypto import keccak

BLANK_ROOT = keccak(rlp.encode(b""))


_HEX_TO_NIBBLE = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))


def _nibbles(key: bytes) -> bytes:
    return key.hex().encode().translate(_HEX_TO_NIBBLE)


def _hex_prefix(nibbles: bytes, leaf: bool) -> bytes:
    flag = 2 if leaf else 0
    prefixed = bytes([flag + 1]) + nibbles if len(nibbles) % 2 else bytes([flag, 0]) + nibbles
    return bytes(prefixed[i] << 4 | prefixed[i + 1] for i in range(0, len(prefixed), 2))


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(size),)) + size


def encode_node(item: object) -> bytes:
    """RLP of a trie node: nested lists of byte strings (``rlp.encode`` without its sedes
    inference, which is most of its cost here)."""
    if item.__class__ is bytes:
        data: bytes = item  # type: ignore[assignment]
        if len(data) == 1 and data[0] < 0x80:
            return data
        return _length_prefix(len(data), 0x80) + data
    if item.__class__ is list:
        payload = b"".join([encode_node(child) for child in item])  # type: ignore[attr-defined]
        return _length_prefix(len(payload), 0xC0) + payload
    return bytes(rlp.encode(item))


def encode_receipt(receipt: Any) -> bytes:
    """A receipt's consensus encoding (``receipt.encode()``, built directly): the bytes its
    trie root is made of."""
    inner = getattr(receipt, "_inner", receipt)
    if inner.__class__ is not Receipt or (
        receipt is not inner and type(receipt).encode is not TypedReceipt.encode
    ):
        return bytes(receipt.encode())
    gas_used = inner.gas_used
    body = encode_node(
        [
            bytes(inner.state_root),
            gas_used.to_bytes((gas_used.bit_length() + 7) // 8, "big"),
            inner.bloom.to_bytes(256, "big"),
            [
                [bytes(log.address), [t.to_bytes(32, "big") for t in log.topics], bytes(log.data)]
                for log in inner.logs
            ],
        ]
    )
    return body if receipt.type_id is None else bytes((receipt.type_id,)) + body


def _reference(node: list[object] | bytes) -> object:
    """How a parent refers to ``node``: inline if its encoding is under 32 bytes."""
    encoded = encode_node(node)
    return node if len(encoded) < 32 else keccak(encoded)


def _build(items: Sequence[tuple[bytes, bytes]], depth: int) -> list[object]:
    """The node for ``items`` (sorted by nibble key, all sharing the first ``depth`` nibbles)."""
    if len(items) == 1:
        key, value = items[0]
        return [_hex_prefix(key[depth:], True), value]
    first, last = items[0][0], items[-1][0]
    common = depth
    while common < len(first) and common < len(last) and first[common] == last[common]:
        common += 1
    if common > depth:
        child = _build(items, common)
        return [_hex_prefix(first[depth:common], False), _reference(child)]
    branch: list[object] = [b""] * 17
    start = 0
    if len(items[0][0]) == depth:  # a key ends here (never for rlp(index) keys past the root)
        branch[16] = items[0][1]
        start = 1
    index = start
    while index < len(items):
        nibble = items[index][0][depth]
        end = index
        while end < len(items) and items[end][0][depth] == nibble:
            end += 1
        branch[nibble] = _reference(_build(items[index:end], depth + 1))
        index = end
    return branch


def ordered_trie_root(values: Sequence[bytes]) -> bytes:
    """Root of the trie mapping rlp(i) -> values[i] (a block's transactions or receipts)."""
    if not values:
        return bytes(BLANK_ROOT)
    items = sorted((_nibbles(rlp.encode(i)), value) for i, value in enumerate(values))
    return bytes(keccak(encode_node(_build(items, 0))))


__all__ = ["encode_node", "encode_receipt", "ordered_trie_root"]
