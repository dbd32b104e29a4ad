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

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collective.node.execution import revm
from collective.testing import run_node_process
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


def _rpc(url: str, method: str, *params: Any) -> Any:
    reply = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
    ).json()
    assert "result" in reply, reply
    return reply["result"]


def test_node_start_engine_revm_then_reopened_on_py_evm(tmp_path: Path) -> None:
    """`collective node start --engine revm` seals blocks; the same data directory reopens
    on py-evm (its integrity check re-reads the head's state root) and goes on."""
    data = tmp_path / "chain"
    with run_node_process("--dev", "--engine", "revm", data_dir=data) as node:
        sender = _rpc(node.url, "eth_accounts")[0]
        tx = {"from": sender, "to": "0x" + "5e" * 20, "value": hex(10**18)}
        receipt = _rpc(
            node.url, "eth_getTransactionReceipt", _rpc(node.url, "eth_sendTransaction", tx)
        )
        assert receipt["status"] == "0x1"
        head = _rpc(node.url, "eth_getBlockByNumber", "latest", False)
    with run_node_process("--dev", "--engine", "py-evm", data_dir=data) as node:
        assert _rpc(node.url, "eth_getBlockByNumber", "latest", False)["hash"] == head["hash"]
        assert _rpc(node.url, "eth_getBalance", "0x" + "5e" * 20, "latest") == hex(10**18)
        tx = {"from": sender, "to": "0x" + "5e" * 20, "value": "0x1"}
        receipt = _rpc(
            node.url, "eth_getTransactionReceipt", _rpc(node.url, "eth_sendTransaction", tx)
        )
        assert receipt["status"] == "0x1"


def test_without_the_extension_engine_revm_is_refused_clearly(tmp_path: Path) -> None:
    """A machine where the extension is not built (the import fails): `--engine revm` ends
    with a one-line error saying what to do, no traceback."""
    code = (
        "import sys; sys.modules['collective_revm'] = None; from collective.cli import main; main()"
    )
    data = tmp_path / "chain"
    args = ["node", "start", "--engine", "revm", "--dev", "--data-dir", str(data), "--port", "0"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "the revm engine is not built" in done.stderr
    assert "--engine py-evm" in done.stderr and "Traceback" not in done.stderr


def test_a_network_records_its_engine_and_starts_every_node_with_it(tmp_path: Path) -> None:
    from collective.network.layout import ENGINE_NAMES, NetworkLayout, Ports, ValidatorLayout
    from collective.network.processes import Service
    from collective.node.execution import ENGINES

    assert set(ENGINE_NAMES) == set(ENGINES)
    validator = ValidatorLayout(
        index=1, organization="0x" + "11" * 20, node_id="ab" * 20, address="CD" * 20,
        pub_key="key", power=10, ports=Ports.from_base(27000, 1), root=tmp_path,
    )  # fmt: skip
    layout = NetworkLayout(
        root=tmp_path, chain_id=7, cometbft_chain_id="collective-7", admin="0x" + "22" * 20,
        empty_blocks="never", validators=(validator,), engine="revm",
    )  # fmt: skip
    layout.save()
    loaded = NetworkLayout.load(tmp_path)
    assert loaded.engine == "revm"
    command = Service(loaded.validators[0], "node").command(Path("cometbft"), loaded.engine)
    assert command[command.index("--engine") + 1] == "revm"


__all__ = [
    "test_access_list_and_set_code_transactions_seal_what_stock_py_evm_seals",
    "test_node_vm_seals_what_stock_py_evm_seals",
    "test_storage_and_transaction_paths_seal_what_stock_py_evm_seals",
]
