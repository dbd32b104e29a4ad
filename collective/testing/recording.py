"""Recording what a chain is asked: every request and batch item its backend sends.

with record_requests(chain) as calls:
    chain.call(ledger.functions.isCovered(...))
assert [method for method, _ in calls] == ["eth_call"]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from collective.chain.backend import Backend, Call
from collective.chain.connection import Chain


@contextmanager
def record_requests(chain: Chain | Backend) -> Iterator[list[Call]]:
    """Record the ``(method, params)`` of every request ``chain``'s backend answers during the
    ``with`` block (each item of a batch counted on its own), in order; yields the list.

    Requests made through a web3 contract object bound with :meth:`Chain.contract` are
    recorded too: they travel the same backend.
    """
    backend = chain.backend if isinstance(chain, Chain) else chain
    calls: list[Call] = []
    request, batch = backend.request, backend.batch

    def recorded_request(method: str, params: Sequence[Any]) -> Any:
        calls.append((method, list(params)))
        return request(method, params)

    def recorded_batch(items: Sequence[Call]) -> list[Any]:
        calls.extend((method, list(params)) for method, params in items)
        return batch(items)

    setattr(backend, "request", recorded_request)  # noqa: B010 - an instance attribute shadows the method
    setattr(backend, "batch", recorded_batch)  # noqa: B010
    try:
        yield calls
    finally:
        del backend.request
        del backend.batch


__all__ = ["record_requests"]
