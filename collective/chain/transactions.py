"""Sending transactions: fees, nonces, signing, sending, waiting for the receipt.

Keys stay here: a transaction is signed locally and sent raw (``eth_sendRawTransaction``);
the node never holds a key. :class:`Transactions` is the part of a
:class:`~collective.chain.Chain` that sends; it speaks only through the chain's backend.

- Fees: EIP-1559 (``maxFeePerGas`` = 2 x base fee + tip, ``maxPriorityFeePerGas`` = the node's
  ``eth_maxPriorityFeePerGas``), or ``gasPrice`` on a chain without a base fee; cached for
  :data:`FEE_CACHE_SECONDS`.
- Nonces: a local counter per sender, seeded from ``eth_getTransactionCount(.., "pending")``
  and taken under that sender's lock together with the send.
- Send and receipt in one batch: an automining chain (anvil, ``collective node`` sealing at
  once, the embedded chain) answers the receipt in the same round trip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from eth_account.signers.local import LocalAccount
from web3.types import TxParams, TxReceipt

from collective.chain.backend import Backend, BatchRefused, RpcFailure, TransportError
from collective.chain.errors import connection_lost, failure_error, translated
from collective.chain.shapes import receipt_from_rpc, to_rpc
from collective.errors import ChainError, CollectiveError, TransactionError
from collective.types import TxHash

RECEIPT_TIMEOUT = 120.0
FEE_CACHE_SECONDS = 1.0

TxStage = Literal["signed", "waiting", "done"]
TxListener = Callable[[TxStage, TxHash, str], None]
"""Told ``(stage, tx_hash, what)`` about each transaction :meth:`Chain.send_data` signs:
``signed`` as soon as its hash is known (before it is sent), ``waiting`` when its receipt is
still missing about a tenth of a second after it was sent, ``done`` when it was refused, mined
or reverted. A command line prints the hash of a transaction it waits for and, on Ctrl-C, of
every one not done (so an interrupt never hides a transaction that may still be mined)."""


@dataclass(frozen=True)
class PendingTransaction:
    """A sent transaction: :meth:`Chain.wait` turns it into its receipt.

    Attributes:
        tx_hash: its hash, ``0x`` + 64 lowercase hex.
        what: what it does, for messages ("grant", "deploying a contract").
        tx: the transaction as signed (``from`` added), for replaying a revert.
        receipt: the transaction receipt when the node had it at once (automining), else None.
    """

    tx_hash: TxHash
    what: str
    tx: TxParams = field(repr=False)
    receipt: TxReceipt | None = field(default=None, repr=False)


def nonce_mismatch(exc: ChainError) -> bool:
    """Did the node refuse a transaction for its nonce (another program sent from the same
    account)?"""
    text = str(exc).lower()
    return "nonce too low" in text or "nonce too high" in text or "invalid nonce" in text


class Transactions:
    """Signs, sends and waits for transactions on one chain (thread-safe).

    Args:
        backend: the chain's backend.
        chain_id: the EIP-155 chain id every transaction is signed for.
        receipt_timeout: seconds :meth:`wait` waits for a receipt.
        listeners: told about each transaction (see :data:`TxListener`); the list is shared
            with the chain, so listeners added later are told too.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        chain_id: int,
        receipt_timeout: float = RECEIPT_TIMEOUT,
        listeners: list[TxListener],
    ) -> None:
        self._backend = backend
        self._where = backend.where
        self._chain_id = chain_id
        self.receipt_timeout = receipt_timeout
        self._listeners = listeners
        self._nonces: dict[str, int] = {}  # sender -> next nonce to use
        self._sender_locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()
        self._fee_cache: tuple[float, dict[str, int]] | None = None

    def forget(self) -> None:
        """Forget cached nonces and fees (after the chain went back to a snapshot)."""
        self._nonces.clear()
        self._fee_cache = None

    def send_data(
        self,
        to: str | None,
        data: bytes | str,
        sender: LocalAccount,
        *,
        what: str,
        gas: int | None = None,
        value: int = 0,
    ) -> PendingTransaction:
        """See :meth:`Chain.send_data`."""
        payload = data if isinstance(data, str) else "0x" + bytes(data).hex()
        params: dict[str, Any] = {"from": sender.address, "value": value, "data": payload}
        if to is not None:
            params["to"] = to
        with translated(self._where, what, sender=sender.address):
            if gas is None:
                # Estimate against the pending block the transaction will land in: estimating
                # against "latest" (anvil's default) under-prices writes whose cost depends on
                # the block, e.g. ERC-1056's `changed[identity] = block.number`.
                query = {**params, "value": hex(value)}
                gas = int(self._backend.request("eth_estimateGas", [query, "pending"]), 16)
            fees = self._fees()
        tx: dict[str, Any] = {**params, "gas": gas, "chainId": self._chain_id, **fees}
        del tx["from"]
        with self._sender_lock(sender.address):
            for attempt in (1, 2):
                with translated(self._where, what, sender=sender.address):
                    tx["nonce"] = self._next_nonce(sender.address)
                signed = sender.sign_transaction(tx)
                tx_hash = TxHash("0x" + bytes(signed.hash).hex())
                self._tell("signed", tx_hash, what)
                try:
                    raw = "0x" + bytes(signed.raw_transaction).hex()
                    receipt = self._send_raw(raw, what, tx_hash, sender.address)
                except ChainError as exc:
                    self._tell("done", tx_hash, what)
                    self._nonces.pop(sender.address, None)  # re-read from the node next time
                    if attempt == 1 and nonce_mismatch(exc):
                        continue
                    raise
                self._nonces[sender.address] = int(tx["nonce"]) + 1
                return PendingTransaction(
                    tx_hash=tx_hash,
                    what=what,
                    tx=cast(TxParams, {**tx, "from": sender.address}),
                    receipt=receipt,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def wait(self, pending: PendingTransaction) -> TxReceipt:
        """See :meth:`Chain.wait`."""
        receipt = pending.receipt
        if receipt is None:

            def notice() -> None:
                self._tell("waiting", pending.tx_hash, pending.what)

            with translated(self._where, pending.what, tx_hash=pending.tx_hash):
                receipt = self._poll_receipt(pending.tx_hash, notice)
        self._tell("done", pending.tx_hash, pending.what)
        if receipt["status"] != 1:
            raise self._reverted(pending.tx, receipt, pending.tx_hash)
        return receipt

    def _tell(self, stage: TxStage, tx_hash: TxHash, what: str) -> None:
        for listener in self._listeners:
            listener(stage, tx_hash, what)

    def _send_raw(self, raw: str, what: str, tx_hash: TxHash, sender: str) -> TxReceipt | None:
        """Send and ask for the receipt in one batch: an automining node (anvil, `collective
        node` sealing instantly) has it already, which saves a round trip."""
        try:
            sent, found = self._backend.batch(
                [("eth_sendRawTransaction", [raw]), ("eth_getTransactionReceipt", [tx_hash])]
            )
        except TransportError as exc:
            raise connection_lost(exc.reason, where=self._where, what=what) from None
        if isinstance(sent, BatchRefused):
            with translated(self._where, what, tx_hash=tx_hash, sender=sender):
                self._backend.request("eth_sendRawTransaction", [raw])
            return None
        if isinstance(sent, RpcFailure):
            raise failure_error(
                sent, where=self._where, what=what, tx_hash=tx_hash, sender=sender
            ) from None
        return receipt_from_rpc(found) if isinstance(found, dict) else None

    def _poll_receipt(self, tx_hash: TxHash, notice: Callable[[], None] | None = None) -> TxReceipt:
        """Poll from 1 ms up to 250 ms apart: an automining node answers on the first try, a
        node sealing every few seconds is not flooded. ``notice`` is called once when the
        receipt is still missing after about a tenth of a second (a wait worth saying)."""
        deadline = time.monotonic() + self.receipt_timeout
        delay = 0.001
        while True:
            found = self._backend.request("eth_getTransactionReceipt", [tx_hash])
            if found:
                return receipt_from_rpc(found)
            if time.monotonic() > deadline:
                raise ChainError(
                    f"transaction {tx_hash} was not mined on {self._where} within "
                    f"{self.receipt_timeout:.0f} s",
                    hint="is the node mining? was the gas limit below the intrinsic gas?",
                )
            if delay >= 0.125 and notice is not None:
                notice()
                notice = None
            if delay >= 0.25:
                # Waiting a while: a permissioned node may have dropped it (collective node
                # answers eth_getTransactionByHash with the reason). Say so instead of timing out.
                dropped = self._dropped(tx_hash)
                if dropped is not None:
                    raise TransactionError(dropped, tx_hash=tx_hash)
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _dropped(self, tx_hash: TxHash) -> str | None:
        """The node's reason for dropping ``tx_hash`` from its pool, or None while it has not."""
        try:
            self._backend.request("eth_getTransactionByHash", [tx_hash])
        except RpcFailure as exc:
            return exc.message if "was dropped" in exc.message else None
        except TransportError:  # a lookup that fails says nothing about the transaction
            return None
        return None

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fees as web3 would fill them (2 x base fee + tip), cached for a second; a
        node without ``eth_maxPriorityFeePerGas`` tips its gas price less the base fee."""
        now = time.monotonic()
        cached = self._fee_cache
        if cached is not None and now - cached[0] < FEE_CACHE_SECONDS:
            return cached[1]
        latest = self._backend.request("eth_getBlockByNumber", ["latest", False]) or {}
        base = latest.get("baseFeePerGas")
        if base is None:
            fees = {"gasPrice": int(self._backend.request("eth_gasPrice", []), 16)}
        else:
            try:
                tip = int(self._backend.request("eth_maxPriorityFeePerGas", []), 16)
            except RpcFailure:
                price = int(self._backend.request("eth_gasPrice", []), 16)
                tip = max(price - int(base, 16), 0)
            fees = {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base, 16) + tip}
        self._fee_cache = (now, fees)
        return fees

    def _next_nonce(self, address: str) -> int:
        nonce = self._nonces.get(address)
        if nonce is None:
            count = self._backend.request("eth_getTransactionCount", [address, "pending"])
            return int(count, 16)
        return nonce

    def _sender_lock(self, address: str) -> threading.RLock:
        with self._guard:
            return self._sender_locks.setdefault(address, threading.RLock())

    def _reverted(self, tx: TxParams, receipt: TxReceipt, tx_hash: TxHash) -> CollectiveError:
        """Replay a reverted transaction as a call in its block to learn why it reverted."""
        if receipt["gasUsed"] >= tx.get("gas", 0):
            return TransactionError(
                "the transaction ran out of gas",
                tx_hash=tx_hash,
                hint="send it again with more gas, or let the node estimate it",
            )
        replay: dict[str, Any] = {
            "from": tx["from"],
            "data": tx.get("data", "0x"),
            "gas": tx["gas"],
        }
        if tx.get("to"):
            replay["to"] = tx["to"]
        if tx.get("value"):
            replay["value"] = tx["value"]
        try:
            self._backend.request("eth_call", [to_rpc(replay), hex(receipt["blockNumber"])])
        except RpcFailure as exc:
            error = failure_error(exc, where=self._where, what="replaying", tx_hash=tx_hash)
            if isinstance(error, TransactionError):
                return error
            return TransactionError(f"the transaction failed: {exc.message}", tx_hash=tx_hash)
        except TransportError:
            pass
        return TransactionError("the transaction reverted", tx_hash=tx_hash)


__all__ = [
    "FEE_CACHE_SECONDS",
    "RECEIPT_TIMEOUT",
    "PendingTransaction",
    "Transactions",
    "TxListener",
    "TxStage",
]
