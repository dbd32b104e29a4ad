"""``collective network start|stop``: run a local network's validators, or stop them.

A validator is two processes (:mod:`~collective.network.processes`): the collective node, the
ABCI application serving Ethereum JSON-RPC, started first; then its ``cometbft``, which
connects to the node's ABCI listener. Start returns once every started node answers JSON-RPC
and every started CometBFT answers its RPC and has committed a block (when the running
validators hold more than 2/3 of the voting power, without which no block can commit).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from collective.errors import ConfigurationError, NodeError
from collective.network.cometbft import cometbft_binary
from collective.network.layout import NetworkLayout
from collective.network.processes import STOP_TIMEOUT, Service, port_in_use, stop_services
from collective.network.rpc import cometbft_status, eth_block_number

COMETBFT_FILES = ("config.toml", "genesis.json", "priv_validator_key.json", "node_key.json")
"""What ``network init`` writes into each validator's ``cometbft/config/``."""

START_TIMEOUT = 120.0
"""Seconds ``start`` waits for the validators to answer and commit a first block."""


def running_validators(layout: NetworkLayout) -> list[int]:
    """The indexes of validators with a node or a cometbft process running."""
    return [
        v.index
        for v in layout.validators
        if Service(v, "node").pid() is not None or Service(v, "cometbft").pid() is not None
    ]


def start_network(
    layout: NetworkLayout,
    indexes: Iterable[int] = (),
    *,
    timeout: float = START_TIMEOUT,
    engine: str | None = None,
) -> list[int]:
    """Start the validators numbered ``indexes`` (all when empty); processes already running
    are left alone.

    Before anything is started, every port the missing processes will listen on is checked:
    a port held by another program (often another network written on the same ports) would
    let that program answer the readiness checks, or connect this network's CometBFT to
    another network's application.

    Args:
        layout: the network (:meth:`NetworkLayout.load`).
        indexes: validator numbers, from 1.
        timeout: seconds to wait for them to answer and commit.
        engine: what the nodes execute blocks with; None: the network's
            (:attr:`NetworkLayout.engine`, chosen at ``init``).

    Returns:
        The indexes of the validators a process was started for (the others asked for were
        running already).

    Raises:
        NotFoundError: an index is not a validator of the network.
        ConfigurationError: cometbft is missing or of another version, or a port is in use
            (nothing is started then).
        NodeError: a process exited or did not become ready in time (with the end of its
            log); the processes this call started are stopped again.
    """
    binary = cometbft_binary()
    chosen = layout.select(list(indexes))
    every = (Service(v, kind) for kind in ("node", "cometbft") for v in chosen)
    missing = [service for service in every if service.pid() is None]
    _check_files(layout, missing)
    _check_ports(layout, missing)
    started: list[Service] = []
    try:
        deadline = time.monotonic() + timeout
        for kind in ("node", "cometbft"):
            services = [Service(v, kind) for v in chosen]
            for service in services:
                if service in missing:
                    _spawn(service, binary, engine or layout.engine)
                    started.append(service)
            _wait(services, deadline, _ready if kind == "node" else _rpc_ready, timeout)
        if has_quorum(layout):
            _wait([Service(v, "cometbft") for v in chosen], deadline, _committed, timeout)
    except BaseException:
        stop_services(started, kill=True)
        raise
    return sorted({s.validator.index for s in started})


def _spawn(service: Service, binary: Path, engine: str) -> None:
    try:
        service.spawn(binary, engine)
    except OSError as exc:
        raise NodeError(
            f"cannot start {service.validator.name}'s {service.kind}: {exc}",
            hint=f"check that {service.validator.folder} is writable",
        ) from None


def _check_files(layout: NetworkLayout, services: list[Service]) -> None:
    """ConfigurationError naming the files ``init`` wrote that ``services`` need and that are
    gone (a validator's folder deleted or emptied by hand)."""
    needed = {layout.genesis_path}
    for service in services:
        config = service.validator.home / "config"
        needed.add(service.validator.folder)
        if service.kind == "cometbft":
            needed |= {config / name for name in COMETBFT_FILES}
    gone = sorted(str(path.relative_to(layout.root)) for path in needed if not path.exists())
    if gone:
        shown = ", ".join(gone[:4]) + (f" and {len(gone) - 4} more" if len(gone) > 4 else "")
        raise ConfigurationError(
            f"the network in {layout.root} is incomplete: {shown} missing",
            hint="restore the folder, or re-create the network: collective network init "
            f"--force --validators {len(layout.validators)} --dir {layout.root}",
        )


def _check_ports(layout: NetworkLayout, services: list[Service]) -> None:
    """ConfigurationError naming the ports of ``services`` that another program holds."""
    busy = [
        f"{port} ({s.validator.name}'s {what})"
        for s in services
        for what, port in s.ports.items()
        if port_in_use(port)
    ]
    if not busy:
        return
    shown = ", ".join(busy[:4]) + (f" and {len(busy) - 4} more" if len(busy) > 4 else "")
    raise ConfigurationError(
        f"cannot start the network in {layout.root}: port{'s' if len(busy) > 1 else ''} "
        f"{shown} in use by another program (another network on the same ports?)",
        hint="stop it (`collective network stop OTHER_DIR`), or re-create this network on free "
        f"ports: collective network init --force --base-port P --validators "
        f"{len(layout.validators)} --dir {layout.root}",
    )


def stop_network(
    layout: NetworkLayout,
    indexes: Iterable[int] = (),
    *,
    kill: bool = False,
    timeout: float = STOP_TIMEOUT,
) -> list[int]:
    """Stop the validators numbered ``indexes`` (all when empty): each cometbft first, then
    its node, with SIGTERM and SIGKILL after ``timeout`` seconds (or SIGKILL at once with
    ``kill``, as a power cut would). Stale pid files are removed.

    Returns:
        The indexes of the validators that had a process running.

    Raises:
        NotFoundError: an index is not a validator of the network.
        NodeError: a process outlived SIGKILL.
    """
    chosen = layout.select(list(indexes))
    stopped = {
        s.validator.index
        for s in stop_services([Service(v, "cometbft") for v in chosen], kill=kill, timeout=timeout)
    }
    stopped |= {
        s.validator.index
        for s in stop_services([Service(v, "node") for v in chosen], kill=kill, timeout=timeout)
    }
    return sorted(stopped)


def running_power(layout: NetworkLayout) -> tuple[int, int]:
    """The voting power of the validators whose cometbft runs now, and the network's total
    (the genesis powers in ``network.json``)."""
    total = sum(v.power for v in layout.validators)
    running = sum(v.power for v in layout.validators if Service(v, "cometbft").pid() is not None)
    return running, total


def has_quorum(layout: NetworkLayout) -> bool:
    """Do the validators running now hold more than 2/3 of the voting power (CometBFT's
    commit rule)?"""
    running, total = running_power(layout)
    return 3 * running > 2 * total


def _ready(service: Service) -> bool:
    return eth_block_number(service.validator.url) is not None


def _rpc_ready(service: Service) -> bool:
    return cometbft_status(service.validator.cometbft_url) is not None


def _committed(service: Service) -> bool:
    status = cometbft_status(service.validator.cometbft_url)
    return status is not None and status.height >= 1


def _wait(
    services: list[Service],
    deadline: float,
    ready: Callable[[Service], bool],
    timeout: float,
) -> None:
    """Wait until ``ready(service)`` holds for each service; NodeError naming the first that
    exited or was not ready by ``deadline`` (``timeout`` s after the start began), with the
    end of its log (and of its node's, for a cometbft: the application is often why CometBFT
    stopped)."""
    pending = list(services)
    while pending:
        for service in list(pending):
            if service.pid() is None:
                raise NodeError(
                    f"{service.validator.name}'s {service.kind} exited; {_logs(service)}"
                )
            if ready(service):
                pending.remove(service)
        if pending and time.monotonic() > deadline:
            service = pending[0]
            raise NodeError(
                f"{service.validator.name}'s {service.kind} was not ready within {timeout:g} s "
                f"(a busy machine may need a longer --timeout); {_logs(service)}"
            )
        if pending:
            time.sleep(0.2)


def _logs(service: Service) -> str:
    """The end of ``service``'s log, and of its node's when it is a cometbft."""
    text = f"the end of {service.log_file}:\n{service.log_tail()}"
    if service.kind == "cometbft":
        node = Service(service.validator, "node")
        text += f"\nthe end of {node.log_file}:\n{node.log_tail()}"
    return text


__all__ = [
    "COMETBFT_FILES",
    "START_TIMEOUT",
    "has_quorum",
    "running_power",
    "running_validators",
    "start_network",
    "stop_network",
]
