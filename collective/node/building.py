"""Building a block: a list of candidate transactions applied to a block's starting state.

One function, :func:`build_block`, serves every way a block is decided:

- the local authority's :meth:`NodeChain.seal <collective.node.core.NodeChain.seal>` (the pool's
  transactions, first come first served; what is refused leaves the pool);
- the genesis block's transactions (:attr:`Genesis.transactions
  <collective.node.genesis.Genesis.transactions>`: the contract suite deployed at block 0);
- CometBFT's ``PrepareProposal`` (keep what applies), ``ProcessProposal`` (accept only a block
  in which everything applies) and ``FinalizeBlock`` (execute the decided block)
  (:mod:`collective.node.consensus`).

The rule is the same everywhere, and it is a consensus rule: each transaction is judged
against the block's *starting* state for permissioning (AccountRules ``transactionAllowed``:
a permission change made by an earlier transaction of the block binds from the next block on)
and applied in turn (nonce order, funds, gas: py-evm's validation); a transaction of another
chain (its EIP-155 chain id, or none: replayable everywhere), a blob one, or one otherwise
malformed whatever the state (:func:`never_valid`) is in no block. A
sender whose transaction is refused has its later transactions in the block refused too (their
nonces can no longer apply). A transaction that would take the block over its gas limit ends
the block.

Nothing is written to the store here: :meth:`NodeChain.commit_built
<collective.node.core.NodeChain.commit_built>` does that. (py-evm's trie nodes of a block never
committed stay in the writer's buffer and are written, unreferenced, with the next block.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eth.abc import BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.constants import EMPTY_SHA3
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.prague.constants import DELEGATION_DESIGNATION_PREFIX
from eth.vm.forks.prague.constants import SET_CODE_TRANSACTION_TYPE as SET_CODE_TX_TYPE
from eth.vm.forks.shanghai.constants import MAX_INITCODE_SIZE
from eth_typing import Address
from eth_utils.exceptions import ValidationError

from collective.node.execution.blocks import finish_block, holds_changes
from collective.node.execution.engine import BlockBuilder, ExecutionEngine
from collective.node.execution.pyevm import EMPTY_REQUESTS_HASH
from collective.node.execution.transactions import calldata_floor
from collective.node.execution.trie import encode_receipt, ordered_trie_root
from collective.node.permissioning import Rules

UNPERMITTED = "unpermitted"
INVALID = "invalid"
FOLLOWS = "follows"
NO_ROOM = "no-room"
MAX_NONCE = 2**64 - 1  # EIP-2681: an account nonce stays below it


@dataclass(frozen=True)
class Refusal:
    """Why a candidate transaction is not in the block.

    ``kind`` is :data:`UNPERMITTED` (AccountRules refuses its sender at the block's starting
    state), :data:`INVALID` (it does not apply: nonce, funds, gas), :data:`FOLLOWS` (an
    earlier transaction of its sender was refused: ``first`` is that one's 32-byte hash) or
    :data:`NO_ROOM` (the block's gas limit was reached before it); ``reason`` is for people."""

    kind: str
    reason: str
    first: bytes | None = None


@dataclass
class _GasSoFar:
    """The part of a block header applying a transaction reads: gas used so far, the limit."""

    gas_used: int
    gas_limit: int


@dataclass
class Built:
    """A block executed but not yet committed.

    ``header`` is the final header (state, transactions and receipts roots, gas used, bloom);
    ``applied`` the transactions in it, in order, with their ``receipts`` and ``raws`` (the
    bytes as received); ``outcomes`` one entry per candidate (None: applied, else its
    :class:`Refusal`); ``state`` the state after the block."""

    header: BlockHeaderAPI
    applied: list[SignedTransactionAPI]
    receipts: list[ReceiptAPI]
    raws: list[bytes]
    outcomes: list[Refusal | None]
    state: StateAPI
    refused_senders: dict[bytes, bytes] = field(default_factory=dict)

    @property
    def all_applied(self) -> bool:
        """Whether every candidate is in the block (what ``ProcessProposal`` requires)."""
        return all(outcome is None for outcome in self.outcomes)


def build_block(
    evm: ExecutionEngine,
    header: BlockHeaderAPI,
    candidates: Sequence[SignedTransactionAPI],
    raws: Sequence[bytes | None],
    rules: Rules | None,
    *,
    genesis: bool = False,
) -> Built:
    """Apply ``candidates`` in order to the state ``header`` starts from.

    Args:
        evm: the chain's execution engine.
        header: the block being built: a child header
            (:meth:`ExecutionEngine.child_header`), or block 0's with ``genesis``.
        candidates: decoded, signed transactions (senders recoverable).
        raws: each candidate's bytes as received (None: its canonical encoding).
        rules: AccountRules at the block's starting state, or None (permissioning off).
        genesis: the block is block 0 (no parent: the EIP-2935/EIP-4788 system updates of
            the block's start are skipped).

    Returns: the :class:`Built` block. Raises: nothing for a candidate that does not apply
    (it becomes a :class:`Refusal`); py-evm's errors for anything else.
    """
    vm = evm.vm(header)
    if not genesis:
        vm.block_preprocessing(vm.get_block())
    number = header.block_number
    applied: list[SignedTransactionAPI] = []
    receipts: list[ReceiptAPI] = []
    applied_raws: list[bytes] = []
    outcomes: list[Refusal | None] = []
    refused: dict[bytes, bytes] = {}  # sender -> hash of its first refused transaction
    reasons: dict[bytes, str] = {}
    # py-evm reads only gas_used and gas_limit of the header it applies a transaction
    # against; a mutable stand-in saves a header copy per transaction (bloom kept apart)
    gas = _GasSoFar(0, header.gas_limit)
    in_py_evm = not holds_changes(vm)
    bloom = 0
    full = False
    for tx, raw in zip(candidates, raws, strict=True):
        sender = bytes(tx.sender)
        if full:
            outcomes.append(Refusal(NO_ROOM, f"block {number} is full"))
            continue
        first = refused.get(sender)
        if first is not None:
            reason = (
                f"it follows transaction 0x{first.hex()} of its sender, refused: {reasons[first]}"
            )
            outcomes.append(Refusal(FOLLOWS, reason, first))
            continue
        refusal: Refusal | None = None
        malformed = never_valid(tx, evm.chain_id)
        if malformed is not None:
            refusal = Refusal(INVALID, f"it does not apply at block {number}: {malformed}")
        elif rules is not None and not rules.allows_tx(tx, sender):
            refusal = Refusal(
                UNPERMITTED,
                f"sender 0x{sender.hex()} is not permitted by AccountRules at block {number}",
            )
        elif gas.gas_used + tx.gas > gas.gas_limit:
            full = True
            outcomes.append(Refusal(NO_ROOM, f"block {number} is full"))
            continue
        else:
            try:
                receipt = _apply(vm, gas, tx, sender, in_py_evm)
            except ValidationError as exc:  # e.g. an earlier one spent the funds
                refusal = Refusal(INVALID, f"it no longer applies at block {number}: {exc}")
            else:
                gas.gas_used = receipt.gas_used
                bloom |= int(receipt.bloom)
                applied.append(tx)
                receipts.append(receipt)
                applied_raws.append(raw or tx.encode())
                outcomes.append(None)
                continue
        tx_hash = bytes(tx.hash)
        refused[sender] = tx_hash
        reasons[tx_hash] = refusal.reason
        outcomes.append(refusal)
    tx_root = ordered_trie_root(applied_raws)
    receipt_root = ordered_trie_root([encode_receipt(receipt) for receipt in receipts])
    final = finish_block(
        vm,
        header,
        gas_used=gas.gas_used,
        bloom=bloom,
        transaction_root=tx_root,
        receipt_root=receipt_root,
        requests_hash=EMPTY_REQUESTS_HASH,
    )
    return Built(final, applied, receipts, applied_raws, outcomes, vm.state, refused)


def _apply(
    vm: BlockBuilder, gas: _GasSoFar, tx: SignedTransactionAPI, sender: bytes, in_py_evm: bool
) -> ReceiptAPI:
    """Apply ``tx`` (from the 20-byte ``sender``) to the block ``vm`` builds: its receipt.

    Raises: ``ValidationError`` when it does not apply. revm's builder judges (EIP-3607
    included) before it changes anything; in py-evm a sender with code other than an
    EIP-7702 delegation is refused here (EIP-3607: py-evm has no such rule, revm and geth
    do). (py-evm flattens its state journal at the end of each transaction, so an outer
    snapshot cannot undo one it refused late: :func:`never_valid` refuses the one known
    case, gas under EIP-7623's floor, before it starts.)"""
    if not in_py_evm:
        receipt, _ = vm.apply_transaction(gas, tx)  # type: ignore[arg-type]
        return receipt
    state = vm.state
    address = Address(sender)
    if state.get_code_hash(address) != EMPTY_SHA3 and not state.get_code(address).startswith(
        DELEGATION_DESIGNATION_PREFIX
    ):
        raise ValidationError("reject transactions from senders with deployed code (EIP-3607)")
    receipt, _ = vm.apply_transaction(gas, tx)  # type: ignore[arg-type]
    return receipt


def never_valid(tx: SignedTransactionAPI, chain_id: int) -> str | None:
    """Why ``tx`` belongs to no block of chain ``chain_id`` whatever the state (None: it may
    belong to one): signed for another chain (EIP-155 / EIP-2930's ``chainId``), replayable
    on every chain (a legacy transaction signed before EIP-155), a blob transaction
    (EIP-4844: blobs need a beacon chain), a priority fee above the fee cap (EIP-1559), or a
    contract creation whose init code is over :data:`MAX_INITCODE_SIZE` bytes (EIP-3860;
    py-evm raises out of the transaction for it, which would end the block's execution), or
    a set-code transaction (EIP-7702) without a recipient or authorizations or with an
    authorization's field out of bounds, a nonce at its maximum (EIP-2681: it could not be
    raised), or less gas than its calldata's floor (EIP-7623; py-evm would apply it and
    charge more gas than its limit, revm refuses it: the engines must agree).
    Admission refuses these too (:func:`collective.node.pool.admit`); here they bind every
    validator's block."""
    if tx.type_id == BLOB_TX_TYPE:
        return "blob transactions need a beacon chain"
    if tx.chain_id is None:
        return "only replay-protected (EIP-155) transactions are allowed"
    if tx.chain_id != chain_id:
        return f"invalid chain id for signer: have {tx.chain_id} want {chain_id}"
    if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        return "max priority fee per gas higher than max fee per gas"
    if not tx.to and len(tx.data) > MAX_INITCODE_SIZE:
        return f"max initcode size exceeded: code size {len(tx.data)} limit {MAX_INITCODE_SIZE}"
    if tx.nonce >= MAX_NONCE:
        return "nonce has max value"
    floor = calldata_floor(bytes(tx.data))
    if tx.intrinsic_gas <= tx.gas < floor:  # below intrinsic gas: "intrinsic gas too low"
        return f"insufficient gas for floor data gas cost: gas {tx.gas}, minimum needed {floor}"
    if tx.type_id == SET_CODE_TX_TYPE:
        try:  # a recipient, authorizations, each field within its bounds (EIP-7702)
            tx.validate()
        except ValidationError as exc:
            return f"invalid set-code transaction: {exc}"
    return None


__all__ = [
    "FOLLOWS",
    "INVALID",
    "MAX_INITCODE_SIZE",
    "NO_ROOM",
    "UNPERMITTED",
    "Built",
    "Refusal",
    "build_block",
    "never_valid",
]
