"""Guardians from the portal: the relay endpoint over HTTP (a change signed in Python, as the
page signs it; replayed, wrong signer, wrong chain, not a guardian, too large, rate-limited)
and the /guardians page in Debian's chromium: a person restores their secret words, appoints
a guardian on the codes of both organizations (one signed change each, the portal pays), the
guardian signs a consent for the person, the person removes the guardian."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from eth_account import Account

from collective.client.subjects import Subject
from collective.did import SIG_AUTH, pairwise
from collective.did.signed import DelegateChange
from collective.portal import guardians
from collective.portal.guardians import READ_LIMIT
from tests.portal.conftest import (
    CATEGORY,
    PURPOSE,
    SHOTS,
    WAIT,
    Ledger,
    csrf_session,
    post_json,
)

DAY = 24 * 3600
PASSPHRASE = "correct horse battery staple"


def _session(portal: str) -> requests.Session:
    return csrf_session(f"{portal}/guardians")


def _post(session: requests.Session, portal: str, body: str | bytes) -> requests.Response:
    return post_json(session, f"{portal}/api/guardians/relay", body)


def _guardians(session: requests.Session, portal: str, identity: str) -> list[dict[str, Any]]:
    answer = session.get(f"{portal}/api/guardians", params={"identity": identity}, timeout=30)
    (entry,) = answer.json()["identities"]
    guardians: list[dict[str, Any]] = entry["guardians"]
    return guardians


def _valid(ledger: Ledger, identity: str, guardian: str) -> bool:
    session = ledger.lab.session
    return bool(session.call(session.ledger.functions.validDelegate(identity, SIG_AUTH, guardian)))


def test_a_guardian_is_appointed_and_revoked_through_the_portal(
    portal: str, ledger: Ledger
) -> None:
    lab, child, guardian = ledger.lab, Account.create(), Account.create()
    session = _session(portal)
    nonce = session.get(
        f"{portal}/api/guardians/nonce", params={"identity": child.address}, timeout=10
    ).json()
    assert nonce == {
        "identity": child.address,
        "owner": child.address,
        "nonce": "0",
        "registry": lab.did.registry,
        "chainId": str(lab.chain.chain_id),
    }
    appoint = lab.did.delegate_change(guardian.address, "sigAuth", 30 * DAY, identity=child)
    body = appoint.sign(child).to_json()
    done = _post(session, portal, body)
    assert done.status_code == 200, done.text
    assert done.json()["action"] == "addDelegate" and done.json()["guardian"] == guardian.address
    (listed,) = _guardians(session, portal, child.address)
    assert listed["address"] == guardian.address
    assert listed["validTo"] >= lab.chain.latest_timestamp() + 30 * DAY - 60

    replayed = _post(session, portal, body)
    assert replayed.status_code == 409
    assert (
        "signed at registry nonce 0, but the owner's nonce is 1"
        in replayed.json()["error"]["message"]
    )

    stranger = Account.create()
    forged = lab.did.delegate_change(stranger.address, "sigAuth", DAY, identity=child)
    refused = _post(session, portal, forged.sign(stranger).to_json())
    assert refused.status_code == 409
    assert refused.json()["error"]["contract_error"] == "NotIdentityOwner"
    assert not _valid(ledger, child.address, stranger.address)

    revoke = lab.did.delegate_change(guardian.address, "sigAuth", None, identity=child)
    assert _post(session, portal, revoke.sign(child).to_json()).status_code == 200
    assert _guardians(session, portal, child.address) == []
    assert not _valid(ledger, child.address, guardian.address)


def test_the_guardian_relay_refuses_what_it_must_not_relay(portal: str, ledger: Ledger) -> None:
    lab, child, guardian = ledger.lab, Account.create(), Account.create()
    change = lab.did.delegate_change(guardian.address, "sigAuth", DAY, identity=child)
    body = change.sign(child).to_json()
    assert requests.post(f"{portal}/api/guardians/relay", data=body, timeout=10).status_code == 403
    session = _session(portal)

    def refusal(sent: str | bytes) -> str:
        answer = _post(session, portal, sent)
        assert answer.status_code == 400, answer.text
        message: str = answer.json()["error"]["message"]
        return message

    assert "at most 8192 bytes" in refusal(b"{" + b" " * 9000 + b"}")
    assert "not a signed delegate change" in refusal("[1, 2")
    veri_key = DelegateChange(**{**change.__dict__, "delegate_type": b"veriKey".ljust(32, b"\0")})
    assert "only appoints and revokes guardians" in refusal(veri_key.sign(child).to_json())
    elsewhere = DelegateChange(**{**change.__dict__, "chain_id": 1})
    assert "on chain 1, but this portal relays" in refusal(elsewhere.sign(child).to_json())
    brief = DelegateChange(**{**change.__dict__, "validity": 60})
    assert "1 to 3660 days, not 60 seconds" in refusal(brief.sign(child).to_json())
    itself = DelegateChange(**{**change.__dict__, "delegate": child.address})
    assert "cannot be a guardian of" in refusal(itself.sign(child).to_json())
    lowered = json.loads(itself.sign(child).to_json())
    lowered["delegate"] = lowered["delegate"].lower()  # the same address, spelt otherwise
    assert "cannot be a guardian of" in refusal(json.dumps(lowered))
    nobody = lab.did.delegate_change(guardian.address, "sigAuth", None, identity=child)
    assert f"{guardian.address} is not a guardian of {child.address} now" in refusal(
        nobody.sign(child).to_json()
    )
    assert lab.did.registry_nonce(child.address) == 0  # nothing was sent
    answer = session.get(f"{portal}/api/guardians", params={"identity": "nope"}, timeout=10)
    assert answer.status_code == 400 and "not an identity address" in answer.text
    many = [("identity", Account.create().address) for _ in range(65)]
    for path, params, words in [
        ("/api/guardians", many, "at most 64 identities per request, not 65"),
        ("/api/guardians/nonce", many[:2], "name one identity (?identity=0x...), not 2"),
    ]:
        answer = session.get(f"{portal}{path}", params=params, timeout=10)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["message"] == words and answer.json()["error"]["hint"]

    assert "not UTF-8 text" in refusal(b"\xff\xfe")
    bare = json.loads(body)
    for signature in (None, "0x12", [27]):
        assert "signature must be an object" in refusal(
            json.dumps({**bare, "signature": signature})
        )


def test_replays_do_not_drain_the_owners_budget_and_one_key_has_one(
    portal: str, ledger: Ledger
) -> None:
    """A signer's bucket (5 tokens here) is taken only by changes the registry would accept,
    so replaying a person's relayed change, or a stranger's change of their identity, never
    locks the person out; and a key owning several identities has one budget for all."""
    lab, child, guardian, stranger = ledger.lab, *(Account.create() for _ in range(3))
    session = _session(portal)
    appoint = lab.did.delegate_change(guardian.address, "sigAuth", DAY, identity=child)
    body = appoint.sign(child).to_json()
    assert _post(session, portal, body).status_code == 200
    forged = lab.did.delegate_change(stranger.address, "sigAuth", DAY, identity=child)
    for replay in [body] * 6 + [forged.sign(stranger).to_json()] * 3:
        refused = _post(session, portal, replay)
        assert refused.status_code == 409, refused.text  # never 429: the child's tokens stay
    revoke = lab.did.delegate_change(guardian.address, "sigAuth", None, identity=child)
    assert _post(session, portal, revoke.sign(child).to_json()).status_code == 200

    boss, wards = Account.create(), [Account.create() for _ in range(3)]
    for ward in wards:  # one key comes to own three identities
        lab.did.change_owner_signed(ward, boss.address)
    statuses = []
    for i in range(6):
        ward = wards[i % 3]
        change = lab.did.delegate_change(guardian.address, "sigAuth", DAY * (i + 1), identity=ward)
        statuses.append(_post(session, portal, change.sign(boss).to_json()).status_code)
    assert statuses == [200] * 5 + [429]


def test_a_person_appoints_and_removes_a_guardian_on_the_page(
    browser: Any, portal: str, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one identity per listing: the page asks in turns, as with more organizations than
    # MAX_GUARDIAN_IDENTITIES (64) in a consortium
    monkeypatch.setattr(guardians, "MAX_GUARDIAN_IDENTITIES", 1)
    lab = ledger.lab
    words, guardian = pairwise.new_mnemonic(), Account.create()
    subject = Subject.from_mnemonic(words, chain_id=lab.chain.chain_id).in_consortium(lab)
    codes = [subject.identity_for(org.address).address for org in (lab, ledger.hospital)]
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    sent: list[str] = []
    context.on("request", lambda request: sent.append(f"{request.url} {request.post_data}"))
    page = context.new_page()
    page.goto(f"{portal}/guardians")
    page.fill("#restore-words", words)
    page.fill("#restore-passphrase", PASSPHRASE)
    page.click("#restore-form button[type=submit]")
    page.wait_for_selector("#guardian-list p", timeout=WAIT)
    assert "no guardian" in page.inner_text("#guardian-list")
    assert page.locator("#guardian-orgs input:checked").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.fill("#guardian-address", "0x1234")
    page.click("#appoint-form button[type=submit]")
    page.wait_for_selector("#status.refused", timeout=WAIT)
    assert "is not an address" in page.inner_text("#status")

    page.fill("#guardian-address", guardian.address.lower())
    page.fill("#guardian-days", "30")
    page.click("#appoint-form button[type=submit]")
    page.wait_for_selector("#status.ok", timeout=WAIT)
    assert "is your guardian for 30 days with 2 organizations" in page.inner_text("#status")
    row = page.locator(f"article.guardian[data-guardian='{guardian.address}']")
    row.wait_for(timeout=WAIT)
    assert all(_valid(ledger, code, guardian.address) for code in codes)
    page.screenshot(path=str(SHOTS / "guardians-1-appointed.png"), full_page=True)

    # The guardian signs a consent for the person's lab code; the lab relays it.
    signed = lab.signing.sign_grant(
        lab.address, PURPOSE, CATEGORY, identity=codes[0], signer=guardian
    )
    assert lab.signing.relay_grant(signed).agent == guardian.address

    row.get_by_role("button", name=f"Remove guardian {guardian.address}").focus()
    page.keyboard.press("Enter")  # by keyboard: the focus lands on the list, not the top
    page.wait_for_selector("#status.ok >> text=no longer your guardian", timeout=WAIT)
    page.wait_for_selector("#guardian-list p", timeout=WAIT)
    page.wait_for_selector("#guardians-title:focus", timeout=WAIT)
    assert not any(_valid(ledger, code, guardian.address) for code in codes)
    page.screenshot(path=str(SHOTS / "guardians-2-removed.png"), full_page=True)

    subject.deactivate(lab, ledger.hospital.address)  # closed while the page is open
    partial = Account.create()  # appointed with the lab; the hospital's code refuses
    page.fill("#guardian-address", partial.address)
    page.click("#appoint-form button[type=submit]")
    page.wait_for_selector("#status.refused", timeout=WAIT)
    status = page.inner_text("#status")
    assert "is your guardian with 1 of 2 organizations; the next one failed." in status, status
    page.wait_for_selector("#appoint-form button:focus", timeout=WAIT)  # focus not lost
    assert "closed" in status or "deactivated" in status, status
    page.locator(f"article.guardian[data-guardian='{partial.address}']").wait_for(timeout=WAIT)
    assert _valid(ledger, codes[0], partial.address)
    # a closed code is offered no more
    forever = Account.create()  # ERC-1056 takes any validity; another relayer may send it
    lab.did.add_delegate_signed(
        subject.identity_for(lab.address).account, forever, "sigAuth", 2**255
    )
    page.reload()
    page.fill("#unlock-passphrase", PASSPHRASE)
    page.press("#unlock-passphrase", "Enter")
    page.wait_for_selector("#guardian-orgs input:disabled", timeout=WAIT)
    assert "this code was closed" in page.inner_text("#guardian-orgs")
    assert page.locator("#guardian-orgs input:checked").count() == 1
    endless = page.locator(f"article.guardian[data-guardian='{forever.address}']")
    endless.wait_for(timeout=WAIT)
    assert "Can sign for you with no end date (until you remove them)" in endless.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    text = json.dumps(sent).lower()
    listed = words.split()
    assert PASSPHRASE not in text
    assert not any(" ".join(listed[i : i + 3]) in text for i in range(len(listed) - 2))
    context.close()


def test_guardian_reads_are_rate_limited_per_client(portal: str) -> None:
    """/api/guardians and its /nonce read the node live (a registry walk per identity): a
    client gets READ_LIMIT's burst, then 429 with Retry-After. (Last in this module: it
    drains 127.0.0.1's read bucket.)"""
    identity = Account.create().address
    statuses = []
    for _ in range(READ_LIMIT[1] * 2):
        answer = requests.get(
            f"{portal}/api/guardians/nonce", params={"identity": identity}, timeout=10
        )
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert answer.json()["error"]["kind"] == "rate-limited"
            assert answer.headers["retry-after"]
            break
    # the earlier tests here took some of the burst; the rest refills at READ_LIMIT[0]/s
    assert statuses[0] == 200 and statuses[-1] == 429 and set(statuses[:-1]) == {200}
    listing = requests.get(f"{portal}/api/guardians", params={"identity": identity}, timeout=10)
    assert listing.status_code == 429  # one bucket for both reads
