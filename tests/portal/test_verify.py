"""Checking an uploaded consent receipt (``/verify``, ``POST /api/verify``) against a real
chain: genuine and in force, altered, for another ledger, not on the ledger, withdrawn, and
renewed, each told in words; malformed, oversized and cross-site uploads refused without a
traceback. Also, on the same chain: ``collective consent request --qr`` and the portal's
``/qr`` image of its own links."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests
import segno
from click.testing import CliRunner

from collective.cli import cli
from collective.portal.links import ConsentLink
from collective.portal.verify import CLIENT_LIMIT, MAX_BODY, MAX_RECEIPTS
from collective.receipts import ConsentReceipt
from collective.types import tx_hash
from tests.portal.conftest import CATEGORY, PURPOSE, Ledger, post_json
from tests.portal.test_qr import svg_modules


def _session(portal: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{portal}/verify", timeout=10)
    assert page.status_code == 200
    assert 'id="receipt-file"' in page.text and 'href="/verify" aria-current="page"' in page.text
    assert '<label for="receipt-file">' in page.text and 'data-max-bytes="65536"' in page.text
    assert "<script>" not in page.text and " style=" not in page.text  # the CSP allows neither
    return session


def _verify(session: requests.Session, portal: str, body: bytes | str) -> requests.Response:
    answer = post_json(session, f"{portal}/api/verify", body, timeout=60)
    assert "Traceback" not in answer.text
    return answer


def _verdict(session: requests.Session, portal: str, receipt: dict[str, Any]) -> dict[str, Any]:
    answer = _verify(session, portal, json.dumps(receipt))
    assert answer.status_code == 200, answer.text
    (verdict,) = answer.json()["receipts"]
    return dict(verdict)


def _receipt(portal: str, tx: str, log_index: int) -> dict[str, Any]:
    answer = requests.get(
        f"{portal}/api/receipt", params={"tx": tx, "log": str(log_index)}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_receipt_is_told_genuine_altered_foreign_withdrawn_or_renewed(
    portal: str, ledger: Ledger
) -> None:
    lab = ledger.lab
    patient = ledger.admin.as_account(ledger.admin.chain.dev_accounts[5])
    granted = patient.consent.grant(lab.address, PURPOSE, CATEGORY)
    receipt = _receipt(portal, granted.tx_hash, granted.log_index)
    session = _session(portal)

    valid = _verdict(session, portal, receipt)
    assert valid["kind"] == "valid" and valid["ok"], valid
    assert valid["headline"] == "Genuine and in force"
    assert "may use your medical health data for research and development" in valid["explanation"]
    assert valid["checks"] and all(check["ok"] for check in valid["checks"])

    # A consistent copy with one fact changed (the reader refuses self-contradicting ones).
    original = ConsentReceipt.from_dict(receipt)
    later = replace(original, consent_timestamp=original.consent_timestamp + 60)
    altered = _verdict(session, portal, later.to_dict())
    assert altered["kind"] == "mismatch" and not altered["ok"]
    assert "when the consent was given" in altered["explanation"]
    assert [c["field"] for c in altered["checks"] if not c["ok"]] == ["consentTimestamp"]

    evidence = original.evidence
    other_ledger = replace(original, evidence=replace(evidence, contract=lab.address))
    foreign = _verdict(session, portal, other_ledger.to_dict())
    assert foreign["kind"] == "another-ledger", foreign
    assert "Check it at the portal of the ledger that issued it" in foreign["explanation"]
    made_up = replace(evidence, transaction_hash=tx_hash("0x" + "ab" * 32))
    absent = _verdict(session, portal, replace(original, evidence=made_up).to_dict())
    assert absent["kind"] == "not-on-ledger", absent
    assert absent["headline"] == "The ledger has no record of this consent"

    patient.consent.withdraw(lab.address, PURPOSE, CATEGORY)
    withdrawn = _verdict(session, portal, receipt)
    assert withdrawn["kind"] == "withdrawn" and withdrawn["ok"]
    assert "You took it back since" in withdrawn["explanation"]

    again = patient.consent.grant(lab.address, PURPOSE, CATEGORY, expiry=4_000_000_000)
    renewed = _verdict(session, portal, receipt)
    assert renewed["kind"] == "renewed" and renewed["ok"]
    assert "You gave it again later" in renewed["explanation"]
    newer = _receipt(portal, again.tx_hash, again.log_index)
    both = _verify(session, portal, json.dumps([receipt, newer]))
    assert [v["kind"] for v in both.json()["receipts"]] == ["renewed", "valid"]


def test_bad_uploads_are_refused_in_words(portal: str) -> None:
    session = _session(portal)
    cases: list[tuple[bytes | str, int, str]] = [
        ("", 400, "the file is empty"),
        ("this is not json", 400, "not JSON, so it is not a consent receipt"),
        ('{"version": "KI-CR-v1.1.0"}', 400, "is not a consent receipt: "),
        (json.dumps([{}] * (MAX_RECEIPTS + 1)), 400, f"holds {MAX_RECEIPTS + 1} receipts"),
        (b"[" + b" " * MAX_BODY + b"]", 400, f"larger than {MAX_BODY // 1024} KB"),
        ("[]", 400, "holds 0 receipts"),
    ]
    for body, status, words in cases:
        answer = _verify(session, portal, body)
        assert answer.status_code == status, (body[:40], answer.text)
        error = answer.json()["error"]
        assert words in error["message"], (words, error)
        assert error["hint"]
    forged = requests.post(f"{portal}/api/verify", data="{}", timeout=10)  # no CSRF token
    assert forged.status_code == 403 and forged.json()["error"]["kind"] == "csrf"


def test_checks_are_rate_limited_per_client(portal: str, ledger: Ledger) -> None:
    patient = ledger.admin.as_account(ledger.admin.chain.dev_accounts[6])
    granted = patient.consent.grant(ledger.lab.address, PURPOSE, CATEGORY)
    body = json.dumps(_receipt(portal, granted.tx_hash, granted.log_index))
    session = _session(portal)
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) <= CLIENT_LIMIT[1]:
        statuses.append(_verify(session, portal, body).status_code)
    # a token per receipt: the first test here took some of the burst (8 receipts)
    assert statuses[-1] == 429 and set(statuses[:-1]) <= {200}, statuses
    limited = _verify(session, portal, body)
    assert limited.json()["error"]["kind"] == "rate-limited" and limited.headers["retry-after"]


def test_consent_request_writes_a_qr_code(ledger: Ledger, tmp_path: Path) -> None:
    manifest = ledger.admin.deployment.manifest_path
    base = ["--rpc", ledger.node, "--json", "consent", "request", "--org", ledger.lab.address,
            "-p", PURPOSE, "-c", CATEGORY, "--manifest", str(manifest),
            "--portal", "https://consent.example"]  # fmt: skip
    poster = tmp_path / "poster.svg"
    result = CliRunner().invoke(cli, [*base, "--qr", str(poster)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["qr"] == str(poster)
    expected = [list(row) for row in segno.make(data["url"], error="m").matrix]
    assert svg_modules(poster.read_text(encoding="utf-8")) == expected
    png = tmp_path / "poster.png"
    assert CliRunner().invoke(cli, [*base, "--qr", str(png)]).exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    bad = CliRunner().invoke(cli, [*base, "--qr", str(tmp_path / "poster.gif")])
    assert bad.exit_code != 0 and "should end in .svg or .png" in bad.output
    assert "Traceback" not in bad.output
    unwritable = CliRunner().invoke(cli, [*base, "--qr", str(tmp_path / "no" / "poster.svg")])
    assert unwritable.exit_code != 0 and "cannot write the QR code" in unwritable.output


def test_the_portal_draws_its_own_links_only(portal: str, ledger: Ledger) -> None:
    link = ConsentLink.for_current_policy(ledger.admin, ledger.lab.address, PURPOSE, CATEGORY)
    url = link.url(portal)
    image = requests.get(f"{portal}/qr", params={"link": url}, timeout=10)
    assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"
    assert svg_modules(image.text) == [list(row) for row in segno.make(url, error="m").matrix]
    for bad, words in [
        (link.url("https://elsewhere.example"), "only of its own consent links"),
        (f"{portal}/history", "not a consent request link"),
        (f"{portal}/consent?org=0x12", "incomplete"),
        (url + "&x=" + "a" * 1024, "characters long"),
        ("", "no link to draw"),
    ]:
        answer = requests.get(f"{portal}/qr", params={"link": bad}, timeout=10)
        assert answer.status_code == 400, (bad, answer.status_code)
        assert words in answer.text and "Traceback" not in answer.text
        assert re.search(r"<main[^>]*data-page=\"error\"", answer.text)
