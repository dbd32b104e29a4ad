"""Who decides a block's contents and when: the seam between the pool and the chain.

The pool (:mod:`collective.node.pool`) admits transactions; :class:`NodeChain
<collective.node.core.NodeChain>` executes a block and commits it. A :class:`Sealer` sits
between them and decides *when* a block is made and *what* goes in it. The node calls it at
four points, and nowhere else decides to seal:

- :meth:`Sealer.start` when the server starts serving;
- :meth:`Sealer.before_read` before answering a read that follows writes in the same
  JSON-RPC batch (so "send, then fetch the receipt" in one batch sees the sealed block);
- :meth:`Sealer.after_request` after a whole request (one call or a batch) was answered;
- :meth:`Sealer.close` when the node stops.

Two local-authority sealers ship today (this node is the only authority, so sealing is its own
decision and instant finality is free):

- :class:`InstantSealer` (``--block-time instant``, the default): a block per request that
  brought transactions, sealed before the request is answered; a batch of writes becomes one
  block (sealed at its first read, or after it).
- :class:`IntervalSealer` (``--block-time SECONDS``): whatever the pool holds, one block every
  that many seconds, on a thread of its own.

Both keep the pool when a block cannot be stored (the disk is full): the failure is logged
once, new transactions are refused with it (:attr:`NodeChain.storage_error`) while reads go on,
and sealing is retried every :data:`RETRY_SECONDS` until a block commits.

**A consensus engine next (CometBFT, issue 12).** With ``--consensus cometbft`` the decision
leaves this process: CometBFT's proposer picks a block's transactions and the validators agree
on it. That sealer implements the same four points over ABCI 2.0 (the application side of the
socket):

- ``CheckTx`` admits into CometBFT's mempool with the same checks as the pool
  (:func:`collective.node.admission.admit` against the latest committed state), and
  ``eth_sendRawTransaction`` forwards the raw bytes to CometBFT
  (``broadcast_tx_async``, then waiting for the validator's own CheckTx verdicts) instead of
  pooling them here; :meth:`before_read` and
  :meth:`after_request` seal nothing (blocks come from consensus, finality is immediate).
- ``PrepareProposal`` / ``ProcessProposal`` re-check each transaction of a proposed block
  against the block's *starting* state -- the rule :meth:`NodeChain.seal` applies today
  (AccountRules ``transactionAllowed``, nonce order, the block gas limit) -- and reject a
  proposal that breaks one.
- ``FinalizeBlock`` executes the decided transactions as :meth:`NodeChain.seal` executes
  pooled ones today -- the one change the chain needs is an explicit transaction list, with
  CometBFT's header time as the timestamp and the proposer as the coinbase (deterministic:
  no wall clock) -- and returns the state root as ``app_hash``.
- ``Commit`` is the store's atomic block commit (already part of sealing); after a crash,
  the ABCI handshake (``Info`` -> last height and app hash) replays what the store missed.
- :meth:`start` connects to CometBFT; :meth:`close` disconnects without sealing (a validator
  never seals on its own).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

from collective.node.core import NodeChain, Sealed
from collective.node.errors import RpcError
from collective.node.storage import DamagedError, StorageError

RETRY_SECONDS = 1.0  # between attempts to seal while the database cannot be written
log = logging.getLogger("collective.node")


class Sealer(ABC):
    """The decision of a block's contents and timing for one :class:`NodeChain`.

    Every method is called by the node with no lock held, and takes :attr:`NodeChain.lock`
    itself around what it does to the chain."""

    def __init__(self, chain: NodeChain) -> None:
        self.chain = chain
        # where eth_sendRawTransaction's bytes go instead of this node's pool (a consensus
        # engine's mempool: collective.node.consensus); None pools them here
        self.forward: Callable[[bytes], bytes] | None = None
        # the same for many at once: each one's hash or refusal (RpcError), in order
        self.forward_many: Callable[[list[bytes]], list[bytes | RpcError]] | None = None

    @property
    @abstractmethod
    def describe(self) -> str:
        """How blocks are made, for a person: ``instant``, ``2 s``."""

    def start(self) -> None:  # noqa: B027 - sealing on demand needs nothing started
        """Begin sealing on the sealer's own schedule, if it has one (idempotent)."""

    def before_read(self) -> list[Sealed]:
        """A read is about to be answered after writes of the same batch.

        Returns: the blocks sealed now (none by default)."""
        return []

    @abstractmethod
    def after_request(self) -> list[Sealed]:
        """A request (one call or a whole batch) was answered but not yet sent.

        Returns: the blocks sealed now."""

    @abstractmethod
    def close(self) -> None:
        """Stop sealing; what the pool still holds is the sealer's to settle (the chain
        stays open: the node closes it)."""


class LocalAuthority(Sealer):
    """This node is the authority: it seals the pool itself (see the module doc)."""

    def __init__(self, chain: NodeChain) -> None:
        super().__init__(chain)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def seal(self, *, everything: bool) -> list[Sealed]:
        """Seal the pool (all of it, or one block) under the chain's lock.

        A block that cannot be stored leaves the pool as it was and sets
        :attr:`NodeChain.storage_error` (logged once); the next block that commits clears it.
        Returns: the blocks sealed (none when the store failed). Raises: nothing of the
        store's; any other error of execution propagates."""
        chain = self.chain
        with chain.lock:
            try:
                sealed = chain.seal_all() if everything else [chain.seal()]
            except (StorageError, DamagedError) as exc:
                if chain.storage_error is None:
                    log.error(
                        "%s; %d answered transactions wait in the pool, sealing is retried "
                        "every %s s",
                        exc.message,
                        len(chain.pending.txs),
                        RETRY_SECONDS,
                    )
                chain.storage_error = exc.message
                return []
            if chain.storage_error is not None:
                log.warning("the chain database is writable again: sealing resumed")
                chain.storage_error = None
            try:  # rows of what left the pool unmined (the block's own went with it)
                chain.flush_journal()
            except StorageError as exc:
                log.error("%s", exc.message)
            return sealed

    def _period(self) -> float:
        """Seconds between the thread's turns."""
        return RETRY_SECONDS

    def _turn(self) -> None:
        """One turn of the thread: retry a failed seal of the pool."""
        with self.chain.lock:
            if self.chain.storage_error is not None and self.chain.pending.txs:
                self.seal(everything=True)

    def start(self) -> None:
        """Start the sealing thread (a block per period, or retries of a failed seal)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sealer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._period()):
            self._turn()

    def close(self) -> None:
        """Stop the thread, then seal what the pool holds.

        Every transaction in the pool was answered with its hash, so an orderly stop seals
        them rather than dropping them: sealing is this node's own decision (it is the
        authority), costs nothing while the node runs, and leaves no window in which a
        restarted node would re-admit them under other rules (AccountRules, nonces) than
        the ones they were answered under. What cannot be sealed (the database cannot be
        written) is logged with every hash."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        chain = self.chain
        with chain.lock:
            if chain.pending.txs:
                self.seal(everything=True)
                for tx in chain.pending.txs:
                    log.error(
                        "transaction 0x%s was not sealed before the node stopped: %s",
                        bytes(tx.hash).hex(),
                        chain.storage_error,
                    )


class InstantSealer(LocalAuthority):
    """A block per request that brought transactions, before the request is answered."""

    @property
    def describe(self) -> str:
        """``instant``."""
        return "instant"

    def before_read(self) -> list[Sealed]:
        """Seal what earlier writes of the batch pooled, so the read sees their block."""
        return self.after_request()

    def after_request(self) -> list[Sealed]:
        """Seal the whole pool (blocks as full as the gas limit allows) if it holds any."""
        if not self.chain.pending.txs:  # the common read: no lock taken
            return []
        return self.seal(everything=True)


class IntervalSealer(LocalAuthority):
    """One block of what the pool holds every ``block_time`` seconds."""

    def __init__(self, chain: NodeChain, block_time: float) -> None:
        super().__init__(chain)
        self.block_time = block_time

    @property
    def describe(self) -> str:
        """The period, e.g. ``2 s``."""
        return f"{self.block_time:g} s"

    def _period(self) -> float:
        return self.block_time

    def _turn(self) -> None:
        with self.chain.lock:
            if self.chain.pending.txs:
                self.seal(everything=False)

    def after_request(self) -> list[Sealed]:
        """Nothing: blocks come on the period."""
        return []


def local_authority(chain: NodeChain, block_time: float | None) -> LocalAuthority:
    """The sealer for ``--block-time``: :class:`InstantSealer` for None, else
    :class:`IntervalSealer` with that period in seconds (> 0)."""
    if block_time is None:
        return InstantSealer(chain)
    return IntervalSealer(chain, block_time)


__all__ = [
    "RETRY_SECONDS",
    "InstantSealer",
    "IntervalSealer",
    "LocalAuthority",
    "Sealer",
    "local_authority",
]
