"""The node's ABCI 2.0 application on the revm engine: every test of
:mod:`tests.node.consensus.test_consensus_app` (CheckTx, PrepareProposal, ProcessProposal,
FinalizeBlock, Commit, a crash between finalize and commit, validator updates) run unchanged
on nodes executing with revm (``COLLECTIVE_ENGINE=revm``; the genesis, block 0, is built by
each node's own engine too).

Skipped when the ``collective_revm`` extension is not built (scripts/setup.sh builds it when
cargo is installed; CI does).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collective.node.execution import revm
from tests.node.consensus.test_consensus_app import (  # the fixtures and the tests
    app,
    node,
    suite,
    test_a_board_vote_and_a_suspension_become_validator_updates,
    test_a_crash_between_finalize_and_commit_loses_nothing_and_executes_once,
    test_a_proposal_out_of_nonce_order_garbage_or_at_another_height_is_rejected,
    test_a_proposal_with_an_unpermitted_transaction_is_rejected,
    test_an_empty_block_leaves_the_app_hash_as_it_was,
    test_blocks_in_the_same_second_share_its_timestamp,
    test_check_tx_admits_by_the_committed_state,
    test_finalize_executes_deterministically_and_commit_persists,
    test_info_reports_the_head_and_init_chain_checks_the_genesis,
    test_prepare_proposal_keeps_within_max_tx_bytes,
    test_what_prepare_proposal_chooses_is_what_every_validator_accepts,
)

pytestmark = pytest.mark.skipif(
    not revm.available(), reason="collective_revm is not built (scripts/setup.sh needs cargo)"
)


@pytest.fixture(autouse=True)
def _on_revm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nodes made by the tests below execute on revm (NodeConfig's default engine)."""
    monkeypatch.setenv("COLLECTIVE_ENGINE", "revm")
    yield


def test_the_application_here_runs_on_revm(node: object) -> None:
    from collective.node import Node

    assert isinstance(node, Node) and node.chain.engine == "revm"


__all__ = [
    "app",
    "node",
    "suite",
    "test_a_board_vote_and_a_suspension_become_validator_updates",
    "test_a_crash_between_finalize_and_commit_loses_nothing_and_executes_once",
    "test_a_proposal_out_of_nonce_order_garbage_or_at_another_height_is_rejected",
    "test_a_proposal_with_an_unpermitted_transaction_is_rejected",
    "test_an_empty_block_leaves_the_app_hash_as_it_was",
    "test_blocks_in_the_same_second_share_its_timestamp",
    "test_check_tx_admits_by_the_committed_state",
    "test_finalize_executes_deterministically_and_commit_persists",
    "test_info_reports_the_head_and_init_chain_checks_the_genesis",
    "test_prepare_proposal_keeps_within_max_tx_bytes",
    "test_what_prepare_proposal_chooses_is_what_every_validator_accepts",
]
