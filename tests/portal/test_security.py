"""The portal's pure pieces, no chain: the CSP and the origins it may allow, how failures
become answers, consent links, plain words."""

from __future__ import annotations

import pytest

from collective.errors import ChainError, InvalidInputError, NotFoundError, SignatureError
from collective.portal.consents import words
from collective.portal.links import ConsentLink
from collective.portal.problems import RateLimited, problem_of
from collective.portal.security import content_security_policy, origin_of

HASH = "0x" + "ab" * 32
ORG = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_the_csp_allows_only_the_policy_origin_beside_self() -> None:
    assert "connect-src 'self';" in content_security_policy()
    widened = content_security_policy(("https://lab.example",))
    assert "connect-src 'self' https://lab.example;" in widened
    assert widened.count("https://lab.example") == 1


@pytest.mark.parametrize(
    ("uri", "origin"),
    [
        ("https://lab.example/policy/v1?x=1", "https://lab.example"),
        ("http://127.0.0.1:8000/p", "http://127.0.0.1:8000"),
        ("https://user:pw@lab.example/p", "https://lab.example"),
        ("ipfs://bafy.../policy", None),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("https://lab.example;script-src *", None),
        ("https://lab.example' 'unsafe-inline", None),
    ],
)
def test_origin_of_takes_only_plain_http_origins(uri: str, origin: str | None) -> None:
    assert origin_of(uri) == origin


def test_failures_become_answers_with_a_status_and_no_traceback() -> None:
    assert problem_of(InvalidInputError("bad")).status == 400
    assert problem_of(NotFoundError("none")).status == 404
    refused = problem_of(SignatureError("replayed", error_name="InvalidNonce"))
    assert (refused.status, refused.contract_error) == (409, "InvalidNonce")
    limited = problem_of(RateLimited("too many", retry_after=2.2))
    assert limited.status == 429 and limited.headers() == {"retry-after": "3"}
    assert problem_of(ChainError("node down")).status == 503
    internal = problem_of(RuntimeError("secret detail"))
    assert internal.status == 500 and "secret detail" not in internal.message


def test_a_consent_link_round_trips_and_refuses_bad_fields() -> None:
    link = ConsentLink(
        ORG, "dpv:ResearchAndDevelopment", "dpv-pd:MedicalHealth", 2, HASH, 1900000000
    )
    assert ConsentLink.from_query(link.query()) == link
    assert link.url("https://consent.example/").startswith("https://consent.example/consent?org=")
    for field, value in [("org", "0x123"), ("version", "0"), ("hash", "0x12"),
                         ("purpose", "dpv:ResearchAndDevelopmnt"), ("expiry", "soon")]:  # fmt: skip
        with pytest.raises(InvalidInputError):
            ConsentLink.from_query({**link.query(), field: value})


def test_terms_in_plain_words() -> None:
    assert words("dpv:ResearchAndDevelopment") == "research and development"
    assert words("dpv-pd:MedicalHealth") == "medical health"
    assert words("dpv:HumanResourceManagement") == "human resource management"
    assert words("0x" + "11" * 32) == "0x" + "11" * 32
