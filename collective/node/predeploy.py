"""A genesis with contracts already deployed: the deployment's transactions applied in block 0.

A consortium's validators must all start from the same state, and that state must hold the
contract suite (AccountRules decides who may transact from the first block on, and holds the
validator set). Copying a deployed chain's storage into ``alloc`` would lose the deployment's
events, which the audit replays (``AdminAdded``, ``AccountAdmitted``, ``MemberAdded``...).
So a genesis carries the deployment itself: :attr:`Genesis.transactions
<collective.node.genesis.Genesis.transactions>`, signed transactions that block 0 applies to
the alloc in order, with their receipts and logs, as any block's (the way a Cosmos genesis
carries its ``gentxs``). :func:`predeploy` records them by running any deployment code
against a scratch node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from collective.errors import ConfigurationError
from collective.node.genesis import Genesis

if TYPE_CHECKING:
    from collective.chain import Chain

T = TypeVar("T")


def predeploy(genesis: Genesis, deploy: Callable[[Chain], T]) -> tuple[Genesis, T]:
    """Record ``deploy`` as genesis transactions.

    Runs ``deploy(chain)`` against a scratch node in memory started on ``genesis`` (one block
    per transaction, sealed instantly), then returns ``genesis`` with every transaction those
    blocks hold appended to :attr:`Genesis.transactions`, in order, and what ``deploy``
    returned. Block 0 of the returned genesis applies them all (one block, at the genesis
    timestamp): contract addresses, storage and events are the scratch chain's; only block
    numbers (0) and timestamps differ, so a deployment manifest written by ``deploy`` must
    have its block numbers set to 0.

    Args:
        genesis: the chain's genesis (its bootstrap admins fund and send the deployment).
        deploy: deploys with the :class:`~collective.chain.Chain` it is given (e.g.
            :func:`collective.deploy.deploy_suite`); it must send only transactions, signed
            by accounts the genesis funds.

    Returns: (the genesis with the deployment's transactions, ``deploy``'s result).
    Raises: :class:`~collective.errors.ConfigurationError` when the transactions do not fit
    in one block's gas limit; whatever ``deploy`` raises.
    """
    from collective.chain import connect_rpc
    from collective.node.node import Node, NodeConfig
    from collective.node.server import serve_in_thread

    node = Node(NodeConfig(genesis=genesis))
    try:
        server = serve_in_thread(node)
        try:
            result = deploy(connect_rpc(server.url))
        finally:
            server.shutdown()
            server.server_close()
        with node.lock:
            chain = node.chain
            raws = list(genesis.transactions)
            gas = 0
            for number in range(1, chain.head.block_number + 1):
                header = chain.header_at(number)
                gas += header.gas_used if header is not None else 0
                raws.extend(raw for _, raw in chain.store.block_raw_txs(number))
    finally:
        node.close()
    if gas > genesis.gas_limit:
        raise ConfigurationError(
            f"the deployment used {gas:,} gas, more than block 0's gas limit of "
            f"{genesis.gas_limit:,}",
            hint="raise the genesis gas limit",
        )
    return replace(genesis, transactions=tuple(raws)), result


__all__ = ["predeploy"]
