"""The two processes of a validator, detached from the shell that started them.

Each runs in its own session (so Ctrl-C in a terminal and the end of the starting process do
not reach it), writes stdout and stderr to a log in the validator's folder, and is found again
through a pid file. A pid file holds the pid and the process's start time; it is trusted only
while that pid is alive and started then, so a stale file (the process died, the pid was
reused) is noticed and removed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from collective.errors import NodeError
from collective.network.layout import HOST, ValidatorLayout

STOP_TIMEOUT = 20.0
"""Seconds between SIGTERM and SIGKILL."""

KILL_WAIT = 10.0
"""Seconds a process may take to vanish after SIGKILL."""

LOG_MARK = "=== collective network start:"
"""The line each start writes into a log before the process's output (with the UTC time)."""


@dataclass(frozen=True)
class Service:
    """One process of a validator: ``kind`` is ``"node"`` (the collective node, the ABCI app)
    or ``"cometbft"``."""

    validator: ValidatorLayout
    kind: str

    @property
    def pid_file(self) -> Path:
        """``validator-<i>/<kind>.pid``."""
        return self.validator.folder / f"{self.kind}.pid"

    @property
    def log_file(self) -> Path:
        """``validator-<i>/<kind>.log`` (appended to on every start)."""
        return self.validator.folder / f"{self.kind}.log"

    @property
    def ports(self) -> dict[str, int]:
        """The ports it listens on, by what they serve: the node's ``JSON-RPC`` and ``ABCI``,
        or CometBFT's ``p2p`` and ``CometBFT RPC``."""
        ports = self.validator.ports
        if self.kind == "cometbft":
            return {"p2p": ports.p2p, "CometBFT RPC": ports.cometbft_rpc}
        return {"JSON-RPC": ports.rpc, "ABCI": ports.abci}

    def command(self, cometbft: Path, engine: str = "py-evm") -> list[str]:
        """Its command line; ``cometbft`` is the binary (:func:`cometbft_binary`), ``engine``
        what the node executes blocks with (``collective node start --engine``)."""
        v = self.validator
        if self.kind == "cometbft":
            return [str(cometbft), "start", "--home", str(v.home)]
        return [
            sys.executable, "-c", "from collective.cli import main; main()", "node", "start",
            "--consensus", "cometbft", "--abci", v.abci_address, "--cometbft-rpc", v.cometbft_url,
            "--data-dir", str(v.data_dir), "--genesis", str(v.root / "genesis.json"),
            "--host", HOST, "--port", str(v.ports.rpc), "--engine", engine,
        ]  # fmt: skip

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid_text, started = self.pid_file.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            self.pid_file.unlink(missing_ok=True)
            return None
        if alive(pid) and start_time(pid) in (started, None):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def spawn(self, cometbft: Path, engine: str = "py-evm") -> int:
        """Start it detached (its own session) in the validator's folder (a node executing
        blocks with ``engine``), logging to
        :attr:`log_file` after a :data:`LOG_MARK` line; write the pid file (the pid and the
        process's start time, which a reused pid does not share). Returns the pid. Raises
        ``OSError`` when it cannot be started."""
        with self.log_file.open("ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
            log.write(f"{LOG_MARK} {stamp}\n".encode())
            log.flush()
            process = subprocess.Popen(
                self.command(cometbft, engine),
                cwd=self.validator.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid} {start_time(process.pid)}\n")
        return process.pid

    def log_tail(self, chars: int = 1500) -> str:
        """The end of its log since it was last started (for error messages): at most
        ``chars`` characters after the last :data:`LOG_MARK` line."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        mark = text.rfind(LOG_MARK)
        if mark >= 0:
            text = text[text.find("\n", mark) + 1 :]
        return text[-chars:]


def alive(pid: int) -> bool:
    """Is ``pid`` a live process (a zombie child is reaped and counts as gone)?"""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def port_in_use(port: int) -> bool:
    """Does another socket hold TCP ``port`` on :data:`HOST` (a listener, or one bound to all
    interfaces)? A port left in TIME_WAIT by a process that just exited counts as free, as it
    does for the validators' own listeners (``SO_REUSEADDR``)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def start_time(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (field 22 of ``/proc/<pid>/stat``), or
    None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return fields[19] if len(fields) > 19 else None


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the session ``pid`` leads (the process and any children)."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, signum)


def stop_services(
    services: list[Service], *, kill: bool = False, timeout: float = STOP_TIMEOUT
) -> list[Service]:
    """Stop ``services`` together: SIGTERM (or SIGKILL at once with ``kill``), then SIGKILL to
    any still alive after ``timeout`` seconds; wait until all are gone and remove their pid
    files.

    Returns:
        The services that were running.

    Raises:
        NodeError: a process outlived SIGKILL by :data:`KILL_WAIT` seconds (its pid file is
            kept).
    """
    running = [(s, pid) for s in services if (pid := s.pid()) is not None]
    for _, pid in running:
        signal_group(pid, signal.SIGKILL if kill else signal.SIGTERM)
    pending = _wait_gone(running, timeout)
    if pending and not kill:
        for _, pid in pending:
            signal_group(pid, signal.SIGKILL)
        pending = _wait_gone(pending, KILL_WAIT)
    for service, pid in running:
        if (service, pid) not in pending:
            service.pid_file.unlink(missing_ok=True)
    if pending:
        names = ", ".join(f"{s.validator.name}'s {s.kind} (pid {pid})" for s, pid in pending)
        raise NodeError(f"{names} did not exit after SIGKILL")
    return [s for s, _ in running]


def _wait_gone(processes: list[tuple[Service, int]], timeout: float) -> list[tuple[Service, int]]:
    """Wait up to ``timeout`` seconds for ``processes`` to exit; those still alive."""
    deadline = time.monotonic() + timeout
    pending = [(s, pid) for s, pid in processes if alive(pid)]
    while pending and time.monotonic() < deadline:
        time.sleep(0.05)
        pending = [(s, pid) for s, pid in pending if alive(pid)]
    return pending


__all__ = [
    "STOP_TIMEOUT",
    "Service",
    "alive",
    "port_in_use",
    "signal_group",
    "stop_services",
]
