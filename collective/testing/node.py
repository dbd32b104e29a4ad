"""A ``collective node`` for tests and benchmarks: in a thread of this process, or as the
``collective node start`` command in a subprocess, on a free port (or a given one).

    with run_node_thread(dev=True) as url:          # in memory unless data_dir is given
        chain = connect_rpc(url)

    with run_node_process("--dev", data_dir=tmp / "chain") as node:   # durable
        chain = connect_rpc(node.url)
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from collective.errors import ChainError
from collective.testing.ports import free_port, wait_until_answers

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@contextmanager
def run_node_thread(**config: Any) -> Iterator[str]:
    """Serve a new :class:`~collective.node.Node` over HTTP from a thread of this process, on
    a free port of 127.0.0.1, for the ``with`` block; yields its URL.

    Args:
        config: :class:`~collective.node.NodeConfig` fields (``dev=True``, ``data_dir=...``,
            ``block_time=...``); in memory unless ``data_dir`` is given.

    Raises:
        NodeError: the node could not open its data directory.
    """
    from collective.node import Node, NodeConfig
    from collective.node.server import serve_in_thread

    node = Node(NodeConfig(**config))
    try:
        server = serve_in_thread(node)
        try:
            yield server.url
        finally:
            server.shutdown()
            server.server_close()
    finally:
        node.close()


class NodeProcess:
    """``collective node start`` running in a subprocess on a loopback port.

    Args:
        args: the command's arguments after ``node start`` (``--dev``, ``--genesis F``...).
        data_dir: its ``--data-dir`` (durable: every block written before it is answered),
            or None for a node in memory.
        port: the TCP port to serve on (e.g. a stopped node's, to start it again where its
            clients look), or None for a free one.

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        ready_after: seconds from the start until it answered.

    Raises:
        ChainError: it exited, or did not answer within 60 s.
    """

    def __init__(self, *args: str, data_dir: Path | None = None, port: int | None = None) -> None:
        self.port = free_port() if port is None else port
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-c", "from collective.cli import main; main()", "node", "start",
            "--port", str(self.port), *args,
        ]  # fmt: skip
        if data_dir is not None:
            command += ["--data-dir", str(data_dir)]
        started = time.monotonic()
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_until_answers(self.url, self.process, START_TIMEOUT)
        except ChainError:
            self.stop()
            raise
        self.ready_after = time.monotonic() - started

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 20 s) and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.kill()

    def kill(self) -> None:
        """Kill it at once (SIGKILL: no shutdown, as a power cut would) and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


@contextmanager
def run_node_process(
    *args: str, data_dir: Path | None = None, port: int | None = None
) -> Iterator[NodeProcess]:
    """A :class:`NodeProcess` (arguments as its) for the ``with`` block, stopped at its end."""
    node = NodeProcess(*args, data_dir=data_dir, port=port)
    try:
        yield node
    finally:
        node.stop()


__all__ = ["NodeProcess", "run_node_process", "run_node_thread"]
