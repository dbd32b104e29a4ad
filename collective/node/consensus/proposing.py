"""What a proposer puts in a block, chosen without executing it.

Every validator executes a proposed block in ProcessProposal, the proposer included; if the
proposer also executed it in PrepareProposal, the block's execution would sit twice on the
path from proposal to commit (the proposer's, then everyone's). So PrepareProposal chooses by
checks that need no execution, and that are *conservative*: every transaction they keep is
sure to apply in ProcessProposal (:func:`collective.node.building.build_block`), because the
only ways a transaction fails to apply are py-evm's validation rules, each checked here
against the block's starting state and what the kept transactions may spend:

- its nonce is its sender's next: the state's, then one more for each kept transaction;
- AccountRules ``transactionAllowed`` permits its sender at the block's starting state;
- its fee cap covers the block's base fee (EIP-1559);
- its sender can pay ``gas * max_fee_per_gas + value`` out of the starting balance less the
  most every earlier kept transaction of the sender may cost (ether it receives in the
  block is not counted: a transaction left out waits for the next block);
- the gas limits of the kept transactions fit the block's gas limit (gas used never exceeds
  a transaction's limit).

A sender whose transaction is left out has its later ones left out too (their nonces would
not follow); they stay in the mempool for a later block.

Two kinds of transaction break the premise that only a sender's own transactions change its
nonce and balance: a set-code transaction (EIP-7702, type 4) raises each authority's nonce and
gives its account code, and the account of a sender that has code (an EOA delegated that way)
runs it for anyone who calls it (spending its ether, creating contracts: its nonce). A choice
holding either is executed before it is proposed (:func:`confirm`) and keeps what applies:
rare, and else the proposer's own block would fail ProcessProposal in every round.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth.abc import BlockHeaderAPI, SignedTransactionAPI, StateAPI
from eth.vm.forks.prague.constants import SET_CODE_TRANSACTION_TYPE
from eth_typing import Address

from collective.node.building import build_block
from collective.node.execution.engine import ExecutionEngine
from collective.node.permissioning import Rules


def choose(
    header: BlockHeaderAPI,
    state: StateAPI,
    candidates: Sequence[SignedTransactionAPI],
    rules: Rules | None,
) -> list[int]:
    """The positions in ``candidates`` (decoded, senders recovered, in mempool order) of the
    transactions to propose in the block ``header`` starts (its base fee and gas limit), on
    ``state`` (the block's starting state), with ``rules`` (AccountRules at that state, or
    None: permissioning off). See the module docstring for the checks.

    Returns: ascending positions. Raises: nothing of the transactions'."""
    base_fee = header.base_fee_per_gas or 0
    room = header.gas_limit
    nonces: dict[bytes, int] = {}
    funds: dict[bytes, int] = {}
    left_out: set[bytes] = set()
    chosen: list[int] = []
    for position, tx in enumerate(candidates):
        sender = bytes(tx.sender)
        if sender in left_out:
            continue
        if tx.gas > room:  # a smaller one later may still fit
            left_out.add(sender)
            continue
        nonce = nonces.get(sender)
        if nonce is None:
            nonce = int(state.get_nonce(Address(sender)))
            funds[sender] = int(state.get_balance(Address(sender)))
        cost = tx.gas * tx.max_fee_per_gas + tx.value
        if (
            tx.nonce != nonce
            or tx.max_fee_per_gas < base_fee
            or cost > funds[sender]
            or (rules is not None and not rules.allows_tx(tx, sender))
        ):
            left_out.add(sender)
            continue
        nonces[sender] = nonce + 1
        funds[sender] -= cost
        room -= tx.gas
        chosen.append(position)
    return chosen


def confirm(
    evm: ExecutionEngine,
    header: BlockHeaderAPI,
    state: StateAPI,
    candidates: Sequence[SignedTransactionAPI],
    raws: Sequence[bytes],
    chosen: list[int],
    rules: Rules | None,
) -> list[int]:
    """``chosen`` (positions in ``candidates``, the ``raws`` they were received as) as
    :func:`choose` made it, when it holds no set-code transaction (EIP-7702) and no sender
    with code in ``state``; else the positions of those that apply when the choice is
    executed on the block ``header`` starts
    (:func:`~collective.node.building.build_block`): what is left out had no effect, so the
    rest execute alike in ProcessProposal.

    Returns: ascending positions. Raises: py-evm's errors other than a transaction's."""
    if not any(
        candidates[i].type_id == SET_CODE_TRANSACTION_TYPE
        or state.get_code(Address(candidates[i].sender))
        for i in chosen
    ):
        return chosen
    built = build_block(
        evm, header, [candidates[i] for i in chosen], [raws[i] for i in chosen], rules
    )
    return [i for i, outcome in zip(chosen, built.outcomes, strict=True) if outcome is None]


__all__ = ["choose", "confirm"]
