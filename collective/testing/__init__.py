"""What tests, benchmarks and demos share to stand up chains: free ports, an anvil node, a
``collective node`` in a thread or a subprocess.

- :mod:`collective.testing.ports`: :func:`free_port`, and waiting for a JSON-RPC node to answer.
- :mod:`collective.testing.anvil`: :func:`run_anvil` (npm ``@foundry-rs/anvil``).
- :mod:`collective.testing.node`: :func:`run_node_thread` and :func:`run_node_process`, a
  ``collective node`` on a temporary data directory and a free port.

The consortium fixture (several nodes sealing one chain, issue 12) goes here as
``collective.testing.consortium``.
"""
