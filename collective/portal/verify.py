"""Check a consent receipt: a person uploads one and reads, in plain words, whether it holds.

==================  ======  ==============================================================
path                method  answer
==================  ======  ==============================================================
``/verify``         GET     the page: pick a receipt file (the ones ``/api/receipt`` and
                            ``collective consent receipt`` write)
``/api/verify``     POST    the file's JSON as the body (CSRF-checked, at most
                            :data:`MAX_BODY` bytes, at most :data:`MAX_RECEIPTS` receipts):
                            ``{"receipts": [verdict, ...]}`` (:meth:`Verdict.as_json`)
==================  ======  ==============================================================

Each receipt is checked against the chain by :func:`~collective.receipts.verify.
verify_receipt`, exactly as ``collective consent verify-receipt`` does (every field against
the transaction, its block and the ledger, then the consent's state now), and the outcome
is told as one :class:`Verdict` (:func:`verdict_of`):

==================  ==================================================================
kind                when
==================  ==================================================================
``valid``           every check passed and the consent covers the organization's use
``renewed``         every check passed; the consent was given again since the receipt
``withdrawn``       every check passed; the person took the consent back since
``not-covering``    every check passed; the consent is expired, superseded by a new
                    policy version, its identity deactivated, or the organization
                    suspended
``another-ledger``  the receipt is for another chain or another ConsentLedger
``not-on-ledger``   its transaction is not on this chain, or reverted
``mismatch``        a field differs from what the chain recorded (altered, or the chain
                    was reorganized): each such field is named with both values
==================  ==================================================================

The file holds nothing secret (a receipt names a pairwise identity, never a key), so it is
sent to the portal; the person's secret words are not needed to check it. Malformed input
answers HTTP 400 with a sentence naming the field (the receipt reader's), never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collective.chain import jsonints
from collective.errors import InvalidInputError
from collective.ledger.consent_state import ConsentState
from collective.portal.api import client_host, portal_of, read_body
from collective.portal.consents import words
from collective.portal.pages import render
from collective.portal.problems import PortalInputError, RateLimited, json_problem
from collective.portal.ratelimit import TokenBucket
from collective.receipts.model import ConsentReceipt
from collective.receipts.verify import verify_receipt

if TYPE_CHECKING:
    from collective.receipts.verify import ReceiptVerification

MAX_BODY = 64 * 1024
"""The largest body ``/api/verify`` reads, in bytes (a receipt is ~3 KB)."""

MAX_RECEIPTS = 10
"""The most receipts one request checks (a file of one transaction's receipts)."""

CLIENT_LIMIT = (0.5, 10)
"""Receipts checked per second and burst per client address (a file of several takes one
token each): each receipt costs ~15 node calls."""

_LABELS = {
    "evidence.chainId": "the chain it was issued on",
    "evidence.contract": "the ledger it was issued by",
    "evidence.transactionHash": "the ledger's record of the consent",
    "evidence.blockNumber": "the block number",
    "evidence.blockHash": "the block's fingerprint (hash)",
    "evidence.logIndex": "the consent's entry in its transaction",
    "consentTimestamp": "when the consent was given",
    "evidence.policyHash": "the policy text's fingerprint (hash)",
    "policyUrl": "where the policy text is",
    "evidence.expiry": "when the consent ends",
    "services[0].purposes[0].termination": "when the consent ends",
    "evidence.policyVersion": "the policy version",
    "evidence.identity": "your code for the organization (identity)",
    "piiPrincipalId": "your code for the organization (DID)",
    "evidence.organization": "the organization",
    "piiControllers[0].organization": "the organization",
    "services[0].purposes[0].purpose": "the purpose",
    "evidence.purpose": "the purpose",
    "services[0].purposes[0].piiCategory": "the kind of data",
    "evidence.category": "the kind of data",
}
"""Receipt fields in words, for the ones a person may meet in a failed check."""


@dataclass(frozen=True)
class Verdict:
    """One receipt's check told in words: ``kind`` (see the module docstring), ``ok`` (every
    check passed), a one-line ``headline``, an ``explanation`` (sentences), and the checks
    themselves as ``(field, passed, detail)`` for the page's "every check" list."""

    kind: str
    ok: bool
    headline: str
    explanation: str
    receipt_id: str
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The verdict for the page: ``kind``, ``ok``, ``headline``, ``explanation``,
        ``receiptId`` and ``checks`` (``[{"field", "label", "ok", "detail"}]``)."""
        return {
            "kind": self.kind,
            "ok": self.ok,
            "headline": self.headline,
            "explanation": self.explanation,
            "receiptId": self.receipt_id,
            "checks": [
                {"field": name, "label": _LABELS.get(name, name), "ok": ok, "detail": detail}
                for name, ok, detail in self.checks
            ],
        }


def _when(timestamp: int) -> str:
    try:
        when = datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return f"unix time {timestamp}"
    return f"{when.day} {when:%B %Y at %H:%M} UTC"


def verdict_of(receipt: ConsentReceipt, outcome: ReceiptVerification, chain_id: int) -> Verdict:
    """Tell :func:`~collective.receipts.verify.verify_receipt`'s outcome in plain words.

    Args:
        receipt: the receipt checked.
        outcome: its verification against the chain.
        chain_id: the portal's chain id (named when the receipt is for another chain).

    Returns:
        The :class:`Verdict` (the kinds of the module docstring, first match wins:
        another-ledger, not-on-ledger, mismatch, renewed, withdrawn, not-covering, valid).
    """
    checks = list(outcome.checks)
    rid = receipt.receipt_id
    org = receipt.evidence.organization
    what = f"{org} may use your {words(receipt.category)} data for {words(receipt.purpose)}"
    given = f"The ledger recorded this consent on {_when(receipt.consent_timestamp)}"
    failed = {name: detail for name, _, detail in outcome.failures}
    if "evidence.chainId" in failed:
        return Verdict(
            "another-ledger",
            False,
            "This receipt is for another ledger",
            f"It was issued on chain {receipt.evidence.chain_id}; this portal's ledger is on "
            f"chain {chain_id}. Check it at the portal of the ledger that issued it.",
            rid,
            checks,
        )
    if "evidence.contract" in failed:
        return Verdict(
            "another-ledger",
            False,
            "This receipt is for another ledger",
            f"It names the ledger contract {receipt.evidence.contract}, which is not this "
            "portal's. Check it at the portal of the ledger that issued it.",
            rid,
            checks,
        )
    if "evidence.transactionHash" in failed:
        return Verdict(
            "not-on-ledger",
            False,
            "The ledger has no record of this consent",
            "The transaction this receipt names is not on this ledger, or it failed, so the "
            "consent it describes was never recorded. Do not rely on this receipt.",
            rid,
            checks,
        )
    if not outcome.ok:
        differences = "; ".join(
            f"{_LABELS.get(name, name)}: {detail}" for name, detail in failed.items()
        )
        return Verdict(
            "mismatch",
            False,
            "This receipt does not match the ledger's record",
            "It was changed after it was issued, or the ledger's history changed since. "
            f"What differs: {differences}.",
            rid,
            checks,
        )
    status = outcome.consent
    assert status is not None  # a receipt that verifies was found on chain
    if outcome.renewed:
        now = (
            f"it is in force: {what}"
            if status.covered
            else f"it covers no use now ({status.reason})"
        )
        return Verdict(
            "renewed",
            True,
            "Genuine, and you gave this consent again since",
            f"{given}. You gave it again later (that newer grant has its own receipt); {now}.",
            rid,
            checks,
        )
    if status.state is ConsentState.WITHDRAWN:
        return Verdict(
            "withdrawn",
            True,
            "Genuine, and you have taken this consent back",
            f"{given}. You took it back since, so it no longer lets {org} use your data.",
            rid,
            checks,
        )
    if not status.covered:
        return Verdict(
            "not-covering",
            True,
            "Genuine, but it no longer covers any use",
            f"{given}. It covers no use now: {status.reason}.",
            rid,
            checks,
        )
    return Verdict(
        "valid", True, "Genuine and in force", f"{given}, and it still says: {what}.", rid, checks
    )


def read_receipts(body: bytes) -> list[ConsentReceipt]:
    """The receipts in an uploaded file: one receipt's JSON, or an array of them.

    Args:
        body: the file's bytes (UTF-8 JSON), at most :data:`MAX_BODY`.

    Returns:
        The receipts, in file order (1 to :data:`MAX_RECEIPTS`).

    Raises:
        PortalInputError: the body is too large, empty, not JSON, holds too many receipts,
            or a receipt is malformed (the receipt reader's message, naming the field).
    """
    if len(body) > MAX_BODY:
        raise PortalInputError(
            f"this file is larger than {MAX_BODY // 1024} KB, so it is not a consent receipt",
            hint="pick the receipt file the portal or `collective consent receipt` wrote",
        )
    if not body.strip():
        raise PortalInputError("the file is empty", hint="pick a consent receipt file (.json)")
    try:
        parsed = jsonints.loads(body)
    except (ValueError, TypeError):
        raise PortalInputError(
            "this file is not JSON, so it is not a consent receipt",
            hint="pick the receipt file the portal or `collective consent receipt` wrote",
        ) from None
    documents = parsed if isinstance(parsed, list) else [parsed]
    if not documents or len(documents) > MAX_RECEIPTS:
        raise PortalInputError(
            f"this file holds {len(documents)} receipts; the portal checks 1 to "
            f"{MAX_RECEIPTS} at once",
            hint="check the receipts a few at a time (`collective consent receipt --log-index N`)",
        )
    receipts = []
    for number, document in enumerate(documents, 1):
        try:
            receipts.append(ConsentReceipt.from_dict(document))
        except (InvalidInputError, TypeError, ValueError, KeyError, AttributeError) as exc:
            which = f"receipt {number} of the file" if len(documents) > 1 else "the file"
            message = exc.message if isinstance(exc, InvalidInputError) else str(exc)
            raise PortalInputError(
                f"{which} is not a consent receipt: {message}",
                hint="pick the receipt file the portal or `collective consent receipt` wrote",
            ) from None
    return receipts


def verify_page(request: Request) -> Response:
    """``GET /verify``: the page; its script reads the chosen file and posts it."""
    return render(request, "verify.html", page="verify", max_kb=MAX_BODY // 1024)


def _limit(request: Request) -> TokenBucket:
    state = request.app.state
    bucket: TokenBucket | None = getattr(state, "verify_limit", None)
    if bucket is None:
        bucket = state.verify_limit = TokenBucket(*CLIENT_LIMIT)
    return bucket


def admit(bucket: TokenBucket, client: str, receipts: int) -> float:
    """Take one token of ``client``'s bucket per receipt to check (a file of
    :data:`MAX_RECEIPTS` costs as much as that many single uploads).

    Args:
        bucket: the :data:`CLIENT_LIMIT` buckets.
        client: the client's address (the bucket's key).
        receipts: how many receipts the request checks (1 to :data:`MAX_RECEIPTS`).

    Returns:
        0.0 when the request may go ahead; else the seconds to wait (the tokens taken
        before the bucket ran dry stay taken: a refused request still counts).
    """
    for _ in range(receipts):
        wait = bucket.take(client)
        if wait:
            return wait
    return 0.0


async def verify(request: Request) -> Response:
    """``POST /api/verify``: check the receipts in the body (CSRF-checked by the middleware;
    at most :data:`MAX_BODY` bytes read; well-formed requests rate-limited per client address
    and receipt by :data:`CLIENT_LIMIT`); ``{"receipts": [Verdict.as_json(), ...]}``, or
    ``{"error": ...}``."""
    try:
        receipts = read_receipts(await read_body(request, MAX_BODY))
        # only what reaches the node counts
        wait = admit(_limit(request), client_host(request), len(receipts))
        if wait:
            raise RateLimited("too many receipts checked from your address", retry_after=wait)
        client = portal_of(request).client

        def check_all() -> list[dict[str, Any]]:
            return [
                verdict_of(
                    receipt,
                    verify_receipt(client.chain, client.deployment, receipt),
                    client.chain.chain_id,
                ).as_json()
                for receipt in receipts
            ]

        verdicts = await run_in_threadpool(check_all)
    except Exception as exc:  # every failure answers as JSON (problems.py's table)
        return json_problem(exc)
    return JSONResponse({"receipts": verdicts})


ROUTES = [
    Route("/verify", verify_page, methods=["GET"]),
    Route("/api/verify", verify, methods=["POST"]),
]
"""The receipt check's routes, mounted by :func:`~collective.portal.app.create_app`."""

__all__ = [
    "CLIENT_LIMIT",
    "MAX_BODY",
    "MAX_RECEIPTS",
    "ROUTES",
    "Verdict",
    "admit",
    "read_receipts",
    "verdict_of",
    "verify",
    "verify_page",
]
