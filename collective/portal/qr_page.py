"""``GET /qr?link=URL``: the QR code of a consent link to this portal, as an SVG image.

An organization can show a person the code of a link on a screen, or put
``<img src="https://portal.example/qr?link=...">`` in a message, and the person's phone opens
the link. Only consent links to this very portal are drawn (its origin, the ``/consent`` path,
a query :class:`~collective.portal.links.ConsentLink` accepts), so the portal cannot be used to
draw a code of any other address; and a link is at most :data:`~collective.portal.qr.MAX_LINK`
characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collective.errors import InvalidInputError
from collective.portal.links import ConsentLink
from collective.portal.pages import error_page
from collective.portal.problems import PortalInputError, problem_of
from collective.portal.qr import MAX_LINK, qr_image


def portal_link(link: str, origin: str) -> str:
    """``link`` checked to be a consent link to the portal at ``origin``.

    Args:
        link: the full link (``{origin}/consent?org=...``), at most
            :data:`~collective.portal.qr.MAX_LINK` characters.
        origin: this portal's origin, ``scheme://host[:port]``.

    Returns:
        ``{origin}/consent?{query}``: the link's query kept as it is (a renewal's
        ``previous``, say), its origin spelled as the portal's, any ``#fragment`` dropped.

    Raises:
        PortalInputError: the link is missing, too long, for another site or path, gives a
            parameter twice, or its query is not a consent link's (the message says which).
    """
    link = link.strip()
    if not link:
        raise PortalInputError(
            "there is no link to draw: add ?link= and a consent link to this portal"
        )
    if len(link) > MAX_LINK:
        raise PortalInputError(
            f"the link is {len(link)} characters long; this portal draws consent links of up "
            f"to {MAX_LINK}"
        )
    try:
        parts = urlsplit(link)
    except ValueError:
        raise PortalInputError("the link is not a web address") from None
    if f"{parts.scheme}://{parts.netloc}".lower() != origin.lower().rstrip("/"):
        raise PortalInputError(
            f"this portal draws QR codes only of its own consent links ({origin}/consent?...)",
            hint="make the link with `collective consent request --portal " + origin + "`",
        )
    if parts.path != "/consent":
        raise PortalInputError("the link is not a consent request link (/consent?...)")
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:  # the page would read one value, a person reading the link another
        raise PortalInputError(
            f"the link gives {', '.join(repeated)} more than once, so it could be read two ways",
            hint="make the link again with `collective consent request`",
        )
    try:
        ConsentLink.from_query(dict(parse_qsl(parts.query)))
    except InvalidInputError as exc:
        raise PortalInputError(exc.message, hint=exc.hint) from None
    return f"{origin}/consent?{parts.query}"


def link_parameter(params: Mapping[str, str]) -> str:
    """The ``link`` of ``/qr``'s query ``params``, refused when the query has other
    parameters: an unencoded link (``?link=https://p/consent?org=..&purpose=..``) is cut at
    its first ``&`` and its rest read as the portal's own parameters.

    Raises:
        PortalInputError: the query has parameters other than ``link`` (the message names
            them and how to encode the link).
    """
    others = sorted(set(params) - {"link"})
    if others:
        raise PortalInputError(
            f"the address has {', '.join(others)} beside link=, so the link was cut at its "
            "first &: put the link after ?link= encoded",
            hint="encode it with encodeURIComponent(link) in JavaScript, "
            "urllib.parse.quote(link, safe='') in Python",
        )
    return params.get("link", "")


def qr(request: Request) -> Response:
    """``GET /qr?link=URL``: the link's QR code (``image/svg+xml``); a bad link renders the
    error page (HTTP 400) saying what is wrong."""
    origin = str(request.base_url).rstrip("/")
    try:
        link = portal_link(link_parameter(request.query_params), origin)
        image = qr_image(link, "svg", title="A consent request link")
    except Exception as exc:  # a plain sentence on the error page, never a traceback
        return error_page(request, problem_of(exc))
    return Response(image, media_type="image/svg+xml")


ROUTES = [Route("/qr", qr, methods=["GET"])]
"""The QR route, mounted by :func:`~collective.portal.app.create_app`."""

__all__ = ["ROUTES", "link_parameter", "portal_link", "qr"]
