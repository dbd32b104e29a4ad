"""The transaction pool: what is waiting to be sealed, what waits for a nonce gap, what left.

As geth's ``core/txpool/legacypool``, the pool keeps two parts:

- **pending**: transactions whose nonces follow the sender's state nonce without a gap, in
  arrival order (the sealer takes them first come, first served; a sender's come in nonce
  order);
- **queued**: transactions whose nonce lies ahead of the sender's next one (clients sending
  several transactions concurrently deliver them out of order). When the gap fills, they are
  *promoted* to pending in nonce order. The queue holds at most :data:`MAX_QUEUED_PER_SENDER`
  transactions of one sender and :data:`MAX_QUEUED` in all.

A transaction with the sender and nonce of one in the pool *replaces* it when it raises both
``maxFeePerGas`` and ``maxPriorityFeePerGas`` by at least :data:`PRICE_BUMP` percent (geth's
rule and words: ``replacement transaction underpriced`` otherwise). A transaction that leaves
the pool unmined -- replaced, evicted from a full queue, or refused when sealed -- is remembered
with the reason (:class:`Dropped`, the last :data:`MAX_DROPPED`), which ``eth_getTransactionByHash``
answers as ``transaction 0x… was dropped: replaced by transaction 0x…``.

Admission, which judges a transaction before :meth:`Pending.insert`, is
:mod:`collective.node.admission`. The pool itself is in memory and guarded by the chain's
lock.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eth.abc import SignedTransactionAPI

from collective.node.errors import rejected

if TYPE_CHECKING:
    pass

log = logging.getLogger("collective.node")
MAX_TX_SIZE = 128 * 1024  # geth's txMaxSize

MAX_DROPPED = 10_000  # dropped transactions remembered (oldest forgotten first)
MAX_QUEUED_PER_SENDER = 64  # geth's AccountQueue
MAX_QUEUED = 1024  # geth's GlobalQueue
PRICE_BUMP = 10  # percent a replacement must raise both fee caps by (geth's default)
MAX_ARRIVALS = 4096  # hashes of the latest admissions kept for newPendingTransactions


@dataclass(frozen=True)
class Dropped:
    """A transaction that was admitted to the pool but left it unmined, and why."""

    tx_hash: bytes
    sender: bytes
    nonce: int
    block: int  # the block being sealed (or next to be) when it was dropped
    reason: str  # e.g. "sender 0x... is not permitted by AccountRules at block 12"

    @property
    def message(self) -> str:
        """``transaction 0x… was dropped: <reason>``: what a client asking for it is told."""
        return f"transaction 0x{self.tx_hash.hex()} was dropped: {self.reason}"

    def to_json(self) -> dict[str, str]:
        """The JSON-RPC error ``data``: hash, from, nonce, block (0x-hex) and reason."""
        return {
            "hash": "0x" + self.tx_hash.hex(),
            "from": "0x" + self.sender.hex(),
            "nonce": hex(self.nonce),
            "block": hex(self.block),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Placement:
    """Where :meth:`Pending.check_nonce` found room for a transaction: ``replaces`` the one
    with its sender and nonce, or ``evicts`` a queued one to make room (or neither)."""

    queued: bool
    replaces: SignedTransactionAPI | None = None
    evicts: SignedTransactionAPI | None = None
    evict_reason: str = ""


@dataclass
class Pending:
    """Transactions accepted but not yet sealed (pending in arrival order, queued by sender
    and nonce); and the last ones dropped."""

    txs: list[SignedTransactionAPI] = field(default_factory=list)
    raw: dict[bytes, bytes] = field(default_factory=dict)  # hash -> raw bytes, pending + queued
    next_nonce: dict[bytes, int] = field(default_factory=dict)  # sender -> next pending nonce
    queued: dict[bytes, dict[int, SignedTransactionAPI]] = field(default_factory=dict)
    queued_count: int = 0
    dropped: OrderedDict[bytes, Dropped] = field(default_factory=OrderedDict)  # hash -> why
    # the latest admitted hashes and how many were ever admitted (for eth_subscribe
    # "newPendingTransactions": a watcher takes what arrived since the count it last saw)
    arrivals: deque[bytes] = field(default_factory=lambda: deque(maxlen=MAX_ARRIVALS))
    arrived: int = 0

    def clear(self) -> None:
        """Forget every pooled and dropped transaction (dev ``evm_revert``)."""
        self.txs.clear()
        self.raw.clear()
        self.next_nonce.clear()
        self.queued.clear()
        self.queued_count = 0
        self.dropped.clear()

    def arrived_since(self, count: int) -> list[bytes]:
        """The hashes admitted after the first ``count`` (the oldest may be forgotten)."""
        new = min(self.arrived - count, len(self.arrivals))
        return list(self.arrivals)[len(self.arrivals) - new :] if new > 0 else []

    def drop(self, found: Dropped) -> None:
        """Remember ``found`` (the oldest of :data:`MAX_DROPPED` is forgotten first)."""
        self.dropped[found.tx_hash] = found
        if len(self.dropped) > MAX_DROPPED:
            self.dropped.popitem(last=False)

    def find(self, tx_hash: bytes) -> SignedTransactionAPI | None:
        """The pooled (pending or queued) transaction with this hash."""
        if tx_hash not in self.raw:
            return None
        for tx in self.txs:
            if bytes(tx.hash) == tx_hash:
                return tx
        for by_nonce in self.queued.values():
            for tx in by_nonce.values():
                if bytes(tx.hash) == tx_hash:
                    return tx
        return None

    # --- admission ----------------------------------------------------------------------------

    def check_nonce(self, tx: SignedTransactionAPI, sender: bytes, state_nonce: int) -> Placement:
        """Where ``tx`` would go, or the error refusing it (nonce too low, replacement
        underpriced, queue full). Changes nothing."""
        nonce = int(tx.nonce)
        expected = self.next_nonce.get(sender, state_nonce)
        if nonce < state_nonce:
            raise rejected(f"nonce too low: next nonce {expected}, tx nonce {nonce}")
        if nonce < expected:
            old = self._pending_with(sender, nonce)
            if old is None:  # pragma: no cover - pending nonces run without gaps
                raise rejected(f"nonce too low: next nonce {expected}, tx nonce {nonce}")
            _check_bump(old, tx)
            return Placement(queued=False, replaces=old)
        if nonce == expected:
            return Placement(queued=False)
        mine = self.queued.get(sender, {})
        old = mine.get(nonce)
        if old is not None:
            _check_bump(old, tx)
            return Placement(queued=True, replaces=old)
        if len(mine) >= MAX_QUEUED_PER_SENDER:
            highest = max(mine)
            if nonce > highest:
                raise rejected(
                    f"txpool is full: sender 0x{sender.hex()} has {len(mine)} queued "
                    f"transactions waiting for nonce {expected} (at most "
                    f"{MAX_QUEUED_PER_SENDER}); tx nonce {nonce}"
                )
            return Placement(
                queued=True,
                evicts=mine[highest],
                evict_reason=(
                    f"evicted from the queue: sender 0x{sender.hex()} may queue at most "
                    f"{MAX_QUEUED_PER_SENDER} transactions ahead of its next nonce "
                    f"{expected}, and nonce {nonce} came in below this one"
                ),
            )
        if self.queued_count >= MAX_QUEUED:
            # as geth's truncateQueue, the sender queueing most pays: its highest nonce goes
            victim_sender = max(self.queued, key=lambda s: (len(self.queued[s]), s))
            theirs = self.queued[victim_sender]
            if victim_sender == sender or len(theirs) <= len(mine):
                raise rejected(
                    f"txpool is full: {self.queued_count} transactions are queued ahead of "
                    f"their senders' next nonces (at most {MAX_QUEUED}); tx nonce {nonce}, "
                    f"next nonce {expected}"
                )
            return Placement(
                queued=True,
                evicts=theirs[max(theirs)],
                evict_reason=(
                    f"evicted from the queue: the pool queues at most {MAX_QUEUED} "
                    f"transactions ahead of their senders' next nonces, and sender "
                    f"0x{victim_sender.hex()} queued the most"
                ),
            )
        return Placement(queued=True)

    def insert(
        self, tx: SignedTransactionAPI, sender: bytes, raw: bytes, place: Placement, block: int
    ) -> list[Dropped]:
        """Add ``tx`` where :meth:`check_nonce` placed it; promote queued transactions its
        nonce lets follow. Returns what left the pool for it (replaced or evicted)."""
        tx_hash = bytes(tx.hash)
        nonce = int(tx.nonce)
        gone: list[Dropped] = []
        self.raw[tx_hash] = raw
        self.arrivals.append(tx_hash)
        self.arrived += 1
        old = place.replaces
        if old is not None:
            old_hash = bytes(old.hash)
            del self.raw[old_hash]
            if place.queued:
                self.queued[sender][nonce] = tx
            else:
                index = next(i for i, t in enumerate(self.txs) if t is old)
                self.txs[index] = tx
            reason = (
                f"replaced by transaction 0x{tx_hash.hex()} (same sender and nonce, higher fees)"
            )
            gone.append(Dropped(old_hash, sender, nonce, block, reason))
        elif place.queued:
            evicted = place.evicts
            if evicted is not None:
                victim = bytes(evicted.sender)
                self._unqueue(victim, int(evicted.nonce))
                del self.raw[bytes(evicted.hash)]
                gone.append(
                    Dropped(
                        bytes(evicted.hash), victim, int(evicted.nonce), block, place.evict_reason
                    )
                )
            self.queued.setdefault(sender, {})[nonce] = tx
            self.queued_count += 1
        else:
            self.txs.append(tx)
            following = nonce + 1
            mine = self.queued.get(sender)
            while mine and following in mine:  # the gap is filled: promote what follows
                self.txs.append(mine.pop(following))
                self.queued_count -= 1
                following += 1
            if mine is not None and not mine:
                del self.queued[sender]
            self.next_nonce[sender] = following
        if self.dropped:
            self.dropped.pop(tx_hash, None)  # sent again and admitted: pooled once more
        for found in gone:
            self.drop(found)
        return gone

    def _pending_with(self, sender: bytes, nonce: int) -> SignedTransactionAPI | None:
        for tx in self.txs:
            if tx.nonce == nonce and bytes(tx.sender) == sender:
                return tx
        return None

    def _unqueue(self, sender: bytes, nonce: int) -> SignedTransactionAPI:
        mine = self.queued[sender]
        tx = mine.pop(nonce)
        self.queued_count -= 1
        if not mine:
            del self.queued[sender]
        return tx

    # --- after sealing ------------------------------------------------------------------------

    def take_queued(self, sender: bytes) -> list[SignedTransactionAPI]:
        """Remove and return ``sender``'s queued transactions (its pending ones were dropped:
        the nonces they wait for will not come)."""
        mine = self.queued.pop(sender, None)
        if not mine:
            return []
        self.queued_count -= len(mine)
        for tx in mine.values():
            self.raw.pop(bytes(tx.hash), None)
        return [mine[n] for n in sorted(mine)]

    def settle(self, leftover: list[SignedTransactionAPI], sealed: list[bytes]) -> None:
        """After a block: ``leftover`` is what stays pending, ``sealed`` the hashes mined."""
        self.txs = leftover
        raws = self.raw
        for tx_hash in sealed:
            raws.pop(tx_hash, None)
        if len(raws) != len(leftover) + self.queued_count:  # some were dropped
            keep = {bytes(tx.hash) for tx in leftover}
            for by_nonce in self.queued.values():
                keep.update(bytes(tx.hash) for tx in by_nonce.values())
            for tx_hash in [h for h in raws if h not in keep]:
                del raws[tx_hash]
        self.next_nonce = {}
        for tx in leftover:
            self.next_nonce[bytes(tx.sender)] = tx.nonce + 1


def _check_bump(old: SignedTransactionAPI, new: SignedTransactionAPI) -> None:
    """geth's rule: both fee caps strictly higher and at least :data:`PRICE_BUMP`% higher."""
    old_fee, old_tip = int(old.max_fee_per_gas), int(old.max_priority_fee_per_gas)
    fee, tip = int(new.max_fee_per_gas), int(new.max_priority_fee_per_gas)
    want_fee = old_fee * (100 + PRICE_BUMP) // 100
    want_tip = old_tip * (100 + PRICE_BUMP) // 100
    if fee <= old_fee or tip <= old_tip or fee < want_fee or tip < want_tip:
        raise rejected(
            f"replacement transaction underpriced: a replacement must raise maxFeePerGas and "
            f"maxPriorityFeePerGas by {PRICE_BUMP}% (have {fee} and {tip}, want at least "
            f"{max(want_fee, old_fee + 1)} and {max(want_tip, old_tip + 1)})"
        )


# --- admission ----------------------------------------------------------------------------------


__all__ = [
    "MAX_DROPPED",
    "MAX_QUEUED",
    "MAX_QUEUED_PER_SENDER",
    "MAX_TX_SIZE",
    "PRICE_BUMP",
    "Dropped",
    "Pending",
    "Placement",
]
