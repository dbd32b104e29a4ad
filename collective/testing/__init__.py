"""What tests, benchmarks and demos share to stand up chains: free ports, an anvil node, a
``collective node`` in a thread or a subprocess, and a recorder of the requests a chain sends.

- :mod:`collective.testing.ports`: :func:`free_port`, waiting for a JSON-RPC node to answer.
- :mod:`collective.testing.anvil`: :func:`run_anvil` (npm ``@foundry-rs/anvil``).
- :mod:`collective.testing.node`: :func:`run_node_thread` and :func:`run_node_process`, a
  ``collective node`` on a free port (in memory, or on a data directory).
- :mod:`collective.testing.recording`: :func:`record_requests`, what a chain's backend is asked.

The consortium fixture (several nodes sealing one chain, issue 12) belongs here too, as
``collective.testing.consortium``.
"""

from __future__ import annotations

from collective.testing.anvil import find_anvil, node_or_anvil, run_anvil
from collective.testing.node import NodeProcess, run_node_process, run_node_thread
from collective.testing.ports import answers, free_port, wait_until_answers
from collective.testing.recording import record_requests

__all__ = [
    "NodeProcess",
    "answers",
    "find_anvil",
    "free_port",
    "node_or_anvil",
    "record_requests",
    "run_anvil",
    "run_node_process",
    "run_node_thread",
    "wait_until_answers",
]
