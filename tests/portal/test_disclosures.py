"""Disclosure consents on the portal, over HTTP against a real chain: "my consents" lists them
in every state as the chain has them (from the audit index); the relay endpoint takes a signed
disclosure grant and withdrawal with the same checks as a use consent's; a consent link may
ask for a disclosure consent (the recipient's policy), and a renewal shows what changed.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from click.testing import CliRunner
from eth_account import Account

from collective.cli import cli
from collective.client import Collective
from collective.portal.disclosure_link import disclosure_link
from collective.portal.disclosure_rows import DISCLOSURE_STATE_WORDS
from collective.portal.links import ConsentLink
from tests.portal.conftest import CATEGORY, PURPOSE, Ledger, csrf_session, post_json

MARKETING = "dpv:Marketing"


def _session(portal: str) -> requests.Session:
    return csrf_session(f"{portal}/")


def _relay(session: requests.Session, portal: str, body: str) -> requests.Response:
    return post_json(session, f"{portal}/api/relay", body)


def _mine(portal: str, *identities: str) -> dict[str, dict[str, Any]]:
    """The disclosure rows of ``/api/consents``, by identity."""
    answer = requests.get(
        f"{portal}/api/consents", params=[("identity", i) for i in identities], timeout=30
    )
    assert answer.status_code == 200, answer.text
    return {row["identity"]: row for row in answer.json()["disclosures"]}


def test_my_consents_lists_disclosure_consents_in_every_state(portal: str, ledger: Ledger) -> None:
    admin, lab, hospital = ledger.admin, ledger.lab, ledger.hospital
    chain = admin.chain
    dev = chain.dev_accounts
    clinic = admin.as_account(dev[9])
    admin.orgs.admit(clinic.address)
    clinic.policies.publish(b"clinic v1", "https://clinic.example/v1", [PURPOSE, MARKETING])
    people = {name: admin.as_account(dev[i]) for name, i in
              (("active", 3), ("withdrawn", 4), ("expired", 5), ("superseded", 6),
               ("erased", 7), ("deactivated", 8))}  # fmt: skip
    now = chain.latest_timestamp()
    for name, person in people.items():
        recipient = clinic if name == "superseded" else lab
        expiry = now + 5 if name == "expired" else None
        person.disclosure.grant(
            hospital.address, recipient.address, PURPOSE, CATEGORY, expiry=expiry
        )
    people["withdrawn"].disclosure.withdraw(hospital.address, lab.address, PURPOSE, CATEGORY)
    people["erased"].erasure.request(lab.address)  # to the recipient: ends the disclosure too
    people["deactivated"].did.deactivate()
    chain.increase_time(10)
    clinic.policies.publish(b"clinic v2\nno marketing\n", "https://clinic.example/v2", [PURPOSE])

    rows = _mine(portal, *(p.address for p in people.values()))
    assert {name: rows[p.address]["state"] for name, p in people.items()} == {
        name: name for name in people
    }
    for name, person in people.items():
        row = rows[person.address]
        recipient = row["recipient"]
        covered = hospital.disclosure.is_covered(
            person.address, hospital.address, recipient, PURPOSE, row["category"]
        )
        stored = hospital.disclosure.get(
            person.address, hospital.address, recipient, PURPOSE, row["category"]
        )
        assert row["covered"] == covered, name
        assert row["canWithdraw"] == (stored.stored_active and name != "deactivated"), name
        assert row["policyVersion"] == stored.policy_version, name
        assert row["stateWords"] == DISCLOSURE_STATE_WORDS[name]
        assert row["discloser"] == hospital.address
    active = rows[people["active"].address]
    assert active["recipient"] == lab.address and active["covered"]
    assert active["purposeWords"] == "research and development"
    assert rows[people["erased"].address]["erasureOrganization"] == lab.address
    superseded = rows[people["superseded"].address]
    assert superseded["policyVersion"] == 1 and superseded["currentPolicyVersion"] == 2
    renew = superseded["renew"]
    assert renew.startswith("/consent?") and f"recipient={clinic.address}" in renew
    # The renewal page: the recipient's v2, with what changed since v1.
    page = requests.get(f"{portal}{renew}&previous=1", timeout=10)
    assert page.status_code == 200, page.text
    assert 'data-previous-version="1"' in page.text and 'data-version="2"' in page.text
    assert "No longer a purpose: marketing" in page.text
    assert "https://clinic.example" in page.headers["content-security-policy"]
    newer = requests.get(f"{portal}{renew}&previous=2", timeout=10)
    assert newer.status_code == 400 and "not older than version 2" in newer.text
    unpublished = requests.get(f"{portal}{renew.replace('version=2', 'version=3')}&previous=1")
    assert unpublished.status_code in (400, 404) and "Traceback" not in unpublished.text


def test_the_relay_takes_a_signed_disclosure_grant_and_withdrawal(
    portal: str, ledger: Ledger
) -> None:
    lab, hospital = ledger.lab, ledger.hospital
    session = _session(portal)
    key = Account.create()  # a person with no ether: the portal pays
    grant = lab.disclosure.sign_grant(hospital.address, lab.address, PURPOSE, CATEGORY, signer=key)
    first = _relay(session, portal, grant.to_json())
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["kind"] == "disclosure-grant" and answer["identity"] == key.address
    assert answer["organization"] == hospital.address and answer["recipient"] == lab.address
    assert answer["policyVersion"] == 1
    assert hospital.disclosure.is_covered(
        key.address, hospital.address, lab.address, PURPOSE, CATEGORY
    )
    assert _mine(portal, key.address)[key.address]["state"] == "active"

    again = _relay(session, portal, grant.to_json())
    assert again.status_code == 409
    assert again.json()["error"]["contract_error"] == "InvalidNonce"

    state = requests.get(
        f"{portal}/api/disclosure",
        params={"identity": key.address, "discloser": hospital.address,
                "recipient": lab.address, "purpose": PURPOSE, "category": CATEGORY},
        timeout=10,
    ).json()  # fmt: skip
    assert state["active"] and state["owner"] == key.address
    assert int(state["nonce"]) > grant.request.nonce  # the signature is used up

    foreign = json.loads(grant.to_json())
    foreign["verifyingContract"] = hospital.address  # another "ledger"
    refused = _relay(session, portal, json.dumps(foreign))
    assert refused.status_code == 400 and "Traceback" not in refused.text
    high_s = json.loads(grant.to_json())
    high_s["signature"]["s"] = "0x" + "ff" * 32
    assert _relay(session, portal, json.dumps(high_s)).status_code == 400

    withdrawal = lab.disclosure.sign_withdrawal(
        hospital.address, lab.address, PURPOSE, CATEGORY, signer=key
    )
    done = _relay(session, portal, withdrawal.to_json())
    assert done.status_code == 200, done.text
    assert done.json()["kind"] == "disclosure-withdrawal" and done.json()["wasActive"]
    assert _mine(portal, key.address)[key.address]["state"] == "withdrawn"
    assert requests.get(f"{portal}/api/disclosure", params={"identity": "x"}).status_code == 400


def test_a_disclosure_link_asks_under_the_recipients_policy(portal: str, ledger: Ledger) -> None:
    lab, hospital = ledger.lab, ledger.hospital
    link = disclosure_link(ledger.admin, hospital.address, lab.address, PURPOSE, CATEGORY)
    lab_policy = lab.policies.current(lab.address)
    assert (link.organization, link.recipient) == (hospital.address, lab.address)
    assert (link.policy_version, link.policy_hash) == (
        lab_policy.version,
        lab_policy.content_hash.lower(),
    )
    assert ConsentLink.from_query(link.query()) == link
    page = requests.get(link.url(portal), timeout=10)
    assert page.status_code == 200, page.text
    assert "asks to pass your data on" in page.text
    assert f'data-recipient="{lab.address}"' in page.text
    assert f'data-uri="{lab_policy.uri}"' in page.text

    to_itself = {**link.query(), "recipient": hospital.address}
    page = requests.get(f"{portal}/consent", params=to_itself, timeout=10)
    assert page.status_code == 400 and "the same organization" in page.text
    stranger = {**link.query(), "org": Account.create().address}
    page = requests.get(f"{portal}/consent", params=stranger, timeout=10)
    assert page.status_code == 400 and "never been admitted" in page.text
    bad = {**link.query(), "recipient": "lab"}
    page = requests.get(f"{portal}/consent", params=bad, timeout=10)
    assert page.status_code == 400 and "not an address" in page.text


def test_consent_request_recipient_prints_a_disclosure_link(ledger: Ledger) -> None:
    admin: Collective = ledger.admin
    manifest = admin.deployment.manifest_path
    args = ["--rpc", ledger.node, "--json", "consent", "request", "--org",
            ledger.hospital.address, "--recipient", ledger.lab.address, "-p", PURPOSE,
            "-c", CATEGORY, "--manifest", str(manifest),
            "--portal", "https://consent.example"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    link = ConsentLink.from_query(data)
    assert link.recipient == ledger.lab.address and link.organization == ledger.hospital.address
    assert f"recipient={ledger.lab.address}" in data["url"]
    same = CliRunner().invoke(cli, [*args[:6], ledger.lab.address, *args[7:]])
    assert same.exit_code == 1 and "the same organization" in same.output


def test_a_renewal_page_brings_the_version_agreed_to(portal: str, ledger: Ledger) -> None:
    lab = ledger.lab
    person = ledger.admin.as_account(ledger.admin.chain.dev_accounts[3])
    person.consent.grant(lab.address, PURPOSE, CATEGORY)
    v1 = lab.policies.current(lab.address)
    lab.policies.publish(b"lab v2", "https://lab-v2.example/policy", [PURPOSE, MARKETING])
    answer = requests.get(f"{portal}/api/consents", params={"identity": person.address})
    (row,) = answer.json()["consents"]
    assert row["state"] == "superseded" and row["policyVersion"] == 1
    page = requests.get(f"{portal}{row['renew']}&previous=1", timeout=10)
    assert page.status_code == 200, page.text
    assert f'data-previous-uri="{v1.uri}"' in page.text
    assert f'data-previous-hash="{v1.content_hash.lower()}"' in page.text
    assert "New purpose: marketing" in page.text and "Renew a consent" in page.text
    csp = page.headers["content-security-policy"]
    assert "https://lab-v2.example" in csp and v1.uri.rsplit("/", 2)[0] in csp
    assert "previous" not in row["renew"]  # the page adds it, from policyVersion
    bad = requests.get(f"{portal}{row['renew']}&previous=one", timeout=10)
    assert bad.status_code == 400 and "not a policy version" in bad.text


def test_signed_disclosure_requests_share_the_per_identity_limit(
    portal: str, ledger: Ledger
) -> None:
    lab, hospital = ledger.lab, ledger.hospital
    session = _session(portal)
    key = Account.create()
    codes = []
    for _ in range(6):  # the fixture allows 5 per (identity, signer) at once
        signed = lab.disclosure.sign_withdrawal(
            hospital.address, lab.address, PURPOSE, CATEGORY, signer=key
        )
        codes.append(_relay(session, portal, signed.to_json()).status_code)
    assert codes == [200] * 5 + [429]
