"""Serving the portal: uvicorn in the foreground (the CLI) or in a thread (tests, scripts).

The listening socket is bound here, before uvicorn starts, so a port in use is a
:class:`~collective.errors.ConfigurationError` with one clear sentence instead of uvicorn's
log line and exit. uvicorn runs with ``proxy_headers=False``: the rate limit keys on the TCP
peer's address, and a client must not be able to pick its own key with
``X-Forwarded-For``. Behind a reverse proxy, run uvicorn yourself with
``forwarded_allow_ips`` set to the proxy.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

from collective.errors import ConfigurationError

START_TIMEOUT = 30.0


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (port 0: any free one).

    Raises:
        ConfigurationError: the address cannot be bound (in use, not this machine's).
    """
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        raise ConfigurationError(
            f"the portal cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port (or --host), or stop what uses this one",
        ) from None


def _server(app: Starlette) -> uvicorn.Server:
    config = uvicorn.Config(app, proxy_headers=False, access_log=False, log_level="warning")
    return uvicorn.Server(config)


def serve(app: Starlette, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve ``app`` on ``host:port`` until interrupted (Ctrl-C).

    Raises:
        ConfigurationError: the address cannot be bound.
    """
    sock = listen(host, port)
    _server(app).run(sockets=[sock])


@contextmanager
def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` from a thread for the ``with`` block; yields its base URL.

    Args:
        app: the portal (:func:`~collective.portal.app.create_app`).
        host: the address to bind.
        port: the port (0: any free one).

    Raises:
        ConfigurationError: the address cannot be bound, or it did not start within 30 s.
    """
    sock = listen(host, port)
    bound = sock.getsockname()[1]
    server = _server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="collective-portal", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError(f"the portal did not start on {host}:{bound}")
            time.sleep(0.02)
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


__all__ = ["listen", "serve", "serve_in_thread"]
