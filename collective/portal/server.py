"""Serving the portal: uvicorn in the foreground (the CLI) or in a thread (tests, scripts).

uvicorn is started with ``proxy_headers=False``: the rate limit keys on the TCP peer's
address, and a client must not be able to pick its own key with ``X-Forwarded-For``. Behind
a reverse proxy, run uvicorn yourself with ``forwarded_allow_ips`` set to the proxy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

from collective.errors import ConfigurationError

START_TIMEOUT = 30.0


def _config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, proxy_headers=False, access_log=False, log_level="warning"
    )


def serve(app: Starlette, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve ``app`` on ``host:port`` until interrupted (Ctrl-C).

    Raises:
        ConfigurationError: the port could not be bound (uvicorn exits).
    """
    server = uvicorn.Server(_config(app, host, port))
    server.run()
    if not server.started:
        raise ConfigurationError(
            f"the portal could not listen on {host}:{port}",
            hint="pick another --port, or stop what uses this one",
        )


@contextmanager
def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` from a thread for the ``with`` block; yields its base URL.

    Args:
        app: the portal (:func:`~collective.portal.app.create_app`).
        host: the address to bind.
        port: the port (0: any free one, read back after binding).

    Raises:
        ConfigurationError: it did not start within 30 s.
    """
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=server.run, name="collective-portal", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigurationError(f"the portal did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


__all__ = ["serve", "serve_in_thread"]
