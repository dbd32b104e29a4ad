"""The consent portal: a web page where a person sees, gives and takes back consent.

``collective portal --network NAME --relayer ACCOUNT`` serves it (:mod:`collective.cli.portal_cmd`).
The person's secret words and keys never leave the browser: the page derives the person's
pairwise identity for each organization (:mod:`collective.did.pairwise`'s rule, mirrored in
``portal/web/pairwise.js``), signs EIP-712 grants, withdrawals and erasure requests there, and
the portal relays them with its account, which pays the gas.

Modules, one concern each: :mod:`~collective.portal.app` (the application factory),
:mod:`~collective.portal.pages` and :mod:`~collective.portal.api` (routes),
:mod:`~collective.portal.relay` (the relay endpoint's checks),
:mod:`~collective.portal.ratelimit` (token buckets), :mod:`~collective.portal.consents`
("my consents"), :mod:`~collective.portal.history` ("who used my data", CSV), both read from
the audit index that :mod:`~collective.portal.index` keeps in step with the chain (a
background follower; no node call per request),
:mod:`~collective.portal.links` (consent request links),
:mod:`~collective.portal.security` (CSP, CSRF), :mod:`~collective.portal.problems` (errors as
answers), :mod:`~collective.portal.server` (uvicorn).

Import from the modules (``from collective.portal.app import create_app``): this package
imports nothing itself, so :mod:`~collective.portal.links` (which ``collective consent request``
uses) needs no web server installed.
"""
