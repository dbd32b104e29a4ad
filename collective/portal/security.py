"""The portal's HTTP security: a strict Content-Security-Policy and CSRF protection.

**Content-Security-Policy** (CSP Level 3). Every response carries::

    default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;
    connect-src 'self' [ORIGIN]; object-src 'none'; base-uri 'none'; form-action 'self';
    frame-ancestors 'none'

No inline script or style is allowed (no ``'unsafe-inline'``, no nonces): the pages load one
module bundle from ``/static/dist`` and carry their data in ``data-*`` attributes. The only
widening is ``connect-src`` for the consent page, which lets the browser fetch the policy
document from the one origin of the URI the organization published on chain
(:func:`allow_connect`), so that the browser itself hashes the text it shows. Beside it:
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (a consent link's query
never leaks to the policy host), ``Cross-Origin-Opener-Policy: same-origin`` and
``Cache-Control: no-store`` on pages and API answers.

**CSRF** (OWASP "double submit cookie", signed): :class:`CsrfMiddleware` is starlette-csrf's
3.0.0 middleware (a pure ASGI middleware: the first safe request sets a ``csrftoken`` cookie,
an itsdangerous-signed random value, ``SameSite=Strict``; every unsafe request (POST, PUT,
PATCH, DELETE) must echo it in the ``X-CSRFToken`` header) with a JSON error instead of its
plain-text one. The cookie authenticates nothing (the portal has no sessions: a person's
authority is its EIP-712 signature), so CSRF here stops another site from spending the
relayer's gas and rate budget through a visitor's browser.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_csrf.middleware import CSRFMiddleware

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
_CONNECT_KEY = "portal.connect_src"

_BASE_POLICY = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    ("img-src", "'self' data:"),
    ("connect-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'none'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)


def content_security_policy(connect: tuple[str, ...] = ()) -> str:
    """The CSP header value (see the module docstring).

    Args:
        connect: extra origins for ``connect-src`` (``https://host[:port]``), each already
            checked by :func:`origin_of`.

    Returns:
        The header value, directives joined by ``"; "``.
    """
    parts = []
    for directive, value in _BASE_POLICY:
        if directive == "connect-src" and connect:
            value = " ".join((value, *connect))
        parts.append(f"{directive} {value}")
    return "; ".join(parts)


def origin_of(uri: str) -> str | None:
    """The origin (``scheme://host[:port]``) of an ``http(s)`` URI, or None for any other
    URI (``ipfs:``, ``data:``, a relative path) or one with characters a CSP source may not
    hold (spaces, quotes, semicolons, commas)."""
    try:
        parts = urlsplit(uri.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    if any(c in origin for c in " ;,'\"\\\t\r\n"):
        return None
    return origin


def allow_connect(request: Request, origin: str) -> None:
    """Let this response's page ``fetch()`` from ``origin`` (added to ``connect-src``).

    Args:
        request: the request being answered.
        origin: an origin from :func:`origin_of`.
    """
    request.scope.setdefault(_CONNECT_KEY, []).append(origin)


class SecurityHeadersMiddleware:
    """ASGI middleware adding the CSP and the other security headers to every response
    (pure ASGI, so streaming and static files pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        """Args: app: the application to wrap."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer ``scope`` through the wrapped app, adding the headers to its start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                connect = tuple(scope.get(_CONNECT_KEY, ()))
                static = str(scope.get("path", "")).startswith("/static/")
                extra = {
                    b"content-security-policy": content_security_policy(connect).encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"x-frame-options": b"DENY",
                }
                if not static:
                    extra[b"cache-control"] = b"no-store"
                names = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfMiddleware(CSRFMiddleware):
    """starlette-csrf's double-submit-cookie middleware, answering a failed check with the
    portal's JSON error (HTTP 403) instead of plain text."""

    def _get_error_response(self, request: Request) -> Response:
        return JSONResponse(
            {
                "error": {
                    "kind": "csrf",
                    "message": "this request did not come from the portal's own page "
                    "(its CSRF token is missing or wrong), so it was refused",
                    "hint": "reload the page and try again",
                }
            },
            status_code=403,
        )


def csrf_middleware(secret: str, *, secure: bool) -> Middleware:
    """The :class:`CsrfMiddleware` entry of the application's middleware list.

    Args:
        secret: the server's signing secret for the token (random per process).
        secure: mark the cookie ``Secure`` (when the portal is served over HTTPS).
    """
    return Middleware(
        CsrfMiddleware,
        secret=secret,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_samesite="strict",
        cookie_secure=secure,
        cookie_httponly=False,  # the page's script reads it to echo it (double submit)
    )


__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "CsrfMiddleware",
    "SecurityHeadersMiddleware",
    "allow_connect",
    "content_security_policy",
    "csrf_middleware",
    "origin_of",
]
