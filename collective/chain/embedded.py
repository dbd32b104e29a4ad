"""The embedded backend: eth-tester's py-evm chain in this process, answering JSON-RPC.

:class:`EmbeddedBackend` takes the same ``request(method, params)`` a node does and answers in
JSON-RPC's spelling, so a :class:`~collective.chain.Chain` cannot tell it from an HTTP node.
Requests go through web3's eth-tester method table (``web3/providers/eth_tester/defaults.py``
and its middleware, which turn JSON-RPC parameters into eth-tester's), results are written
back as JSON-RPC (:func:`~collective.chain.shapes.to_rpc`), and failures come out as
:class:`~collective.chain.backend.RpcFailure` with the error codes a node uses (3 and the revert
data for a revert, -32000 for a refused transaction, -32601 for an unknown method).

:class:`TesterBackend` is eth-tester's py-evm backend with three adjustments: it reports the
configured chain id (131277 by default) to the EVM (``block.chainid``) as ``eth_chainId`` does,
a reverted ``eth_call`` or ``eth_estimateGas`` carries the exact revert data, and gas
estimates take two executions instead of py-evm's ~15-step binary search.

py-evm serves one thread at a time: :attr:`EmbeddedBackend.lock` is held for every request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import SnapshotNotFound, TransactionFailed
from eth_tester.exceptions import ValidationError as EthTesterValidationError
from eth_utils.exceptions import ValidationError as EthValidationError
from web3 import Web3
from web3._utils.error_formatters_utils import PANIC_ERROR_CODES
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint

from collective.chain.backend import Call, DevBackend, RpcFailure
from collective.chain.shapes import to_rpc
from collective.config import EMBEDDED_CHAIN_ID

REVERTED = 3  # the JSON-RPC error code geth and anvil answer a revert with (data: the payload)
REFUSED = -32000  # a transaction or call the chain refuses (geth's "server error")


def _reverted(data: bytes) -> RpcFailure:
    """The error answer a node gives for a revert with ``data``: Error(string)'s reason in the
    message, a panic's meaning, or "execution reverted" for a custom error."""
    hexdata = "0x" + data.hex()
    if data[:4] == bytes.fromhex("08c379a0"):
        try:
            (reason,) = abi.decode(["string"], data[4:])
        except (DecodingError, ValueError, OverflowError):
            reason = hexdata
        return RpcFailure(REVERTED, f"execution reverted: {reason}", hexdata)
    if data[:4] == bytes.fromhex("4e487b71"):
        meaning = PANIC_ERROR_CODES.get(data[-1:].hex(), "Panic error")
        return RpcFailure(REVERTED, f"execution reverted: {meaning}", hexdata)
    return RpcFailure(REVERTED, "execution reverted", hexdata)


def _quick_gas_estimate(state: Any, transaction: Any) -> int:
    """Gas for ``transaction`` in two executions instead of py-evm's ~15-step binary search.

    Run once with the block's gas limit, take the gas used before refunds plus a 1/63 margin
    (for the 63/64 rule on nested calls, EIP-150) and confirm with a second run; fall back to
    the exact search if that runs out of gas.
    """
    from eth.estimators.gas import binary_gas_search_exact
    from eth.exceptions import VMError
    from eth.vm.spoof import SpoofTransaction

    def run(gas: int, **extra: Any) -> Any:
        snapshot = state.snapshot()
        try:
            return state.apply_transaction(SpoofTransaction(transaction, gas=gas, **extra))
        finally:
            state.revert(snapshot)

    limit = int(state.gas_limit)
    first = run(limit, gas_price=0)
    if first.is_error:
        raise first.error
    used = int(transaction.intrinsic_gas) + int(first.get_gas_used())
    guess = min(limit, used + used // 63 + 5_000)
    try:
        if not run(guess).is_error:
            return guess
    except (VMError, EthValidationError):
        pass
    return int(binary_gas_search_exact(state, transaction))


class TesterBackend(PyEVMBackend):  # type: ignore[misc]
    """eth-tester's py-evm backend: a chosen chain id, exact revert data, faster estimates.

    Args:
        chain_id: the EIP-155 chain id ``block.chainid`` and signatures use.
    """

    def __init__(self, chain_id: int = EMBEDDED_CHAIN_ID) -> None:
        self._chain_id = chain_id
        super().__init__()

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        """Start over from genesis (eth-tester's), keeping the chain id and the estimator."""
        super().reset_to_genesis(*args, **kwargs)
        # setup_tester_chain builds a fresh chain class per call: setting the class attribute
        # changes this chain only, and survives snapshots (which rebuild from that class).
        chain_class = type(self.chain)
        chain_class.chain_id = self._chain_id
        chain_class.gas_estimator = staticmethod(_quick_gas_estimate)
        self.chain.gas_estimator = _quick_gas_estimate

    def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
        """The return data of ``transaction`` run as a call at ``block_number``.

        Raises:
            RpcFailure: it reverted (code 3, the revert data in ``data``).
            TransactionFailed: it failed otherwise (out of gas, invalid opcode).
        """
        from eth.exceptions import Revert
        from eth.vm.spoof import SpoofTransaction
        from eth_tester.backends.pyevm.main import _execute_and_revert_transaction

        defaulted = dict(transaction)
        defaulted.setdefault("gas", self._max_available_gas())
        unsigned = self._get_normalized_and_unsigned_evm_transaction(defaulted, block_number)
        spoofed = SpoofTransaction(unsigned, from_=transaction["from"])
        computation = _execute_and_revert_transaction(self.chain, spoofed, block_number)
        if computation.is_error:
            error = computation.error
            if isinstance(error, Revert):
                raise _reverted(bytes(error.args[0]) if error.args else b"")
            raise TransactionFailed(str(error))
        return bytes(computation.output)

    def estimate_gas(self, transaction: dict[str, Any], block_number: Any = "latest") -> int:
        """Gas ``transaction`` needs (see :func:`_quick_gas_estimate`).

        Raises:
            RpcFailure: it reverts (code 3, the revert data in ``data``), or it fails even
                with a whole block's gas (-32000 ``gas required exceeds allowance (N)``, as
                geth and our node say, with what to do: split a batch).
            TransactionFailed: it fails otherwise.
        """
        from eth.exceptions import OutOfGas, Revert, VMError

        try:
            return int(super().estimate_gas(transaction, block_number))
        except TransactionFailed as exc:
            cause = exc.args[0] if exc.args else None
            if isinstance(cause, Revert):
                raise _reverted(bytes(cause.args[0]) if cause.args else b"") from None
            if not isinstance(cause, OutOfGas):
                raise
        except Revert as exc:
            raise _reverted(bytes(exc.args[0]) if exc.args else b"") from None
        except VMError:  # out of gas at the block's limit (py-evm raises it unwrapped)
            pass
        limit = int(self.chain.get_vm().state.gas_limit)
        raise RpcFailure(
            REFUSED,
            f"gas required exceeds allowance ({limit}, a whole block's gas): the transaction "
            "needs more gas than a block holds; split a batch into smaller ones",
        ) from None


def _endpoints(chain_id: int) -> dict[str, dict[str, Callable[..., Any]]]:
    from web3.providers.eth_tester.defaults import API_ENDPOINTS

    endpoints = {namespace: dict(methods) for namespace, methods in API_ENDPOINTS.items()}
    endpoints["eth"]["chainId"] = lambda *_: chain_id
    return endpoints


class EmbeddedBackend(DevBackend):
    """A new in-process chain with ten prefunded dev accounts, answering JSON-RPC.

    Args:
        chain_id: the chain id it reports and executes with (131277 by default).
    """

    where = "the embedded chain"

    def __init__(self, chain_id: int = EMBEDDED_CHAIN_ID) -> None:
        self.chain_id = chain_id
        self.py_evm = TesterBackend(chain_id)
        self.tester = EthereumTester(self.py_evm)
        """eth-tester's API on the chain (for code that walks py-evm directly: the auditor)."""
        self.lock = threading.RLock()
        """Held for every request; hold it to use :attr:`tester` from several threads."""
        provider = EthereumTesterProvider(self.tester, api_endpoints=_endpoints(chain_id))
        w3 = Web3(provider)
        self._answer = provider.request_func(w3, w3.middleware_onion)

    def __repr__(self) -> str:
        return f"EmbeddedBackend(chain_id={self.chain_id})"

    @property
    def accounts(self) -> list[LocalAccount]:
        """The ten accounts eth-tester prefunds (their keys are well known)."""
        return [Account.from_key(key.to_bytes()) for key in self.py_evm.account_keys]

    def request(self, method: str, params: Sequence[Any]) -> Any:
        """See :meth:`Backend.request`. ``eth_estimateGas`` at ``pending`` is estimated at
        ``latest`` (eth-tester has no pending estimate; every block is mined at once); a log
        filter's single ``address`` is passed as a list of one."""
        return self._ask(method, params)

    def _ask(self, method: str, params: Sequence[Any]) -> Any:
        args = list(params)
        if method == "eth_estimateGas" and args[1:] == ["pending"]:
            args[1] = "latest"
        logs = method in ("eth_getLogs", "eth_newFilter") and args and isinstance(args[0], dict)
        if logs and isinstance(args[0].get("address"), str):  # web3's table takes lists only
            args[0] = {**args[0], "address": [args[0]["address"]]}
        with self.lock:
            try:
                response = self._answer(RPCEndpoint(method), args)
            except RpcFailure:
                raise
            except TransactionFailed as exc:
                raise RpcFailure(REFUSED, str(exc)) from None
            except (EthValidationError, EthTesterValidationError, ValueError, TypeError) as exc:
                raise RpcFailure(REFUSED, str(exc)) from None
        error = response.get("error")
        if error:
            if isinstance(error, dict):
                raise RpcFailure(int(error.get("code", REFUSED)), str(error.get("message", "")))
            raise RpcFailure(REFUSED, str(error))
        return to_rpc(response.get("result"))

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """See :meth:`Backend.batch`: the calls answered one after the other."""
        out: list[Any] = []
        for method, params in calls:
            try:
                out.append(self._ask(method, params))
            except RpcFailure as exc:
                out.append(exc)
        return out

    def close(self) -> None:
        """Nothing to release: the chain lives as long as this object."""

    def snapshot(self) -> object:
        """eth-tester's snapshot id (an int)."""
        with self.lock:
            return self.tester.take_snapshot()

    def revert(self, snapshot: object) -> bool:
        """Back to ``snapshot``; False when there is no such snapshot."""
        with self.lock:
            try:
                self.tester.revert_to_snapshot(snapshot)
            except SnapshotNotFound:
                return False
        return True

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks."""
        with self.lock:
            self.tester.mine_blocks(blocks)

    def increase_time(self, seconds: int) -> None:
        """Mine a block ``seconds`` after the latest one (at least one second after the
        pending block's time, eth-tester's clock)."""
        with self.lock:
            latest = int(self.tester.get_block_by_number("latest")["timestamp"])
            pending = int(self.tester.get_block_by_number("pending")["timestamp"])
            self.tester.time_travel(max(latest + seconds, pending + 1))


__all__ = ["EmbeddedBackend", "TesterBackend"]
