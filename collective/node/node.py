"""A node: the chain, its filters, dev accounts, and when it seals.

:class:`Node` is what the HTTP server serves and what tests can drive in process. All chain
access goes through :attr:`Node.lock`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from eth_typing import Address

from collective import __version__
from collective.node.authority import Authority
from collective.node.core import ZERO_ADDRESS, NodeChain, Sealed
from collective.node.dev import DevAccounts
from collective.node.filters import Filters
from collective.node.genesis import Genesis
from collective.node.limits import RPC_BATCH_TIMEOUT, RPC_EVM_TIMEOUT, RPC_GAS_CAP
from collective.node.permissioning import Permissioning
from collective.node.senders import SenderPool
from collective.node.store import DamagedError, StorageError, SyncMode

DEFAULT_MAX_BODY = 32 * 1024 * 1024
DEFAULT_MAX_BATCH = 2000
RETRY_SECONDS = 1.0  # between attempts to seal while the database cannot be written
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
    max_body: int = DEFAULT_MAX_BODY
    max_batch: int = DEFAULT_MAX_BATCH
    sender_helper: bool = False  # recover batches' senders in a helper process (the CLI's)
    # what eth_call / eth_estimateGas may cost (collective.node.limits; geth's defaults)
    gas_cap: int = RPC_GAS_CAP
    call_timeout: float = RPC_EVM_TIMEOUT
    batch_timeout: float = RPC_BATCH_TIMEOUT


class Node:
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
        )
        self.filters = Filters()
        self.lock = self.chain.lock
        self._stop = threading.Event()
        self._sealer: threading.Thread | None = None
        self.senders = SenderPool() if config.sender_helper else None

    @property
    def client_version(self) -> str:
        name = "collective-dev" if self.dev is not None else "collective"
        return f"{name}/v{__version__}/python"

    @property
    def instant(self) -> bool:
        return self.config.block_time is None

    def after_request(self) -> list[Sealed]:
        """In instant mode, seal what the request brought before answering it."""
        if not self.instant:
            return []
        with self.lock:
            return self._seal(everything=True) if self.chain.pending.txs else []

    # --- sealing ------------------------------------------------------------------------------

    def _seal(self, *, everything: bool) -> list[Sealed]:
        """Seal the pool (all of it, or one block). A block that cannot be stored (the disk is
        full, the database cannot be written) leaves the pool as it was: the failure is
        logged once, new transactions are refused with it (:attr:`NodeChain.storage_error`)
        while reads go on, and the sealer thread tries again every :data:`RETRY_SECONDS`
        until a block commits."""
        chain = self.chain
        try:
            sealed = chain.seal_all() if everything else [chain.seal()]
        except (StorageError, DamagedError) as exc:
            if chain.storage_error is None:
                log.error(
                    "%s; %d answered transactions wait in the pool, sealing is retried every %s s",
                    exc.message,
                    len(chain.pending.txs),
                    RETRY_SECONDS,
                )
            chain.storage_error = exc.message
            return []
        if chain.storage_error is not None:
            log.warning("the chain database is writable again: sealing resumed")
            chain.storage_error = None
        return sealed

    def start(self) -> None:
        if self._sealer is None:
            self._sealer = threading.Thread(target=self._seal_loop, name="sealer", daemon=True)
            self._sealer.start()

    def _seal_loop(self) -> None:
        """A block every ``block_time`` seconds; in instant mode, retries of a failed seal."""
        period = self.config.block_time
        while not self._stop.wait(RETRY_SECONDS if period is None else period):
            with self.lock:
                failed = self.chain.storage_error is not None
                if self.chain.pending.txs and (period is not None or failed):
                    self._seal(everything=period is None)

    def close(self) -> None:
        """Stop: the sealer first, then seal what the pool holds, then close the database.

        Every transaction in the pool was answered with its hash, so an orderly stop seals
        them rather than dropping them: sealing is this node's own decision (it is the
        authority), costs nothing while the node runs, and leaves no window in which a
        restarted node would re-admit them under other rules (AccountRules, nonces) than
        the ones they were answered under. What cannot be sealed (the database cannot be
        written) is logged with every hash."""
        self._stop.set()
        if self._sealer is not None:
            self._sealer.join(timeout=10)
        if self.senders is not None:
            self.senders.close()
        with self.lock:
            if self.chain.pending.txs:
                self._seal(everything=True)
                for tx in self.chain.pending.txs:
                    log.error(
                        "transaction 0x%s was not sealed before the node stopped: %s",
                        bytes(tx.hash).hex(),
                        self.chain.storage_error,
                    )
            self.chain.close()

    def with_config(self, **changes: object) -> NodeConfig:
        return replace(self.config, **changes)  # type: ignore[arg-type]


__all__ = ["Node", "NodeConfig"]
