"""CheckAnswers: the validator's JSON-RPC waits there for its broadcasts' CheckTx verdicts."""

from __future__ import annotations

import threading
import time

from collective.node.consensus.checks import CheckAnswers


def test_a_broadcast_gets_the_verdicts_of_its_own_transactions_only() -> None:
    answers = CheckAnswers()
    expected = answers.expect([b"a", b"b", b"c"])
    answers.answer(b"gossiped", 0, "")  # nobody waits for it: ignored
    answers.answer(b"a", 0, "")

    def later() -> None:
        time.sleep(0.05)
        answers.answer(b"b", 1, "nonce too high")

    thread = threading.Thread(target=later)
    thread.start()
    # "c" was refused by CometBFT before CheckTx: not waited for
    verdicts = expected.wait([b"a", b"b"], timeout=5)
    thread.join()
    assert verdicts == {b"a": (0, ""), b"b": (1, "nonce too high")}
    answers.answer(b"c", 0, "")  # no longer expected: nothing kept
    assert expected.verdicts.keys() == {b"a", b"b"}


def test_a_transaction_never_checked_is_missing_after_the_timeout() -> None:
    answers = CheckAnswers()
    first, second = answers.expect([b"a", b"b"]), answers.expect([b"a"])
    answers.answer(b"a", 0, "")
    started = time.monotonic()
    assert first.wait([b"a", b"b"], timeout=0.1) == {b"a": (0, "")}
    assert 0.1 <= time.monotonic() - started < 2
    assert second.wait([b"a"], timeout=0) == {b"a": (0, "")}  # both waiters got it
