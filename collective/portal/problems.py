"""How the portal answers a failure: one JSON shape for the API, one page for a person.

Every failure a request can meet becomes an answer with a plain sentence and what to do, never
a stack trace:

==========================  ======  ==========================================================
raised                      status  kind
==========================  ======  ==========================================================
PortalInputError,           400     ``invalid-input`` (malformed JSON, a field out of range,
InvalidInputError                   a request for another chain or ledger)
SignatureError              409     ``refused-signature`` (expired, replayed, superseded, no
                                    authority; the contract's error name is kept)
TransactionError (others)   409     ``refused`` (the contract refused it)
NotFoundError               404     ``not-found``
RateLimited                 429     ``rate-limited`` (with ``Retry-After``)
ChainError                  503     ``chain-unavailable``
any other exception         500     ``internal`` (logged on the server, not shown)
==========================  ======  ==========================================================

The JSON is ``{"error": {"kind", "message", "hint", "contract_error"?}}``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collective.errors import (
    ChainError,
    CollectiveError,
    InvalidInputError,
    NotFoundError,
    SignatureError,
    TransactionError,
)

LOG = logging.getLogger("collective.portal")


class PortalInputError(InvalidInputError):
    """A request to the portal is malformed (a query parameter, a JSON body)."""


class RateLimited(CollectiveError):
    """Too many requests from one identity or one client address.

    Args:
        message: which limit, in words.
        retry_after: seconds until a request would be taken again.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, hint=f"wait {math.ceil(retry_after)} s and try again")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Problem:
    """A failure as the portal reports it: HTTP status, kind, sentence, hint, and for a
    contract refusal the contract's error name."""

    status: int
    kind: str
    message: str
    hint: str | None = None
    contract_error: str | None = None
    retry_after: float | None = None

    def body(self) -> dict[str, Any]:
        """The JSON document ``{"error": {...}}``."""
        error: dict[str, Any] = {"kind": self.kind, "message": self.message, "hint": self.hint}
        if self.contract_error:
            error["contract_error"] = self.contract_error
        return {"error": error}

    def headers(self) -> dict[str, str]:
        """``Retry-After`` for a rate limit, else nothing."""
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(1, math.ceil(self.retry_after)))}


def problem_of(exc: BaseException) -> Problem:
    """The :class:`Problem` for an exception (the table in the module docstring); an
    unexpected one is logged with its traceback here and reported without it."""
    if isinstance(exc, RateLimited):
        return Problem(429, "rate-limited", exc.message, exc.hint, retry_after=exc.retry_after)
    if isinstance(exc, NotFoundError):
        return Problem(404, "not-found", exc.message, exc.hint)
    if isinstance(exc, InvalidInputError):
        return Problem(400, "invalid-input", exc.message, exc.hint)
    if isinstance(exc, SignatureError):
        return Problem(409, "refused-signature", exc.message, exc.hint, exc.error_name)
    if isinstance(exc, TransactionError):
        return Problem(409, "refused", exc.message, exc.hint, exc.error_name)
    if isinstance(exc, ChainError):
        return Problem(
            503,
            "chain-unavailable",
            "the portal could not reach the ledger's node",
            "try again in a minute; if it lasts, tell the portal's operator",
        )
    if isinstance(exc, CollectiveError):
        return Problem(400, "invalid-input", exc.message, exc.hint)
    LOG.error("unexpected error in the portal", exc_info=exc)
    return Problem(
        500,
        "internal",
        "something went wrong in the portal; nothing was sent on your behalf",
        "try again; if it lasts, tell the portal's operator",
    )


def json_problem(exc: BaseException) -> JSONResponse:
    """The JSON response for ``exc`` (see :func:`problem_of`)."""
    problem = problem_of(exc)
    return JSONResponse(problem.body(), problem.status, headers=problem.headers())


async def handle_exception(request: Request, exc: Exception) -> Response:
    """Starlette exception handler: JSON under ``/api/``, the error page elsewhere."""
    if request.url.path.startswith("/api/"):
        return json_problem(exc)
    from collective.portal.pages import error_page

    return error_page(request, problem_of(exc))


async def handle_http(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (``HTTPException``: no such route 404, another method 405,
    with its ``Allow`` header) in the portal's shapes, JSON under ``/api/`` and the error page
    elsewhere, rather than Starlette's plain-text "Not Found"."""
    status = getattr(exc, "status_code", 500)
    headers = dict(getattr(exc, "headers", None) or {})
    if status == 404:
        problem = Problem(
            404,
            "not-found",
            f"there is nothing at {request.url.path}",
            "check the address; the portal's pages are listed on its start page",
        )
    elif status == 405:
        allowed = headers.get("allow") or headers.get("Allow") or "another method"
        problem = Problem(405, "method-not-allowed",
                          f"{request.url.path} does not take {request.method} requests",
                          f"use {allowed}")  # fmt: skip
    else:
        problem = Problem(status, "refused", str(getattr(exc, "detail", "")) or "refused")
    if request.url.path.startswith("/api/"):
        return JSONResponse(problem.body(), status, headers=headers)
    from collective.portal.pages import error_page

    page = error_page(request, problem)
    page.headers.update(headers)
    return page


__all__ = [
    "LOG",
    "PortalInputError",
    "Problem",
    "RateLimited",
    "handle_exception",
    "handle_http",
    "json_problem",
    "problem_of",
]
