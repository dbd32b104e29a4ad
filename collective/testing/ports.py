"""Free local ports, and waiting for a JSON-RPC node to answer on one."""

from __future__ import annotations

import socket
import subprocess
import time

from collective.chain.backend import RpcFailure, TransportError
from collective.chain.http import HttpBackend
from collective.errors import ChainError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (another process may take it
    before you bind it: start on it and retry on another when that happens)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str, method: str = "eth_chainId") -> bool:
    """Does a JSON-RPC node at ``url`` answer ``method`` (within a second)?"""
    backend = HttpBackend(url, timeout=1.0)
    try:
        backend.request(method, [])
    except (TransportError, RpcFailure):
        return False
    finally:
        backend.close()
    return True


def wait_until_answers(
    url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60.0
) -> float:
    """Wait until the node at ``url`` answers ``eth_chainId``.

    Args:
        url: the node's URL.
        process: the node's process, if this program started it: its exit ends the wait.
        timeout: seconds to wait.

    Returns:
        Seconds waited.

    Raises:
        ChainError: the process exited (with the end of its stderr) or ``timeout`` passed.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            err = (process.stderr.read() if process.stderr else b"").decode(errors="replace")
            raise ChainError(f"the node for {url} exited: {err[-1500:]}")
        if answers(url):
            return time.monotonic() - started
        time.sleep(0.05)
    raise ChainError(f"the node at {url} did not answer within {timeout:.0f} s")


__all__ = ["answers", "free_port", "wait_until_answers"]
