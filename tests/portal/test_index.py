"""The portal's audit index against the chain: "my consents" and "who used my data" read from
the index are the answers read from the chain, for every state a consent can be in; a new
block shows in the next answer.

The chain-read reference is built here from the client's own reads (``by_subject``, the
erasure status, the current policy), the way the portal answered before it had an index.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from collective.client import Collective
from collective.client.subject_history import identity_history
from collective.portal.consents import STATE_WORDS, consent_rows, words
from collective.portal.history import history, row_json
from collective.portal.index import PortalIndex
from collective.portal.links import ConsentLink
from tests.portal.conftest import CATEGORY, PURPOSE, Ledger

OTHER = "dpv-pd:Age"
MARKETING = "dpv:Marketing"


def chain_rows(client: Collective, identities: list[str]) -> list[dict[str, Any]]:
    """ "My consents" read from the chain: every consent, its erasure and renewal link."""
    rows = []
    for identity in identities:
        for c in client.consent.by_subject(identity):
            erasure = client.erasure.status(c.identity, c.organization)
            state = c.state
            if erasure.requested and state in ("active", "expired", "superseded"):
                state = "erased"
            renew = None
            if state == "superseded" and client.policies.covers(c.organization, c.purpose):
                policy = client.policies.current(c.organization)
                renew = ConsentLink(
                    c.organization,
                    c.purpose,
                    c.category,
                    policy.version,
                    policy.content_hash.lower(),
                    c.expiry,
                ).url("")
            rows.append(
                {
                    "consentId": str(c.consent_id),
                    "identity": c.identity,
                    "organization": c.organization,
                    "purpose": c.purpose,
                    "purposeWords": words(c.purpose),
                    "category": c.category,
                    "categoryWords": words(c.category),
                    "state": state,
                    "stateWords": STATE_WORDS[state],
                    "covered": c.covered,
                    "canWithdraw": c.active and state != "deactivated",
                    "expiry": None if c.expiry is None else str(c.expiry),
                    "grantedAt": c.granted_at,
                    "policyVersion": c.policy_version,
                    "erasureRequested": erasure.requested,
                    "erasureDueAt": erasure.due_at or None,
                    "erasureConfirmedAt": erasure.confirmed_at or None,
                    "canErase": not erasure.requested and state != "deactivated",
                    "renew": renew,
                }
            )
    return rows


def chain_history(client: Collective, identities: list[str]) -> list[dict[str, Any]]:
    """ "Who used my data" read from the chain's events."""
    rows = [row for identity in identities for row in identity_history(client, identity)]
    rows.sort(key=lambda row: (row.block, row.log_index))
    return [row_json(row) for row in rows]


@pytest.fixture(scope="module")
def index(ledger: Ledger) -> Iterator[PortalIndex]:
    """The portal's index of the ledger (a temporary file), its follower running."""
    followed = PortalIndex(ledger.lab)
    followed.start()
    try:
        yield followed
    finally:
        followed.stop()


def test_the_index_answers_as_the_chain_for_every_state(ledger: Ledger, index: PortalIndex) -> None:
    admin, lab, hospital = ledger.admin, ledger.lab, ledger.hospital
    chain = admin.chain
    dev = chain.dev_accounts
    clinic = admin.as_account(dev[9])
    admin.orgs.admit(clinic.address)
    clinic.policies.publish(b"clinic v1", "https://clinic.example/v1", [PURPOSE])
    hospital.policies.publish(b"hospital v1b", "https://h.example/v1b", [PURPOSE, MARKETING])
    p3, p4, p5, p6, p7, p8 = (admin.as_account(dev[i]) for i in range(3, 9))
    now = chain.latest_timestamp()
    # p3: active, withdrawn, withdrawn then granted again; used and disclosed.
    p3.consent.grant(lab.address, PURPOSE, CATEGORY)
    p3.consent.grant(hospital.address, PURPOSE, CATEGORY)
    p3.consent.grant(lab.address, PURPOSE, OTHER)
    p3.consent.withdraw(hospital.address, PURPOSE, CATEGORY)
    p3.consent.withdraw(lab.address, PURPOSE, OTHER)
    p3.consent.grant(lab.address, PURPOSE, OTHER, expiry=now + 10**6)
    lab.usage.record(p3.address, PURPOSE, CATEGORY, "lab/p3-1")
    lab.usage.record(p3.address, PURPOSE, CATEGORY, "lab/p3-2")
    p3.disclosure.grant(lab.address, hospital.address, PURPOSE, CATEGORY)
    lab.disclosure.record(p3.address, hospital.address, PURPOSE, CATEGORY, "lab/p3-1")
    p3.disclosure.withdraw(lab.address, hospital.address, PURPOSE, CATEGORY)
    # p4: expires; asks the hospital to erase, which confirms.
    p4.consent.grant(lab.address, PURPOSE, CATEGORY, expiry=chain.latest_timestamp() + 5)
    p4.consent.grant(hospital.address, PURPOSE, CATEGORY)
    p4.erasure.request(hospital.address)
    hospital.erasure.confirm(p4.address, b"erased p4")
    # p5: superseded (renewable, and not: v2 drops marketing).
    p5.consent.grant(hospital.address, PURPOSE, CATEGORY)
    p5.consent.grant(hospital.address, MARKETING, CATEGORY)
    # p6: asked the lab to erase (unconfirmed); p7 deactivated; p8's clinic suspended.
    p6.consent.grant(lab.address, PURPOSE, CATEGORY)
    p6.erasure.request(lab.address)
    p7.consent.grant(lab.address, PURPOSE, CATEGORY)
    p7.did.deactivate()
    p8.consent.grant(clinic.address, PURPOSE, CATEGORY)
    admin.orgs.suspend(clinic.address)
    chain.increase_time(10)
    hospital.policies.publish(b"hospital v2", "https://h.example/v2", [PURPOSE])

    people: list[str] = [p.address for p in (p3, p4, p5, p6, p7, p8)]
    index.fresh()
    reader = index.reader()
    indexed = [row.as_json() for row in consent_rows(reader.consents(people))]
    assert indexed == chain_rows(lab, people)
    assert {row["state"] for row in indexed} == set(STATE_WORDS) - {"none"}
    suspended = [row for row in indexed if row["organization"] == clinic.address]
    assert suspended[0]["state"] == "active" and not suspended[0]["covered"]
    renewals = {row["purpose"]: row["renew"] for row in indexed if row["state"] == "superseded"}
    assert renewals[MARKETING] is None and "version=3" in (renewals[PURPOSE] or "")
    confirmed = [row for row in indexed if row["erasureConfirmedAt"]]
    assert [row["identity"] for row in confirmed] == [p4.address]

    answer = history(reader, people)
    assert answer == chain_history(lab, people)
    assert {row["action"] for row in answer} >= {
        "grant",
        "withdraw",
        "use",
        "disclose",
        "disclosure-grant",
        "disclosure-withdraw",
        "erasure-request",
        "erasure-confirm",
    }


def test_an_answer_after_a_new_block_shows_it(portal: str, ledger: Ledger) -> None:
    person = ledger.admin.as_account(ledger.admin.chain.dev_accounts[5])
    lab = ledger.lab

    def mine() -> dict[str, dict[str, Any]]:
        got = requests.get(f"{portal}/api/consents", params={"identity": person.address})
        assert got.status_code == 200, got.text
        return {row["category"]: row for row in got.json()["consents"]}

    assert "dpv-pd:Location" not in mine()
    granted = person.consent.grant(lab.address, PURPOSE, "dpv-pd:Location")
    row = mine()["dpv-pd:Location"]
    assert row["state"] == "active" and row["covered"]
    person.consent.withdraw(lab.address, PURPOSE, "dpv-pd:Location")
    assert mine()["dpv-pd:Location"]["state"] == "withdrawn"
    person.consent.grant(lab.address, PURPOSE, CATEGORY)
    lab.usage.record(person.address, PURPOSE, CATEGORY, "lab/after")
    got = requests.get(f"{portal}/api/history", params={"identity": person.address}).json()
    assert got["history"][-1]["action"] == "use"
    assert got["history"][-1]["block"] > granted.block_number
