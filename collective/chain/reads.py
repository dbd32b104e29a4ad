"""Reading a chain: every method one request to the backend (a contract read is one
``eth_call``), results in web3's shapes, failures as Collective errors. :class:`ChainReads` is
the reading half of :class:`~collective.chain.Chain`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from eth_abi.exceptions import DecodingError
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3.contract.contract import ContractFunction
from web3.types import BlockData, BlockIdentifier, FilterParams, LogReceipt, TxData, TxReceipt

from collective.chain.backend import Backend, BatchRefused, RpcFailure
from collective.chain.codec import fast_calldata
from collective.chain.embedded import EmbeddedBackend
from collective.chain.errors import failure_error, translated
from collective.chain.shapes import decode_call, to_rpc, web3_result
from collective.errors import ChainError, InvalidInputError, NotFoundError


class ChainReads:
    """What a :class:`~collective.chain.Chain` reads, through :attr:`_backend`."""

    _backend: Backend
    url: str | None

    @property
    def where(self) -> str:
        """The node's URL, or "the embedded chain"."""
        return self.url or "the embedded chain"

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

    def get_transaction_count(self, address: str, block: BlockIdentifier = "latest") -> int:
        """How many transactions ``address`` (0x hex, any case) has sent by ``block`` (a
        number or a tag; ``"pending"`` counts the pool too): its next nonce
        (``eth_getTransactionCount``).

        Raises:
            ChainError: the node could not be asked.
        """
        with self.reading("reading a transaction count"):
            answer = self._backend.request(
                "eth_getTransactionCount", [_address(address), _block_param(block)]
            )
            return int(answer, 16)

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
        result: BlockData = self._lookup(
            method, [param, False], f"reading block {block!r}", f"no block {block!r}"
        )
        return result

    def get_transaction(self, tx_hash: str) -> TxData:
        """The transaction ``tx_hash`` (0x + 64 hex) in web3's shape.

        Raises:
            NotFoundError: the chain does not know the transaction.
            ChainError: the node could not be asked.
        """
        result: TxData = self._lookup(
            "eth_getTransactionByHash", [_hash_param(tx_hash)], "reading a transaction",
            f"no transaction {tx_hash}", tx_hash,
        )  # fmt: skip
        return result

    def get_transaction_receipt(self, tx_hash: str) -> TxReceipt:
        """The transaction receipt of ``tx_hash`` (0x + 64 hex) in web3's shape.

        Raises:
            NotFoundError: the transaction is unknown or not mined yet.
            ChainError: the node could not be asked.
        """
        result: TxReceipt = self._lookup(
            "eth_getTransactionReceipt", [_hash_param(tx_hash)], "reading a transaction receipt",
            f"no receipt for {tx_hash}", tx_hash,
        )  # fmt: skip
        return result

    def _lookup(
        self, method: str, params: list[Any], what: str, missing: str, tx_hash: str | None = None
    ) -> Any:
        """One ``method`` request that answers null for "no such thing": the answer in web3's
        shape, or NotFoundError("<where> has <missing>")."""
        with self.reading(what, tx_hash):
            found = self._backend.request(method, params)
            if found is None:
                raise NotFoundError(f"{self.where} has {missing}")
            return web3_result(method, found)

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


__all__ = ["ChainReads"]
