"""Answer at once, in words, while the ledger's node does not answer.

The routes under ``/api/`` and the consent page (``/consent``) read the chain, or the audit
index that follows it. While :meth:`PortalIndex.node_trouble
<collective.portal.index.PortalIndex.node_trouble>` says the node is not answering (the
follower could not reach it, or has heard nothing from it for
:data:`~collective.portal.index.NODE_PATIENCE` seconds), :class:`NodeGate` answers them with
HTTP 503 and a sentence (:func:`~collective.portal.problems.handle_exception`: JSON under
``/api/``, the error page elsewhere) instead of letting each wait for the node's timeout.
Everything else (the static pages, ``/static``, ``/qr``) is served as usual; their scripts ask
``/api/``, which says so. The gate opens by itself once the follower reaches the node again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from collective.portal.problems import handle_exception

if TYPE_CHECKING:
    from collective.portal.index import PortalIndex


def needs_chain(path: str) -> bool:
    """Whether the route at ``path`` reads the chain or the audit index."""
    return path.startswith("/api/") or path == "/consent"


class NodeGate:
    """ASGI middleware: 503 and a sentence for :func:`needs_chain` routes while ``index``
    reports node trouble.

    Args:
        app: the application it wraps.
        index: the portal's audit index, whose follower watches the node.
    """

    def __init__(self, app: ASGIApp, index: PortalIndex) -> None:
        self.app = app
        self.index = index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope``, or answer its trouble when the node does not answer."""
        if scope["type"] == "http" and needs_chain(scope["path"]):
            trouble = self.index.node_trouble()
            if trouble is not None:
                response = await handle_exception(Request(scope, receive), trouble)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


__all__ = ["NodeGate", "needs_chain"]
