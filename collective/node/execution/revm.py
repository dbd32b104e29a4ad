"""The revm engine: py-evm for everything but executing a block's transactions, which run in
revm 19.4 (Rust, ``native/revm_engine``, the ``collective_revm`` extension).

:class:`RevmEngine` is :class:`~.pyevm.Evm` (genesis, headers, states, calls, estimates,
tracing all stay py-evm's) whose :meth:`~RevmEngine.vm` hands the sealer a
:class:`RevmBlockBuilder`. That builder runs py-evm's block preprocessing (EIP-4788, EIP-2935
system calls), then each transaction through revm's ``transact`` (nonce, gas purchase and
refund, coinbase tip, base fee burn, EIP-2930 access lists, EIP-7623 data floor, EIP-7702
authorizations with authorities recovered here as py-evm recovers them). revm reads the
block's py-evm state lazily (:class:`StateSource`) and keeps every change in its own cache;
the changes are written into the py-evm state once, before the block is finalized, so the
state root, the stored trie and every later read are py-evm's. Any transaction type revm is
not given here (none today: 0, 1, 2 and 4 are all run, and blob transactions are in no block)
would run in py-evm after the pending changes are written.

Receipts are py-evm's (:func:`.receipts.make_receipt`) over a :class:`RevmComputation`, which
carries what the node reads of a computation: success, error, output, gas used, logs.

Every validator of a network must run the same engine: they are meant to agree bit for bit
(``tests/node/test_revm_engine.py`` checks receipts, state roots and block hashes against
py-evm), but an engine switch is a consensus change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import rlp
from eth.abc import (
    BlockAndMetaWitness,
    BlockAPI,
    BlockHeaderAPI,
    ComputationAPI,
    ReceiptAPI,
    SignedTransactionAPI,
    StateAPI,
)
from eth.db.atomic import AtomicDB
from eth.exceptions import OutOfGas, Revert, VMError
from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.constants import HISTORY_STORAGE_ADDRESS, MAGIC
from eth_keys.datatypes import Signature
from eth_typing import Address, BlockNumber
from eth_utils.exceptions import ValidationError

from collective.errors import ConfigurationError
from collective.node.execution.engine import AccessList, CallResult
from collective.node.execution.pyevm import VM_CLASS, Evm
from collective.node.execution.receipts import make_receipt

try:
    import collective_revm as _native
except ImportError:  # not built: scripts/setup.sh builds it when cargo is there
    _native = None

#: the transaction types revm runs here: legacy, EIP-2930, EIP-1559, EIP-7702
REVM_TYPES = frozenset({None, 0, 1, 2, 4})
SPEC = "PRAGUE"
#: the accounts a block's system updates write behind revm (py-evm's block_preprocessing:
#: EIP-4788's beacon roots, EIP-2935's block hashes): an engine carried over from the
#: parent block forgets what it cached of them
SYSTEM_WRITTEN = [bytes(BEACON_ROOTS_ADDRESS), bytes(HISTORY_STORAGE_ADDRESS)]
#: an engine's cache (accounts plus slots) is not carried to the next block above this
CARRY_LIMIT = 200_000
#: a carried engine's cache is copied for calls (:meth:`RevmEngine.fork`) up to this size
FORK_LIMIT = 50_000


def available() -> bool:
    """Whether the ``collective_revm`` extension is importable (built by scripts/setup.sh)."""
    return _native is not None


#: the block environment revm's ``Engine.set_block`` takes: (number, coinbase, timestamp,
#: base fee, gas limit, PREVRANDAO, excess blob gas)
BlockEnv = tuple[int, bytes, int, int, int, bytes, int]


def state_env(state: StateAPI) -> BlockEnv:
    """The block environment of ``state``'s execution context: number, coinbase (20 bytes),
    timestamp (s), base fee (wei), gas limit, PREVRANDAO (EIP-4399: the header's mix hash)
    and excess blob gas (EIP-4844)."""
    context = state.execution_context
    return (
        context.block_number,
        bytes(context.coinbase),
        context.timestamp,
        context.base_fee_per_gas or 0,
        context.gas_limit,
        bytes(state.mix_hash),
        int(context.excess_blob_gas or 0),
    )


class StateSource:
    """What revm reads, from a py-evm ``state``: ``account(addr20)`` -> None (no such
    account) or (balance as 32 bytes, nonce, code hash); ``code(addr20)`` -> its code (asked
    only for code revm has not analysed yet: it keeps it by hash); ``storage(addr20,
    slot32)`` -> value as 32 bytes; ``block_hash(number)`` -> the 32-byte hash
    (``BLOCKHASH``)."""

    def __init__(self, state: StateAPI) -> None:
        """Reading ``state`` (py-evm's, of the block being built)."""
        self.state = state

    def account(self, address: bytes) -> tuple[bytes, int, bytes] | None:
        """The account at the 20-byte ``address``, or None when it does not exist."""
        state = self.state
        key = Address(address)
        if not state.account_exists(key):
            return None
        # one read of the account (py-evm's get_balance, get_nonce and get_code_hash read
        # it once each)
        found = state._account_db._get_account(key)  # type: ignore[attr-defined]
        return (found.balance.to_bytes(32, "big"), found.nonce, bytes(found.code_hash))

    def code(self, address: bytes) -> bytes:
        """The code of the account at the 20-byte ``address``."""
        return bytes(self.state.get_code(Address(address)))

    def storage(self, address: bytes, slot: bytes) -> bytes:
        """The value of the 32-byte ``slot`` of ``address``, as 32 bytes."""
        value: int = self.state.get_storage(Address(address), int.from_bytes(slot, "big"))
        return value.to_bytes(32, "big")

    def block_hash(self, number: int) -> bytes:
        """The hash of block ``number`` (one of the 256 before this one), else 32 zeros."""
        return bytes(self.state.get_ancestor_hash(BlockNumber(number)))


class RevmComputation:
    """A transaction's outcome in the shape the node reads of py-evm's computation.

    ``output``: return data (revert data when reverted; empty on another error);
    ``gas_used``: gas charged (refund and EIP-7623 floor applied); ``entries``: logs as
    (address, topics as ints, data); ``halt``: revm's halt reason, None unless halted."""

    def __init__(
        self,
        success: bool,
        gas_used: int,
        output: bytes,
        entries: list[tuple[bytes, tuple[int, ...], bytes]],
        halt: str | None,
    ) -> None:
        """As the class says."""
        self.is_success = success
        self.is_error = not success
        self.output = output
        self.gas_used = gas_used
        self.entries = entries
        self.error: VMError | None
        if success:
            self.error = None
        elif halt is None:
            self.error = Revert(output)
        elif halt.startswith("OutOfGas"):
            self.error = OutOfGas(halt)
        else:
            self.error = VMError(halt)

    def get_gas_used(self) -> int:
        """Gas charged to the transaction, in gas."""
        return self.gas_used

    def get_log_entries(self) -> list[tuple[bytes, tuple[int, ...], bytes]]:
        """The logs, in order: (20-byte address, topics as ints, data)."""
        return self.entries


def authorizations(
    tx: SignedTransactionAPI, chain_id: int
) -> list[tuple[bytes | None, bytes, bytes, int]]:
    """``tx``'s EIP-7702 authorizations for revm: (authority or None when the authorization
    is invalid, chain id as 32 bytes, address, nonce). Valid and recovered as py-evm's
    ``PragueState.process_set_code_authorizations`` steps 1-3 do (chain id current or 0,
    nonce below 2**64 - 1, s at most secp256k1n/2, ecrecover over MAGIC || rlp([chain_id,
    address, nonce])); revm does steps 4-9."""
    out: list[tuple[bytes | None, bytes, bytes, int]] = []
    for auth in tx.authorization_list:  # type: ignore[attr-defined]
        authority: bytes | None
        try:
            auth.validate(chain_id)
            message = MAGIC + rlp.encode([auth.chain_id, auth.address, auth.nonce])
            signature = Signature(vrs=(auth.y_parity, auth.r, auth.s))
            authority = signature.recover_public_key_from_msg(message).to_canonical_address()
        except Exception:  # py-evm skips an authorization on any error
            authority = None
        nonce = min(int(auth.nonce), 2**64 - 1)  # validated above; revm takes a u64
        out.append((authority, int(auth.chain_id).to_bytes(32, "big"), bytes(auth.address), nonce))
    return out


class Carried(NamedTuple):
    """A revm engine whose state cache is the state after block ``block_hash`` (32 bytes):
    it may run the transactions of that block's child, read through ``source``."""

    block_hash: bytes
    engine: Any
    source: StateSource


class RevmBlockBuilder:
    """The :class:`~.engine.BlockBuilder` of one block: py-evm's VM ``vm`` for the block's
    state, preprocessing and finalizing, revm for its transactions.

    Its revm engine is the parent block's (``carried``), when the parent was built here: the
    state cache the parent's transactions left (every account and slot read or written:
    what the next block's transactions mostly read again) is the parent's post-state, less
    the accounts the block's system updates write behind revm (:data:`SYSTEM_WRITTEN`),
    which it forgets. :meth:`built` hands the engine on to ``keep`` for the child block.
    """

    def __init__(
        self,
        vm: PragueVM,
        chain_id: int,
        carried: Carried | None = None,
        keep: Callable[[Carried], None] | None = None,
    ) -> None:
        """Around py-evm's ``vm`` of the block, for EIP-155 ``chain_id``; ``carried``, the
        parent block's engine; ``keep``, what takes this block's engine when it is built."""
        self._vm = vm
        self._chain_id = chain_id
        self._carried = carried
        self._keep = keep
        self._engine: Any = None  # created at the first transaction: after preprocessing
        self._source: StateSource | None = None

    @property
    def state(self) -> StateAPI:
        """py-evm's state of the block (up to date after :meth:`finalize_block`)."""
        return self._vm.state

    def get_block(self) -> BlockAPI:
        """py-evm's block being built."""
        return self._vm.get_block()

    def block_preprocessing(self, block: BlockAPI) -> None:
        """py-evm's system work before the first transaction (EIP-4788, EIP-2935)."""
        self._vm.block_preprocessing(block)

    def _revm(self) -> Any:
        if self._engine is None:
            state = self._vm.state
            carried = self._carried
            if carried is not None:
                engine, source = carried.engine, carried.source
                source.state = state
                engine.forget(SYSTEM_WRITTEN)
            else:
                source = StateSource(state)
                engine = _native.Engine(source, self._chain_id, SPEC)
            engine.set_block(*state_env(state))
            self._engine, self._source = engine, source
        return self._engine

    def built(self, header: BlockHeaderAPI) -> None:
        """The block is finished (its changes flushed, its state persisted) as ``header``:
        hand its engine (or the parent's, unused: no transaction ran) to ``keep`` for the
        child block, unless its cache holds more than :data:`CARRY_LIMIT` entries."""
        if self._keep is None:
            return
        if self._engine is not None and self._source is not None:
            engine, source = self._engine, self._source
        elif self._carried is not None:
            engine, source = self._carried.engine, self._carried.source
        else:
            return
        if engine.cached() <= CARRY_LIMIT:
            self._keep(Carried(bytes(header.hash), engine, source))

    def apply_transaction(
        self, header: BlockHeaderAPI, transaction: SignedTransactionAPI
    ) -> tuple[ReceiptAPI, ComputationAPI]:
        """Apply ``transaction`` on top of ``header`` (only its ``gas_used``, the block's so
        far, is read): its receipt (cumulative gas) and a :class:`RevmComputation`. Raises
        ``ValidationError`` when it does not apply (nonce, funds, fee cap, intrinsic gas, a
        type other than :data:`REVM_TYPES`; nothing changes then)."""
        tx: Any = transaction
        type_id = tx.type_id
        if type_id not in REVM_TYPES:
            raise ValidationError(f"transaction type {type_id} is not run by the revm engine")
        if type_id in (2, 4):
            price, priority = tx.max_fee_per_gas, tx.max_priority_fee_per_gas
        else:
            price, priority = tx.gas_price, None
        access = (
            [(bytes(a), [s.to_bytes(32, "big") for s in slots]) for a, slots in tx.access_list]
            if type_id
            else []
        )
        try:
            success, gas_used, output, logs, halt = self._revm().transact(
                bytes(tx.sender),
                bytes(tx.to) if tx.to else None,
                bytes(tx.data),
                tx.value.to_bytes(32, "big"),
                tx.gas,
                price,
                priority,
                tx.nonce,
                access,
                authorizations(tx, self._chain_id) if type_id == 4 else None,
            )
        except (ValueError, OverflowError) as exc:
            raise ValidationError(str(exc).removeprefix("invalid: ")) from None
        entries = [
            (address, tuple(int.from_bytes(t, "big") for t in topics), data)
            for address, topics, data in logs
        ]
        computation = RevmComputation(success, gas_used, output, entries, halt)
        receipt = make_receipt(transaction, computation, header.gas_used + gas_used)  # type: ignore[arg-type]
        return receipt, computation  # type: ignore[return-value]

    def flush(self) -> None:
        """Write the changes revm made since the last flush into py-evm's state: an account
        revm reports wiped (self-destructed, created, or left empty: EIP-161) is deleted
        first, storage and all."""
        if self._engine is None:
            return
        state = self._vm.state
        for raw, balance, nonce, code, wiped, slots in self._engine.take_changes():
            address = Address(raw)
            if wiped:
                state.delete_account(address)
            value = int.from_bytes(balance, "big")
            if wiped and not (value or nonce or code):
                continue
            state.set_balance(address, value)
            state.set_nonce(address, nonce)
            if code is not None:
                state.set_code(address, code)
            for slot, stored in slots:
                state.set_storage(
                    address, int.from_bytes(slot, "big"), int.from_bytes(stored, "big")
                )

    def finalize_block(self, block: BlockAPI) -> BlockAndMetaWitness:
        """Write revm's changes into py-evm's state, then py-evm's ``finalize_block``
        (persist, state root) of ``block``."""
        self.flush()
        return self._vm.finalize_block(block)


class RevmEngine(Evm):
    """:class:`~.pyevm.Evm` whose blocks execute their transactions in revm."""

    def __init__(self, db: AtomicDB, chain_id: int, vm_class: type[PragueVM] = VM_CLASS) -> None:
        """As :class:`~.pyevm.Evm`. Raises :class:`~collective.errors.ConfigurationError`
        when the ``collective_revm`` extension is not built."""
        if _native is None:
            raise ConfigurationError(
                "the revm engine is not built (the collective_revm extension is missing)",
                hint="run scripts/setup.sh with cargo installed, or use --engine py-evm",
            )
        super().__init__(db, chain_id, vm_class)
        self._carried: Carried | None = None  # the engine of the last block built
        self._carry_lock = threading.Lock()  # a carried engine is forked or moved, not both

    def vm(self, header: BlockHeaderAPI) -> RevmBlockBuilder:  # type: ignore[override]
        """A :class:`RevmBlockBuilder` to seal the block ``header`` starts, running on the
        engine of its parent when the parent was the last block built here (the engine
        moves to the new builder: a second block built on the same parent starts afresh)."""
        with self._carry_lock:
            carried, self._carried = self._carried, None
        if carried is not None and carried.block_hash != bytes(header.parent_hash):
            carried = None
        return RevmBlockBuilder(super().vm(header), self.chain_id, carried, self._keep)

    def _keep(self, carried: Carried) -> None:
        with self._carry_lock:
            self._carried = carried

    def fork(self, block_hash: bytes, source: StateSource) -> Any | None:
        """A native engine over ``source`` holding a copy of the state cache of the engine
        block ``block_hash`` (32 bytes) was built on, when that block was the last built here
        and its engine is not running a child block: for calls on the state after it
        (:mod:`.revm_calls`), which then read none of what that block and the blocks
        carried before it read or wrote. None otherwise, or when that cache holds more than
        :data:`FORK_LIMIT` entries (a copy per thread and block would cost too much)."""
        with self._carry_lock:
            carried = self._carried
            if carried is None or carried.block_hash != block_hash:
                return None
            if carried.engine.cached() > FORK_LIMIT:
                return None
            try:
                return carried.engine.fork(source)
            except ValueError:  # changes not taken: not at a block's end
                return None

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
        """As :meth:`Evm.call <.pyevm.Evm.call>`, run in revm when it can be (no gas
        price, access list or inspection; the block's base fee zero, as calls have it), else
        in py-evm: :func:`.revm_calls.call_on_state`, which says more."""
        from collective.node.execution.revm_calls import call_on_state

        return call_on_state(
            self, state, sender=sender, to=to, data=data, value=value, gas=gas,
            gas_price=gas_price, access_list=access_list, inspect=inspect,
        )  # fmt: skip


__all__ = [
    "REVM_TYPES",
    "BlockEnv",
    "RevmBlockBuilder",
    "RevmComputation",
    "RevmEngine",
    "StateSource",
    "authorizations",
    "available",
    "state_env",
]
