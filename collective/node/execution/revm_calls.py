"""Calls (``eth_call``, ``eth_estimateGas``) on the revm engine: run in revm over a state cache
kept per thread, py-evm's state built only when revm asks for something it has not read yet.

A call runs in revm when it can be (no gas price, access list or inspection; base fee zero,
as calls have it); otherwise, and when revm refuses to start it (a sender with code,
EIP-3607; funds; intrinsic gas) or it halts (out of gas, an invalid opcode), it runs in
py-evm, whose error the node reports in geth's words. A revert is revm's: its data is the
answer.

Each thread keeps the revm engine of its last call and everything that engine read, under
the key (chain id, state root, parent hash): the state root names every account and slot,
the parent hash every ``BLOCKHASH`` answer (the 256 before are its ancestors). A call on
the same key reuses what was read; any other key starts afresh. The block environment
(number, coinbase, timestamp, gas limit, PREVRANDAO, excess blob gas) is given for each call,
again only when it changed. :func:`call_at` takes the call's header and a way to build its
py-evm state, so a call whose reads are all cached builds no py-evm state at all (py-evm's
``VM.build_state`` is most of a cached call's cost otherwise).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eth.abc import BlockHeaderAPI, ComputationAPI, StateAPI
from eth.exceptions import Revert
from eth_typing import Address, BlockNumber

from collective.node.execution import revm
from collective.node.execution.engine import AccessList, CallResult, ExecutionEngine
from collective.node.execution.pyevm import Evm
from collective.node.execution.revm import SPEC, BlockEnv, StateSource
from collective.node.execution.state_cache import read_account, read_storage

#: (chain id, state root, parent hash): what a thread's cached reads are valid for
Key = tuple[int, bytes, bytes]
#: what a thread holds: (key, revm engine, its source, its block environment, the header of
#: the last call when it named one)
Held = tuple[Key, Any, "LazySource", BlockEnv, BlockHeaderAPI | None]
#: per thread, the revm engine of the last call (``held``: a :data:`Held`)
_calls = threading.local()


class LazySource(StateSource):
    """A :class:`~.revm.StateSource` whose py-evm ``state`` is built by the running call's
    builder at the first read revm asks for (a cache miss), then kept for that call."""

    def __init__(self) -> None:
        """With no call bound yet (:meth:`bind` one before the engine runs)."""
        self._state: StateAPI | None = None
        self._build: Callable[[], StateAPI] | None = None
        self._trie: tuple[Callable[[], Any], bytes] | None = None
        self.failure: BaseException | None = None

    @property  # type: ignore[override]
    def state(self) -> StateAPI:
        """The call's py-evm state, built now if it was not. Raises whatever the builder
        raises (also kept in :attr:`failure`: revm reports it as a RuntimeError's text)."""
        if self._state is None:
            if self._build is None:
                raise RuntimeError("revm read a state with no call running on it")
            try:
                self._state = self._build()
            except BaseException as exc:
                self.failure = exc
                raise
        return self._state

    @state.setter
    def state(self, state: StateAPI) -> None:
        self._state = state

    def bind(
        self,
        state: StateAPI | None,
        build: Callable[[], StateAPI] | None,
        trie: tuple[Callable[[], Any], bytes] | None = None,
    ) -> None:
        """Read ``state`` from now on, or (None) the state ``build()`` makes when first read;
        ``bind(None, None)`` drops both once the call is over. ``trie``: ``(db(), state
        root)``, the database (opened at the first read) and root of that same state:
        accounts and storage are then read straight from its tries, and the py-evm state is
        built only for what else revm asks (code it has not seen, a block hash) or for a
        trie node missing (py-evm's read names it)."""
        self._state = state
        self._build = build
        self._trie = trie
        self.failure = None

    def account(self, address: bytes) -> tuple[bytes, int, bytes] | None:
        """As :meth:`StateSource.account <.revm.StateSource.account>`, from the state trie
        when :meth:`bind` gave it."""
        if self._trie is not None:
            db, root = self._trie
            try:
                found = read_account(db(), root, address)
            except KeyError:
                return super().account(address)
            if found is None:
                return None
            return (found.balance.to_bytes(32, "big"), found.nonce, bytes(found.code_hash))
        return super().account(address)

    def storage(self, address: bytes, slot: bytes) -> bytes:
        """As :meth:`StateSource.storage <.revm.StateSource.storage>`, from the account's
        storage trie when :meth:`bind` gave the state trie."""
        if self._trie is not None:
            db, root = self._trie
            try:
                keys = db()
                found = read_account(keys, root, address)
                if found is None:
                    return bytes(32)
                value = read_storage(keys, found.storage_root, int.from_bytes(slot, "big"))
            except KeyError:
                return super().storage(address, slot)
            return value.to_bytes(32, "big")
        return super().storage(address, slot)


def block_env(evm: Evm, header: BlockHeaderAPI) -> BlockEnv:
    """revm's block environment for a call in ``header``'s block, as py-evm's
    ``VM.create_execution_context`` makes it (the fee recipient of ``evm``'s consensus,
    PREVRANDAO the mix hash: EIP-4399; excess blob gas: EIP-4844), base fee zero."""
    return (
        header.block_number,
        bytes(evm.vm_class.consensus_class.get_fee_recipient(header)),
        header.timestamp,
        0,
        header.gas_limit,
        bytes(header.mix_hash),
        int(getattr(header, "excess_blob_gas", 0) or 0),
    )


def _engine(
    evm: revm.RevmEngine, key: Key, env: BlockEnv, header: BlockHeaderAPI | None
) -> tuple[Any, LazySource]:
    """This thread's revm engine for ``key``, its block environment set to ``env`` (that of
    ``header``, when the call names one): the cached one when the key matches, else a new
    one (forgetting the old): a copy of the engine ``header``'s block was built on when
    ``evm`` still holds it (:meth:`RevmEngine.fork <.revm.RevmEngine.fork>`), else empty."""
    held: Held | None = getattr(_calls, "held", None)
    if held is not None and held[0] == key:
        _, engine, source, current, _ = held
        if current != env:
            engine.set_block(*env)
        _calls.held = (key, engine, source, env, header)
        return engine, source
    import collective_revm  # built: a RevmEngine exists

    source = LazySource()
    engine = evm.fork(bytes(header.hash), source) if header is not None else None
    if engine is None:
        engine = collective_revm.Engine(source, evm.chain_id, SPEC)
    engine.set_block(*env)
    _calls.held = (key, engine, source, env, header)
    return engine, source


def _run(
    engine: Any,
    source: LazySource,
    *,
    sender: Address,
    to: Address | None,
    data: bytes,
    value: int,
    gas: int,
) -> tuple[bool, int, bytes, str | None]:
    """revm's ``call``: (success, gas spent, output, halt reason or None); a refusal to
    start is the halt ``"refused"``. Raises what building the state raised."""
    try:
        return engine.call(  # type: ignore[no-any-return]
            bytes(sender), bytes(to) if to is not None else None, data,
            value.to_bytes(32, "big"), gas,
        )  # fmt: skip
    except (ValueError, OverflowError):
        return False, 0, b"", "refused"
    except RuntimeError:
        if source.failure is not None:  # the state could not be built: say why, as before
            raise source.failure from None
        raise


def call_at(
    evm: ExecutionEngine,
    header: BlockHeaderAPI,
    build_state: Callable[[], StateAPI],
    *,
    sender: Address,
    to: Address | None,
    data: bytes,
    value: int,
    gas: int,
    database: Callable[[], Any] | None = None,
) -> CallResult:
    """Run a call in ``header``'s block (a sealed header, or the pending one) without
    building py-evm's state unless it is needed.

    Args: ``evm``, the chain's execution layer (its type, chain id and VM class are read,
    not its database); ``build_state()``, the call's py-evm state (base fee zero, on
    whatever database the caller reads; called at most once, and only on a cache miss or a
    fallback to py-evm); ``sender``/``to`` 20 bytes (``to`` None creates), ``value`` in
    wei, ``gas`` in gas; ``database()``, when given, the key-value database that state
    reads (``ExecutionEngine.db``): accounts and storage revm has not cached are then read
    from its tries at ``header``'s state root (:meth:`LazySource.bind`), without building
    the state.
    Returns: the :class:`~.engine.CallResult`, as ``evm.call(build_state(), ...)`` gives
    it; on an engine other than :class:`~.revm.RevmEngine` that is what runs.
    Raises: as :meth:`Evm.call <.pyevm.Evm.call>`, and whatever ``build_state`` raises.
    """
    if not isinstance(evm, revm.RevmEngine):
        return evm.call(build_state(), sender=sender, to=to, data=data, value=value, gas=gas)
    held: Held | None = getattr(_calls, "held", None)
    if held is not None and held[4] is header and held[0][0] == evm.chain_id:
        engine, source = held[1], held[2]  # the last call's block (headers are immutable)
    else:
        key = (evm.chain_id, bytes(header.state_root), bytes(header.parent_hash))
        engine, source = _engine(evm, key, block_env(evm, header), header)
    source.bind(None, build_state, None if database is None else (database, header.state_root))
    try:
        success, spent, output, halt = _run(
            engine, source, sender=sender, to=to, data=data, value=value, gas=gas
        )
        if halt is not None:  # py-evm says what went wrong, in its words
            return Evm.call(
                evm, source.state, sender=sender, to=to, data=data, value=value, gas=gas
            )
    finally:
        _release(engine, source)
    return CallResult(output, spent, None if success else Revert(output))


def _release(engine: Any, source: LazySource) -> None:
    """The call on ``engine`` is over: unbind its source, and forget the thread's engine once
    its cache holds more than :data:`revm.CARRY_LIMIT` entries (calls that read ever new
    accounts would grow it without bound)."""
    source.bind(None, None)
    if engine.cached() > revm.CARRY_LIMIT:
        _calls.held = None


def call_on_state(
    evm: revm.RevmEngine,
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
    """:meth:`RevmEngine.call <.revm.RevmEngine.call>`: a call on py-evm's ``state`` (its
    block's context), in revm when it can be (as the module says), else in py-evm.
    ``gas_used`` is the gas spent before refunds, intrinsic gas included, as py-evm counts
    it. Arguments, result and errors as :meth:`Evm.call <.pyevm.Evm.call>`."""
    context = state.execution_context
    if gas_price or access_list or inspect is not None or context.base_fee_per_gas:
        return Evm.call(
            evm, state, sender=sender, to=to, data=data, value=value, gas=gas,
            gas_price=gas_price, access_list=access_list, inspect=inspect,
        )  # fmt: skip
    parent = bytes(state.get_ancestor_hash(BlockNumber(context.block_number - 1)))
    key = (evm.chain_id, bytes(state.state_root), parent)
    engine, source = _engine(evm, key, revm.state_env(state), None)  # base fee 0
    source.bind(state, None)
    try:
        success, spent, output, halt = _run(
            engine, source, sender=sender, to=to, data=data, value=value, gas=gas
        )
    finally:
        _release(engine, source)
    if halt is not None:
        return Evm.call(evm, state, sender=sender, to=to, data=data, value=value, gas=gas)
    return CallResult(output, spent, None if success else Revert(output))


__all__ = ["BlockEnv", "Key", "LazySource", "block_env", "call_at", "call_on_state"]
