"""The portal's JSON API, read by the page's script (every path under ``/api/``).

=====================  ======  ==================================================================
path                   method  answer
=====================  ======  ==================================================================
``/api/config``        GET     ``chainId``, ``ledger``, ``relayer``, ``organizations`` (admission
                               order, for the pairwise counters of
                               :mod:`collective.did.pairwise`)
``/api/policy``        GET     ``?org=&version=``: the published version's ``contentHash``,
                               ``uri``, ``purposes``, ``current``
``/api/consent``       GET     ``?identity=&org=&purpose=&category=``: the consent's ``state``,
                               ``nonce``, the identity's current ``owner`` (which key generation
                               signs) and the chain's time (what a signature needs)
``/api/disclosure``    GET     ``?identity=&discloser=&recipient=&purpose=&category=``: the
                               disclosure consent's ``active``, ``covered``, ``nonce``,
                               ``policyVersion``, the identity's ``owner`` and the chain's
                               time (what a signature needs)
``/api/consents``      GET     ``?identity=...`` (repeated): "my consents"
                               (:mod:`collective.portal.consents`) and the disclosure
                               consents (:mod:`collective.portal.disclosure_rows`), from
                               the audit index
``/api/history``       GET     ``?identity=...`` (repeated) ``[&format=csv]``: who used my data
                               (:mod:`collective.portal.history`), JSON or a CSV download,
                               from the audit index
``/api/receipt``       GET     ``?tx=&log=``: the consent receipt (ISO/IEC TS 27560, Kantara field
                               names) of a grant, built from the chain and verified against it
                               before it is answered (a download)
``/api/relay``         POST    a signed request (:mod:`collective.portal.relay`); CSRF-checked
=====================  ======  ==================================================================

Nothing the API takes is secret: addresses, DPV terms, and signatures made in the browser.
Failures answer ``{"error": {...}}`` (:mod:`collective.portal.problems`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collective.client.subjects import admission_order
from collective.errors import ChainError
from collective.portal.consents import consent_rows, parse_identities
from collective.portal.disclosure_rows import disclosure_rows
from collective.portal.history import as_csv
from collective.portal.history import history as history_rows
from collective.portal.problems import PortalInputError, handle_exception, json_problem
from collective.portal.relay import MAX_BODY
from collective.receipts import build_receipt
from collective.receipts.verify import verify_receipt

if TYPE_CHECKING:
    from collective.portal.app import Portal

RELAY_FRESH_TIMEOUT = 10.0
"""Seconds the relay endpoint waits for the index to hold its transaction."""


def portal_of(request: Request) -> Portal:
    """The :class:`~collective.portal.app.Portal` serving ``request``."""
    portal: Portal = request.app.state.portal
    return portal


def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if not value:
        raise PortalInputError(f"the query parameter {name!r} is missing")
    return value


def _params(request: Request, *names: str) -> list[str]:
    """The query parameters ``names``, in order (each required, as :func:`_param`)."""
    return [_param(request, name) for name in names]


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request's body, read until it is more than ``limit`` bytes (then cut there: the
    parsers refuse it as too long); never buffers more than one request's worth."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            break
    return body


def client_host(request: Request) -> str:
    """The client's address, as the per-client rate limits count it (``unknown`` without)."""
    return request.client.host if request.client else "unknown"


def _version(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) < 2**32:
        raise PortalInputError(f"version {text!r} is not a policy version (1, 2, ...)")
    return int(text)


def config(request: Request) -> JSONResponse:
    """``GET /api/config``: the chain, the ledger, the relayer and the organizations."""
    portal = portal_of(request)
    client = portal.client
    return JSONResponse(
        {
            "chainId": str(client.chain.chain_id),
            "ledger": client.session.ledger.address,
            "relayer": client.session.sender.address,
            "organizations": list(admission_order(client)),
        }
    )


def policy(request: Request) -> JSONResponse:
    """``GET /api/policy?org=&version=``: a published policy version as the chain has it."""
    client = portal_of(request).client
    org = _param(request, "org")
    published = client.policies.get(org, _version(_param(request, "version")))
    return JSONResponse(
        {
            "organization": published.organization,
            "version": published.version,
            "contentHash": published.content_hash.lower(),
            "uri": published.uri,
            "purposes": list(published.purposes),
            "current": client.policies.current_version(org) == published.version,
        }
    )


def consent(request: Request) -> JSONResponse:
    """``GET /api/consent?identity=&org=&purpose=&category=``: the consent's state and nonce,
    the identity's owner now (after key rotations, a later generation of the pairwise key;
    ``0x…dEaD`` once deactivated) and the latest block's time (unix seconds), for the page to
    sign a request."""
    client = portal_of(request).client
    reading = client.consent.reading(*_params(request, "identity", "org", "purpose", "category"))
    return JSONResponse(
        {
            "state": reading.consent.state,
            "nonce": str(reading.consent.nonce),
            "active": reading.consent.active,
            "currentPolicyVersion": reading.status.current_version,
            "owner": client.did.owner(reading.consent.identity),
            "chainTime": reading.status.timestamp,
        }
    )


def disclosure(request: Request) -> JSONResponse:
    """``GET /api/disclosure?identity=&discloser=&recipient=&purpose=&category=``: the
    disclosure consent's stored state (``active``, unexpired) and nonce, the identity's owner
    now and the latest block's time (unix seconds), for the page to sign a
    ``DisclosureGrant`` or ``DisclosureWithdrawal``."""
    client = portal_of(request).client
    found = client.disclosure.get(
        *_params(request, "identity", "discloser", "recipient", "purpose", "category")
    )
    return JSONResponse(
        {
            "active": found.active,
            "covered": found.covered,
            "nonce": str(found.nonce),
            "policyVersion": found.policy_version,
            "owner": client.did.owner(found.identity),
            "chainTime": client.chain.latest_timestamp(),
        }
    )


async def consents(request: Request) -> Response:
    """``GET /api/consents?identity=0x..&identity=0x..``: "my consents" (``consents``) and
    the identities' disclosure consents (``disclosures``) at the latest indexed block
    (``block``; its time ``chainTime``), read from the audit index once it holds every block
    mined before the request. Served on the event loop: a few indexed SQLite queries (no
    node call, no thread hop)."""
    try:
        identities = parse_identities(request.query_params.getlist("identity"))
        index = portal_of(request).index
        await index.wait_fresh()
        found = index.reader().consents(identities)
        rows = [row.as_json() for row in consent_rows(found)]
        disclosures = [row.as_json() for row in disclosure_rows(found)]
    except Exception as exc:  # every failure answers as JSON (problems.py's table)
        return json_problem(exc)
    return JSONResponse(
        {
            "consents": rows,
            "disclosures": disclosures,
            "block": found.block,
            "chainTime": found.timestamp,
        }
    )


async def history(request: Request) -> Response:
    """``GET /api/history?identity=0x..[&identity=..][&format=csv]``: who used my data, as
    JSON ``{"history": [...]}`` or as a CSV attachment, read from the audit index once it
    holds every block mined before the request (rows built in the thread pool: a long
    history must not hold up the event loop)."""
    try:
        identities = parse_identities(request.query_params.getlist("identity"))
        form = request.query_params.get("format", "json")
        if form not in ("json", "csv"):
            raise PortalInputError(f"format {form!r} is not json or csv")
        index = portal_of(request).index
        await index.wait_fresh()
        rows = await run_in_threadpool(lambda: history_rows(index.reader(), identities))
    except Exception as exc:  # every failure answers as JSON (problems.py's table)
        return json_problem(exc)
    if form == "csv":
        return Response(
            as_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="my-data-history.csv"'},
        )
    return JSONResponse({"history": rows})


def receipt(request: Request) -> Response:
    """``GET /api/receipt?tx=0x..&log=N``: the grant's consent receipt as a JSON download,
    built from the chain (:func:`~collective.receipts.build_receipt`) and checked against it
    (:func:`~collective.receipts.verify.verify_receipt`) before it is answered."""
    client = portal_of(request).client
    log = request.query_params.get("log", "")
    if not log.isdigit():
        raise PortalInputError(f"log {log!r} is not a log index (0, 1, ...)")
    built = build_receipt(
        client.chain, client.deployment, _param(request, "tx"), log_index=int(log)
    )
    checked = verify_receipt(client.chain, client.deployment, built)
    if not checked.ok:
        raise PortalInputError(
            "the receipt does not verify against the chain: "
            + "; ".join(f"{name}: {detail}" for name, _, detail in checked.failures)
        )
    return Response(
        built.to_json(),
        media_type="application/json",
        headers={"content-disposition": 'attachment; filename="consent-receipt.json"'},
    )


async def relay(request: Request) -> JSONResponse:
    """``POST /api/relay``: relay one signed grant, withdrawal, erasure request or
    disclosure grant or withdrawal (CSRF-checked by the middleware; see
    :mod:`collective.portal.relay` for the checks)."""
    portal = portal_of(request)
    body = await read_body(request)
    try:
        relayed = await run_in_threadpool(portal.relayer.relay, body, client_host(request))
    except Exception as exc:  # every failure answers as JSON (problems.py's table)
        return json_problem(exc)
    # Answer once the index holds the transaction, so the page's reload shows it; the relay
    # succeeded all the same when the index lags (the next reads wait for it).
    with contextlib.suppress(ChainError):
        await portal.index.wait_fresh(RELAY_FRESH_TIMEOUT)
    return JSONResponse(relayed.as_json())


def node_read(
    handler: Callable[[Request], Response],
) -> Callable[[Request], Awaitable[Response]]:
    """``handler``, a read of the chain, run in Starlette's thread pool with every failure
    answered in words (:func:`~collective.portal.problems.handle_exception`: JSON under
    ``/api/``, the error page elsewhere; never a traceback). While it waits for the node,
    the portal's index is asked every :data:`_LOOK` seconds whether the node has stopped
    answering (:meth:`~collective.portal.index.PortalIndex.node_trouble`): then the request
    is answered at once with that (HTTP 503) and the read, left to its own timeout, is
    dropped (it changes nothing). Wrap only reads: a relay must wait for its outcome."""

    async def wrapped(request: Request) -> Response:
        index = portal_of(request).index
        task = asyncio.ensure_future(run_in_threadpool(handler, request))
        task.add_done_callback(_consume)
        try:
            while not (await asyncio.wait({task}, timeout=_LOOK))[0]:
                trouble = index.node_trouble()
                if trouble is not None:
                    return await handle_exception(request, trouble)
            return task.result()
        except Exception as exc:
            return await handle_exception(request, exc)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


_LOOK = 0.25
"""Seconds between a waiting read's looks at the node's health."""


def _consume(task: asyncio.Future[Response]) -> None:
    """Retrieve a dropped read's outcome (its failure was answered already, or is moot)."""
    if not task.cancelled():
        task.exception()


ROUTES = [
    Route("/api/config", node_read(config), methods=["GET"]),
    Route("/api/policy", node_read(policy), methods=["GET"]),
    Route("/api/consent", node_read(consent), methods=["GET"]),
    Route("/api/disclosure", node_read(disclosure), methods=["GET"]),
    Route("/api/consents", consents, methods=["GET"]),
    Route("/api/history", history, methods=["GET"]),
    Route("/api/receipt", node_read(receipt), methods=["GET"]),
    Route("/api/relay", relay, methods=["POST"]),
]
"""The API's routes, mounted by :func:`~collective.portal.app.create_app`."""

__all__ = ["ROUTES", "client_host", "node_read", "portal_of", "read_body"]
