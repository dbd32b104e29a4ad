"""The record vocabulary every layer shares: ids, hashes and where an event sits.

Values at the API edge are strings in their canonical spelling, typed with :class:`NewType`
so mypy keeps an address from being passed where a transaction hash is expected:

==============  ======================================================================
``Address``     EIP-55 checksummed, ``0x`` + 40 hex digits (EIP-55)
``TxHash``      a transaction hash, ``0x`` + 64 lowercase hex digits
``ConsentId``   ``keccak256(abi.encode(identity, organization, purpose, category))``,
                ``0x`` + 64 lowercase hex digits (``ConsentRegistry.consentId``)
``Code``        a term's on-chain code: ``keccak256(utf8(name))`` as ``0x`` + 64 hex
``BlockNumber`` a block height, an ``int`` ≥ 0
==============  ======================================================================

"No expiry" is ``None`` at the API edge; :data:`NO_EXPIRY` (2**64 - 1) is its on-chain
spelling and never leaves the codec.

"Receipt" alone always means a *consent receipt* (ISO/IEC TS 27560, :mod:`collective.receipts`);
what a node returns for a mined transaction is a *transaction receipt* (``TxReceipt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

Address = NewType("Address", str)
TxHash = NewType("TxHash", str)
ConsentId = NewType("ConsentId", str)
Code = NewType("Code", str)
BlockNumber = NewType("BlockNumber", int)

NO_EXPIRY = 2**64 - 1
"""The contract's "never expires" (``type(uint64).max``); ``None`` at the API edge."""


def tx_hash(value: bytes | str) -> TxHash:
    """The canonical ``TxHash`` spelling of ``value`` (32 bytes, or hex with or without 0x).

    Raises:
        ValueError: ``value`` is not 32 bytes of hex.
    """
    raw = (
        bytes(value)
        if isinstance(value, bytes | bytearray)
        else bytes.fromhex(value.removeprefix("0x"))
    )
    if len(raw) != 32:
        raise ValueError(f"a transaction hash is 32 bytes, got {len(raw)}")
    return TxHash("0x" + raw.hex())


def expiry_from_chain(value: int) -> int | None:
    """The API-edge expiry for an on-chain ``uint64``: ``None`` for 0 and :data:`NO_EXPIRY`."""
    return None if value in (0, NO_EXPIRY) else value


@dataclass(frozen=True, slots=True)
class LogPosition:
    """Where an event sits on the chain: block height, transaction hash, index in the block.

    Orders by ``(block, log_index)``, the chain's own order of events.
    """

    block: int
    tx_hash: str
    log_index: int

    @property
    def block_number(self) -> int:
        """Deprecated spelling of :attr:`block` (``LogRef.block_number`` in 0.1)."""
        return self.block

    def __lt__(self, other: LogPosition) -> bool:
        return (self.block, self.log_index) < (other.block, other.log_index)


__all__ = [
    "NO_EXPIRY",
    "Address",
    "BlockNumber",
    "Code",
    "ConsentId",
    "LogPosition",
    "TxHash",
    "expiry_from_chain",
    "tx_hash",
]
