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
background follower; no node call per request), :mod:`~collective.portal.node_gate` (503 and a
sentence at once while the node does not answer),
:mod:`~collective.portal.links` (consent request links),
:mod:`~collective.portal.disclosure_link` (links asking for a disclosure consent, under the
recipient's policy), :mod:`~collective.portal.checked_link` (a link checked against the chain
before the consent page shows it), :mod:`~collective.portal.disclosure_rows` (disclosure
consents on "my consents"), :mod:`~collective.portal.guardians` (appoint or revoke a guardian:
ERC-1056 signed delegate changes, relayed), :mod:`~collective.portal.qr` (links as QR codes,
segno), :mod:`~collective.portal.qr_page` (``GET /qr?link=``: the code of a link to this
portal), :mod:`~collective.portal.verify` (check an uploaded consent receipt, in words),
:mod:`~collective.portal.security` (CSP, CSRF), :mod:`~collective.portal.problems` (errors as
answers), :mod:`~collective.portal.server` (uvicorn).

Import from the modules (``from collective.portal.app import create_app``): this package
imports nothing itself, so :mod:`~collective.portal.links` (which ``collective consent request``
uses) needs no web server installed.
"""
