"""Guardians from the page: a person appoints or revokes a guardian without ether.

A guardian is a ``sigAuth`` delegate of an identity in the ledger's ERC-1056 registry
(``contracts/DIDRegistry.sol``): until its validity ends it may sign grants and withdrawals
for the identity. The browser signs the ERC-1056 signed change (``addDelegateSigned`` /
``revokeDelegateSigned``: a raw-hash signature, :mod:`collective.did.signed`) with the key
that owns the identity, and the portal relays it; the relayer pays the gas.

=========================  ======  =============================================================
path                       method  answer
=========================  ======  =============================================================
``/guardians``             GET     the page (``guardians.html``, ``portal/web/pages/
                                   guardians.js``)
``/api/guardians``         GET     ``?identity=..`` (repeated): per identity its ``owner``,
                                   registry ``nonce``, ``deactivated`` and current
                                   ``guardians`` (``address``, ``validTo``), read from the
                                   registry; and the chain's time
``/api/guardians/nonce``   GET     ``?identity=``: the owner and its registry nonce now (what the
                                   next signed change must carry), the registry and chain id
``/api/guardians/relay``   POST    one signed change (CSRF-checked by the middleware)
=========================  ======  =============================================================

The relay takes a change only when, cheap checks first: the body is at most
:data:`~collective.portal.relay.MAX_BODY` bytes of UTF-8 JSON as
:meth:`SignedDelegateChange.to_json <collective.did.signed.SignedDelegateChange.to_json>`
writes it, its signature recovers to its named signer (low s, v 27/28); it is for this chain
and this ledger's registry; it changes a ``sigAuth`` delegate (nothing else is relayed from
the page) other than the zero address or the identity itself, valid for 1 day to
:data:`MAX_VALIDITY_DAYS` days; the client address has a token; the registry would accept
it now (signed by the identity's owner at the owner's nonce:
:func:`~collective.did.signed.check_relayable`), so a replay or a stranger's change never
touches the owner's budget; a revocation removes a guardian there is (ERC-1056 would record
any, at the relayer's cost); and the signing key has a token (one budget per owner key, however
many identities it owns). Buckets are a :class:`~collective.portal.ratelimit.RelayBuckets` of
their own, with the consent relay's limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_utils.crypto import keccak
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collective.client.nonces import chain_now
from collective.did import DEACTIVATED, SIG_AUTH
from collective.did.signed import SignedDelegateChange, check_relayable
from collective.portal.api import client_host, node_read, portal_of, read_body
from collective.portal.consents import parse_identities
from collective.portal.pages import render
from collective.portal.problems import PortalInputError, RateLimited, json_problem
from collective.portal.ratelimit import RateLimits, RelayBuckets, TokenBucket
from collective.portal.relay import MAX_BODY, body_text

if TYPE_CHECKING:
    from collective.client import Collective

DAY = 24 * 3600
MAX_VALIDITY_DAYS = 3660
"""The longest appointment the page relays (about ten years); it can be renewed."""
MAX_GUARDIAN_IDENTITIES = 64
"""Identities one ``/api/guardians`` request may name (a registry walk each)."""
READ_LIMIT = (2.0, 30)
"""Requests per second and burst per client address for ``/api/guardians`` and its
``/nonce``: they read the node live (up to ~200 calls for 64 identities), unlike the pages
served from the audit index. A page makes one listing and one nonce read per change."""


class GuardianRelay:
    """Checks and relays signed guardian changes for one ledger, paid by one account.

    Args:
        client: the portal's relaying client.
        limits: rate limits per signing key (``per_identity``: the key owns the identities it
            changes) and per client address (default
            :class:`~collective.portal.ratelimit.RateLimits`).
    """

    def __init__(self, client: Collective, limits: RateLimits | None = None) -> None:
        self._client = client
        self._buckets = RelayBuckets(limits)

    def parse(self, body: bytes) -> SignedDelegateChange:
        """The signed change in ``body``, if the page may relay it (the module docstring's
        checks before the rate limits).

        Raises:
            PortalInputError: too large, not UTF-8, malformed, another chain or registry, not
                a guardian (sigAuth) change, a guardian that cannot be one, a validity out of
                range.
            SignatureError: the signature is malformed or not its signer's.
        """
        text = body_text(body, "a signed change", "sign the change again on the guardians page")
        signed = SignedDelegateChange.from_json(text)
        change = signed.change
        chain_id, registry = self._client.chain.chain_id, self._client.did.registry
        if change.chain_id != chain_id or change.registry.lower() != registry.lower():
            raise PortalInputError(
                f"the change was signed for registry {change.registry} on chain "
                f"{change.chain_id}, but this portal relays for registry {registry} on chain "
                f"{chain_id}",
                hint="open the guardians page on this portal and sign again",
            )
        if change.delegate_type != SIG_AUTH:
            raise PortalInputError("this page only appoints and revokes guardians (sigAuth)")
        if int(change.delegate, 16) == 0 or change.delegate == change.identity:
            raise PortalInputError(
                f"{change.delegate} cannot be a guardian of {change.identity}",
                hint="give the address of the person you trust",
            )
        if change.validity is not None and not DAY <= change.validity <= MAX_VALIDITY_DAYS * DAY:
            raise PortalInputError(
                f"a guardian is appointed for 1 to {MAX_VALIDITY_DAYS} days, "
                f"not {change.validity} seconds"
            )
        return signed

    def admit(self, signed: SignedDelegateChange, client_address: str) -> None:
        """Take a token for the client address, check the change against the registry now,
        then take one for its signer.

        The signer's token is taken only for a change the registry would accept (signed by
        the identity's owner at the owner's nonce now), so a replayed or a stranger's change
        cannot drain a person's bucket: it is refused at the price of the client address's
        token and two registry reads. The signer's bucket is the owner key's, whatever
        identity it changes: one key owning many identities has one budget.

        Raises:
            RateLimited: a bucket is empty.
            As :func:`~collective.did.signed.check_relayable` (another chain or registry,
            deactivated, not the owner, another nonce).
            PortalInputError: a revocation of an address that is not a guardian now.
            ChainError: the node could not be reached.
        """
        self._buckets.take_client(client_address)
        did = self._client.did
        owner = did.owner(signed.change.identity)
        check_relayable(
            signed,
            chain_id=self._client.chain.chain_id,
            registry=did.registry,
            owner=owner,
            nonce=did.registry_nonce(signed.change.identity),
        )
        change = signed.change
        if change.action == "revokeDelegate":  # ERC-1056 would record it, and gas be spent
            session = self._client.session
            valid = session.ledger.functions.validDelegate(
                change.identity, change.delegate_type, change.delegate
            )
            if not session.call(valid):
                raise PortalInputError(
                    f"{change.delegate} is not a guardian of {change.identity} now, so there is "
                    "nothing to remove",
                    hint="reload the guardians page to see your guardians",
                )
        key = f"guardian-signer:{signed.signer.lower()}"
        self._buckets.take_identity(key, "too many guardian changes signed by this key")

    def relay(self, body: bytes, client_address: str) -> dict[str, Any]:
        """Parse, limit and relay one signed change from ``client_address``.

        Returns:
            ``{"action", "identity", "guardian", "txHash", "blockNumber", "gasUsed"}``.

        Raises:
            As :meth:`parse` and :meth:`admit` (IdentityDeactivatedError, NotPermittedError:
            not the owner's signature, SignatureError: a replayed or overtaken nonce);
            SignatureError, ChainError from
            :meth:`~collective.client.did.DidClient.relay_delegate_change`.
        """
        signed = self.parse(body)
        self.admit(signed, client_address)
        done = self._client.did.relay_delegate_change(signed)
        return {
            "action": signed.change.action,
            "identity": signed.change.identity,
            "guardian": signed.change.delegate,
            "txHash": str(done.tx_hash),
            "blockNumber": int(done.block_number),
            "gasUsed": int(done.gas_used),
        }


def guardians_of(client: Collective, identity: str, now: int) -> dict[str, Any]:
    """An identity's owner, registry nonce and current guardians, from the registry.

    The candidates are the sigAuth delegates of the identity's change log (ERC-1056 events);
    each is kept while the registry's ``delegates`` says it is valid past ``now``, which also
    drops those appointed under a previous owner (``DIDRegistry`` starts a new delegate epoch
    at every owner change).

    Args:
        client: a client on the ledger.
        identity: a checksummed address.
        now: the chain's time (unix seconds).

    Returns:
        ``{"identity", "owner", "nonce", "deactivated", "guardians": [{"address",
        "validTo"}]}``, nonce as a decimal string, validTo unix seconds.

    Raises:
        ChainError: the node could not be reached.
    """
    owner = client.did.owner(identity)
    deactivated = owner.lower() == DEACTIVATED.lower()
    candidates = dict.fromkeys(
        str(event.delegate)
        for event in client.did.change_log(identity)
        if event.name == "DIDDelegateChanged" and event.kind == "sigAuth" and event.delegate
    )
    session = client.session
    kind = keccak(SIG_AUTH)  # keccak256(abi.encode(bytes32)), ERC-1056's delegates key
    guardians = []
    for address in [] if deactivated else candidates:
        valid_to = int(session.call(session.ledger.functions.delegates(identity, kind, address)))
        if valid_to > now:
            guardians.append({"address": address, "validTo": valid_to})
    nonce = int(session.call(session.ledger.functions.nonce(owner)))
    return {
        "identity": identity,
        "owner": owner,
        "nonce": str(nonce),
        "deactivated": deactivated,
        "guardians": guardians,
    }


def _relay_of(request: Request) -> GuardianRelay:
    relay: GuardianRelay = request.app.state.guardians
    return relay


def page(request: Request) -> Response:
    """``GET /guardians``: the page; the list is filled in by its script."""
    return render(
        request,
        "guardians.html",
        page="guardians",
        max_days=MAX_VALIDITY_DAYS,
        max_identities=MAX_GUARDIAN_IDENTITIES,  # the page asks for more in turns
    )


def listing(request: Request) -> Response:
    """``GET /api/guardians?identity=..``: each identity's guardians (a few node calls per
    identity, in the thread pool through :func:`~collective.portal.api.node_read`;
    :data:`READ_LIMIT` per client address)."""
    _limit_reads(request)
    identities = parse_identities(request.query_params.getlist("identity"))
    if len(identities) > MAX_GUARDIAN_IDENTITIES:
        raise PortalInputError(
            f"at most {MAX_GUARDIAN_IDENTITIES} identities per request, not {len(identities)}",
            hint=f"ask for them {MAX_GUARDIAN_IDENTITIES} at a time",
        )
    client = portal_of(request).client
    now = chain_now(client.chain)
    return JSONResponse(
        {
            "chainTime": now,
            "identities": [guardians_of(client, identity, now) for identity in identities],
        }
    )


def nonce(request: Request) -> Response:
    """``GET /api/guardians/nonce?identity=``: the owner and its registry nonce now (through
    :func:`~collective.portal.api.node_read`; :data:`READ_LIMIT` per client address, shared
    with the listing)."""
    _limit_reads(request)
    identities = parse_identities(request.query_params.getlist("identity"))
    if len(identities) != 1:
        raise PortalInputError(
            f"name one identity (?identity=0x...), not {len(identities)}",
            hint="a signed change is for one identity: ask for each one's nonce in turn",
        )
    client = portal_of(request).client
    owner = client.did.owner(identities[0])
    return JSONResponse(
        {
            "identity": identities[0],
            "owner": owner,
            "nonce": str(client.did.registry_nonce(identities[0])),
            "registry": client.did.registry,
            "chainId": str(client.chain.chain_id),
        }
    )


def _limit_reads(request: Request) -> None:
    """Take a token of the client address's :data:`READ_LIMIT` bucket.

    Raises:
        RateLimited: the bucket is empty.
    """
    state = request.app.state
    bucket: TokenBucket | None = getattr(state, "guardian_reads", None)
    if bucket is None:
        bucket = state.guardian_reads = TokenBucket(*READ_LIMIT)
    wait = bucket.take(client_host(request))
    if wait:
        raise RateLimited("too many guardian lists read from your address", retry_after=wait)


async def relay(request: Request) -> Response:
    """``POST /api/guardians/relay``: relay one signed guardian change."""
    body = await read_body(request, MAX_BODY)
    host = client_host(request)
    try:
        return JSONResponse(await run_in_threadpool(_relay_of(request).relay, body, host))
    except Exception as exc:
        return json_problem(exc)


ROUTES = [
    Route("/guardians", page, methods=["GET"]),
    Route("/api/guardians", node_read(listing), methods=["GET"]),
    Route("/api/guardians/nonce", node_read(nonce), methods=["GET"]),
    Route("/api/guardians/relay", relay, methods=["POST"]),
]
"""The guardian routes, mounted by :func:`~collective.portal.app.create_app`."""

__all__ = ["MAX_VALIDITY_DAYS", "READ_LIMIT", "ROUTES", "GuardianRelay", "guardians_of"]
