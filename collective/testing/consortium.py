"""A local consortium network for tests and benchmarks: N CometBFT validators on free ports.

    with run_consortium(validators=4) as net:
        chain = connect_rpc(net.urls[0])            # any validator's JSON-RPC
        ...
        net.kill(3)                                 # SIGKILL validator 3 (a crash)
        net.wait_for_height(net.height_now() + 2, validators=[1, 2, 4])
        net.wipe(3); net.start(3)                   # it resyncs from the others
        net.wait_until_agreed()

Validators are numbered from 1, as in ``collective network``; ``net.layout`` is its
:class:`~collective.network.NetworkLayout` (organizations, ports, folders) and
``net.manifest_path`` the predeployed suite's manifest (``load_deployment(chain,
net.manifest_path)``). Every process is stopped when the ``with`` block ends, however it
ends.
"""

from __future__ import annotations

import random
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from collective.errors import ChainError
from collective.network import (
    Ports,
    ValidatorStatus,
    init_network,
    network_status,
    start_network,
    stop_network,
)
from collective.network.cometbft import cometbft_binary, run_cometbft
from collective.network.processes import Service
from collective.network.rpc import cometbft_status, eth_block_number

WAIT_TIMEOUT = 60.0


LISTEN_RANGE = (20000, 32767)
"""Where :func:`free_ports` picks: below Linux's ephemeral range (32768-60999), from which the
kernel takes the source port of every outgoing connection. A port picked there (as
:func:`~collective.testing.ports.free_port` does) can be taken by some process's connection in
the seconds between the pick and a validator's bind; a port below it cannot."""


def free_ports(count: int) -> list[Ports]:
    """``count`` sets of four distinct ports on 127.0.0.1 that nothing listens on now, drawn
    at random from :data:`LISTEN_RANGE` (another test may still pick the same one before it
    is bound: unlikely among 12,768).

    Raises:
        ChainError: not enough free ports were found.
    """
    rng = random.SystemRandom()
    chosen: list[int] = []
    for port in rng.sample(range(*LISTEN_RANGE), 64 * count):
        if len(chosen) == 4 * count:
            break
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
    if len(chosen) < 4 * count:
        raise ChainError(f"found only {len(chosen)} free ports of {4 * count} in {LISTEN_RANGE}")
    return [Ports(*chosen[4 * i : 4 * i + 4]) for i in range(count)]


class Consortium:
    """A network written by :func:`~collective.network.init_network` into ``root``, on free
    ports, with the controls a fault test needs.

    Args:
        root: an empty or new folder.
        validators: how many (1 to 64).
        empty_blocks: ``never``, ``always`` or a duration (see ``collective network init``).
        chain_id: the Ethereum chain id.

    Raises:
        As :func:`~collective.network.init_network`.
    """

    def __init__(
        self,
        root: Path,
        validators: int = 4,
        *,
        empty_blocks: str = "never",
        chain_id: int = 131277,
    ) -> None:
        self.layout = init_network(
            root,
            validators,
            chain_id=chain_id,
            ports=free_ports(validators),
            empty_blocks=empty_blocks,
        )

    @property
    def root(self) -> Path:
        """The network's folder."""
        return self.layout.root

    @property
    def urls(self) -> list[str]:
        """Each validator's Ethereum JSON-RPC URL (index 0 is validator 1)."""
        return self.layout.urls

    @property
    def manifest_path(self) -> Path:
        """The predeployed suite's manifest (every contract at block 0)."""
        return self.layout.manifest_path

    def _indexes(self, validators: Iterable[int]) -> list[int]:
        return [v.index for v in self.layout.select(list(validators))]

    def start(self, *validators: int, timeout: float = 120.0) -> None:
        """Start validators (all when none named) and wait until they answer and, with a
        quorum running, have committed a block. Raises: NodeError (with the log's end)."""
        start_network(self.layout, validators, timeout=timeout)

    def stop(self, *validators: int) -> None:
        """Stop validators (all when none named): SIGTERM, SIGKILL after 20 s."""
        stop_network(self.layout, validators)

    def kill(self, *validators: int) -> None:
        """SIGKILL validators (all when none named), node and cometbft at once: a crash."""
        stop_network(self.layout, validators, kill=True)

    def wipe(self, validator: int) -> None:
        """Delete a stopped validator's chain: the node's data directory and CometBFT's
        blocks, state and WAL (``cometbft reset-state``). Its keys, its config and its last
        signed height stay, so once started it resyncs from the others without double-signing.

        Raises:
            ChainError: it is running (stop or kill it first).
        """
        v = self.layout.validator(validator)
        if any(Service(v, kind).pid() is not None for kind in ("node", "cometbft")):
            raise ChainError(f"validator {validator} is running: stop or kill it before a wipe")
        run_cometbft(cometbft_binary(), "reset-state", "--home", str(v.home))
        shutil.rmtree(v.data_dir)
        v.data_dir.mkdir()

    def status(self) -> list[ValidatorStatus]:
        """Every validator's :class:`~collective.network.ValidatorStatus`."""
        return network_status(self.layout)

    def heights(self) -> list[int | None]:
        """Each validator's last committed CometBFT height (None: not answering)."""
        return [
            s.height if (s := cometbft_status(v.cometbft_url)) else None
            for v in self.layout.validators
        ]

    def heads(self) -> list[int | None]:
        """Each validator's Ethereum head block number (None: not answering)."""
        return [eth_block_number(url) for url in self.urls]

    def height_now(self) -> int:
        """The highest committed height any validator reports (0 when none answers)."""
        return max((h for h in self.heights() if h is not None), default=0)

    def wait_for_height(
        self, height: int, validators: Iterable[int] = (), *, timeout: float = WAIT_TIMEOUT
    ) -> None:
        """Wait until each of ``validators`` (all when empty) has committed ``height``.

        Raises:
            ChainError: not within ``timeout`` seconds (with every validator's height).
        """
        chosen = self._indexes(validators)

        def reached() -> bool:
            heights = self.heights()
            return all((heights[i - 1] or 0) >= height for i in chosen)

        self.wait_for(reached, timeout, f"height {height} on validators {chosen}")

    def wait_for_head(
        self, block: int, validators: Iterable[int] = (), *, timeout: float = WAIT_TIMEOUT
    ) -> None:
        """Wait until each of ``validators`` (all when empty) has Ethereum block ``block``.

        Raises:
            ChainError: not within ``timeout`` seconds.
        """
        chosen = self._indexes(validators)

        def reached() -> bool:
            heads = self.heads()
            return all((h := heads[i - 1]) is not None and h >= block for i in chosen)

        self.wait_for(reached, timeout, f"block {block} on validators {chosen}")

    def wait_until_agreed(
        self, validators: Iterable[int] = (), *, timeout: float = WAIT_TIMEOUT
    ) -> int:
        """Wait until ``validators`` (all when empty) report the same committed height and
        app hash; return that height.

        Raises:
            ChainError: they did not agree within ``timeout`` seconds.
        """
        chosen = self._indexes(validators)
        agreed: list[int] = []

        def same() -> bool:
            rows = [cometbft_status(self.layout.validator(i).cometbft_url) for i in chosen]
            if any(r is None for r in rows):
                return False
            if len({(r.height, r.app_hash) for r in rows if r is not None}) != 1:
                return False
            agreed[:] = [rows[0].height if rows[0] else 0]
            return True

        self.wait_for(same, timeout, f"agreement of validators {chosen}")
        return agreed[0]

    def log(self, validator: int, kind: str = "node", chars: int = 4000) -> str:
        """The end of a validator's ``node`` or ``cometbft`` log (for failure messages)."""
        return Service(self.layout.validator(validator), kind).log_tail(chars)

    def logs(self, chars: int = 2500) -> str:
        """The end of every validator's node and cometbft logs, one after another (to print
        when a test fails)."""
        return "\n".join(
            f"--- validator {v.index} {kind}.log ---\n{self.log(v.index, kind, chars)}"
            for v in self.layout.validators
            for kind in ("node", "cometbft")
        )

    def wait_for(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``done()`` is true, polling every 0.1 s.

        Raises:
            ChainError: not within ``timeout`` seconds (``what`` names the awaited thing,
                with every validator's height and head).
        """
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise ChainError(
                    f"no {what} within {timeout:.0f} s (heights {self.heights()}, "
                    f"heads {self.heads()})"
                )
            time.sleep(0.1)


@contextmanager
def run_consortium(
    validators: int = 4,
    *,
    root: Path | None = None,
    start: bool = True,
    empty_blocks: str = "never",
    chain_id: int = 131277,
) -> Iterator[Consortium]:
    """A :class:`Consortium` for the ``with`` block: written into ``root`` (default a
    temporary folder, deleted afterwards), started unless ``start`` is False, and every
    process of it stopped at the end whatever happens (SIGTERM, SIGKILL after 20 s).

    Raises:
        As :class:`Consortium` and :meth:`Consortium.start`.
    """
    with ExitStack() as stack:
        if root is None:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="consortium-"))
            root = Path(scratch) / "net"
        net = Consortium(root, validators, empty_blocks=empty_blocks, chain_id=chain_id)
        try:
            if start:
                net.start()
            yield net
        finally:
            net.stop()


__all__ = ["LISTEN_RANGE", "Consortium", "free_ports", "run_consortium"]
