"""The :class:`Chain`: one connection to one chain, the object the rest of Collective reads
and transacts through.

A Chain speaks only through its :class:`~collective.chain.backend.Backend`: a read is one
request (a contract read is one ``eth_call``), results come back in web3's shapes, and every
failure comes out as a Collective error (:mod:`collective.chain.errors`). Reads live in
:mod:`collective.chain.reads`, sending in
:mod:`collective.chain.transactions`; building a Chain in :mod:`collective.chain.connectors`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import TxReceipt

from collective._moved import warn_deprecated
from collective.chain.backend import Backend, DevBackend, RpcFailure
from collective.chain.embedded import EmbeddedBackend
from collective.chain.errors import translated
from collective.chain.reads import ChainReads
from collective.chain.transactions import (
    RECEIPT_TIMEOUT,
    PendingTransaction,
    Transactions,
    TxListener,
)
from collective.chain.web3_bridge import BackendProvider
from collective.errors import ChainError, ConfigurationError, InvalidInputError

Transactable = ContractFunction | ContractConstructor


class Chain(ChainReads):
    """One chain and how to read and transact on it. Build it with :func:`connect`.

    Args:
        backend: what answers its JSON-RPC requests.
        name: the network's name ("embedded", "anvil", ...).
        chain_id: its EIP-155 chain id.
        url: the node's URL, None for the embedded chain.
        dev_accounts: prefunded accounts whose keys everyone knows: eth-tester's on the
            embedded chain, the "test test ... junk" mnemonic's on anvil / hardhat / a
            ``collective node --dev``; empty elsewhere.
        receipt_timeout: seconds :meth:`wait` waits for a receipt.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        name: str,
        chain_id: int,
        url: str | None = None,
        dev_accounts: list[LocalAccount] | None = None,
        receipt_timeout: float = RECEIPT_TIMEOUT,
    ) -> None:
        self._backend = backend
        self.name = name
        self.chain_id = chain_id
        self.url = url
        self.dev_accounts: list[LocalAccount] = list(dev_accounts or [])
        self.tx_listeners: list[TxListener] = []
        self._transactions = Transactions(
            backend, chain_id=chain_id, receipt_timeout=receipt_timeout, listeners=self.tx_listeners
        )
        self._web3: Web3 | None = None
        self._web3_guard = threading.Lock()

    @property
    def backend(self) -> Backend:
        """What answers this chain's JSON-RPC requests."""
        return self._backend

    @property
    def embedded(self) -> bool:
        """True for the in-process chain, which is new in every process."""
        return isinstance(self._backend, EmbeddedBackend)

    @property
    def tester(self) -> EthereumTester | None:
        """The embedded chain's eth-tester (None for a JSON-RPC node)."""
        return self._backend.tester if isinstance(self._backend, EmbeddedBackend) else None

    @property
    def w3(self) -> Web3:
        """Deprecated (goes away in 0.3): a web3 instance on this chain's backend. Use the
        Chain's own methods, and :meth:`contract` for contract objects."""
        warn_deprecated(
            "Chain.w3 is deprecated: use the Chain's methods (call, get_block, get_logs, ...) "
            "and Chain.contract()",
            "Chain.w3",
        )
        return self._w3()

    def _w3(self) -> Web3:
        with self._web3_guard:
            if self._web3 is None:
                self._web3 = Web3(BackendProvider(self._backend))
            return self._web3

    def contract(
        self, abi: Sequence[Any], address: str | None = None, bytecode: str | bytes | None = None
    ) -> Any:
        """A web3 contract object on this chain, for building calldata and constructors.

        Args:
            abi: the contract's ABI (a list of JSON ABI items).
            address: where it is deployed (any case), or None for a contract factory.
            bytecode: its creation code, for a factory that deploys.

        Returns:
            A web3 ``Contract`` (``address`` given) or a contract factory (``type[Contract]``).
        """
        w3 = self._w3()
        if address is None:
            return w3.eth.contract(abi=list(abi), bytecode=bytecode)
        contract: Contract = w3.eth.contract(address=to_checksum_address(address), abi=list(abi))
        return contract

    def close(self) -> None:
        """Release the backend's connections (a later request opens new ones)."""
        self._backend.close()

    def __repr__(self) -> str:
        return f"Chain(name={self.name!r}, chain_id={self.chain_id}, url={self.url!r})"

    # --- accounts ---------------------------------------------------------------------------

    def dev_account(self, index: int) -> LocalAccount:
        """Dev account ``index`` (0-based).

        Raises:
            ConfigurationError: this chain has no well-known dev accounts.
            InvalidInputError: there is no account ``index``.
        """
        if not self.dev_accounts:
            raise ConfigurationError(
                f"{self.where} has no well-known dev accounts",
                hint="set COLLECTIVE_PRIVATE_KEY to the sending account's private key",
            )
        if not 0 <= index < len(self.dev_accounts):
            raise InvalidInputError(
                f"there is no dev account {index}",
                hint=f"choose an index from 0 to {len(self.dev_accounts) - 1}",
            )
        return self.dev_accounts[index]

    # --- writing ------------------------------------------------------------------------------

    def transact(
        self, fn: Transactable, sender: LocalAccount, gas: int | None = None, value: int = 0
    ) -> TxReceipt:
        """Build, sign with ``sender``'s key, send, and wait for the receipt.

        Args:
            fn: a contract function with its arguments, or a constructor.
            sender: the signing account.
            gas: the gas limit; None lets the node estimate it, so a transaction that would
                revert raises the decoded error before anything is sent.
            value: wei sent along.

        Returns:
            The transaction receipt (status 1).

        Raises:
            TransactionError: it reverted (decoded, with the transaction hash).
            ChainError: the node refused it, the sender cannot pay, or no receipt came.
        """
        return self.wait(self.send(fn, sender, gas=gas, value=value))

    def send(
        self, fn: Transactable, sender: LocalAccount, gas: int | None = None, value: int = 0
    ) -> PendingTransaction:
        """Sign and send without waiting; :meth:`wait` returns the receipt.

        Nonces come from a local counter per sender, seeded from the node's pending count and
        taken under that sender's lock together with the send, so concurrent callers never
        reuse or skip one. If the node reports a nonce mismatch (another program sent from the
        same account) the counter is re-read from the node and the send retried once.

        Raises:
            TransactionError: the estimate reverted (decoded).
            ChainError: the node refused the transaction or the sender cannot pay.
        """
        if isinstance(fn, ContractConstructor):
            return self.send_data(
                None, fn.data_in_transaction, sender,
                what="deploying a contract", gas=gas, value=value,
            )  # fmt: skip
        data = fn._encode_transaction_data()
        return self.send_data(fn.address, data, sender, what=fn.fn_name, gas=gas, value=value)

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
        """:meth:`send` for calldata encoded by the caller.

        Args:
            to: the contract's address, None to deploy ``data`` as creation code.
            data: calldata as bytes or ``0x`` hex.
            sender: the signing account.
            what: what it does, for messages and listeners ("grant").
            gas: the gas limit, None to estimate it against the pending block.
            value: wei sent along.

        Returns:
            The :class:`PendingTransaction` (its receipt already in it on an automining chain).

        Raises:
            TransactionError: the estimate reverted (decoded).
            ChainError: the node refused the transaction or the sender cannot pay.
        """
        return self._transactions.send_data(to, data, sender, what=what, gas=gas, value=value)

    def wait(self, pending: PendingTransaction) -> TxReceipt:
        """Wait for a sent transaction's receipt.

        Returns:
            The transaction receipt (status 1).

        Raises:
            TransactionError: it reverted (decoded by replaying it as a call in its block), or
                a permissioned node dropped it from its pool (the node's reason).
            ChainError: no receipt within the receipt timeout, or the node could not be asked.
        """
        return self._transactions.wait(pending)

    # --- test helpers ---------------------------------------------------------------------------

    def snapshot(self) -> object:
        """Remember the chain's state; :meth:`revert` returns to it (once).

        Raises:
            ChainError: the chain takes no snapshots (not a dev chain).
        """
        return self._dev("evm_snapshot", lambda dev: dev.snapshot())

    def revert(self, snap: object) -> None:
        """Return to a snapshot. Take a new snapshot to return there again.

        Raises:
            ChainError: the chain does not know ``snap``, or takes no snapshots.
        """
        self._transactions.forget()
        if self._dev("evm_revert", lambda dev: dev.revert(snap)) is False:
            raise ChainError(f"{self.where} does not know snapshot {snap!r}")

    def increase_time(self, seconds: int) -> int:
        """Move the chain's clock ``seconds`` forward and mine a block.

        Returns:
            The new block's timestamp.

        Raises:
            ChainError: ``seconds`` is negative, or the chain's clock cannot be moved.
        """
        if seconds < 0:
            raise ChainError("the chain's clock cannot go backwards")
        self._dev("evm_increaseTime", lambda dev: dev.increase_time(seconds))
        return self.latest_timestamp()

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks.

        Raises:
            ChainError: the chain cannot be told to mine.
        """
        self._dev("evm_mine", lambda dev: dev.mine(blocks))

    def _dev(self, method: str, command: Any) -> Any:
        backend = self._backend
        if not isinstance(backend, DevBackend):
            raise ChainError(
                f"{self.where} takes no {method}",
                hint="snapshots and time travel need a dev node such as anvil",
            )
        with translated(self.where, method):
            try:
                return command(backend)
            except RpcFailure as exc:
                raise ChainError(
                    f"{self.where} refused {method}: {exc.message}",
                    hint="snapshots and time travel need a dev node such as anvil",
                ) from None


__all__ = ["Chain", "Transactable"]
