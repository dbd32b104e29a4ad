"""The :class:`Chain`: one connection to one chain, the object the rest of Collective reads
and transacts through.

A Chain speaks only through its :class:`~collective.chain.backend.Backend`: a read is one
request (a contract read is one ``eth_call``), results come back in web3's shapes, and every
failure comes out as a Collective error (:mod:`collective.chain.errors`). Sending lives in
:mod:`collective.chain.transactions`; building a Chain in :mod:`collective.chain.connect`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from eth_abi.exceptions import DecodingError
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import BlockData, BlockIdentifier, FilterParams, LogReceipt, TxData, TxReceipt

from collective.chain.backend import Backend, BatchRefused, DevBackend, RpcFailure
from collective.chain.codec import fast_calldata
from collective.chain.embedded import EmbeddedBackend
from collective.chain.errors import failure_error, translated
from collective.chain.shapes import decode_call, to_rpc, web3_result
from collective.chain.transactions import (
    RECEIPT_TIMEOUT,
    PendingTransaction,
    Transactions,
    TxListener,
)
from collective.chain.web3_bridge import BackendProvider
from collective.errors import ChainError, ConfigurationError, InvalidInputError, NotFoundError

Transactable = ContractFunction | ContractConstructor


class Chain:
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
    def where(self) -> str:
        """The node's URL, or "the embedded chain"."""
        return self.url or "the embedded chain"

    @property
    def w3(self) -> Web3:
        """Deprecated (goes away in 0.3): a web3 instance on this chain's backend. Use the
        Chain's own methods, and :meth:`contract` for contract objects."""
        warnings.warn(
            "Chain.w3 is deprecated: use the Chain's methods (call, get_block, get_logs, ...) "
            "and Chain.contract()",
            DeprecationWarning,
            stacklevel=2,
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

    # --- reading ------------------------------------------------------------------------------

    def call(
        self,
        fn: ContractFunction,
        sender: LocalAccount | str | None = None,
        block: BlockIdentifier = "latest",
    ) -> Any:
        """Run a view (or a dry run of a transaction) in one ``eth_call``; calldata of simple
        arguments is encoded by :func:`~collective.chain.codec.fast_calldata`, other by web3.

        Args:
            fn: a web3 contract function with its arguments bound.
            sender: the ``from`` of the call (an account or an address), if it matters.
            block: the block to run it in (a number, a tag or a hash).

        Returns:
            The decoded result as ``fn.call()`` gives it.

        Raises:
            TransactionError: the call reverted (decoded).
            ChainError: the node could not be asked, or answered what ``fn`` cannot decode.
        """
        fast = fast_calldata(fn.abi, fn.args) if fn.args is not None and not fn.kwargs else None
        data = "0x" + fast.hex() if fast is not None else fn._encode_transaction_data()
        query: dict[str, Any] = {"to": fn.address, "data": data}
        if sender is not None:
            query["from"] = _address(sender)
        what = f"calling {fn.fn_name}"
        with translated(self.where, what):
            answer = self._backend.request("eth_call", [query, _block_param(block)])
        try:
            return decode_call(fn, bytes.fromhex(str(answer).removeprefix("0x")))
        except (DecodingError, ValueError) as exc:
            raise ChainError(
                f"{self.where} failed while {what}: its answer {str(answer)[:80]!r} does not "
                f"decode as {fn.fn_name}'s outputs ({exc})",
                hint="is the contract deployed at that address on this chain?",
            ) from None

    def code_at(self, address: str) -> bytes:
        """The runtime code at ``address`` (any case), empty when there is none.

        Raises:
            ChainError: the node could not be asked.
        """
        with self.reading("reading code"):
            answer = self._backend.request("eth_getCode", [to_checksum_address(address), "latest"])
        return _code(answer, self.where)

    def codes_at(self, addresses: list[str]) -> list[bytes]:
        """The runtime code at each of ``addresses`` (empty where there is none), read in one
        JSON-RPC batch (a node that refuses batches is asked one address at a time).

        Raises:
            ChainError: the node could not be asked, or answered something else than code.
        """
        checksummed = [to_checksum_address(address) for address in addresses]
        with translated(self.where, "reading code"):
            answers = self._backend.batch([("eth_getCode", [a, "latest"]) for a in checksummed])
        codes = []
        for address, answer in zip(checksummed, answers, strict=True):
            if isinstance(answer, BatchRefused):
                codes.append(self.code_at(address))
                continue
            if isinstance(answer, RpcFailure):
                raise failure_error(answer, where=self.where, what="reading code")
            codes.append(_code(answer, self.where))
        return codes

    def latest_timestamp(self) -> int:
        """The latest block's timestamp (Unix seconds).

        Raises:
            ChainError: the node could not be asked.
        """
        return int(self.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        """The latest block's number (``eth_blockNumber``).

        Raises:
            ChainError: the node could not be asked.
        """
        with self.reading("reading the block number"):
            return int(self._backend.request("eth_blockNumber", []), 16)

    def get_block(self, block: BlockIdentifier = "latest") -> BlockData:
        """The block ``block`` (a number, a 0x hash or a tag) in web3's shape, without its
        transactions' bodies (``eth_getBlockByNumber`` / ``eth_getBlockByHash``).

        Raises:
            NotFoundError: there is no such block.
            ChainError: the node could not be asked.
        """
        by_hash = _is_hash(block)
        method = "eth_getBlockByHash" if by_hash else "eth_getBlockByNumber"
        param = to_rpc(block) if by_hash else _block_param(block)
        with self.reading(f"reading block {block!r}"):
            found = self._backend.request(method, [param, False])
            if found is None:
                raise NotFoundError(f"{self.where} has no block {block!r}")
            result: BlockData = web3_result(method, found)
            return result

    def get_transaction(self, tx_hash: str) -> TxData:
        """The transaction ``tx_hash`` (0x + 64 hex) in web3's shape.

        Raises:
            NotFoundError: the chain does not know the transaction.
            ChainError: the node could not be asked.
        """
        with self.reading("reading a transaction", tx_hash):
            found = self._backend.request("eth_getTransactionByHash", [_hash_param(tx_hash)])
            if found is None:
                raise NotFoundError(f"{self.where} has no transaction {tx_hash}")
            result: TxData = web3_result("eth_getTransactionByHash", found)
            return result

    def get_transaction_receipt(self, tx_hash: str) -> TxReceipt:
        """The transaction receipt of ``tx_hash`` (0x + 64 hex) in web3's shape.

        Raises:
            NotFoundError: the transaction is unknown or not mined yet.
            ChainError: the node could not be asked.
        """
        with self.reading("reading a transaction receipt", tx_hash):
            found = self._backend.request("eth_getTransactionReceipt", [_hash_param(tx_hash)])
            if found is None:
                raise NotFoundError(f"{self.where} has no receipt for {tx_hash}")
            result: TxReceipt = web3_result("eth_getTransactionReceipt", found)
            return result

    def get_logs(self, criteria: FilterParams) -> list[LogReceipt]:
        """The logs matching ``criteria`` (``eth_getLogs``: address, topics, fromBlock,
        toBlock or blockHash; numbers as ints, topics as bytes or hex), in web3's shape, in
        chain order.

        Raises:
            ChainError: the node could not be asked or refused the filter.
        """
        with self.reading("reading logs"):
            found = self._backend.request("eth_getLogs", [to_rpc(dict(criteria))])
            return list(web3_result("eth_getLogs", found or []))

    def request(self, method: str, params: list[Any]) -> Any:
        """A raw JSON-RPC request (e.g. ``anvil_setBalance``).

        Returns:
            The JSON-RPC result as the chain sent it (hex strings, dicts, lists).

        Raises:
            ChainError: the chain refused it, or could not be asked.
        """
        with translated(self.where, method):
            try:
                return self._backend.request(method, params)
            except RpcFailure as exc:
                raise ChainError(
                    f"{self.where} refused {method}: {exc.message}",
                    hint="snapshots and time travel need a dev node such as anvil",
                ) from None

    @contextmanager
    def reading(self, what: str, tx_hash: str | None = None) -> Iterator[None]:
        """Turn backend, web3, eth-tester and connection failures while ``what`` into
        Collective errors; a ValueError raised for a malformed answer becomes a ChainError.

        Raises:
            ChainError | TransactionError: translated (see :mod:`collective.chain.errors`).
        """
        try:
            with translated(self.where, what, tx_hash=tx_hash):
                yield
        except ValueError as exc:
            raise ChainError(f"{self.where} failed while {what}: {exc}") from None

    def exclusive(self) -> threading.RLock | nullcontext[None]:
        """Hold while using :attr:`tester` directly from several threads: the embedded chain
        (py-evm in process) serves one thread at a time; a node needs no lock."""
        if isinstance(self._backend, EmbeddedBackend):
            return self._backend.lock
        return nullcontext()

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


def _address(who: LocalAccount | str) -> str:
    return who.address if isinstance(who, LocalAccount) else to_checksum_address(who)


def _is_hash(block: Any) -> bool:
    if isinstance(block, bytes | bytearray):
        return len(block) == 32
    return isinstance(block, str) and block.startswith("0x") and len(block) == 66


def _block_param(block: Any) -> Any:
    """A block number or tag as JSON-RPC takes it (ints as hex quantities)."""
    if isinstance(block, bool):
        raise InvalidInputError(f"{block!r} is not a block number, hash or tag")
    if isinstance(block, int):
        return hex(block)
    if isinstance(block, bytes | bytearray):
        return to_rpc(block)
    return block


def _hash_param(tx_hash: Any) -> str:
    return tx_hash if isinstance(tx_hash, str) else to_rpc(bytes(tx_hash))


def _code(answer: Any, where: str) -> bytes:
    if not isinstance(answer, str) or not answer.startswith("0x"):
        raise ChainError(f"{where} answered eth_getCode with {answer!r}")
    try:
        return bytes.fromhex(answer[2:])
    except ValueError:
        raise ChainError(f"{where} answered eth_getCode with {answer!r}") from None


__all__ = ["Chain", "Transactable"]
