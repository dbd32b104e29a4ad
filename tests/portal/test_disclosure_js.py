"""The browser's disclosure signatures and policy diff, run by node: a DisclosureGrant and a
DisclosureWithdrawal portal/web/disclosure.js signs are ones the Python side reads
(load_signed_disclosure recovers the signer, every field as signed), and
portal/web/policydiff.js's line diff counts and folds as the renewal page shows it."""

from __future__ import annotations

import json

import pytest

from collective.ledger.disclosure_request import (
    SignedDisclosureGrant,
    SignedDisclosureWithdrawal,
    load_signed_disclosure,
)
from collective.ledger.signing import code
from tests.portal.conftest import CATEGORY, PURPOSE, run_js

KEY = "0x" + "4c" * 32
HOSPITAL = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LAB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
BEFORE = "".join(f"line {n}\n" for n in range(1, 11))
AFTER = BEFORE.replace("line 2\n", "line two\n") + "line 11\n"

SCRIPT = """
import { Wallet } from "ethers";
import { signDisclosureGrant, signDisclosureWithdrawal } from "./portal/web/disclosure.js";
import { diffRows } from "./portal/web/policydiff.js";
const [key, hospital, lab, ledger, purpose, category, before, after] = JSON.parse(process.argv[1]);
const wallet = new Wallet(key);
const terms = { identity: wallet.address, discloser: hospital, recipient: lab, purpose, category };
const grant = await signDisclosureGrant(wallet, {
  ...terms, expiry: 1900000000, policyVersion: 2, policyHash: "0x" + "AB".repeat(32),
  nonce: 1764460800000n, deadline: 1764464400n,
}, 131277, ledger);
const withdrawal = await signDisclosureWithdrawal(wallet, {
  ...terms, nonce: 1764460800001n, deadline: 1764464400n,
}, 131277, ledger);
const same = diffRows(before, before);
console.log(JSON.stringify({ grant, withdrawal, diff: diffRows(before, after), same }));
"""


@pytest.fixture(scope="module")
def from_js() -> dict[str, object]:
    argument = json.dumps([KEY, HOSPITAL, LAB, LEDGER, PURPOSE, CATEGORY, BEFORE, AFTER])
    result: dict[str, object] = run_js(SCRIPT, argument)
    return result


def test_the_browser_signs_disclosure_requests_python_reads(from_js: dict[str, object]) -> None:
    grant = load_signed_disclosure(json.dumps(from_js["grant"]))
    assert isinstance(grant, SignedDisclosureGrant)
    request = grant.request
    assert grant.signer == request.identity  # recovered from the signature: same encoding
    assert (request.discloser, request.recipient) == (HOSPITAL, LAB)
    assert (request.purpose, request.category) == (code(PURPOSE), code(CATEGORY))
    assert (request.expiry, request.policy_version) == (1900000000, 2)
    assert request.policy_hash == bytes.fromhex("ab" * 32)
    assert (request.nonce, request.deadline) == (1764460800000, 1764464400)
    assert (grant.chain_id, grant.verifying_contract) == (131277, LEDGER)
    withdrawal = load_signed_disclosure(json.dumps(from_js["withdrawal"]))
    assert isinstance(withdrawal, SignedDisclosureWithdrawal)
    assert withdrawal.signer == request.identity and withdrawal.request.nonce == 1764460800001


def test_the_renewal_diff_counts_and_folds(from_js: dict[str, object]) -> None:
    diff = from_js["diff"]
    assert isinstance(diff, dict)
    assert (diff["added"], diff["removed"]) == (2, 1)
    shown = [(row["kind"], row["text"]) for row in diff["rows"]]
    assert shown == [
        ("same", "line 1"),
        ("removed", "line 2"),
        ("added", "line two"),
        ("same", "line 3"),
        ("same", "line 4"),
        ("folded", "… 4 unchanged lines …"),
        ("same", "line 9"),
        ("same", "line 10"),
        ("added", "line 11"),
    ]
    same = from_js["same"]
    assert isinstance(same, dict)
    assert (same["added"], same["removed"]) == (0, 0)
    assert [row["kind"] for row in same["rows"]] == ["folded"]
