"""The portal over HTTP, without a browser: headers, CSRF, the relay endpoint's checks, bad
input answered in words (never a traceback), and the consent request link."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner
from eth_account import Account
from eth_account.signers.local import LocalAccount

from collective.cli import cli
from collective.errors import SignatureError
from collective.portal.links import ConsentLink
from collective.portal.problems import RateLimited
from collective.portal.ratelimit import RateLimits
from collective.portal.relay import Relayer
from tests.portal.conftest import CATEGORY, PURPOSE, Ledger, csrf_session, post_json


def _session(portal: str) -> requests.Session:
    return csrf_session(f"{portal}/")


def _relay(session: requests.Session, portal: str, body: str | bytes) -> requests.Response:
    return post_json(session, f"{portal}/api/relay", body)


def _signed_grant(ledger: Ledger) -> str:
    return _signed_grant_by(ledger, Account.create())


def _signed_grant_by(ledger: Ledger, key: LocalAccount) -> str:
    return ledger.lab.signing.sign_grant(
        ledger.lab.address, PURPOSE, CATEGORY, signer=key
    ).to_json()


def test_every_answer_carries_a_strict_csp_and_no_inline_script(portal: str) -> None:
    page = requests.get(f"{portal}/", timeout=10)
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text and " style=" not in page.text
    assert '<script type="module" src="/static/dist/portal.js">' in page.text
    bundle = requests.get(f"{portal}/static/dist/portal.js", timeout=10)
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
    api = requests.get(f"{portal}/api/config", timeout=10)
    assert "default-src 'self'" in api.headers["content-security-policy"]


def test_no_such_route_or_method_is_answered_in_the_portals_shapes(portal: str) -> None:
    """Starlette's own 404 and 405 come as the API's JSON under /api/ and as the error page
    elsewhere (they were plain text "Not Found" / "Method Not Allowed")."""
    missing = requests.get(f"{portal}/api/nothing-here", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["kind"] == "not-found"
    assert "/api/nothing-here" in missing.json()["error"]["message"]
    wrong = post_json(_session(portal), f"{portal}/api/config", "{}")  # past the CSRF check
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert wrong.json()["error"]["kind"] == "method-not-allowed"
    assert "GET" in wrong.json()["error"]["hint"]
    page = requests.get(f"{portal}/no-such-page", timeout=10)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "There is nothing at /no-such-page." in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_a_relay_without_the_csrf_token_is_refused(portal: str, ledger: Ledger) -> None:
    body = _signed_grant(ledger)
    bare = requests.post(f"{portal}/api/relay", data=body, timeout=10)  # no cookie, no header
    assert bare.status_code == 403
    assert bare.json()["error"]["kind"] == "csrf"
    session = _session(portal)
    wrong = session.post(
        f"{portal}/api/relay", data=body, headers={"x-csrftoken": "forged"}, timeout=10
    )
    assert wrong.status_code == 403


def test_a_replayed_signature_is_refused_by_the_chain(portal: str, ledger: Ledger) -> None:
    session = _session(portal)
    body = _signed_grant(ledger)
    first = _relay(session, portal, body)
    assert first.status_code == 200, first.text
    assert first.json()["kind"] == "grant"
    again = _relay(session, portal, body)
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["kind"] == "refused-signature"
    assert error["contract_error"] == "InvalidNonce"
    assert "Traceback" not in again.text


def test_a_signed_erasure_request_is_relayed_once(portal: str, ledger: Ledger) -> None:
    session = _session(portal)
    key = Account.create()
    body = ledger.lab.erasure.sign(ledger.lab.address, signer=key).to_json()
    first = _relay(session, portal, body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["kind"] == "erasure" and answer["identity"] == key.address
    assert answer["dueAt"] > ledger.lab.chain.latest_timestamp()
    assert ledger.lab.erasure.status(key.address, ledger.lab.address).requested
    again = _relay(session, portal, body)
    assert again.status_code == 409
    assert again.json()["error"]["contract_error"] == "ErasureAlreadyRequested"


def test_malformed_and_foreign_requests_get_a_clear_error(portal: str, ledger: Ledger) -> None:
    session = _session(portal)
    for body, words in [
        ("not json", "not a signed consent request"),
        ('{"kind": "erase"}', "kind"),
        ("x" * 9000, "at most 8192 bytes"),
        ("x" * 5_000_000, "at most 8192 bytes"),  # not read past the limit
    ]:
        answer = _relay(session, portal, body)
        assert answer.status_code == 400, answer.text
        assert words in answer.json()["error"]["message"]
    not_text = _relay(session, portal, b"\xff\xfe")
    assert not_text.status_code == 400
    assert "not UTF-8 text, so it is not a signed request" in not_text.json()["error"]["message"]
    foreign = json.loads(_signed_grant(ledger))
    foreign["chainId"] = "1"  # the signature no longer matches its signer either
    answer = _relay(session, portal, json.dumps(foreign))
    assert answer.status_code in (400, 409)
    assert "Traceback" not in answer.text
    bad_query = requests.get(f"{portal}/api/consents?identity=nobody", timeout=10)
    assert bad_query.status_code == 400
    assert "not an identity address" in bad_query.json()["error"]["message"]


def test_the_relay_is_rate_limited_per_identity(portal: str, ledger: Ledger) -> None:
    session = _session(portal)
    key = Account.create()
    codes = []
    for _ in range(6):  # the fixture allows 5 per identity at once
        signed = ledger.lab.signing.sign_withdrawal(
            ledger.lab.address, PURPOSE, CATEGORY, signer=key
        )
        codes.append(_relay(session, portal, signed.to_json()).status_code)
    assert codes == [200] * 5 + [429]


def test_replays_never_lock_the_person_out_of_withdrawing(ledger: Ledger) -> None:
    """GDPR Art. 7(3): 60 replays of a relayed grant (from another address) are refused by
    the chain without spending the person's identity budget, so their withdrawal still goes
    through; the replays' own address is limited."""
    relayer = Relayer(ledger.lab, RateLimits(per_identity=(0.01, 5), per_client=(0.01, 100)))
    key = Account.create()
    grant = _signed_grant_by(ledger, key)
    assert relayer.relay(grant.encode(), "198.51.100.7").kind == "grant"
    refused = []
    for _ in range(60):
        with pytest.raises((SignatureError, RateLimited)) as caught:
            relayer.relay(grant.encode(), "203.0.113.9")
        refused.append(type(caught.value).__name__)
    assert refused == ["SignatureError"] * 60
    withdrawal = ledger.lab.signing.sign_withdrawal(
        ledger.lab.address, PURPOSE, CATEGORY, signer=key
    )
    relayed = relayer.relay(withdrawal.to_json().encode(), "198.51.100.7")
    assert relayed.kind == "withdrawal" and relayed.details["wasActive"]


def test_a_bad_consent_link_shows_a_plain_error_page(portal: str, ledger: Ledger) -> None:
    link = ConsentLink.for_current_policy(ledger.admin, ledger.lab.address, PURPOSE, CATEGORY)
    wrong_hash = {**link.query(), "hash": "0x" + "ab" * 32}
    page = requests.get(f"{portal}/consent", params=wrong_hash, timeout=10)
    assert page.status_code == 400
    assert "does not match the policy the organization published" in page.text
    assert "Traceback" not in page.text
    missing = requests.get(f"{portal}/consent", params={"org": link.organization}, timeout=10)
    assert missing.status_code == 400 and "incomplete" in missing.text
    good = requests.get(link.url(portal), timeout=10)
    assert good.status_code == 200
    assert "connect-src 'self' http://127.0.0.1:" in good.headers["content-security-policy"]


def test_consent_request_prints_the_link(ledger: Ledger, tmp_path: object) -> None:
    manifest = ledger.admin.deployment.manifest_path
    args = ["--rpc", ledger.node, "--json", "consent", "request", "--org", ledger.lab.address,
            "-p", PURPOSE, "-c", CATEGORY, "--expiry", "1900000000", "--manifest", str(manifest),
            "--portal", "https://consent.example"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["url"].startswith("https://consent.example/consent?org=")
    link = ConsentLink.from_query(data)
    assert link.policy_version == 1 and link.expiry == 1900000000
    assert link.policy_hash == ledger.lab.policies.current(ledger.lab.address).content_hash.lower()
    typo = CliRunner().invoke(cli, [*args[:7], "-p", "dpv:ResearchAndDevelopmnt", *args[9:]])
    assert typo.exit_code == 1 and "did you mean" in typo.output
    for portal, words in [
        ("consent.example", "does not start with http:// or https://"),
        ("ftp://consent.example", "does not start with http:// or https://"),
        ("https://consent.example/?x=1", "has a query or fragment"),
    ]:
        bad = CliRunner().invoke(cli, [*args[:-1], portal])
        assert bad.exit_code == 1 and words in bad.output, bad.output
        assert "Traceback" not in bad.output


def test_history_as_json_and_csv(portal: str, ledger: Ledger) -> None:
    patient = ledger.admin.as_account(ledger.admin.chain.dev_accounts[3])
    lab = ledger.lab
    patient.consent.grant(lab.address, PURPOSE, CATEGORY)
    lab.usage.record(patient.address, PURPOSE, CATEGORY, "lab/history-1")
    query = {"identity": patient.address}
    rows = requests.get(f"{portal}/api/history", params=query, timeout=30).json()["history"]
    assert [r["action"] for r in rows][-2:] == ["grant", "use"]
    assert rows[-1]["actionWords"] == "used your data" and rows[-1]["organization"] == lab.address
    assert rows[-1]["categoryWords"] == "medical health"
    csv_answer = requests.get(
        f"{portal}/api/history", params={**query, "format": "csv"}, timeout=30
    )
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_answer.headers["content-disposition"]
    lines = csv_answer.text.splitlines()
    assert lines[0].startswith("time,action,actionWords") and len(lines) == len(rows) + 1
    grant = rows[-2]
    receipt = requests.get(
        f"{portal}/api/receipt",
        params={"tx": grant["txHash"], "log": grant["logIndex"]},
        timeout=30,
    )
    assert receipt.status_code == 200, receipt.text
    assert "attachment" in receipt.headers["content-disposition"]
    document = receipt.json()
    assert document["piiPrincipalId"].endswith(patient.address)
    assert "consentReceiptID" in document
    missing = requests.get(f"{portal}/api/receipt", params={"tx": "0x" + "00" * 32, "log": "0"})
    assert missing.status_code == 404 and "Traceback" not in missing.text
    bad = requests.get(f"{portal}/api/history", params={**query, "format": "xml"}, timeout=10)
    assert bad.status_code == 400 and "not json or csv" in bad.json()["error"]["message"]
