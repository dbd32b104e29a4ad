"""When a signed request was made and until when it may be relayed: nonces, deadlines, and the
chain's time both are counted from.

A signed consent request (:mod:`collective.client.signing`, and the disclosure consents of
:mod:`collective.client.disclosure_consent`) carries a nonce on the unix-millisecond scale: a
request signed later carries a larger one, so the subject's later intent wins whatever order
relayers use. :func:`issue_nonce` is the one rule every signer here follows, held under the
ceiling ConsentRegistry accepts. Every signed request also carries a deadline (unix seconds):
the last second a relay may be mined in, counted from :func:`chain_now`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from collective.chain.connection import Chain
from collective.errors import InvalidInputError

DEFAULT_DEADLINE = 3600  # seconds a signature stays relayable
NONCE_CLOCK_SKEW = 600_000  # ms a signed nonce may run ahead of the block time (the contract's)
NONCE_STEP = 1_000  # how far a signed nonce may run ahead of the consent's (the contract's)

# The last nonce this process signed per consent, so two requests signed in a row are ordered.
_ISSUED: dict[tuple[object, ...], int] = {}
_ISSUED_LOCK = threading.Lock()


def issue_nonce(key: tuple[object, ...], stored: int, chain_ms: int) -> int:
    """The nonce to sign a request for one consent with: max(``stored``, the local clock in
    unix ms held to ``chain_ms`` + NONCE_CLOCK_SKEW / 2, one past the last nonce this process
    issued under ``key``), never past what ConsentRegistry's ``_nonceCeiling`` accepts now
    (max(``stored`` + NONCE_STEP, ``chain_ms`` + NONCE_CLOCK_SKEW)). Use consents and
    disclosure consents follow the same rule.

    Args:
        key: the consent, with the chain id and ledger (a tuple of any hashables).
        stored: the consent's nonce on chain.
        chain_ms: the latest block's time in unix milliseconds.

    Returns:
        The nonce, also remembered under ``key`` so the next one is larger.
    """
    with _ISSUED_LOCK:
        clock = min(time.time_ns() // 1_000_000, chain_ms + NONCE_CLOCK_SKEW // 2)
        nonce = max(stored, clock, _ISSUED.get(key, -1) + 1)
        nonce = min(nonce, max(stored + NONCE_STEP, chain_ms + NONCE_CLOCK_SKEW))
        _ISSUED[key] = nonce
    return nonce


def signing_deadline(deadline: int | None, latest: Callable[[], int]) -> int:
    """The deadline (unix seconds) to sign a consent request with: ``deadline``, else
    :data:`DEFAULT_DEADLINE` seconds from now, counted from the later of the latest block's
    time and the wall clock (as :func:`relay_deadline`).

    Args:
        deadline: the deadline asked for (unix seconds), or None for the default.
        latest: gives the latest block's time (unix seconds); called only without
            ``deadline``.

    Returns:
        The deadline (unix seconds).

    Raises:
        ChainError: ``latest`` could not reach the node.
    """
    if deadline is not None:
        return deadline
    return max(latest(), int(time.time())) + DEFAULT_DEADLINE


def chain_now(chain: Chain) -> int:
    """Now on ``chain`` (unix seconds): the later of its latest block's time and the wall
    clock (an idle chain with instant sealing has an old latest block; its next one, where
    anything sent now lands, is stamped with the time it is mined).

    Raises:
        ChainError: the node could not be reached.
    """
    return max(chain.latest_timestamp(), int(time.time()))


def request_deadline(chain: Chain, deadline: int | None, default: int) -> int:
    """The deadline (unix seconds) to sign a disclosure or erasure request with:
    ``deadline``, else ``default`` seconds from now (:func:`relay_deadline`).

    Raises:
        InvalidInputError: ``deadline`` is already past by :func:`chain_now` (on an idle
            chain, by the clock: the request could never be relayed).
        ChainError: the node could not be reached.
    """
    now = chain_now(chain)
    until = now + default if deadline is None else deadline
    if until < now:
        raise InvalidInputError(f"the deadline (unix {until}) is already past (now {now})")
    return until


def relay_deadline(chain: Chain, valid_for: int) -> int:
    """The last unix second a signed request may be relayed in, ``valid_for`` seconds from
    now: from the wall clock or the chain's latest block, whichever is later (an idle chain
    with instant sealing has an old latest block; its next one is stamped with the time it
    is mined, so counting from the old block would give a request already near its end).

    Args:
        chain: the connection to read the latest block's time from.
        valid_for: seconds the request stays relayable.

    Raises:
        ChainError: the node could not be reached.
    """
    return chain_now(chain) + valid_for


__all__ = [
    "DEFAULT_DEADLINE",
    "NONCE_CLOCK_SKEW",
    "NONCE_STEP",
    "chain_now",
    "issue_nonce",
    "relay_deadline",
    "request_deadline",
    "signing_deadline",
]
