"""Rate limits for the relay endpoint: a token bucket per key, kept in memory.

Each key (an identity address, a client IP address) has a bucket of ``burst`` tokens that
refills at ``rate`` tokens per second; a request takes one token or is refused with the
seconds until one is back (sent as ``Retry-After``, RFC 9110 section 10.2.3). The buckets
live in this process only: a portal run as several processes behind a balancer limits each
process separately, and a restart forgets them, which is acceptable for a guard against
a client draining the relayer's gas, not an accounting. Idle full buckets are dropped so the
table stays as small as the set of recent clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from collective.errors import InvalidInputError
from collective.portal.problems import RateLimited


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    """Token buckets by key: ``burst`` requests at once, then ``rate`` per second.

    Args:
        rate: tokens added per second (> 0).
        burst: the bucket's size (>= 1).
        clock: monotonic seconds (default :func:`time.monotonic`; a test may pass its own).
        max_keys: buckets kept before full idle ones are dropped.

    Raises:
        InvalidInputError: ``rate`` <= 0 or ``burst`` < 1.

    Thread-safe: the portal's endpoints run in a thread pool.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise InvalidInputError(
                f"a token bucket needs rate > 0 and burst >= 1, not {rate}, {burst}"
            )
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token from ``key``'s bucket.

        Returns:
            0.0 when the request may go ahead; else the seconds until a token is back (the
            request must be refused, nothing was taken).
        """
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]


@dataclass(frozen=True)
class RateLimits:
    """The relay endpoint's limits: per identity and per client address, each
    ``(rate per second, burst)``. Defaults: an identity 10 at once then 1 per 6 s (a person
    clicks, a script floods); a client address 30 at once then 1 per second (a household or
    office behind one address)."""

    per_identity: tuple[float, int] = (1 / 6, 10)
    per_client: tuple[float, int] = (1.0, 30)


class RelayBuckets:
    """A relay endpoint's two budgets: one per client address, one per signing identity
    (what the endpoint keys it by: an (identity, signer) pair, an owner key).

    Args:
        limits: the per-identity and per-client ``(rate per second, burst)`` (default
            :class:`RateLimits`).
    """

    def __init__(self, limits: RateLimits | None = None) -> None:
        limits = limits or RateLimits()
        self._per_identity = TokenBucket(*limits.per_identity)
        self._per_client = TokenBucket(*limits.per_client)

    def take_client(self, client_address: str) -> None:
        """Take a token of ``client_address``'s (an IP address) bucket.

        Raises:
            RateLimited: it is empty.
        """
        wait = self._per_client.take(f"client:{client_address}")
        if wait:
            raise RateLimited("too many requests from your network address", retry_after=wait)

    def take_identity(self, key: str, what: str) -> None:
        """Take a token of the bucket keyed ``key``.

        Args:
            key: the budget's key (e.g. ``identity:<identity>:<signer>``, lowercase hex).
            what: the refusal's sentence (``too many requests for this identity``).

        Raises:
            RateLimited: it is empty.
        """
        wait = self._per_identity.take(key)
        if wait:
            raise RateLimited(what, retry_after=wait)


__all__ = ["RateLimits", "RelayBuckets", "TokenBucket"]
