"""The consent portal in a real browser: Debian's chromium driven by Playwright (one browser
for the module) against the portal and a dev node.

A person opens the lab's consent link, makes secret words (keyboard only), reads the policy
and accepts; the lab records a use; the person withdraws with one click on "My consents";
the lab's next use is refused; the person asks the lab to erase its data, the lab confirms,
and the page shows it; "who used my data" lists it all, charts the uses (at 375 px too) and
downloads it as CSV; the receipt downloaded there is checked on "check a receipt"; the
hospital asks to pass the person's records to the lab (a disclosure link), the person agrees,
renews after the lab's new policy (the page shows what changed) and withdraws. Also: a
tampered policy document is refused on the page, a signature the browser made is refused
when replayed to the relay endpoint, the consent page fits a 375 px wide screen, and no
request the page makes carries the secret words, the passphrase or a private key.
Screenshots go to build/portal-screenshots/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from collective.client.subjects import Subject
from collective.did import pairwise
from collective.errors import ConsentError
from collective.portal.disclosure_link import disclosure_link
from collective.portal.links import ConsentLink
from collective.receipts import ConsentReceipt
from tests.portal.conftest import (
    CATEGORY,
    LAB_POLICY,
    PURPOSE,
    SHOTS,
    WAIT,
    Ledger,
    serve_documents,
    wait_for,
)

PASSPHRASE = "correct horse battery staple"
LAB_POLICY_V2 = LAB_POLICY.replace(b"version 1", b"version 2") + (
    b"We may also write to you about our new studies.\n"
)


@pytest.fixture(scope="module")
def lab_v2_uri() -> Iterator[str]:
    """Where the lab's policy version 2 (published during the story) is served, for the rest
    of the module: a second static host (with CORS)."""
    with serve_documents({"/lab/v2": LAB_POLICY_V2}) as url:
        yield f"{url}/lab/v2"


@dataclass
class Recorder:
    """Every request a page made: URL, method, headers and body."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: Any) -> None:
        self.requests.append(
            {
                "url": request.url,
                "method": request.method,
                "headers": request.headers,
                "body": request.post_data or "",
            }
        )

    def text(self) -> str:
        return json.dumps(self.requests).lower()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_person_consents_and_withdraws_with_one_click(
    browser: Any, portal: str, ledger: Ledger, lab_v2_uri: str
) -> None:
    lab = ledger.lab
    context = browser.new_context()
    recorder = Recorder()
    context.on("request", recorder)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    link = ConsentLink.for_current_policy(ledger.admin, lab.address, PURPOSE, CATEGORY)

    page.goto(link.url(portal))
    page.wait_for_selector("#policy-check.ok", timeout=WAIT)
    assert "medical research only" in page.inner_text("#policy-text")
    load_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    print(f"consent page loaded in {load_ms:.0f} ms")
    _check_the_phone_code(page, portal)
    _shot(page, "1-consent-request")

    page.click("#accept")
    page.wait_for_selector("#create-form", state="visible")
    _shot(page, "2-make-secret-words")
    page.focus("#create-passphrase")  # keyboard only from here
    page.keyboard.type(PASSPHRASE)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSPHRASE)
    page.keyboard.press("Enter")
    page.wait_for_selector("#words-list li", timeout=WAIT)
    words = " ".join(page.locator("#words-list li").all_inner_texts())
    assert len(words.split()) == 24
    _shot(page, "3-secret-words")
    page.keyboard.press("Enter")  # "I have written them down" has the focus
    page.wait_for_selector("#answer.ok", timeout=WAIT)
    assert "you agreed" in page.inner_text("#answer")
    stored = json.loads(page.evaluate("localStorage.getItem('collective.vault.v1')"))
    crypto = stored.get("crypto") or stored["Crypto"]  # ethers writes geth's "Crypto"
    assert stored["version"] == 3 and crypto["kdf"] == "scrypt"  # Web3 Secret Storage
    assert words.split()[0] not in json.dumps(stored)  # the words are in it only encrypted
    _shot(page, "4-accepted")

    subject = Subject.from_mnemonic(words, chain_id=lab.chain.chain_id).in_consortium(lab)
    identity = subject.identity_for(lab.address)
    assert lab.consent.status(identity.address, lab.address, PURPOSE, CATEGORY).state == "active"
    lab.usage.record(identity.address, PURPOSE, CATEGORY, "lab/cohort-7/sample-1")

    # The grant the browser signed, replayed to the relay endpoint, is refused by the chain.
    (grant,) = [r["body"] for r in recorder.requests if r["url"].endswith("/api/relay")]
    replay = page.evaluate(
        """async (body) => {
            const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
            const answer = await fetch("/api/relay", {method: "POST", body,
                headers: {"content-type": "application/json", "x-csrftoken": token.slice(10)}});
            return {status: answer.status, body: await answer.json()};
        }""",
        grant,
    )
    assert replay["status"] == 409
    assert replay["body"]["error"]["contract_error"] == "InvalidNonce"

    page.goto(f"{portal}/consents")
    page.wait_for_selector("#unlock-form", state="visible")
    page.fill("#unlock-passphrase", PASSPHRASE)
    page.press("#unlock-passphrase", "Enter")
    row = page.locator("article.consent[data-state='active']")
    row.wait_for(timeout=WAIT)
    assert "medical health" in row.inner_text() and "research and development" in row.inner_text()
    _shot(page, "5-my-consents")
    row.get_by_role("button", name="Take back your consent").click()
    page.wait_for_selector("article.consent[data-state='withdrawn']", timeout=WAIT)
    assert "took back" in page.inner_text("#status")
    _shot(page, "6-withdrawn")

    with pytest.raises(ConsentError) as refused:
        lab.usage.record(identity.address, PURPOSE, CATEGORY, "lab/cohort-7/sample-2")
    assert refused.value.error_name == "NoConsent"

    # The person asks the lab to erase its data; the lab confirms; the page shows it.
    page.get_by_role("button", name="Ask this organization to erase your data").click()
    page.wait_for_selector("article.consent .erasure", timeout=WAIT)
    assert "must confirm by" in page.inner_text("article.consent .erasure")
    confirmed = lab.erasure.confirm(identity.address, b"cohort-7 rows of the subject deleted")
    assert not confirmed.late
    page.reload()
    page.wait_for_selector("#unlock-form", state="visible")
    page.fill("#unlock-passphrase", PASSPHRASE)
    page.press("#unlock-passphrase", "Enter")
    page.wait_for_selector("article.consent .erasure", timeout=WAIT)
    assert "confirmed on" in page.inner_text("article.consent .erasure")
    assert page.locator("article.consent button").count() == 0  # nothing left to take back
    _shot(page, "7-erasure-confirmed")

    # Who used my data: the whole story, in chain order, filterable, downloadable.
    page.goto(f"{portal}/history")
    page.fill("#unlock-passphrase", PASSPHRASE)
    page.press("#unlock-passphrase", "Enter")
    page.wait_for_selector("#history tbody tr", timeout=WAIT)
    actions = page.eval_on_selector_all(
        "#history tbody tr", "rows => rows.map(r => r.dataset.action)"
    )
    assert actions == ["grant", "use", "withdraw", "erasure-request", "erasure-confirm"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Consent receipt").click()
    receipt_file = Path(download.value.path())
    receipt = json.loads(receipt_file.read_text())
    assert receipt["piiPrincipalId"].endswith(identity.address)
    _check_the_chart(page, lab.address)
    page.select_option("#filter-action", "use")
    assert page.locator("#history tbody tr").count() == 1
    assert page.locator("#history-chart rect.bar").count() == 1  # the chart follows the filters
    assert "used your data" in page.inner_text("#history tbody")
    with page.expect_download() as download:
        page.click("#download-csv")
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("time,action,actionWords,organization") and csv_text.count("\n") == 6
    _shot(page, "8-who-used-my-data")
    page.select_option("#filter-action", "grant")
    assert "No use or disclosure" in page.inner_text("#history-chart")
    page.select_option("#filter-action", "")
    page.select_option("#chart-by", "purpose")
    assert page.inner_text("#history-chart .legend") == "research and development"
    page.set_viewport_size({"width": 375, "height": 740})  # a phone: the chart is redrawn
    wait_for(page, "() => document.querySelector('#history-chart svg').width.baseVal.value < 375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(page, "8b-who-used-my-data-phone")
    page.set_viewport_size({"width": 1280, "height": 720})
    _check_a_receipt(page, portal, receipt_file)
    _disclose_renew_and_withdraw(page, portal, ledger, subject, lab_v2_uri)

    assert not [m for m in console if "Content Security Policy" in m], console

    # Nothing secret ever left the browser: not the words, the passphrase, nor any key.
    sent = recorder.text().replace("%20", " ").replace("+", " ")
    seed = pairwise.seed_of(words)
    listed = words.lower().split()
    secrets = [PASSPHRASE, PASSPHRASE.replace(" ", "")]
    secrets += [" ".join(listed[i : i + 3]) for i in range(len(listed) - 2)]  # any 3 in a row
    secrets += [identity.account.key.hex(), pairwise.key_at(seed, "m/44'/60'/0'/0/0").key.hex()]
    secrets += [seed.hex()]
    assert len(recorder.requests) > 5
    for secret in secrets:
        assert secret.removeprefix("0x") not in sent, "a secret was sent"
    context.close()


def _check_the_phone_code(page: Any, portal: str) -> None:
    """The "open this request on your phone" box shows this portal's QR code of this very page."""
    assert page.locator("#phone-qr").get_attribute("src") is None  # fetched only when opened
    page.click("#phone summary")
    loaded = wait_for(
        page,
        """() => { const image = document.getElementById("phone-qr");
                   return image.complete && image.naturalWidth > 0 ? image.src : null; }""",
    )
    src = urlsplit(loaded)
    assert f"{src.scheme}://{src.netloc}" == portal and src.path == "/qr"
    assert parse_qs(src.query)["link"] == [page.url.split("#")[0]]
    assert page.inner_text("#phone-check") == ""  # no "could not be drawn"


def _unlock(page: Any) -> None:
    page.wait_for_selector("#unlock-form", state="visible", timeout=WAIT)
    page.fill("#unlock-passphrase", PASSPHRASE)
    page.press("#unlock-passphrase", "Enter")


def _disclose_renew_and_withdraw(
    page: Any, portal: str, ledger: Ledger, subject: Subject, lab_v2_uri: str
) -> None:
    """The hospital asks to pass the person's records to the lab (a disclosure link: the lab's
    policy is the one checked and agreed to); the person agrees and the hospital discloses;
    the lab publishes version 2, "my consents" offers to renew, and the renewal page shows
    what changed (both texts checked, a line diff, the new purpose); the person renews, then
    takes the disclosure consent back with one click and the hospital's next disclosure is
    refused."""
    hospital, lab = ledger.hospital, ledger.lab
    at_hospital = subject.identity_for(hospital.address).address
    ask = disclosure_link(ledger.admin, hospital.address, lab.address, PURPOSE, CATEGORY)
    page.goto(ask.url(portal))
    page.wait_for_selector("#policy-check.ok", timeout=WAIT)
    assert "medical research only" in page.inner_text("#policy-text")  # the lab's policy
    assert page.inner_text("#recipient") == lab.address
    _shot(page, "15-disclosure-request")
    page.click("#accept")
    _unlock(page)
    page.wait_for_selector("#answer.ok", timeout=WAIT)
    assert "passed on" in page.inner_text("#answer")
    hospital.disclosure.record(at_hospital, lab.address, PURPOSE, CATEGORY, "ward/7/scan-3")

    lab.policies.publish(LAB_POLICY_V2, lab_v2_uri, [PURPOSE, "dpv:Marketing"])
    page.goto(f"{portal}/consents")
    _unlock(page)
    row = page.locator("article.disclosure[data-state='superseded']")
    row.wait_for(timeout=WAIT)
    assert "version 1" in row.inner_text()
    _shot(page, "16-my-disclosure-consents")
    row.get_by_role("link", name="Read what changed").click()
    page.wait_for_selector("#diff-check.ok", timeout=WAIT)
    assert "2 lines added, 1 removed" in page.inner_text("#diff-check")
    assert page.locator("#policy-diff ins").all_inner_texts() == [
        "+ Helix Lab privacy policy, version 2.\n",
        "+ We may also write to you about our new studies.\n",
    ]
    assert page.locator("#policy-diff del").all_inner_texts() == [
        "- Helix Lab privacy policy, version 1.\n"
    ]
    assert "New purpose: marketing" in page.inner_text("#purpose-changes")
    _shot(page, "17-renew-what-changed")
    page.set_viewport_size({"width": 375, "height": 740})  # the diff wraps on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(page, "17b-renew-what-changed-phone")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.click("#accept")
    _unlock(page)
    page.wait_for_selector("#answer.ok", timeout=WAIT)
    renewed = hospital.disclosure.get(at_hospital, hospital.address, lab.address, PURPOSE, CATEGORY)
    assert renewed.covered and renewed.policy_version == 2

    page.goto(f"{portal}/consents")
    _unlock(page)
    row = page.locator("article.disclosure[data-state='active']")
    row.wait_for(timeout=WAIT)
    row.get_by_role("button", name="Take back your consent to pass on").click()
    page.wait_for_selector("article.disclosure[data-state='withdrawn']", timeout=WAIT)
    assert "no longer pass this data on" in page.inner_text("#status")
    _shot(page, "18-disclosure-withdrawn")
    with pytest.raises(ConsentError) as refused:
        hospital.disclosure.record(at_hospital, lab.address, PURPOSE, CATEGORY, "ward/7/scan-4")
    assert refused.value.error_name == "NoDisclosureConsent"


def _check_the_chart(page: Any, lab: str) -> None:
    """Who used my data's chart: an SVG image named and described in words, one bar (the
    lab's one use, today), the lab's colour in the legend."""
    svg = page.locator("#history-chart svg.chart")
    svg.wait_for()
    assert svg.get_attribute("role") == "img"
    title = page.evaluate("document.querySelector('#history-chart svg > title').textContent")
    desc = page.evaluate("document.querySelector('#history-chart svg > desc').textContent")
    assert title == "Uses and disclosures of your data, per day"
    assert desc.startswith("1 use or disclosure from ") and "The table below lists" in desc
    bars = page.locator("#history-chart rect.bar")
    assert bars.count() == 1 and bars.get_attribute("data-series") == lab
    assert bars.get_attribute("data-count") == "1"
    assert page.inner_text("#history-chart .legend") == f"{lab[:8]}…{lab[-4:]}"


def _check_a_receipt(page: Any, portal: str, receipt_file: Path) -> None:
    """The receipt downloaded on "who used my data", checked on /verify: genuine (the consent
    since withdrawn); an altered copy and a file that is not JSON are refused in words."""
    page.goto(f"{portal}/verify")
    page.set_input_files("#receipt-file", str(receipt_file))
    page.click("#verify-form button[type=submit]")
    verdict = page.locator("#verdicts article.verdict")
    verdict.wait_for(timeout=WAIT)
    kind = verdict.get_attribute("data-kind")
    assert kind == "withdrawn", page.inner_text("#verdicts")
    assert page.inner_text("#verdicts h2") == "Genuine, and you have taken this consent back"
    assert page.evaluate("document.activeElement.tagName") == "H2"  # focus moves to the answer
    _shot(page, "11-receipt-checked")
    original = ConsentReceipt.from_json(receipt_file.read_text())
    altered = receipt_file.with_name("altered-receipt.json")
    elsewhere = "https://elsewhere.example/" + "p" * 300  # no place to break the line
    altered.write_text(replace(original, policy_url=elsewhere).to_json())
    page.set_input_files("#receipt-file", str(altered))
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#verdicts article[data-kind='mismatch']", timeout=WAIT)
    assert "where the policy text is" in page.inner_text("#verdicts p")
    size = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 740})  # a receipt's text wraps on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.click("#verdicts summary", timeout=5_000)  # not covered by the explanation's text
    assert page.locator("#verdicts ul.checks").is_visible()
    page.set_viewport_size(size)
    _shot(page, "12-receipt-altered")
    page.set_input_files(
        "#receipt-file", files=[{"name": "x.json", "mimeType": "text/plain", "buffer": b"nope"}]
    )
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#status.refused")
    assert "not JSON, so it is not a consent receipt" in page.inner_text("#status")
    page.wait_for_selector("#verify-form button:focus", timeout=5_000)  # the focus is not lost
    assert page.locator("#verdicts article").count() == 0


def test_a_tampered_policy_document_is_refused(browser: Any, portal: str, ledger: Ledger) -> None:
    page = browser.new_page()
    hospital = ledger.hospital.address
    page.goto(ConsentLink.for_current_policy(ledger.admin, hospital, PURPOSE, CATEGORY).url(portal))
    page.wait_for_selector("#policy-check.refused", timeout=WAIT)
    assert "not the text the organization published" in page.inner_text("#policy-check")
    assert page.is_disabled("#accept")
    assert page.is_hidden("#policy-text")
    _shot(page, "9-tampered-policy")
    page.close()


def test_the_consent_page_fits_a_phone(browser: Any, portal: str, ledger: Ledger) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    link = ConsentLink.for_current_policy(ledger.admin, ledger.lab.address, PURPOSE, CATEGORY)
    # an expiry past JavaScript's last date (year 275760) is said in words, not "Invalid Date"
    page.goto(replace(link, expiry=2**63).url(portal))
    page.wait_for_selector("#policy-check.ok", timeout=WAIT)
    assert page.inner_text("#until") == "you take it back (no end date)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for button in ("#accept", "#decline"):
        box = page.locator(button).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert box["height"] >= 44  # a finger-sized target
    page.click("#decline")
    assert "Nothing was signed or sent" in page.inner_text("#answer")
    _shot(page, "10-phone-declined")
    context.close()


def test_every_field_has_a_label_and_the_page_works_by_keyboard(browser: Any, portal: str) -> None:
    page = browser.new_page()
    page.goto(f"{portal}/")
    page.wait_for_selector("#create-form", state="visible")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, textarea")]
            .filter((f) => !document.querySelector(`label[for="${f.id}"]`))
            .map((f) => f.id)"""
    )
    assert unlabelled == []
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    assert page.evaluate("document.documentElement.lang") == "en"
    _shot(page, "0-start")
    page.close()


def test_after_key_rotations_the_page_signs_with_the_current_key(
    browser: Any, portal: str, ledger: Ledger
) -> None:
    lab = ledger.lab
    words = pairwise.new_mnemonic()
    subject = Subject.from_mnemonic(words, chain_id=lab.chain.chain_id).in_consortium(lab)
    for _ in range(2):
        subject.rotate(lab, lab.address)  # generation 2 owns the identity now
    current = subject.current(lab, lab.address)
    assert current.generation == 2
    context = browser.new_context()
    page = context.new_page()
    page.goto(
        ConsentLink.for_current_policy(ledger.admin, lab.address, PURPOSE, CATEGORY).url(portal)
    )
    page.wait_for_selector("#policy-check.ok", timeout=WAIT)
    page.click("#accept")
    page.fill("#restore-words", words)  # restore: the words this person already holds
    page.fill("#restore-passphrase", PASSPHRASE)
    page.click("#restore-form button[type=submit]")
    page.wait_for_selector("#answer.ok", timeout=WAIT)
    (granted,) = [e for e in lab.consent.timeline(identity=current.address) if e.action == "grant"]
    assert str(granted.agent) == str(current.account.address)  # signed by generation 2's key
    context.close()
