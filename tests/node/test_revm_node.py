"""The node on the revm engine (``COLLECTIVE_ENGINE=revm``), checked against stock py-evm:
existing scenario tests of the node's VM, run unchanged on a revm node, each ending with a
replay of every block the node sealed on stock ``PragueVM`` that must give the same block
hashes (state roots, receipts, logs blooms, gas).

- :mod:`tests.node.test_node_fastvm`: transfers, creates, reverts, self-destructs, logs;
- :mod:`tests.node.test_node_fastvm_state`: storage and transaction paths (SSTORE refunds,
  transient storage, nested calls, out of gas);
- :mod:`tests.node.test_node_replay_types`: EIP-2930 (type 1) and EIP-7702 (type 4)
  transactions, delegations, skipped authorizations.

Skipped when the ``collective_revm`` extension is not built (scripts/setup.sh builds it when
cargo is installed; CI does).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collective.node.execution import revm
from tests.node.test_node_fastvm import test_node_vm_seals_what_stock_py_evm_seals
from tests.node.test_node_fastvm_state import (
    test_storage_and_transaction_paths_seal_what_stock_py_evm_seals,
)
from tests.node.test_node_replay_types import (
    test_access_list_and_set_code_transactions_seal_what_stock_py_evm_seals,
)

pytestmark = pytest.mark.skipif(
    not revm.available(), reason="collective_revm is not built (scripts/setup.sh needs cargo)"
)


@pytest.fixture(autouse=True)
def _on_revm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nodes made by the tests below execute on revm (NodeConfig's default engine)."""
    monkeypatch.setenv("COLLECTIVE_ENGINE", "revm")
    yield


def test_the_nodes_here_run_on_revm() -> None:
    from collective.node import Node, NodeConfig

    node = Node(NodeConfig(dev=True))
    try:
        assert isinstance(node.chain.evm, revm.RevmEngine)
        assert node.chain.engine == "revm"
    finally:
        node.close()


__all__ = [
    "test_access_list_and_set_code_transactions_seal_what_stock_py_evm_seals",
    "test_node_vm_seals_what_stock_py_evm_seals",
    "test_storage_and_transaction_paths_seal_what_stock_py_evm_seals",
]
