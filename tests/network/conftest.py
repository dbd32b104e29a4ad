"""Fixtures of the tests that run a real 4-validator network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collective.testing.consortium import Consortium
from tests.network.fault_tools import Sender, consortium_or_skip, dev_account


@pytest.fixture(scope="module")
def net() -> Iterator[Consortium]:
    """A started 4-validator network for the module (skips without cometbft)."""
    yield from consortium_or_skip()


@pytest.fixture(scope="module")
def pinger(net: Consortium) -> Sender:
    """Organization 2's transfers: proof that the network commits."""
    return Sender(dev_account(2), net.layout.chain_id)
