"""The py-evm engine: py-evm driven directly, one fork (Prague), genesis, headers, states,
calls and estimates.

No ``eth.chains.Chain`` and no eth-tester: the node keeps its own head, builds a VM for the
block it seals and a state for the block a call names. Headers live in py-evm's database by
hash (so ``BLOCKHASH`` works); everything else about blocks is in :mod:`collective.node.storage`.

Execution uses :class:`~.vm.NodeVM`, Prague with its hot path trimmed; :class:`Evm` is the one
implementation of :class:`~.engine.ExecutionEngine`. Mirrors the parts of
``eth/chains/base.py`` (``Chain.get_vm``, ``build_block_with_transactions``) and
``eth/vm/base.py`` (``VM.build_state``, ``create_unsigned_transaction``) that the node needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import rlp
from eth.abc import BlockHeaderAPI, ComputationAPI, SignedTransactionAPI, StateAPI
from eth.consensus.context import ConsensusContext
from eth.constants import BLANK_ROOT_HASH, CREATE_CONTRACT_ADDRESS
from eth.db.atomic import AtomicDB
from eth.db.chain import ChainDB
from eth.exceptions import Revert
from eth.rlp.headers import BlockHeader
from eth.vm.chain_context import ChainContext
from eth.vm.forks.berlin.constants import (
    ACCESS_LIST_ADDRESS_COST_EIP_2930 as ACCESS_LIST_ADDRESS_COST,
)
from eth.vm.forks.berlin.constants import (
    ACCESS_LIST_STORAGE_KEY_COST_EIP_2930 as ACCESS_LIST_STORAGE_KEY_COST,
)
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.blocks import PragueBlockHeader
from eth.vm.message import Message
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address, Hash32

from collective.node.execution import keccak
from collective.node.execution.blocks import builds_prague_headers, prague_child_header
from collective.node.execution.engine import AccessList, CallResult
from collective.node.execution.transactions import (
    calldata_floor,
    decode_transaction,
    recover_sender,
)
from collective.node.execution.vm import NodeVM

if TYPE_CHECKING:
    from collective.node.genesis import Genesis

VM_CLASS = NodeVM
EMPTY_REQUESTS_HASH = hashlib.sha256(b"").digest()  # EIP-7685: no execution-layer requests
ZERO_ADDRESS = Address(b"\x00" * 20)


class _CallTransaction(SpoofTransaction):
    """py-evm's ``SpoofTransaction``, each attribute looked up once: the executor reads
    ``gas``, ``sender``, ``to``, ``data`` ... many times, and every read of a spoofed
    attribute goes through ``SpoofAttributes.__getattr__`` and an rlp field getter. The
    target is an immutable unsigned transaction and the overrides are fixed, so the first
    answer is every answer."""

    def __getattr__(self, attr: str) -> Any:
        value = super().__getattr__(attr)
        self.__dict__[attr] = value
        return value


def base_fee(header: BlockHeaderAPI) -> int:
    """The header's base fee per gas in wei (EIP-1559; every header here is post-London)."""
    return int(getattr(header, "base_fee_per_gas", 0) or 0)


class Evm:
    """The execution layer over one py-evm database (``db``): the py-evm
    :class:`~.engine.ExecutionEngine`.

    ``chain_id`` is the EIP-155 chain id; ``vm_class`` is :class:`~.vm.NodeVM`, or stock
    ``PragueVM`` in the tests that check NodeVM against it."""

    def __init__(self, db: AtomicDB, chain_id: int, vm_class: type[PragueVM] = VM_CLASS) -> None:
        """Over py-evm database ``db`` for EIP-155 ``chain_id``; installs the fast keccak."""
        keccak.install()
        self.vm_class = vm_class
        self._prague_headers = builds_prague_headers(vm_class)  # one-step child headers
        self.db = db
        self.chain_id = chain_id
        self.chaindb = ChainDB(db)
        self.chain_context = ChainContext(chain_id)
        self.consensus_context = ConsensusContext(db)

    # --- genesis and headers ------------------------------------------------------------------

    def genesis_header(self, genesis: Genesis) -> BlockHeaderAPI:
        """Write the genesis state (``genesis.alloc``: balances in wei, nonces, code, storage)
        and return block 0's header (also stored by hash)."""
        pre = BlockHeader(difficulty=0, block_number=-1, gas_limit=0)
        state = self.vm_class.build_state(self.db, pre, self.chain_context)
        for raw_address, account in genesis.alloc.items():
            address = Address(raw_address)
            state.set_balance(address, account.balance)
            state.set_nonce(address, account.nonce)
            state.set_code(address, account.code)
            for slot, value in account.storage.items():
                state.set_storage(address, slot, value)
        state.persist()
        header = self.vm_class.create_genesis_header(
            state_root=state.state_root,
            gas_limit=genesis.gas_limit,
            timestamp=genesis.timestamp,
            extra_data=genesis.extra_data,
            difficulty=0,
            base_fee_per_gas=genesis.base_fee,
            coinbase=ZERO_ADDRESS,
            transaction_root=BLANK_ROOT_HASH,
            receipt_root=BLANK_ROOT_HASH,
            requests_hash=EMPTY_REQUESTS_HASH,
        )
        self.store_header(header)
        return header

    def store_header(self, header: BlockHeaderAPI) -> None:
        """Keep ``header``'s RLP under its hash, where py-evm's ``HeaderDB`` looks."""
        self.db[header.hash] = rlp.encode(header)

    def header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI:
        """The stored header of the 32-byte ``block_hash``; raises py-evm's
        ``HeaderNotFound`` when there is none."""
        header: BlockHeaderAPI = self.chaindb.get_block_header_by_hash(Hash32(block_hash))
        return header

    def decode_header(self, encoded: bytes) -> BlockHeaderAPI:
        """A Prague header from its RLP; raises rlp's ``DeserializationError``."""
        header: BlockHeaderAPI = rlp.decode(encoded, sedes=PragueBlockHeader)
        return header

    def child_header(
        self,
        parent: BlockHeaderAPI,
        *,
        coinbase: Address,
        timestamp: int,
        strictly_later: bool = True,
    ) -> BlockHeaderAPI:
        """The header of the block after ``parent``: ``coinbase`` (20 bytes), ``timestamp``
        in seconds (at least the parent's + 1, Ethereum's rule; with ``strictly_later``
        False at least the parent's: a CometBFT chain's blocks take their time from
        consensus and several may fall in one second, as on Ethermint), the parent's gas
        limit, the EIP-1559 base fee that follows."""
        floor = parent.timestamp + 1 if strictly_later else parent.timestamp
        when = max(timestamp, floor)
        if self._prague_headers and hasattr(parent, "base_fee_per_gas"):
            return prague_child_header(
                parent, coinbase=coinbase, timestamp=when, gas_limit=parent.gas_limit
            )
        header: BlockHeaderAPI = self.vm_class.create_header_from_parent(
            parent, coinbase=coinbase, timestamp=when, gas_limit=parent.gas_limit
        )
        return header

    # --- VMs and states -----------------------------------------------------------------------

    def vm(self, header: BlockHeaderAPI) -> PragueVM:
        """A VM (``vm_class``) to seal the block ``header`` starts."""
        return self.vm_class(
            header=header,
            chaindb=self.chaindb,
            chain_context=self.chain_context,
            consensus_context=self.consensus_context,
        )

    def state(self, header: BlockHeaderAPI) -> StateAPI:
        """A state to read and dry-run against: the state after ``header``'s block, executing
        in that block's context. Writes to it are never persisted."""
        prev_hashes = self.vm_class.get_prev_hashes(header.parent_hash, self.chaindb)
        return self.vm_class.build_state(self.db, header, self.chain_context, prev_hashes or ())

    def decode_transaction(self, raw: bytes) -> SignedTransactionAPI:
        """:func:`.transactions.decode_transaction`."""
        return decode_transaction(raw)

    def recover_sender(self, tx: SignedTransactionAPI, raw: bytes | None = None) -> Address:
        """:func:`.transactions.recover_sender`."""
        return recover_sender(tx, raw)

    # --- calls --------------------------------------------------------------------------------

    def call(
        self,
        state: StateAPI,
        *,
        sender: Address,
        to: Address | None,
        data: bytes,
        value: int,
        gas: int,
        gas_price: int = 0,
        access_list: AccessList = (),
        inspect: Callable[[StateAPI, ComputationAPI], None] | None = None,
    ) -> CallResult:
        """Run a transaction from ``sender`` without a signature, then undo it.

        ``to`` None creates a contract; ``value`` and ``gas_price`` in wei, ``gas`` in gas.
        With an ``access_list`` (EIP-2930) its addresses and slots start warm and count in
        the intrinsic gas; ``inspect`` sees the state and the computation before the undo.
        Returns the :class:`~.engine.CallResult` (``gas_used`` includes the intrinsic gas).
        Raises py-evm's ``ValidationError`` when the transaction is invalid (intrinsic gas,
        balance), and whatever ``inspect`` or a deadline raises."""
        unsigned = self.vm_class.create_unsigned_transaction(
            nonce=state.get_nonce(sender),
            gas_price=gas_price,
            gas=gas,
            to=to if to is not None else CREATE_CONTRACT_ADDRESS,
            value=value,
            data=data,
        )
        intrinsic = int(unsigned.intrinsic_gas)
        spoofed: Any
        if access_list:
            intrinsic += sum(
                ACCESS_LIST_ADDRESS_COST + ACCESS_LIST_STORAGE_KEY_COST * len(slots)
                for _, slots in access_list
            )
            spoofed = _CallTransaction(
                unsigned, from_=sender, access_list=access_list, intrinsic_gas=intrinsic
            )
        else:
            spoofed = _CallTransaction(unsigned, from_=sender)
        snapshot = state.snapshot()
        try:
            computation = state.apply_transaction(spoofed)
            if inspect is not None:
                inspect(state, computation)
        finally:
            state.revert(snapshot)
        return _result(computation, intrinsic)

    def estimate(
        self,
        state: StateAPI,
        *,
        sender: Address,
        to: Address | None,
        data: bytes,
        value: int,
        cap: int,
    ) -> CallResult:
        """The lowest gas limit at which the transaction does not fail, as geth's binary
        search finds it, but exact (geth stops within 1.5%): a run with ``cap``; then with the
        gas that run used (enough unless the 63/64 rule or a refund needs more: a transfer is
        21,000); then geth's optimistic guess, ``(used + 2300) * 64 / 63``; then halving.

        Returns the first run's result when it fails at ``cap``, else a result whose
        ``gas_used`` is that limit. Raises as :meth:`call` does."""

        def fails(gas: int) -> bool:
            run = self.call(state, sender=sender, to=to, data=data, value=value, gas=gas)
            return run.error is not None

        first = self.call(state, sender=sender, to=to, data=data, value=value, gas=cap)
        if first.error is not None:
            return first
        used = max(first.gas_used, calldata_floor(data))  # EIP-7623: no less is accepted
        if used >= cap or not fails(used):
            return CallResult(first.output, min(used, cap), None)
        low, high = used, cap  # low fails, high succeeds
        optimistic = (used + 2300) * 64 // 63
        if low < optimistic < high:
            if fails(optimistic):
                low = optimistic
            else:
                high = optimistic
        while low + 1 < high:
            middle = (low + high) // 2
            if fails(middle):
                low = middle
            else:
                high = middle
        return CallResult(first.output, high, None)

    def message_call(
        self, state: StateAPI, *, sender: Address, to: Address, data: bytes, gas: int
    ) -> CallResult:
        """Run ``to``'s code with ``data`` as a plain message (no transaction, no fees), then
        undo it: the cheapest way to ask a view function. ``gas_used`` excludes any
        intrinsic gas."""
        code = state.get_code(to)
        message = Message(gas=gas, to=to, sender=sender, value=0, data=data, code=code)
        context = state.get_transaction_context_class()(gas_price=0, origin=sender)
        snapshot = state.snapshot()
        try:
            computation = state.computation_class.apply_message(state, message, context)
        finally:
            state.revert(snapshot)
        return _result(computation, 0)


def _result(computation: ComputationAPI, intrinsic: int) -> CallResult:
    error = computation.error if computation.is_error else None
    return CallResult(
        bytes(computation.output) if not computation.is_error or isinstance(error, Revert) else b"",
        intrinsic + int(computation.get_gas_used()),
        error,
    )


__all__ = ["EMPTY_REQUESTS_HASH", "VM_CLASS", "Evm", "base_fee"]
