"""Deprecated: moved to :mod:`collective.node.execution.trie`; this module re-exports its old
names (private ones too, for the callers written against 0.1) for one release."""

import warnings

from collective.node.execution.trie import (
    BLANK_ROOT,
    _hex_prefix,
    _nibbles,
    encode_node,
    encode_receipt,
    ordered_trie_root,
)

warnings.warn(
    "collective.node.trie moved to collective.node.execution.trie (collective.node.trie goes "
    "away in 0.3)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "BLANK_ROOT",
    "_hex_prefix",
    "_nibbles",
    "encode_node",
    "encode_receipt",
    "ordered_trie_root",
]
