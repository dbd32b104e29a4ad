"""The portal's pages, rendered from the Jinja2 templates in ``collective/portal/templates``.

=============  ==========================================================================
path           page
=============  ==========================================================================
``/``          start: create or restore your secret words, unlock them
``/consent``   a consent request link (:mod:`collective.portal.links`): the policy, accept
               or decline
``/consents``  "my consents": every consent of your identities, withdraw with one click
``/history``   who used my data: the history of your identities, filter, download
=============  ==========================================================================

Pages carry no inline script or style (the CSP forbids both): one module bundle
(``/static/dist/portal.js``) does the work in the browser, reading what it needs from the
``data-*`` attributes of ``<main>``. A bad link or a failure renders the error page with a plain
sentence, never a traceback.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collective.portal.api import node_read, portal_of
from collective.portal.checked_link import check_link
from collective.portal.consents import words
from collective.portal.problems import Problem
from collective.portal.security import allow_connect, origin_of


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """The page ``template`` (a file in ``collective/portal/templates``) with ``context``
    and the ledger's ``chain_id`` and ``ledger`` address, answered with HTTP ``status``."""
    portal = portal_of(request)
    client = portal.client
    context.setdefault("chain_id", client.chain.chain_id)
    context.setdefault("ledger", client.session.ledger.address)
    return portal.templates.TemplateResponse(request, template, context, status_code=status)


def error_page(request: Request, problem: Problem) -> Response:
    """The error page for ``problem`` (its status, sentence and hint)."""
    return render(request, "error.html", problem.status, problem=problem, page="error")


def home(request: Request) -> Response:
    """``GET /``: what the portal is, and your secret words (create, restore, unlock)."""
    return render(request, "home.html", page="home")


def consent_request(request: Request) -> Response:
    """``GET /consent?org=&purpose=&category=&version=&hash=[&expiry=][&recipient=]
    [&previous=]``: a consent request (with ``recipient``, a disclosure consent; with
    ``previous``, a renewal showing what changed since that version).

    The link is checked against the chain before anything is shown
    (:func:`~collective.portal.checked_link.check_link`): the policy version must be
    published, be its owner's current one, cover the purpose, and have the link's hash. The
    browser then fetches the text (and a renewal's previous text) from its URI (the CSP allows
    those origins) and checks its SHA-256 itself before offering to sign.

    Served through :func:`~collective.portal.api.node_read` (as the API's reads): a failure
    renders the error page, and a node that has stopped answering gets the error page with
    HTTP 503 within seconds, not after the node client's timeout.
    """
    checked = check_link(portal_of(request).client, request.query_params)
    for policy in (checked.policy, checked.previous):
        origin = None if policy is None else origin_of(policy.uri)
        if origin is not None:
            allow_connect(request, origin)
    link = checked.link
    return render(
        request,
        "consent.html",
        page="consent",
        link=link,
        policy=checked.policy,
        checked=checked,
        purpose_words=words(link.purpose),
        category_words=words(link.category),
        words=words,
    )


def my_consents(request: Request) -> Response:
    """``GET /consents``: the list is filled in by the page's script from ``/api/consents``."""
    return render(request, "consents.html", page="consents")


def my_history(request: Request) -> Response:
    """``GET /history``: the table is filled in by the page's script from ``/api/history``."""
    return render(request, "history.html", page="history")


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/consent", node_read(consent_request), methods=["GET"]),
    Route("/consents", my_consents, methods=["GET"]),
    Route("/history", my_history, methods=["GET"]),
]
"""The pages' routes, mounted by :func:`~collective.portal.app.create_app`."""

__all__ = ["ROUTES", "error_page", "render"]
