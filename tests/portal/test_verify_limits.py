"""The receipt check's rate limit counts receipts, not uploads: a file of MAX_RECEIPTS
receipts costs as much as that many single uploads (each receipt is ~15 node calls), with a
clock of the test's own (no chain)."""

from __future__ import annotations

from collective.portal.ratelimit import TokenBucket
from collective.portal.verify import CLIENT_LIMIT, MAX_RECEIPTS, admit


def test_a_file_of_receipts_takes_a_token_for_each() -> None:
    now = [0.0]
    bucket = TokenBucket(*CLIENT_LIMIT, clock=lambda: now[0])
    rate, burst = CLIENT_LIMIT
    assert burst == MAX_RECEIPTS
    assert admit(bucket, "203.0.113.7", MAX_RECEIPTS) == 0.0  # the whole burst at once
    assert admit(bucket, "203.0.113.7", 1) > 0  # nothing left for even one more
    assert admit(bucket, "198.51.100.1", 1) == 0.0  # another client has its own
    now[0] += 3 / rate  # three receipts' worth of refill
    assert admit(bucket, "203.0.113.7", 3) == 0.0
    assert admit(bucket, "203.0.113.7", 1) > 0
