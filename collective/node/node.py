"""A node: the chain, its sealer, its filters, dev accounts.

:class:`Node` is what the HTTP server serves and what tests can drive in process. All chain
access goes through :attr:`Node.lock` (the chain's lock, entered once every committed block is
on disk: :class:`DurableLock`); handlers read through :attr:`Node.view` (a
:class:`~collective.node.view.ChainView`) and write through the pool
(:meth:`NodeChain.submit <collective.node.core.NodeChain.submit>`); when blocks are made is the
sealer's decision (:mod:`collective.node.sealer`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_typing import Address

from collective import __version__
from collective.node.authority import Authority
from collective.node.core import ZERO_ADDRESS, NodeChain, Sealed
from collective.node.dev import DevAccounts
from collective.node.filters import Filters
from collective.node.genesis import Genesis
from collective.node.limits import RPC_BATCH_TIMEOUT, RPC_EVM_TIMEOUT, RPC_GAS_CAP
from collective.node.permissioning import Permissioning
from collective.node.sealer import RETRY_SECONDS, Sealer, local_authority
from collective.node.senders import SenderPool
from collective.node.storage import StorageError, SyncMode
from collective.node.view import ChainView

DEFAULT_MAX_BODY = 32 * 1024 * 1024
DEFAULT_MAX_BATCH = 2000
log = logging.getLogger("collective.node")


@dataclass(frozen=True)
class NodeConfig:
    """How to run a node. ``block_time`` None seals instantly (a block per request that
    brought transactions); a number seals pending transactions every that many seconds."""

    genesis: Genesis = field(default_factory=Genesis)
    data_dir: Path | None = None
    block_time: float | None = None
    authority: Address = ZERO_ADDRESS
    authority_key: bytes | None = None  # signs every sealed block (the address is derived)
    dev: bool = False
    account_rules: bytes | None = None  # overrides the genesis file's
    permissioning: bool = True  # False ignores any AccountRules address (benchmarks)
    sync: SyncMode = "full"
    # "authority": this node seals (block_time); "cometbft": a validator whose blocks come
    # from CometBFT (collective.node.consensus), served over ABCI at ``abci``, transactions
    # forwarded to CometBFT's RPC at ``cometbft_rpc``
    consensus: str = "authority"
    abci: str = "tcp://127.0.0.1:26658"
    cometbft_rpc: str = "http://127.0.0.1:26657"
    max_body: int = DEFAULT_MAX_BODY
    max_batch: int = DEFAULT_MAX_BATCH
    sender_helper: bool = False  # recover batches' senders in a helper process (the CLI's)
    # what eth_call / eth_estimateGas may cost (collective.node.limits; geth's defaults)
    gas_cap: int = RPC_GAS_CAP
    call_timeout: float = RPC_EVM_TIMEOUT
    batch_timeout: float = RPC_BATCH_TIMEOUT
    # what executes blocks (collective.node.execution.ENGINES): $COLLECTIVE_ENGINE when set
    # (to run a test suite on another engine), else "py-evm"
    engine: str = field(default_factory=lambda: os.environ.get("COLLECTIVE_ENGINE", "py-evm"))


class DurableLock:
    """The chain's lock for what serves the chain: acquiring it also waits until every block
    committed so far is on disk (:meth:`Store.wait_durable
    <collective.node.storage.Store.wait_durable>`), so no read answers from a block whose
    fsync is still under way (:mod:`collective.node.storage.syncer`). The wait comes after
    the lock is taken (no block can be committed while it is held) and needs nothing the
    lock guards. Re-entrant, as the chain's lock.

    Raises (on entering): :class:`~collective.node.storage.StorageError` when the database's
    log could not be fsynced (the lock is released again)."""

    def __init__(self, chain: NodeChain) -> None:
        self._lock = chain.lock
        self._store = chain.store

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock (as ``RLock.acquire``), then wait for durability. Returns: whether
        the lock was taken."""
        if not self._lock.acquire(blocking, timeout):
            return False
        try:
            self._store.wait_durable()
        except BaseException:
            self._lock.release()
            raise
        return True

    def release(self) -> None:
        """Release the lock once (as ``RLock.release``)."""
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class Node:
    """One node: opens (or creates) the chain of ``config`` and assembles its parts.

    Raises: :class:`~collective.errors.NodeError` (and its
    :class:`~collective.node.storage.DamagedError`) when the data directory cannot be used:
    in use by another node, another genesis, damaged."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        genesis = config.genesis
        self.dev = DevAccounts.create() if config.dev else None
        if self.dev is not None:
            genesis = genesis.with_dev_accounts(self.dev.addresses)
        rules = config.account_rules or genesis.account_rules
        permissioning = Permissioning(
            rules if config.permissioning else None, genesis.bootstrap_admins
        )
        self.chain = NodeChain(
            genesis,
            config.data_dir,
            authority=config.authority,
            sealer=Authority(config.authority_key) if config.authority_key else None,
            permissioning=permissioning,
            sync=config.sync,
            engine=config.engine,
        )
        self.view = ChainView(self.chain)
        self.filters = Filters()
        self.lock = DurableLock(self.chain)
        self.sealer: Sealer
        if config.consensus == "cometbft":
            from collective.node.consensus import CometSealer

            self.sealer = CometSealer(self, config.abci, config.cometbft_rpc)
        else:
            self.sealer = local_authority(self.chain, config.block_time)
            self._restore_pool()
        self.senders = SenderPool() if config.sender_helper else None

    @property
    def client_version(self) -> str:
        """``web3_clientVersion``: ``collective/v<version>/python`` (``collective-dev`` with
        ``--dev``)."""
        name = "collective-dev" if self.dev is not None else "collective"
        return f"{name}/v{__version__}/python"

    @property
    def instant(self) -> bool:
        """Whether blocks are sealed per request (no ``block_time``)."""
        return self.config.block_time is None

    def describe(self) -> dict[str, Any]:
        """What this node runs, for ``collective node start``: ``chainId``, ``head`` (block
        number), ``sealing`` (``instant`` or the period), ``permissioning`` (``by AccountRules
        0x…`` or ``off``), ``authority`` (0x-hex miner address) and ``dev`` (bool)."""
        rules = self.chain.permissioning.rules
        return {
            "chainId": self.chain.chain_id,
            "head": self.chain.head.block_number,
            "sealing": self.sealer.describe,
            "permissioning": f"by AccountRules 0x{bytes(rules).hex()}" if rules else "off",
            "authority": "0x" + bytes(self.chain.authority).hex(),
            "dev": self.dev is not None,
        }

    def submit(self, raw: bytes, sender: bytes | None = None) -> bytes:
        """``eth_sendRawTransaction``: pool ``raw`` here (under :attr:`lock`), or hand it to
        the consensus engine's mempool (:attr:`Sealer.forward`; no lock held, as its CheckTx
        takes it). ``sender``: the 20-byte sender when already recovered from ``raw``.

        Returns: the 32-byte transaction hash. Raises:
        :class:`~collective.node.errors.RpcError` when it is refused."""
        forward = self.sealer.forward
        if forward is not None:
            return forward(raw)
        with self.lock:
            return self.chain.submit(raw, sender)

    def _restore_pool(self) -> None:
        """Pool again what the journal kept of a process that was killed before sealing it
        (:mod:`collective.node.storage.journal`); in instant mode, seal it now."""
        with self.chain.lock:
            restored = self.chain.restore_pool()
        if restored:
            log.info("%d answered transactions kept across the restart pooled again", len(restored))
            self.sealer.after_request()

    def flush_journal(self) -> None:
        """Before an answer that pooled transactions goes out: write them to the journal
        (:meth:`NodeChain.flush_journal`), so a killed process loses none it answered for.
        Nothing for a validator (CometBFT keeps the mempool). A journal that cannot be
        written is logged; the transactions stay pooled (a full disk refuses their block
        too, and the node then refuses new ones)."""
        if self.sealer.forward is not None:
            return
        try:
            with self.chain.lock:
                self.chain.flush_journal()
        except StorageError as exc:
            log.error("%s", exc.message)

    def before_read(self) -> list[Sealed]:
        """A read is about to be answered: the sealer may seal what earlier writes of the
        same batch pooled first (instant mode does). Returns: the blocks sealed."""
        return self.sealer.before_read()

    def after_request(self) -> list[Sealed]:
        """A request was answered (not yet sent): in instant mode, seal what it brought.
        Returns: the blocks sealed."""
        return self.sealer.after_request()

    def start(self) -> None:
        """Start the sealer's own schedule (idempotent)."""
        self.sealer.start()

    def close(self) -> None:
        """Stop: the sealer first (it seals what the pool holds), then the sender helper,
        then the database."""
        self.sealer.close()
        if self.senders is not None:
            self.senders.close()
        with self.chain.lock:
            self.chain.close()

    def with_config(self, **changes: object) -> NodeConfig:
        """This node's configuration with ``changes`` (NodeConfig field names)."""
        return replace(self.config, **changes)  # type: ignore[arg-type]


__all__ = ["RETRY_SECONDS", "DurableLock", "Node", "NodeConfig"]
