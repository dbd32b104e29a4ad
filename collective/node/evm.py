"""py-evm, driven directly: one fork (Prague), genesis, headers, states, calls and estimates.

No ``eth.chains.Chain`` and no eth-tester: the node keeps its own head, builds a VM for the block
it seals and a state for the block a call names. Headers live in py-evm's database by hash (so
``BLOCKHASH`` works); everything else about blocks is in :mod:`collective.node.store`.

Execution uses :class:`~collective.node.fastvm.NodeVM`, Prague with its hot path trimmed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

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
from eth.vm.forks.london.transactions import DynamicFeeTransaction
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.blocks import PragueBlockHeader
from eth.vm.forks.prague.transactions import PragueTransactionBuilder, PragueTypedTransaction
from eth.vm.message import Message
from eth.vm.spoof import SpoofTransaction
from eth_hash.auto import keccak as keccak256
from eth_keys.constants import SECPK1_N
from eth_typing import Address, Hash32
from eth_utils.exceptions import ValidationError

from collective.node.fastvm import NodeVM
from collective.node.genesis import Genesis
from collective.node.senders import signer, signing_message

VM_CLASS = NodeVM
EMPTY_REQUESTS_HASH = hashlib.sha256(b"").digest()
ZERO_ADDRESS = Address(b"\x00" * 20)


def base_fee(header: BlockHeaderAPI) -> int:
    """The header's base fee per gas (every header here is post-London)."""
    return int(getattr(header, "base_fee_per_gas", 0) or 0)


@dataclass
class CallResult:
    """What a call or a dry run produced."""

    output: bytes
    gas_used: int
    error: Exception | None

    @property
    def reverted(self) -> bool:
        return isinstance(self.error, Revert)


class NodeTypedTransaction(PragueTypedTransaction):
    """py-evm's typed transaction, minus two recomputations: its hash is the keccak of the
    bytes it was decoded from (py-evm re-encodes every field first; decoding is strict, so
    those bytes are the encoding), and its intrinsic gas is counted once (py-evm walks the
    calldata again on every read, and a transaction is read 3-4 times on its way in)."""

    @classmethod
    def decode(cls, encoded: bytes) -> SignedTransactionAPI:
        tx = _decode_dynamic_fee(cls, encoded) if encoded[:1] == b"\x02" else None
        if tx is None:
            tx = super().decode(encoded)
        vars(tx)["hash"] = keccak256(encoded)  # the cached_property's slot
        return tx

    @cached_property
    def intrinsic_gas(self) -> int:
        return int(self.get_intrinsic_gas())


_INT_FIELDS = (0, 1, 2, 3, 4, 6, 9, 10, 11)  # DynamicFeeTransaction's integer fields


def _decode_dynamic_fee(
    cls: type[PragueTypedTransaction], encoded: bytes
) -> SignedTransactionAPI | None:
    """A dynamic-fee (type 2) transaction without an access list, decoded the short way:
    strict RLP into a list, each field checked as its sedes would (integers minimal, at most 32
    bytes here; ``to`` empty or 20 bytes), then the transaction built from the values (py-evm
    builds it through each field's deserializer: ~45 us against ~18). Anything else -- an
    access list, an odd field -- gives None and py-evm's decoder decides."""
    try:
        fields = rlp.decode(encoded[1:], strict=True)
    except rlp.exceptions.DecodingError:
        return None
    if not isinstance(fields, list) or len(fields) != 12 or fields[8] != []:
        return None
    values: list[Any] = []
    for index, field in enumerate(fields):
        if index == 8:
            values.append([])
            continue
        if field.__class__ is not bytes:
            return None
        if index in _INT_FIELDS:
            if len(field) > 32 or field[:1] == b"\x00":
                return None
            values.append(int.from_bytes(field, "big"))
        elif index == 5 and len(field) not in (0, 20):
            return None
        else:
            values.append(field)
    return cls(2, DynamicFeeTransaction(*values))


class NodeTransactionBuilder(PragueTransactionBuilder):
    typed_transaction = NodeTypedTransaction


class Evm:
    """The execution layer over one py-evm database (``db``)."""

    def __init__(self, db: AtomicDB, chain_id: int, vm_class: type[PragueVM] = VM_CLASS) -> None:
        from collective.node import keccak

        keccak.install()
        self.vm_class = vm_class  # stock PragueVM in the tests that check NodeVM against it
        self.db = db
        self.chain_id = chain_id
        self.chaindb = ChainDB(db)
        self.chain_context = ChainContext(chain_id)
        self.consensus_context = ConsensusContext(db)

    # --- genesis and headers ------------------------------------------------------------------

    def genesis_header(self, genesis: Genesis) -> BlockHeaderAPI:
        """Write the genesis state and return block 0's header (also stored by hash)."""
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
        self.db[header.hash] = rlp.encode(header)  # where py-evm's HeaderDB looks

    def header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI:
        header: BlockHeaderAPI = self.chaindb.get_block_header_by_hash(Hash32(block_hash))
        return header

    def decode_header(self, encoded: bytes) -> BlockHeaderAPI:
        header: BlockHeaderAPI = rlp.decode(encoded, sedes=PragueBlockHeader)
        return header

    def child_header(
        self, parent: BlockHeaderAPI, *, coinbase: Address, timestamp: int
    ) -> BlockHeaderAPI:
        header: BlockHeaderAPI = self.vm_class.create_header_from_parent(
            parent,
            coinbase=coinbase,
            timestamp=max(timestamp, parent.timestamp + 1),
            gas_limit=parent.gas_limit,
        )
        return header

    # --- VMs and states -----------------------------------------------------------------------

    def vm(self, header: BlockHeaderAPI) -> PragueVM:
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
        tx: SignedTransactionAPI = NodeTransactionBuilder.decode(raw)
        return tx

    def recover_sender(self, tx: SignedTransactionAPI, raw: bytes | None = None) -> Address:
        """Check the signature and return the sender, recovering the public key once.

        py-evm's ``check_signature_validity`` recovers the key (and verifies the signature
        against it, which cannot fail), then ``tx.sender`` recovers it again. For typed
        transactions the node recovers once and fills ``tx.sender``'s cache; legacy ones take
        py-evm's path (their ``v`` carries the chain id). Raises on a bad signature.

        With the ``raw`` bytes ``tx`` was decoded from, the signed message is cut out of them
        (:func:`signing_message`) instead of re-encoded field by field.
        """
        if tx.type_id is None:
            tx.check_signature_validity()
            return Address(bytes(tx.sender))
        y_parity, r, s = tx.y_parity, tx.r, tx.s
        if y_parity not in (0, 1) or not 0 <= r < SECPK1_N or not 0 <= s < SECPK1_N:
            raise ValidationError("invalid signature values")  # what eth-keys' checks refuse
        message = None if raw is None else signing_message(raw)
        if message is None:
            message = tx.get_message_for_signing()
        sender = Address(signer(message, y_parity, r, s))
        vars(tx)["sender"] = sender  # the cached_property's slot
        return sender

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
        access_list: tuple[tuple[bytes, tuple[int, ...]], ...] = (),
        inspect: Callable[[StateAPI, ComputationAPI], None] | None = None,
    ) -> CallResult:
        """Run a transaction from ``sender`` without a signature, then undo it. With an
        ``access_list`` (EIP-2930) its addresses and slots start warm and count in the
        intrinsic gas; ``inspect`` sees the state and the computation before the undo."""
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
            spoofed = SpoofTransaction(
                unsigned, from_=sender, access_list=access_list, intrinsic_gas=intrinsic
            )
        else:
            spoofed = SpoofTransaction(unsigned, from_=sender)
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
        21,000); then geth's optimistic guess, ``(used + 2300) * 64 / 63``; then halving."""

        def fails(gas: int) -> bool:
            run = self.call(state, sender=sender, to=to, data=data, value=value, gas=gas)
            return run.error is not None

        first = self.call(state, sender=sender, to=to, data=data, value=value, gas=cap)
        if first.error is not None:
            return first
        used = first.gas_used
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
        undo it: the cheapest way to ask a view function."""
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


def revert_data(error: Exception | None) -> bytes:
    if isinstance(error, Revert) and error.args:
        return bytes(error.args[0])
    return b""


__all__ = [
    "EMPTY_REQUESTS_HASH",
    "VM_CLASS",
    "CallResult",
    "Evm",
    "NodeVM",
    "ValidationError",
    "revert_data",
    "signing_message",
]
