""" "My consents" over HTTP: every state a consent can be in, as ``/api/consents`` reports it;
the relay's limit per client address; the token bucket itself."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from eth_account import Account

from collective.errors import SignatureError
from collective.portal.problems import RateLimited
from collective.portal.ratelimit import RateLimits, TokenBucket
from collective.portal.relay import Relayer
from tests.portal.conftest import CATEGORY, PURPOSE, Ledger


def test_my_consents_reports_every_state(portal: str, ledger: Ledger) -> None:
    admin, chain = ledger.admin, ledger.admin.chain
    dev = chain.dev_accounts
    clinic = admin.as_account(dev[6])
    admin.orgs.admit(clinic.address)
    clinic.policies.publish(b"clinic policy v1", "https://clinic.example/v1", [PURPOSE])
    people = {name: admin.as_account(dev[i]) for name, i in
              (("withdrawn", 3), ("expired", 4), ("superseded", 5), ("erased", 7),
               ("deactivated", 8), ("active", 9))}  # fmt: skip
    now = chain.latest_timestamp()
    for name, person in people.items():
        if name != "active":
            expiry = now + 5 if name == "expired" else None
            person.consent.grant(clinic.address, PURPOSE, CATEGORY, expiry=expiry)
    people["withdrawn"].consent.withdraw(clinic.address, PURPOSE, CATEGORY)
    people["erased"].erasure.request(clinic.address)
    people["deactivated"].did.deactivate()
    chain.increase_time(10)
    clinic.policies.publish(b"clinic policy v2", "https://clinic.example/v2", [PURPOSE])
    people["active"].consent.grant(clinic.address, PURPOSE, CATEGORY)

    answer = requests.get(
        f"{portal}/api/consents",
        params=[("identity", p.address.lower()) for p in people.values()],
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    rows = {row["identity"]: row for row in answer.json()["consents"]}
    assert {name: rows[p.address]["state"] for name, p in people.items()} == {
        name: name for name in people
    }
    active = rows[people["active"].address]
    assert active["covered"] and active["canWithdraw"] and active["policyVersion"] == 2
    assert active["purposeWords"] == "research and development"
    assert active["categoryWords"] == "medical health"
    erased = rows[people["erased"].address]
    assert erased["erasureRequested"] and erased["erasureDueAt"] > now
    assert erased["erasureConfirmedAt"] is None and not erased["canErase"]
    assert active["canErase"] and not rows[people["deactivated"].address]["canErase"]
    renew = rows[people["superseded"].address]["renew"]
    assert renew.startswith("/consent?") and "version=2" in renew
    assert requests.get(f"{portal}{renew}", timeout=10).status_code == 200
    assert active["renew"] is None
    assert not rows[people["withdrawn"].address]["canWithdraw"]
    assert "took this consent back" in rows[people["withdrawn"].address]["stateWords"]


def test_the_relay_is_rate_limited_per_client_address(ledger: Ledger) -> None:
    relayer = Relayer(ledger.lab, RateLimits(per_identity=(1.0, 10), per_client=(0.01, 2)))
    lab = ledger.lab
    bodies = [
        lab.signing.sign_withdrawal(lab.address, PURPOSE, CATEGORY, signer=Account.create())
        .to_json()
        .encode()
        for _ in range(3)
    ]
    assert relayer.relay(bodies[0], "10.0.0.1").kind == "withdrawal"
    assert relayer.relay(bodies[1], "10.0.0.1").details["wasActive"] is False  # none active
    try:
        relayer.relay(bodies[2], "10.0.0.1")
    except RateLimited as exc:
        assert "your network address" in exc.message and exc.retry_after > 0
    else:
        raise AssertionError("the third request from one address went through")
    assert relayer.relay(bodies[2], "10.0.0.2").kind == "withdrawal"  # another address


def test_a_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a") == 0.5  # half a second until the next token
    assert bucket.take("b") == 0.0  # buckets are per key
    now[0] = 0.5
    assert bucket.take("a") == 0.0
    now[0] = 100.0  # refilled, never past the burst
    assert [bucket.take("a") for _ in range(4)][-1] > 0


def test_a_stranger_cannot_drain_a_persons_rate_budget(ledger: Ledger) -> None:
    relayer = Relayer(ledger.lab, RateLimits(per_identity=(0.01, 2), per_client=(0.01, 3)))
    lab = ledger.lab
    person, stranger = Account.create(), Account.create()

    def body(signer: Any) -> bytes:
        signed = lab.signing.sign_withdrawal(
            lab.address, PURPOSE, CATEGORY, identity=person.address, signer=signer
        )
        return signed.to_json().encode()

    for _ in range(3):  # signed by a stranger: the chain refuses them (the dry run)
        with pytest.raises(SignatureError):
            relayer.relay(body(stranger), "10.0.0.9")
    with pytest.raises(RateLimited, match="network address"):  # the stranger's own address
        relayer.relay(body(stranger), "10.0.0.9")
    for _ in range(2):  # the person's budget is whole
        assert relayer.relay(body(person), "10.0.0.7").identity == person.address
