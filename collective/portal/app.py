"""The portal's Starlette application: routes, templates, static files, security middleware.

:func:`create_app` builds it around one :class:`~collective.Collective` acting as the
relaying account. Layers, outermost first: :class:`~collective.portal.security.
SecurityHeadersMiddleware` (CSP and friends on every answer, errors included), the CSRF check
(:class:`~collective.portal.security.CsrfMiddleware`), Starlette's exception handling
(:func:`~collective.portal.problems.handle_exception`: JSON under ``/api/``, the error page
elsewhere), then the routes of :mod:`~collective.portal.pages` and :mod:`~collective.portal.api`
and ``/static`` (``collective/portal/static``, with the bundle ``dist/portal.js`` that
``npm run build:portal`` writes).
"""

from __future__ import annotations

import gc
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from collective.errors import ConfigurationError
from collective.portal import api, guardians, pages, qr_page, verify
from collective.portal.index import PortalIndex
from collective.portal.node_gate import NodeGate
from collective.portal.problems import handle_exception, handle_http
from collective.portal.ratelimit import RateLimits
from collective.portal.relay import Relayer
from collective.portal.security import SecurityHeadersMiddleware, csrf_middleware

if TYPE_CHECKING:
    from collective.client import Collective

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
BUNDLE = STATIC / "dist" / "portal.js"


@dataclass(frozen=True)
class Portal:
    """What the routes share: the relaying client, its :class:`Relayer`, the templates and
    the audit index "my consents" and "who used my data" are read from."""

    client: Collective
    relayer: Relayer
    templates: Jinja2Templates
    index: PortalIndex


def create_app(
    client: Collective,
    *,
    limits: RateLimits | None = None,
    csrf_secret: str | None = None,
    secure_cookies: bool = False,
    index_path: Path | str | None = None,
) -> Starlette:
    """The portal as an ASGI application.

    Args:
        client: a client acting as the relaying account (an admitted, active organization or
            consortium account; it pays the gas of every relayed request).
        limits: the relay endpoint's rate limits (default :class:`RateLimits`).
        csrf_secret: the CSRF token's signing secret (default: random for this process, so a
            restart asks pages for a reload).
        secure_cookies: mark the CSRF cookie ``Secure`` (serve over HTTPS behind a proxy).
        index_path: the audit index file the portal keeps in step with the chain (kept
            across restarts), or None for a temporary one (:class:`~collective.portal.index.
            PortalIndex`). Its follower starts with the application (its lifespan) and stops
            with it.

    Returns:
        The Starlette application (``app.state.portal`` is the :class:`Portal`).

    Raises:
        ConfigurationError: the client has no sending account, or the browser bundle is
            missing (run ``bash scripts/setup.sh`` or ``npm run build:portal``).
    """
    if client.session.account is None:
        raise ConfigurationError("the portal needs a relaying account (--relayer)")
    if not BUNDLE.is_file():
        raise ConfigurationError(
            f"the portal's browser bundle {BUNDLE} is missing",
            hint="build it with `npm run build:portal` (scripts/setup.sh does)",
        )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    index = PortalIndex(client, index_path)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        index.start()
        # The modules and objects loaded so far live as long as the process: keep the
        # collector from walking them again (a full pass takes ~70 ms, a stall for every
        # request in flight).
        gc.freeze()
        try:
            yield
        finally:
            index.stop()

    app = Starlette(
        routes=[
            *pages.ROUTES,
            *api.ROUTES,
            *guardians.ROUTES,
            *verify.ROUTES,
            *qr_page.ROUTES,
            Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            csrf_middleware(csrf_secret or secrets.token_urlsafe(32), secure=secure_cookies),
            Middleware(NodeGate, index=index),
        ],
        exception_handlers={Exception: handle_exception, HTTPException: handle_http},
        lifespan=lifespan,
    )
    app.state.portal = Portal(client, Relayer(client, limits), templates, index)
    app.state.guardians = guardians.GuardianRelay(client, limits)
    return app


__all__ = ["BUNDLE", "Portal", "create_app"]
