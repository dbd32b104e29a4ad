"""Looking inside execution and state: access lists, call traces, Merkle proofs.

- :func:`create_access_list` (``eth_createAccessList``): run the call, read which addresses and
  slots it warmed (py-evm's EIP-2929 journal), run again with that list until it no longer
  changes, as geth does; the sender, the recipient, the precompiles and the coinbase are left
  out (they are warm anyway).
- :func:`replay` and :func:`call_frame` (``debug_traceTransaction`` with geth's
  ``callTracer``): re-execute a sealed block's transactions up to the one asked for on the
  block's starting state, then render py-evm's tree of computations (each ``CALL``/``CREATE``
  is a child computation) in the call tracer's shape: ``{type, from, to, value, gas, gasUsed,
  input, output, error, revertReason, calls}``.
- :func:`proof` (``eth_getProof``, EIP-1186): the account's path in the state trie and each
  slot's in its storage trie, from py-trie, as RLP-encoded nodes.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth.abc import ComputationAPI, SignedTransactionAPI, StateAPI
from eth.db.backends.base import BaseDB
from eth.db.journal import DELETE_WRAPPED, REVERT_TO_WRAPPED
from eth.exceptions import OutOfGas, Revert
from eth.rlp.accounts import Account
from eth_typing import Address
from eth_utils.crypto import keccak
from trie.hexary import HexaryTrie

from collective.node.execution import CallResult, ExecutionEngine, revert_data
from collective.node.render import hexbytes, hexint

AccessList = tuple[tuple[bytes, tuple[int, ...]], ...]
MAX_ACCESS_LIST_RUNS = 8


def warmed(state: StateAPI) -> dict[bytes, set[int]]:
    """The addresses and storage slots the transaction just applied to ``state`` warmed."""
    journal = state._account_db._journal_accessed_state._journal  # type: ignore[attr-defined]
    found: dict[bytes, set[int]] = {}
    for key, value in journal._current_values.items():
        if value is REVERT_TO_WRAPPED or value is DELETE_WRAPPED:
            continue
        if len(key) == 20:
            found.setdefault(bytes(key), set())
        else:
            found.setdefault(bytes(key[:20]), set()).add(int.from_bytes(key[20:], "big"))
    return found


def create_access_list(
    evm: ExecutionEngine,
    state: StateAPI,
    *,
    sender: Address,
    to: Address | None,
    data: bytes,
    value: int,
    gas: int,
) -> tuple[AccessList, CallResult]:
    """The access list of a call and the result of the call run with it."""
    precompiles = set(state.computation_class.get_precompiles())
    # warm anyway: the sender, the recipient, the precompiles, the coinbase (EIP-3651)
    excluded = {bytes(sender), bytes(state.coinbase), *(bytes(a) for a in precompiles)}
    if to is not None:
        excluded.add(bytes(to))
    else:  # the created contract's address
        from eth._utils.address import generate_contract_address

        excluded.add(bytes(generate_contract_address(sender, int(state.get_nonce(sender)))))
    current: AccessList = ()
    seen: dict[bytes, set[int]] = {}

    def collect(after: StateAPI, computation: ComputationAPI) -> None:
        seen.clear()
        seen.update(warmed(after))

    runs = 0
    while True:
        result = evm.call(
            state,
            sender=sender,
            to=to,
            data=data,
            value=value,
            gas=gas,
            access_list=current,
            inspect=collect,
        )
        runs += 1
        found = tuple(
            (address, tuple(sorted(seen[address])))
            for address in sorted(seen)
            if address not in excluded
        )
        if found == current or runs >= MAX_ACCESS_LIST_RUNS:
            break
        current = found
    return current, result


def access_list_json(entries: AccessList) -> list[dict[str, Any]]:
    """An EIP-2930 access list as JSON: ``[{address, storageKeys}]``, 0x-hex, keys 32 bytes."""
    return [
        {
            "address": "0x" + address.hex(),
            "storageKeys": [hexbytes(slot.to_bytes(32, "big")) for slot in slots],
        }
        for address, slots in entries
    ]


# --- call traces -----------------------------------------------------------------------------


def replay(
    evm: ExecutionEngine,
    parent_root: bytes,
    header: Any,
    txs: list[SignedTransactionAPI],
    index: int,
) -> ComputationAPI:
    """Apply ``txs[:index]`` to the block's starting state, then return the computation of
    ``txs[index]`` (nothing is persisted)."""
    state = evm.state(header.copy(state_root=parent_root))
    for tx in txs[:index]:
        state.apply_transaction(tx)
        state.lock_changes()
    return state.apply_transaction(txs[index])


def _error_text(error: Exception) -> str:
    if isinstance(error, Revert):
        return "execution reverted"
    if isinstance(error, OutOfGas):
        return "out of gas"
    return str(error) or type(error).__name__


def _revert_reason(payload: bytes) -> str | None:
    if payload[:4] != bytes.fromhex("08c379a0"):
        return None
    try:
        from eth_abi.abi import decode

        (reason,) = decode(["string"], payload[4:])
    except Exception:
        return None
    return str(reason)


def call_frame(
    computation: ComputationAPI,
    *,
    kind: str,
    sender: bytes,
    gas: int,
    gas_used: int,
    only_top: bool = False,
    with_log: bool = False,
    log_offset: int = 0,
) -> dict[str, Any]:
    """One frame of geth's call tracer, with its children unless ``only_top``; with
    ``with_log`` each frame's logs, ``index`` counted in the block from ``log_offset``."""
    msg = computation.msg
    to = bytes(msg.storage_address if kind in ("CREATE", "CREATE2") else msg.code_address)
    frame: dict[str, Any] = {
        "from": "0x" + sender.hex(),
        "gas": hexint(gas),
        "gasUsed": hexint(gas_used),
        "to": "0x" + to.hex(),
        "input": hexbytes(msg.code if msg.is_create else msg.data_as_bytes),
    }
    error = computation.error if computation.is_error else None
    output = bytes(computation.output) if error is None or isinstance(error, Revert) else b""
    if error is not None and isinstance(error, Revert):
        output = revert_data(error)
    if output:
        frame["output"] = hexbytes(output)
    if error is not None:
        frame["error"] = _error_text(error)
        reason = _revert_reason(output)
        if reason is not None:
            frame["revertReason"] = reason
    if with_log and not computation.is_error:
        logs = [
            {
                "address": "0x" + bytes(address).hex(),
                "topics": [hexbytes(t.to_bytes(32, "big")) for t in topics],
                "data": hexbytes(data),
                "index": hexint(log_offset + counter),
                "position": hexint(len(computation.children)),
            }
            for counter, address, topics, data in sorted(computation._log_entries)  # type: ignore[attr-defined]
        ]
        if logs:  # omitted when empty, as geth
            frame["logs"] = logs
    calls = []
    if not only_top:
        for child in computation.children:
            calls.append(_child(child, msg, with_log, log_offset))
    if calls:
        frame["calls"] = calls
    frame["value"] = hexint(msg.value) if kind not in ("STATICCALL", "DELEGATECALL") else None
    if frame["value"] is None:
        del frame["value"]
    frame["type"] = kind
    return frame


def _child(child: ComputationAPI, parent: Any, with_log: bool, log_offset: int) -> dict[str, Any]:
    msg = child.msg
    if msg.is_create:
        kind = "CREATE"
    elif msg.code_address != msg.storage_address:
        kind = "CALLCODE" if msg.should_transfer_value else "DELEGATECALL"
    elif msg.is_static and not parent.is_static:
        kind = "STATICCALL"
    else:
        kind = "CALL"
    return call_frame(
        child,
        kind=kind,
        sender=bytes(parent.storage_address),
        gas=int(msg.gas),
        gas_used=int(child.get_gas_used()),
        with_log=with_log,
        log_offset=log_offset,
    )


# --- proofs ----------------------------------------------------------------------------------


def proof(db: BaseDB, state_root: bytes, address: bytes, slots: list[int]) -> dict[str, Any]:
    """EIP-1186: the account and the storage slots with their Merkle proofs."""
    state_trie = HexaryTrie(db, state_root)
    key = keccak(address)
    account_proof = _path(state_trie, key)
    encoded = state_trie.get(key)
    account = rlp.decode(encoded, sedes=Account) if encoded else Account()
    storage_trie = HexaryTrie(db, account.storage_root)
    storage = []
    for slot in slots:
        slot_key = keccak(slot.to_bytes(32, "big"))
        stored = storage_trie.get(slot_key)
        storage.append(
            {
                "key": hexbytes(slot.to_bytes(32, "big")),
                "value": hexint(
                    rlp.decode(stored, sedes=rlp.sedes.big_endian_int) if stored else 0
                ),
                "proof": [hexbytes(rlp.encode(node)) for node in _path(storage_trie, slot_key)],
            }
        )
    return {
        "address": "0x" + address.hex(),
        "accountProof": [hexbytes(rlp.encode(node)) for node in account_proof],
        "balance": hexint(account.balance),
        "codeHash": hexbytes(account.code_hash),
        "nonce": hexint(account.nonce),
        "storageHash": hexbytes(account.storage_root),
        "storageProof": storage,
    }


def _path(trie: HexaryTrie, key: bytes) -> tuple[Any, ...]:
    """The decoded nodes from the root to ``key`` (or to where it would be)."""
    nodes: tuple[Any, ...] = trie.get_proof(key)  # type: ignore[no-untyped-call]
    return nodes


__all__ = [
    "AccessList",
    "access_list_json",
    "call_frame",
    "create_access_list",
    "proof",
    "replay",
    "warmed",
]
