"""keccak-256 for the client's hot paths: consent ids and term codes, hundreds per batch.

``eth_utils.keccak`` goes through ``eth_hash.auto``, which here is pycryptodome's Python
wrapper (~30 us a digest with its checks). When the optional ``safe-pysha3`` C extension is
installed (``collective[node]``), :func:`keccak256` calls it directly (~2 us); otherwise it is
``eth_utils.keccak``. The fast path is checked against known digests before it is used, so the
result is bit for bit the same either way. (The node swaps eth_hash's own hasher process-wide:
:mod:`collective.node.execution.keccak`; the client leaves other libraries' hashing alone.)
"""

from __future__ import annotations

from collections.abc import Callable

from eth_utils.crypto import keccak as _eth_keccak

_EMPTY = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
_ABC = bytes.fromhex("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")


def _portable(data: bytes) -> bytes:
    return bytes(_eth_keccak(data))


def pysha3() -> Callable[[bytes | bytearray], bytes]:
    """keccak256 on the ``safe-pysha3`` C extension (``sha3.keccak_256``).

    Raises:
        ImportError: the extension is not installed.
    """
    from sha3 import keccak_256  # type: ignore[import-not-found]

    def keccak256(data: bytes | bytearray) -> bytes:
        return bytes(keccak_256(data).digest())

    return keccak256


def works(candidate: Callable[[bytes | bytearray], bytes]) -> bool:
    """Whether ``candidate`` gives Ethereum's keccak-256 of two known inputs (``b""`` and
    ``b"abc"``, the second as a bytearray); False if it raises."""
    try:
        return candidate(b"") == _EMPTY and candidate(bytearray(b"abc")) == _ABC
    except Exception:  # a broken build of an extension: not usable
        return False


def _fastest() -> Callable[[bytes], bytes]:
    try:
        fast = pysha3()
    except ImportError:
        return _portable
    return fast if works(fast) else _portable


keccak256: Callable[[bytes], bytes] = _fastest()
"""keccak256(data) -> 32 bytes (the Ethereum hash, not NIST SHA3-256)."""

__all__ = ["keccak256", "pysha3", "works"]
