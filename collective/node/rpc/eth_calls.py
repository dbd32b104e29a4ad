"""The ``eth_*`` methods that execute without sealing: ``eth_call``, ``eth_estimateGas`` and
``eth_createAccessList`` (EIP-2930), within the RPC limits (:mod:`collective.node.limits`).

A call runs with at most ``gas_cap`` gas and for at most ``call_timeout`` seconds
(:class:`~collective.node.node.NodeConfig`; geth's ``--rpc.gascap`` and ``--rpc.evmtimeout``),
and within what is left of its batch's ``batch_timeout``. On a file-backed chain it runs
outside the chain lock, on a read-only view of the committed blocks: a slow call holds up no
one else. Errors as geth answers them: -32000 for a call that cannot start (``insufficient
funds for gas * price + value``, ``intrinsic gas too low``, ``execution aborted (timeout =
5s)``), 3 ``execution reverted`` with the revert data, -32002 when the batch's time is spent.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from eth.exceptions import Revert
from eth.vm.interrupt import EVMMissingData
from eth_typing import Address

from collective.node import tracing
from collective.node.errors import EXECUTION_REVERTED, RpcError, rejected
from collective.node.execution import CallResult, revert_data, revm
from collective.node.execution.revm_calls import call_at
from collective.node.limits import TIMED_OUT, CallTimeout, budget, deadline
from collective.node.render import hexbytes, hexint
from collective.node.rpc.context import CallState, call_state
from collective.node.rpc.objects import LATEST, BlockRef, CallArgs
from collective.node.rpc.scalars import ParamError
from collective.node.storage import DamagedError

if TYPE_CHECKING:
    from collective.node.node import Node

try:
    from collective_revm import plain_call as _plain_call
except ImportError:  # not built (scripts/setup.sh builds it): every call goes the general way
    _plain_call = None

_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_ZERO_ADDRESS = Address(b"\x00" * 20)


def raise_if_failed(result: CallResult) -> None:
    """Nothing for a call that succeeded.

    Raises: :class:`~collective.node.errors.RpcError` 3 ``execution reverted[: reason]``
    with the revert data (0x-hex) as ``data`` for a revert (the reason decoded from an
    ``Error(string)`` payload); -32000 with the error's text for any other failure.
    """
    error = result.error
    if error is None:
        return
    if isinstance(error, Revert):
        payload = revert_data(error)
        message = "execution reverted"
        if payload[:4] == _ERROR_SELECTOR:
            try:
                from eth_abi.abi import decode

                (reason,) = decode(["string"], payload[4:])
                message = f"execution reverted: {reason}"
            except Exception:
                pass
        raise RpcError(EXECUTION_REVERTED, message, hexbytes(payload))
    raise rejected(str(error) or type(error).__name__)


def check_chain_id(node: Node, call: CallArgs) -> None:
    """Nothing when ``call`` names no chain id or this node's.

    Raises: :class:`ParamError` (argument 0, ``transaction.chainId``) otherwise.
    """
    want = node.view.chain_id
    if call.chain_id is not None and call.chain_id != want:
        raise ParamError(
            "transaction.chainId",
            f"chainId does not match node's (have={call.chain_id}, want={want})",
            index=0,
        )


def run_call(node: Node, call: CallArgs, ref: BlockRef, estimate: bool) -> Any:
    """Run a call (``estimate`` False) or a gas estimate on block ``ref``'s state.

    Returns: the output as 0x-hex, or the estimated gas as a hex quantity.
    Raises: :class:`~collective.node.errors.RpcError` as the module says.
    """
    check_chain_id(node, call)
    config = node.config
    limit = deadline()
    if limit is not None and time.monotonic() > limit:
        raise RpcError(
            TIMED_OUT,
            f"request timed out: the batch spent its {config.batch_timeout:g}s for calls",
        )
    with ExitStack() as stack:
        try:
            state = CallState(node, ref, stack)
            with budget(config.call_timeout):
                return _execute(node, state, call, estimate)
        except CallTimeout:
            raise rejected(f"execution aborted (timeout = {config.call_timeout:g}s)") from None


def _execute(node: Node, state: CallState, call: CallArgs, estimate: bool) -> Any:
    sender = call.sender or _ZERO_ADDRESS
    gas_cap = node.config.gas_cap
    cap = min(node.view.head.gas_limit, gas_cap)
    gas = min(call.gas, gas_cap) if call.gas is not None else cap
    price = call.gas_price if call.gas_price is not None else (call.max_fee or 0)
    if price:
        balance = int(state.get().get_balance(sender))
        if balance < gas * price + call.value:
            raise rejected("insufficient funds for gas * price + value")
    if call.value and int(state.get().get_balance(sender)) < call.value:
        raise rejected("insufficient funds for transfer")
    try:
        if estimate:
            result = state.evm.estimate(
                state.get(),
                sender=sender,
                to=call.to,
                data=call.data,
                value=call.value,
                cap=min(gas, cap) if call.gas is not None else cap,
            )
        else:
            result = call_at(
                node.chain.evm,
                state.header,
                state.get,
                sender=sender,
                to=call.to,
                data=call.data,
                value=call.value,
                gas=gas,
                database=lambda: state.evm.db,
            )
    except (RpcError, CallTimeout, DamagedError, sqlite3.DatabaseError, EVMMissingData):
        raise
    except Exception as exc:  # py-evm validation: intrinsic gas, nonce, balance
        raise rejected(validation_message(str(exc))) from None
    if estimate and result.error is not None and not isinstance(result.error, Revert):
        raise rejected(f"gas required exceeds allowance ({gas})")
    raise_if_failed(result)
    return hexint(result.gas_used) if estimate else hexbytes(result.output)


def validation_message(text: str) -> str:
    """geth's words for a py-evm validation error's ``text`` (intrinsic gas, funds), else
    ``text`` itself."""
    lower = text.lower()
    if "intrinsic" in lower:
        return "intrinsic gas too low"
    if "balance" in lower or "afford" in lower:
        return "insufficient funds for gas * price + value"
    return text


def eth_call(node: Node, call: CallArgs, ref: BlockRef, *overrides: None) -> Any:
    """``eth_call``: the call's output as 0x-hex (overrides are refused by their parser)."""
    return run_call(node, call, ref, estimate=False)


def plain_call(node: Node, body: bytes) -> str | None:
    """The answer to ``body`` when it is one plain ``eth_call`` on the head that succeeds, run
    by :func:`run_call` as :func:`eth_call` runs it, without the dispatcher's general steps
    (decoding, the method table, declared params); None for anything else, for the general
    path to answer (in its words, errors included).

    Plain: what ``collective_revm.plain_call`` reads natively (params exactly a call object
    with ``to`` and at most ``data``/``input`` and ``from``, and ``"latest"``; an id it writes
    back as the general path does), on a file-backed node executing with revm (calls there
    run outside the chain lock). Like any read, it first lets the sealer seal what earlier
    writes pooled (:meth:`Node.before_read <collective.node.node.Node.before_read>`).
    Raises: nothing (a failure of any kind is left to the general path).
    """
    if _plain_call is None or node.chain.store.path is None:
        return None
    evm = node.chain.evm
    if not isinstance(evm, revm.RevmEngine):
        return None
    found = _plain_call(body)
    if found is None:
        return None
    request_id: str
    request_id, to, data, sender = found
    node.before_read()
    call = CallArgs(
        sender=Address(sender) if sender is not None else None, to=Address(to), gas=None,
        gas_price=None, max_fee=None, max_priority_fee=None, value=0, data=data, nonce=None,
    )  # fmt: skip
    try:
        output: str = run_call(node, call, LATEST, estimate=False)
    except Exception:
        return None
    return '{"jsonrpc":"2.0","id":' + request_id + ',"result":"' + output + '"}'


def eth_estimate_gas(node: Node, call: CallArgs, ref: BlockRef, *overrides: None) -> Any:
    """``eth_estimateGas``: the least gas the call succeeds with, as a hex quantity.

    Raises: -32000 ``gas required exceeds allowance (N)`` when it fails at every gas
    amount up to the cap; 3 when it reverts.
    """
    return run_call(node, call, ref, estimate=True)


def eth_create_access_list(node: Node, call: CallArgs, ref: BlockRef) -> Any:
    """``eth_createAccessList`` (EIP-2930), geth's answer: ``{accessList, gasUsed}``, and
    ``error`` when the call fails with it. Within the limits of ``eth_call``."""
    check_chain_id(node, call)
    config = node.config
    cap = min(node.view.head.gas_limit, config.gas_cap)
    gas = min(call.gas, config.gas_cap) if call.gas is not None else cap
    sender = call.sender or _ZERO_ADDRESS
    with node.view.reading() as evm:
        state = call_state(node, ref, evm)
        try:
            with budget(config.call_timeout):
                entries, result = tracing.create_access_list(
                    evm, state, sender=sender, to=call.to, data=call.data, value=call.value,
                    gas=gas,
                )  # fmt: skip
        except CallTimeout:
            raise rejected(f"execution aborted (timeout = {config.call_timeout:g}s)") from None
        except RpcError:
            raise
        except Exception as exc:  # py-evm validation: intrinsic gas, nonce, balance
            raise rejected(validation_message(str(exc))) from None
    answer: dict[str, Any] = {
        "accessList": tracing.access_list_json(entries),
        "gasUsed": hexint(result.gas_used),
    }
    if result.error is not None:
        answer["error"] = (
            "execution reverted" if isinstance(result.error, Revert) else str(result.error)
        )
    return answer


__all__ = [
    "check_chain_id",
    "eth_call",
    "eth_create_access_list",
    "eth_estimate_gas",
    "plain_call",
    "raise_if_failed",
    "run_call",
    "validation_message",
]
