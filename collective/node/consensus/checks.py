"""CheckTx answers awaited by the validator's own JSON-RPC: what ``broadcast_tx_async`` does not
say.

``eth_sendRawTransaction`` on a validator answers with CheckTx's verdict (the hash, or why the
transaction was refused). CometBFT's ``broadcast_tx_sync`` gives that verdict but handles a
batch one transaction at a time, each a round trip to the application over the ABCI socket
(and, in CometBFT v0.38's socket client, a flush timer per request); ``broadcast_tx_async``
hands a whole batch to the mempool at once, in order, and answers before CheckTx runs.
The application runs in this same process, so the sealer (:mod:`collective.node.consensus.sealer`)
broadcasts asynchronously and waits here for the CheckTx answers of its transactions:
:meth:`CheckAnswers.expect` before broadcasting, :meth:`CheckAnswers.answer` from CheckTx
(first checks only, not the mempool's re-checks), :meth:`Expected.wait` after.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

Verdict = tuple[int, str]
"""CheckTx's ``code`` (0: admitted) and ``log`` (the reason of a refusal)."""


class Expected:
    """The CheckTx answers one broadcast waits for (made by :meth:`CheckAnswers.expect`)."""

    def __init__(self, owner: CheckAnswers, raws: Iterable[bytes]) -> None:
        self._owner = owner
        self.raws = frozenset(raws)
        self.verdicts: dict[bytes, Verdict] = {}

    def wait(self, raws: Iterable[bytes], timeout: float) -> dict[bytes, Verdict]:
        """Block until CheckTx has answered for every one of ``raws`` (a subset of those
        expected: the ones CometBFT took into its mempool) or ``timeout`` seconds pass, then
        stop expecting any.

        Returns: raw transaction -> its verdict, for those answered in time (a transaction
        missing was not checked: CometBFT stopped or lost its ABCI connection)."""
        wanted = set(raws)
        deadline = time.monotonic() + timeout
        condition = self._owner.condition
        with condition:
            try:
                while not wanted <= self.verdicts.keys():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    condition.wait(left)
                return {raw: self.verdicts[raw] for raw in wanted if raw in self.verdicts}
            finally:
                self._owner.forget(self)


class CheckAnswers:
    """Who waits for which transaction's CheckTx answer; thread-safe (CheckTx answers on an
    ABCI connection thread, JSON-RPC waits on its request's thread)."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self._waiting: dict[bytes, list[Expected]] = {}

    def expect(self, raws: Iterable[bytes]) -> Expected:
        """Start collecting the CheckTx answers for ``raws`` (raw signed transactions); call
        before handing them to CometBFT, then :meth:`Expected.wait`."""
        expected = Expected(self, raws)
        with self.condition:
            for raw in expected.raws:
                self._waiting.setdefault(raw, []).append(expected)
        return expected

    def answer(self, raw: bytes, code: int, log: str) -> None:
        """CheckTx (a first check) judged ``raw``: ``code`` 0 admitted it, else ``log`` says
        why not. Cheap when nobody waits for it (a transaction gossiped by a peer)."""
        if raw not in self._waiting:  # a racy peek is fine: expect() ran before the broadcast
            return
        with self.condition:
            for expected in self._waiting.get(raw, ()):
                expected.verdicts[raw] = (code, log)
            self.condition.notify_all()

    def forget(self, expected: Expected) -> None:
        """Stop collecting for ``expected`` (called by :meth:`Expected.wait`; the condition's
        lock is held)."""
        for raw in expected.raws:
            waiters = self._waiting.get(raw)
            if waiters is not None:
                waiters.remove(expected)
                if not waiters:
                    del self._waiting[raw]


__all__ = ["CheckAnswers", "Expected", "Verdict"]
