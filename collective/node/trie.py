"""Deprecated: moved to :mod:`collective.node.execution.trie`; this module re-exports its old
names (private ones too, for the callers written against 0.1) for one release."""

from collective._moved import warn_deprecated
from collective.node.execution.trie import (
    BLANK_ROOT,
    _hex_prefix,
    _nibbles,
    encode_node,
    encode_receipt,
    ordered_trie_root,
)

warn_deprecated(
    "collective.node.trie moved to collective.node.execution.trie", "collective.node.trie"
)

__all__ = [
    "BLANK_ROOT",
    "_hex_prefix",
    "_nibbles",
    "encode_node",
    "encode_receipt",
    "ordered_trie_root",
]
