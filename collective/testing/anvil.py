"""Start and stop an anvil node (npm ``@foundry-rs/anvil``) for tests, benchmarks and demos.

    with run_anvil() as url:
        chain = connect_rpc(url)

The binary is ``$ANVIL``, else the one ``npm ci`` installs under ``node_modules``, else
``anvil`` on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from collective.errors import ChainError, ConfigurationError
from collective.testing.ports import answers, free_port

REPO = Path(__file__).resolve().parents[2]
ANVIL_BINARIES = (
    REPO / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
    REPO / "node_modules" / ".bin" / "anvil",
)
START_TIMEOUT = 20.0


def find_anvil() -> Path | None:
    """The anvil binary to run, or None when there is none."""
    env = os.environ.get("ANVIL")
    candidates = [Path(env)] if env else []
    candidates += list(ANVIL_BINARIES)
    if found := shutil.which("anvil"):
        candidates.append(Path(found))
    return next((path for path in candidates if path.is_file() and os.access(path, os.X_OK)), None)


@contextmanager
def run_anvil(extra_args: Sequence[str] = (), binary: Path | None = None) -> Iterator[str]:
    """Run anvil on a free local port for the ``with`` block; yields its URL.

    Args:
        extra_args: more anvil arguments (``["--no-mining"]``, ``["--init", genesis]``).
        binary: the anvil to run (default :func:`find_anvil`'s).

    Raises:
        ConfigurationError: anvil is not installed.
        ChainError: it did not start (three free ports tried, 20 s each).
    """
    binary = binary or find_anvil()
    if binary is None:
        raise ConfigurationError(
            "anvil is not installed", hint="run `npm ci` (package @foundry-rs/anvil)"
        )
    process, url = _start(binary, extra_args)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


@contextmanager
def node_or_anvil(rpc: str | None, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """The node at ``rpc`` when given, else an anvil run for the ``with`` block; yields the URL
    (what the benchmarks need: "this node, or start one")."""
    if rpc:
        yield rpc
        return
    with run_anvil(extra_args) as url:
        yield url


def _start(binary: Path, extra_args: Sequence[str]) -> tuple[subprocess.Popen[bytes], str]:
    last_error = ""
    for _ in range(3):  # another process may grab the free port first: try another
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent", *extra_args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_error = (process.stderr.read() if process.stderr else b"").decode()[-500:]
                break
            if answers(url):
                return process, url
            time.sleep(0.05)
        else:
            process.kill()
            process.wait()
            last_error = f"it did not answer within {START_TIMEOUT:.0f} s"
    raise ChainError(f"anvil ({binary}) did not start: {last_error}")


__all__ = ["answers", "find_anvil", "free_port", "node_or_anvil", "run_anvil"]
