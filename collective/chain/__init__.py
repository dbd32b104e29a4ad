"""A connection to one chain: the embedded py-evm chain, or any Ethereum JSON-RPC node.

:func:`connect` returns a :class:`Chain`, the one object the rest of Collective talks to a chain
through. It signs locally (the node never holds keys), sends raw transactions, waits for the
receipt and turns every revert into a decoded :class:`~collective.errors.TransactionError`
(see :mod:`collective.revert`). Test helpers (snapshots, time travel, mining) work on the
embedded chain and on dev nodes such as anvil.

The embedded chain is eth-tester's py-evm backend behind web3's ``EthereumTesterProvider``,
with two adjustments: it reports the configured chain id (131277 by default) both through
``eth_chainId`` and to the EVM (``block.chainid``), and a reverted ``eth_call`` or
``eth_estimateGas`` raises web3's ``ContractLogicError`` family with the exact revert data,
as an HTTP node does, instead of eth-tester's lossy text.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, cast

import requests
from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import ValidationError as EthTesterValidationError
from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.error_formatters_utils import PANIC_ERROR_CODES
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.datastructures import AttributeDict
from web3.exceptions import (
    BlockNotFound,
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TimeExhausted,
    TransactionIndexingInProgress,
    TransactionNotFound,
    Web3Exception,
)
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.rpc import HTTPProvider
from web3.types import (
    BlockData,
    BlockIdentifier,
    FilterParams,
    LogReceipt,
    RPCEndpoint,
    TxData,
    TxParams,
    TxReceipt,
)

from collective.chain.codec import checksum
from collective.chain.http import BatchRefused, JsonRpc, RpcFailure
from collective.chain.revert import decode_revert, error_from_exception
from collective.config import EMBEDDED_CHAIN_ID, NetworkConfig, ProjectConfig, load_config
from collective.errors import (
    ChainError,
    CollectiveError,
    ConfigurationError,
    NotFoundError,
    TransactionError,
)

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_CHAIN_ID = 31337  # anvil's and hardhat's default
DEV_ACCOUNT_COUNT = 10
# The first request (eth_chainId) gets at most PROBE_TIMEOUT s to connect and as long to answer,
# so an unreachable or hung node is reported within 10 s; later replies get the network's timeout.
PROBE_TIMEOUT = 4.5
RECEIPT_TIMEOUT = 120.0

FEE_CACHE_SECONDS = 1.0

Transactable = ContractFunction | ContractConstructor

TxStage = Literal["signed", "waiting", "done"]
TxListener = Callable[[TxStage, str, str], None]
"""Told ``(stage, tx_hash, what)`` about each transaction :meth:`Chain.send_data` signs:
``signed`` as soon as its hash is known (before it is sent), ``waiting`` when its receipt is
still missing about a tenth of a second after it was sent, ``done`` when it was refused, mined
or reverted. A command line prints the hash of a transaction it waits for and, on Ctrl-C, of
every one not done (so an interrupt never hides a transaction that may still be mined)."""


@dataclass(frozen=True)
class PendingTransaction:
    """A sent transaction: :meth:`Chain.wait` turns it into its receipt."""

    tx_hash: str
    what: str
    tx: TxParams = field(repr=False)
    receipt: TxReceipt | None = field(default=None, repr=False)  # known already (automining)


def _dev_keys_from_mnemonic(count: int = DEV_ACCOUNT_COUNT) -> list[LocalAccount]:
    """The accounts anvil and hardhat prefund, from their well-known mnemonic."""
    seed = seed_from_mnemonic(DEV_MNEMONIC, "")
    return [Account.from_key(key_from_seed(seed, f"m/44'/60'/0'/0/{i}")) for i in range(count)]


def account_from_key(key: str, source: str = "the private key") -> LocalAccount:
    """The account for a hex private key; ConfigurationError (never showing the key) if bad."""
    try:
        account: LocalAccount = Account.from_key(key.strip())
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{source} is not a valid private key",
            hint="it must be 32 bytes as 64 hex digits, optionally prefixed with 0x",
        ) from None
    return account


class Chain:
    """One chain and how to transact on it. Build it with :func:`connect`.

    ``dev_accounts`` are prefunded accounts whose keys everyone knows: eth-tester's on the
    embedded chain, the "test test ... junk" mnemonic's on anvil / hardhat; empty elsewhere.
    """

    def __init__(
        self,
        w3: Web3,
        *,
        name: str,
        chain_id: int,
        url: str | None = None,
        dev_accounts: list[LocalAccount] | None = None,
        tester: EthereumTester | None = None,
        receipt_timeout: float = RECEIPT_TIMEOUT,
        rpc_timeout: float = 10.0,
    ) -> None:
        self.w3 = w3
        self.name = name
        self.chain_id = chain_id
        self.url = url
        self.dev_accounts: list[LocalAccount] = list(dev_accounts or [])
        self._tester = tester
        self._receipt_timeout = receipt_timeout
        self._nonces: dict[str, int] = {}  # sender -> next nonce to use
        self._sender_locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()
        self._embedded_lock = threading.RLock()
        self._fee_cache: tuple[float, dict[str, int]] | None = None
        self._fast = JsonRpc(url, rpc_timeout) if url else None
        self.tx_listeners: list[TxListener] = []

    @property
    def embedded(self) -> bool:
        """True for the in-process chain, which is new in every process."""
        return self._tester is not None

    @property
    def tester(self) -> EthereumTester | None:
        """The embedded chain's eth-tester (None for a JSON-RPC node)."""
        return self._tester

    @property
    def where(self) -> str:
        """The node's URL, or "the embedded chain"."""
        return self.url or "the embedded chain"

    def __repr__(self) -> str:
        return f"Chain(name={self.name!r}, chain_id={self.chain_id}, url={self.url!r})"

    # --- accounts ---------------------------------------------------------------------------

    def dev_account(self, index: int) -> LocalAccount:
        """Dev account ``index``; ConfigurationError when this chain has none or too few."""
        if not self.dev_accounts:
            raise ConfigurationError(
                f"{self.where} has no well-known dev accounts",
                hint="set COLLECTIVE_PRIVATE_KEY to the sending account's private key",
            )
        if not 0 <= index < len(self.dev_accounts):
            raise ConfigurationError(
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
        """Run a view (or a dry run of a transaction) and return its decoded result."""
        params: TxParams = {}
        if sender is not None:
            params["from"] = _address(sender)
        with self.exclusive(), self._errors(f"calling {fn.fn_name}"):
            return fn.call(params, block_identifier=block)

    def code_at(self, address: str) -> bytes:
        """The runtime code at ``address`` (empty when there is none)."""
        with self._errors("reading code"):
            return bytes(self.w3.eth.get_code(to_checksum_address(address)))

    def codes_at(self, addresses: list[str]) -> list[bytes]:
        """The runtime code at each of ``addresses`` (empty where there is none), read in one
        JSON-RPC batch (a node that refuses batches is asked one address at a time)."""
        checksummed = [to_checksum_address(address) for address in addresses]
        if self._fast is None:
            return [self.code_at(address) for address in checksummed]
        try:
            answers = self._fast.batch([("eth_getCode", [a, "latest"]) for a in checksummed])
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._connection_lost(exc, "reading code") from None
        codes = []
        for address, answer in zip(checksummed, answers, strict=True):
            if isinstance(answer, BatchRefused):
                codes.append(self.code_at(address))
                continue
            if isinstance(answer, RpcFailure):
                self._fast_failed(answer, "reading code", None, None)
            if not isinstance(answer, str) or not answer.startswith("0x"):
                raise ChainError(f"{self.where} answered eth_getCode with {answer!r}")
            try:
                codes.append(bytes.fromhex(answer[2:]))
            except ValueError:
                raise ChainError(f"{self.where} answered eth_getCode with {answer!r}") from None
        return codes

    def latest_timestamp(self) -> int:
        """Timestamp of the latest block."""
        with self._errors("reading the latest block"):
            return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        """The latest block's number (``eth_blockNumber``)."""
        with self.reading("reading the block number"):
            return int(self.w3.eth.block_number)

    def get_block(self, block: BlockIdentifier = "latest") -> BlockData:
        """The block ``block`` (a number, a 0x hash or a tag) in web3's shape, without its
        transactions' bodies (``eth_getBlockByNumber`` / ``eth_getBlockByHash``).

        Raises:
            NotFoundError: there is no such block.
            ChainError: the node could not be asked.
        """
        with self.reading(f"reading block {block!r}"):
            try:
                return self.w3.eth.get_block(block)
            except BlockNotFound:
                raise NotFoundError(f"{self.where} has no block {block!r}") from None

    def get_transaction(self, tx_hash: str) -> TxData:
        """The transaction ``tx_hash`` (0x + 64 hex) in web3's shape.

        Raises:
            NotFoundError: the chain does not know the transaction.
            ChainError: the node could not be asked.
        """
        with self.reading("reading a transaction", tx_hash):
            try:
                return self.w3.eth.get_transaction(HexStr(tx_hash))
            except TransactionNotFound:
                raise NotFoundError(f"{self.where} has no transaction {tx_hash}") from None

    def get_transaction_receipt(self, tx_hash: str) -> TxReceipt:
        """The transaction receipt of ``tx_hash`` (0x + 64 hex) in web3's shape.

        Raises:
            NotFoundError: the transaction is unknown or not mined yet.
            ChainError: the node could not be asked.
        """
        with self.reading("reading a transaction receipt", tx_hash):
            try:
                return self.w3.eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:
                raise NotFoundError(f"{self.where} has no receipt for {tx_hash}") from None

    def get_logs(self, criteria: FilterParams) -> list[LogReceipt]:
        """The logs matching ``criteria`` (``eth_getLogs``: address, topics, fromBlock,
        toBlock or blockHash), in web3's shape, in chain order."""
        with self.reading("reading logs"):
            return list(self.w3.eth.get_logs(criteria))

    # --- writing ------------------------------------------------------------------------------

    def transact(
        self,
        fn: Transactable,
        sender: LocalAccount,
        gas: int | None = None,
        value: int = 0,
    ) -> TxReceipt:
        """Build, sign with ``sender``'s key, send, and wait for the receipt.

        Without ``gas`` the node estimates it, so a transaction that would revert raises the
        decoded error before anything is sent. A transaction that reverts on chain raises it
        with the transaction hash. Safe to call from many threads at once, also with one
        sender: nonces are handed out under a per-sender lock (see :meth:`send`).
        """
        return self.wait(self.send(fn, sender, gas=gas, value=value))

    def send(
        self,
        fn: Transactable,
        sender: LocalAccount,
        gas: int | None = None,
        value: int = 0,
    ) -> PendingTransaction:
        """Sign and send without waiting; :meth:`wait` returns the receipt.

        Nonces come from a local counter per sender, seeded from the node's pending count and
        taken under that sender's lock together with the send, so concurrent callers never
        reuse or skip one. If the node reports a nonce mismatch (another program sent from the
        same account) the counter is re-read from the node and the send retried once.
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
        """:meth:`send` for calldata encoded by the caller (``to`` None deploys a contract)."""
        payload = data if isinstance(data, str) else "0x" + bytes(data).hex()
        params: dict[str, Any] = {"from": sender.address, "value": value, "data": payload}
        if to is not None:
            params["to"] = to
        with self.exclusive(), self._errors(what, sender=sender.address):
            if gas is None:
                # Estimate against the pending block the transaction will land in: estimating
                # against "latest" (anvil's default) under-prices writes whose cost depends on
                # the block, e.g. ERC-1056's `changed[identity] = block.number`.
                if self._fast is not None:
                    query = {**params, "value": hex(value)}
                    gas = int(self._call_fast("eth_estimateGas", [query, "pending"], what), 16)
                else:
                    gas = int(self.w3.eth.estimate_gas(cast(TxParams, params), "latest"))
            fees = self._fees()
        tx: dict[str, Any] = {**params, "gas": gas, "chainId": self.chain_id, **fees}
        del tx["from"]
        receipt: TxReceipt | None = None
        with self._sender_lock(sender.address):
            for attempt in (1, 2):
                with self._errors(what, sender=sender.address):
                    tx["nonce"] = self._next_nonce(sender.address)
                signed = sender.sign_transaction(tx)
                tx_hash = "0x" + bytes(signed.hash).hex()
                self._tell("signed", tx_hash, what)
                try:
                    raw = "0x" + bytes(signed.raw_transaction).hex()
                    if self._fast is not None:
                        receipt = self._send_fast(raw, what, tx_hash, sender)
                    else:
                        with self.exclusive(), self._errors(what, tx_hash=tx_hash):
                            self.w3.eth.send_raw_transaction(HexStr(raw))
                except ChainError as exc:
                    self._tell("done", tx_hash, what)
                    self._nonces.pop(sender.address, None)  # re-read from the node next time
                    if attempt == 1 and _nonce_mismatch(exc):
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
        """Wait for a sent transaction's receipt; raise its decoded error if it reverted."""
        receipt = pending.receipt
        if receipt is None:

            def notice() -> None:
                self._tell("waiting", pending.tx_hash, pending.what)

            with self._errors(pending.what, tx_hash=pending.tx_hash):
                receipt = self._poll_receipt(pending.tx_hash, notice)
        self._tell("done", pending.tx_hash, pending.what)
        if receipt["status"] != 1:
            raise self._reverted(pending.tx, receipt, pending.tx_hash)
        return receipt

    def _tell(self, stage: TxStage, tx_hash: str, what: str) -> None:
        for listener in self.tx_listeners:
            listener(stage, tx_hash, what)

    def _poll_receipt(self, tx_hash: str, notice: Callable[[], None] | None = None) -> TxReceipt:
        """Poll from 1 ms up to 250 ms apart: an automining node answers on the first try, a
        node sealing every few seconds is not flooded. ``notice`` is called once when the
        receipt is still missing after about a tenth of a second (a wait worth saying)."""
        deadline = time.monotonic() + self._receipt_timeout
        delay = 0.001
        while True:
            if self._fast is not None:
                found = self._call_fast("eth_getTransactionReceipt", [tx_hash], "waiting", tx_hash)
                if found:
                    return _receipt_from_rpc(found)
            else:
                with self.exclusive():
                    try:
                        return self.w3.eth.get_transaction_receipt(HexStr(tx_hash))
                    except (TransactionNotFound, TransactionIndexingInProgress):
                        pass
            if time.monotonic() > deadline:
                raise TimeExhausted(tx_hash)
            if delay >= 0.125 and notice is not None:
                notice()
                notice = None
            if delay >= 0.25 and not self.embedded:
                # Waiting a while: a permissioned node may have dropped it (collective node
                # answers eth_getTransactionByHash with the reason). Say so instead of timing out.
                dropped = self._dropped(tx_hash)
                if dropped is not None:
                    raise TransactionError(dropped, tx_hash=tx_hash)
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _dropped(self, tx_hash: str) -> str | None:
        """The node's reason for dropping ``tx_hash`` from its pool, or None while it has not."""
        try:
            with self.exclusive():
                response = self.w3.provider.make_request(
                    RPCEndpoint("eth_getTransactionByHash"), [tx_hash]
                )
        except Exception:  # a lookup that fails says nothing about the transaction
            return None
        error = response.get("error")
        if isinstance(error, dict) and "was dropped" in str(error.get("message", "")):
            return str(error["message"])
        return None

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fees as web3 would fill them (2 x base fee + tip), cached for a second."""
        now = time.monotonic()
        cached = self._fee_cache
        if cached is not None and now - cached[0] < FEE_CACHE_SECONDS:
            return cached[1]
        base = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base is None:
            fees = {"gasPrice": int(self.w3.eth.gas_price)}
        else:
            tip = int(self.w3.eth.max_priority_fee)
            fees = {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base) + tip}
        self._fee_cache = (now, fees)
        return fees

    def _next_nonce(self, address: str) -> int:
        nonce = self._nonces.get(address)
        if nonce is None:
            if self._fast is not None:
                count = self._call_fast("eth_getTransactionCount", [address, "pending"], "nonce")
                return int(count, 16)
            nonce = int(self.w3.eth.get_transaction_count(to_checksum_address(address), "pending"))
        return nonce

    def _send_fast(
        self, raw: str, what: str, tx_hash: str, sender: LocalAccount
    ) -> TxReceipt | None:
        """Send and ask for the receipt in one batch: an automining node (anvil, `collective
        node` sealing instantly) has it already, which saves a round trip."""
        assert self._fast is not None
        try:
            sent, found = self._fast.batch(
                [("eth_sendRawTransaction", [raw]), ("eth_getTransactionReceipt", [tx_hash])]
            )
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._connection_lost(exc, what) from None
        if isinstance(sent, RpcFailure):
            if isinstance(sent, BatchRefused):
                self._call_fast("eth_sendRawTransaction", [raw], what, tx_hash, sender)
                return None
            self._fast_failed(sent, what, tx_hash, sender)
        if isinstance(found, dict):
            return _receipt_from_rpc(found)
        return None

    def _call_fast(
        self,
        method: str,
        params: list[Any],
        what: str,
        tx_hash: str | None = None,
        sender: LocalAccount | None = None,
    ) -> Any:
        """A hot-path request over :class:`~collective.rpc.JsonRpc`, errors made Collective's."""
        assert self._fast is not None
        try:
            return self._fast.call(method, params)
        except RpcFailure as exc:
            self._fast_failed(exc, what, tx_hash, sender)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._connection_lost(exc, what) from None

    def _connection_lost(self, exc: BaseException, what: str) -> ChainError:
        return ChainError(f"lost the connection to {self.where} while {what}: {_reason(exc)}")

    def _fast_failed(
        self, exc: RpcFailure, what: str, tx_hash: str | None, sender: LocalAccount | None
    ) -> NoReturn:
        """Raise the Collective error for a JSON-RPC error answer."""
        text = exc.message.lower()
        if exc.data is not None or "revert" in text:
            data = exc.data if isinstance(exc.data, str) else None
            error = decode_revert(data, tx_hash=tx_hash)
            if data is None and "revert" in text:
                error = error_from_exception(exc, tx_hash=tx_hash)
            raise error from None
        if sender is not None and ("insufficient funds" in text or "afford" in text):
            raise ChainError(
                f"{sender.address} has too little ether on {self.where} to pay for {what}",
                hint="fund the account, or send from another one",
            ) from None
        raise ChainError(f"{self.where} refused {what}: {exc.message}") from None

    def _sender_lock(self, address: str) -> threading.RLock:
        if self._tester is not None:
            return self._embedded_lock
        with self._guard:
            return self._sender_locks.setdefault(address, threading.RLock())

    def exclusive(self) -> threading.RLock | nullcontext[None]:
        """Hold while using ``w3`` or ``tester`` directly from several threads: the embedded
        chain (py-evm in process) serves one thread at a time; a node needs no lock."""
        return self._embedded_lock if self._tester is not None else nullcontext()

    def _reverted(self, tx: TxParams, receipt: TxReceipt, tx_hash: str) -> CollectiveError:
        """Replay a reverted transaction as a call in its block to learn why it reverted."""
        if receipt["gasUsed"] >= tx.get("gas", 0):
            return TransactionError(
                "the transaction ran out of gas",
                tx_hash=tx_hash,
                hint="send it again with more gas, or let the node estimate it",
            )
        replay: TxParams = {"from": tx["from"], "data": tx.get("data", b""), "gas": tx["gas"]}
        if tx.get("to"):
            replay["to"] = tx["to"]
        if tx.get("value"):
            replay["value"] = tx["value"]
        try:
            self.w3.eth.call(replay, block_identifier=receipt["blockNumber"])
        except (Web3Exception, TransactionFailed) as exc:
            return error_from_exception(exc, tx_hash=tx_hash)
        except (requests.RequestException, OSError):
            pass
        return TransactionError("the transaction reverted", tx_hash=tx_hash)

    # --- test helpers ---------------------------------------------------------------------------

    def snapshot(self) -> object:
        """Remember the chain's state; :meth:`revert` returns to it (once)."""
        if self._tester is not None:
            return self._tester.take_snapshot()
        return self._rpc("evm_snapshot", [])

    def revert(self, snap: object) -> None:
        """Return to a snapshot. Take a new snapshot to return there again."""
        self._nonces.clear()
        self._fee_cache = None
        if self._tester is not None:
            self._tester.revert_to_snapshot(snap)
            return
        if self._rpc("evm_revert", [snap]) is False:
            raise ChainError(f"{self.where} does not know snapshot {snap!r}")

    def increase_time(self, seconds: int) -> int:
        """Move the chain's clock ``seconds`` forward and mine a block; return its timestamp."""
        if seconds < 0:
            raise ChainError("the chain's clock cannot go backwards")
        if self._tester is not None:
            latest = self.latest_timestamp()
            pending = int(self._tester.get_block_by_number("pending")["timestamp"])
            self._tester.time_travel(max(latest + seconds, pending + 1))
        else:
            self._rpc("evm_increaseTime", [seconds])
            self._rpc("evm_mine", [])
        return self.latest_timestamp()

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks."""
        for _ in range(blocks):
            if self._tester is not None:
                self._tester.mine_blocks(1)
            else:
                self._rpc("evm_mine", [])

    def request(self, method: str, params: list[Any]) -> Any:
        """A raw JSON-RPC request (e.g. ``anvil_setBalance``); ChainError when refused."""
        return self._rpc(method, params)

    @contextmanager
    def reading(self, what: str, tx_hash: str | None = None) -> Iterator[None]:
        """Turn web3 / eth-tester / connection failures while ``what`` into Collective errors
        (for code that talks to ``w3`` directly); a ValueError web3 raises for a malformed
        answer becomes a ChainError too."""
        try:
            with self._errors(what, tx_hash=tx_hash):
                yield
        except ValueError as exc:
            raise ChainError(f"{self.where} failed while {what}: {exc}") from None

    def _rpc(self, method: str, params: list[Any]) -> Any:
        with self._errors(method):
            response = self.w3.provider.make_request(RPCEndpoint(method), params)
        error = response.get("error")
        if error:
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChainError(
                f"{self.where} refused {method}: {message}",
                hint="snapshots and time travel need a dev node such as anvil",
            )
        return response.get("result")

    # --- errors ---------------------------------------------------------------------------------

    @contextmanager
    def _errors(
        self, what: str, tx_hash: str | None = None, sender: str | None = None
    ) -> Iterator[None]:
        """Turn what web3, requests and eth-tester raise into Collective errors."""
        try:
            yield
        except CollectiveError:
            raise
        except Exception as exc:
            error = self._translate(exc, what, tx_hash, sender)
            if error is None:
                raise
            raise error from None

    def _translate(
        self, exc: Exception, what: str, tx_hash: str | None, sender: str | None
    ) -> CollectiveError | None:
        if isinstance(exc, ContractLogicError | TransactionFailed):
            return error_from_exception(exc, tx_hash=tx_hash)
        text = str(exc).lower()
        if sender and ("afford" in text or "insufficient funds" in text):
            return ChainError(
                f"{sender} has too little ether on {self.where} to pay for {what}",
                hint="fund the account, or send from another one",
            )
        if isinstance(exc, requests.RequestException | OSError):
            return self._connection_lost(exc, what)
        if isinstance(exc, TimeExhausted):
            return ChainError(
                f"transaction {tx_hash} was not mined on {self.where} within "
                f"{self._receipt_timeout:.0f} s",
                hint="is the node mining? was the gas limit below the intrinsic gas?",
            )
        if isinstance(exc, Web3Exception):
            return ChainError(f"{self.where} failed while {what}: {exc}")
        if isinstance(exc, EthValidationError | EthTesterValidationError):
            return ChainError(f"{self.where} refused the request while {what}: {exc}")
        return None


def _receipt_from_rpc(raw: dict[str, Any]) -> TxReceipt:
    """A JSON-RPC receipt in web3's shape, without web3's (slow, recursive) formatters."""
    ints = ("blockNumber", "gasUsed", "cumulativeGasUsed", "status", "transactionIndex")
    receipt: dict[str, Any] = dict(raw)
    for key in (*ints, "effectiveGasPrice", "type"):
        if isinstance(raw.get(key), str):
            receipt[key] = int(raw[key], 16)
    for key in ("transactionHash", "blockHash", "logsBloom"):
        if raw.get(key):
            receipt[key] = HexBytes(raw[key])
    for key in ("from", "to", "contractAddress"):
        if raw.get(key):
            receipt[key] = checksum(raw[key])
    receipt["logs"] = [
        AttributeDict(
            {
                **log,
                "address": checksum(log["address"]),
                "topics": [HexBytes(topic) for topic in log["topics"]],
                "data": HexBytes(log["data"]),
                "blockNumber": int(log["blockNumber"], 16),
                "transactionHash": HexBytes(log["transactionHash"]),
                "transactionIndex": int(log["transactionIndex"], 16),
                "blockHash": HexBytes(log["blockHash"]),
                "logIndex": int(log["logIndex"], 16),
            }
        )
        for log in raw.get("logs", [])
    ]
    return cast(TxReceipt, AttributeDict(receipt))


def _nonce_mismatch(exc: ChainError) -> bool:
    text = str(exc).lower()
    return "nonce too low" in text or "nonce too high" in text or "invalid nonce" in text


def _reason(exc: BaseException) -> str:
    """A short cause for a connection failure, without urllib3's nested reprs."""
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "No route"):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(exc).__name__


def _address(who: LocalAccount | str) -> str:
    return who.address if isinstance(who, LocalAccount) else to_checksum_address(who)


# --- the embedded chain -----------------------------------------------------------------------


def _logic_error(data: bytes) -> ContractLogicError:
    """The exception web3 raises for this revert data when it comes from an HTTP node."""
    hexdata = "0x" + data.hex()
    if data[:4] == bytes.fromhex("08c379a0"):
        try:
            (reason,) = abi.decode(["string"], data[4:])
        except (DecodingError, ValueError, OverflowError):
            reason = hexdata
        return ContractLogicError(f"execution reverted: {reason}", data=hexdata)
    if data[:4] == bytes.fromhex("4e487b71"):
        text = PANIC_ERROR_CODES.get(data[-1:].hex(), "Panic error")
        return ContractPanicError(text, data=hexdata)
    if len(data) < 4:
        return ContractLogicError("execution reverted", data=hexdata)
    return ContractCustomError(hexdata, data=hexdata)


def _quick_gas_estimate(state: Any, transaction: Any) -> int:
    """Gas for ``transaction`` in two executions instead of py-evm's ~15-step binary search.

    Run once with the block's gas limit, take the gas used before refunds plus a 1/63 margin
    (for the 63/64 rule on nested calls) and confirm with a second run; fall back to the exact
    search if that runs out of gas.
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


class EmbeddedBackend(PyEVMBackend):  # type: ignore[misc]
    """eth-tester's py-evm backend: a chosen chain id, exact revert data, faster estimates."""

    def __init__(self, chain_id: int = EMBEDDED_CHAIN_ID) -> None:
        self._chain_id = chain_id
        super().__init__()

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        super().reset_to_genesis(*args, **kwargs)
        # setup_tester_chain builds a fresh chain class per call: setting the class attribute
        # changes this chain only, and survives snapshots (which rebuild from that class).
        chain_class = type(self.chain)
        chain_class.chain_id = self._chain_id
        chain_class.gas_estimator = staticmethod(_quick_gas_estimate)
        self.chain.gas_estimator = _quick_gas_estimate

    def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
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
                raise _logic_error(bytes(error.args[0]) if error.args else b"")
            raise TransactionFailed(str(error))
        return bytes(computation.output)

    def estimate_gas(self, transaction: dict[str, Any], block_number: Any = "latest") -> int:
        from eth.exceptions import Revert

        try:
            return int(super().estimate_gas(transaction, block_number))
        except TransactionFailed as exc:
            cause = exc.args[0] if exc.args else None
            if isinstance(cause, Revert):
                raise _logic_error(bytes(cause.args[0]) if cause.args else b"") from None
            raise


def _embedded_endpoints(chain_id: int) -> dict[str, dict[str, Callable[..., Any]]]:
    from web3.providers.eth_tester.defaults import API_ENDPOINTS

    endpoints = {namespace: dict(methods) for namespace, methods in API_ENDPOINTS.items()}
    endpoints["eth"]["chainId"] = lambda *_: chain_id
    return endpoints


def connect_embedded(name: str = "embedded", chain_id: int = EMBEDDED_CHAIN_ID) -> Chain:
    """A new in-process chain with ten prefunded dev accounts."""
    backend = EmbeddedBackend(chain_id)
    tester = EthereumTester(backend)
    provider = EthereumTesterProvider(tester, api_endpoints=_embedded_endpoints(chain_id))
    w3 = Web3(provider)
    accounts = [Account.from_key(key.to_bytes()) for key in backend.account_keys]
    return Chain(w3, name=name, chain_id=chain_id, dev_accounts=accounts, tester=tester)


# --- JSON-RPC nodes ---------------------------------------------------------------------------


def connect_rpc(
    url: str,
    *,
    name: str | None = None,
    timeout: float = 10.0,
    expected_chain_id: int | None = None,
) -> Chain:
    """Connect to the node at ``url``; ChainError within ``timeout`` s if it does not answer."""
    probe_timeout = min(PROBE_TIMEOUT, timeout)
    request_kwargs = {"timeout": (probe_timeout, probe_timeout)}
    probe = Web3(
        HTTPProvider(url, request_kwargs=request_kwargs, exception_retry_configuration=None)
    )
    started = time.monotonic()
    try:
        chain_id = int(probe.eth.chain_id)
    except (requests.RequestException, OSError, Web3Exception, ValueError) as exc:
        raise ChainError(
            f"cannot reach a JSON-RPC node at {url} ({_reason(exc)} after "
            f"{time.monotonic() - started:.1f} s)",
            hint="is the node running? check --rpc, or the network's url in hardhat.config.json",
        ) from None
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainError(
            f"the node at {url} reports chain id {chain_id}, but network {name!r} is "
            f"configured with chain id {expected_chain_id}",
            hint="point the network at the right node, or fix its chainId in hardhat.config.json",
        )
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))
    dev_accounts = _dev_keys_from_mnemonic() if _is_dev_node(w3, chain_id) else []
    return Chain(
        w3,
        name=name or f"chain-{chain_id}",
        chain_id=chain_id,
        url=url,
        dev_accounts=dev_accounts,
        rpc_timeout=timeout,
    )


def _is_dev_node(w3: Web3, chain_id: int) -> bool:
    if chain_id == DEV_CHAIN_ID:
        return True
    try:
        version = str(w3.client_version).lower()
    except (requests.RequestException, OSError, Web3Exception, ValueError):
        return False
    return version.startswith(("anvil", "hardhat", "collective-dev"))  # `collective node --dev`


def connect(
    network: str | None = None,
    rpc: str | None = None,
    config: ProjectConfig | None = None,
) -> Chain:
    """Connect to a named network from the configuration, or to the node at ``rpc``.

    ``rpc`` wins over the network's own URL; with both, the network lends its name and
    expected chain id. Neither: the configuration's default network (the embedded chain).
    """
    config = config or load_config()
    if rpc is not None:
        if not rpc.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"--rpc {rpc!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8545"
            )
        known = config.networks.get(network) if network else None
        return connect_rpc(
            rpc,
            name=network,
            timeout=known.timeout if known else 10.0,
            expected_chain_id=known.chain_id if known and not known.embedded else None,
        )
    net: NetworkConfig = config.network(network or config.default_network)
    if net.url is None:
        return connect_embedded(net.name, net.chain_id or EMBEDDED_CHAIN_ID)
    return connect_rpc(net.url, name=net.name, timeout=net.timeout, expected_chain_id=net.chain_id)


__all__ = [
    "DEV_CHAIN_ID",
    "DEV_MNEMONIC",
    "Chain",
    "EmbeddedBackend",
    "PendingTransaction",
    "account_from_key",
    "connect",
    "connect_embedded",
    "connect_rpc",
]
