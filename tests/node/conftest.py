"""Fixtures for `collective node` tests.

(``dev_server``, ``node_chain`` and ``node_suite`` are in tests/conftest.py: the conformance
suite uses them too.)

- ``spawn_node``: start `collective node start` as a subprocess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collective.testing import NodeProcess

REPO = Path(__file__).resolve().parents[2]


def call(url: str, method: str, *params: Any) -> dict[str, Any]:
    reply = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
    )
    result: dict[str, Any] = reply.json()
    return result


@pytest.fixture
def spawn_node() -> Iterator[Callable[[list[str]], NodeProcess]]:
    started: list[NodeProcess] = []

    def spawn(args: list[str]) -> NodeProcess:
        process = NodeProcess(*args)
        started.append(process)
        return process

    try:
        yield spawn
    finally:
        for process in started:
            process.stop()
