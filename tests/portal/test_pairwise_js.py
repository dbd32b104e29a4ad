"""The browser derives the same pairwise identities as Python (collective/did/pairwise.py):
portal/web/pairwise.js run by node on the same mnemonics, organizations, chains, counters and
generations, and the EIP-712 signature portal/web/eip712.js makes is one the Python side reads
(SignedRequest.from_json recovers its signer)."""

from __future__ import annotations

import json

import pytest

from collective.did import pairwise
from collective.ledger.erasure_request import SignedErasure
from collective.ledger.signing import GrantRequest, SignedRequest
from tests.portal.conftest import run_js

MNEMONIC = "test test test test test test test test test test test junk"
ORGS = [
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
]
CASES = [
    (chain, org, counter, generation)
    for chain in (1, 131277, 31337)
    for org in ORGS
    for counter, generation in ((0, 0), (1, 2))
]

SCRIPT = """
import { HDNodeWallet } from "ethers";
import { derivationPath, identityFor, indexOf, rootOf } from "./portal/web/pairwise.js";
import { signErasure, signGrant, signWithdrawal } from "./portal/web/eip712.js";
const [words, cases] = JSON.parse(process.argv[1]);
const LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const root = rootOf(words);
const out = cases.map(([chain, org, counter, generation]) => {
  const path = derivationPath(chain, org, counter, generation);
  return { index: indexOf(chain, org), path, address: root.derivePath(path).address };
});
const me = identityFor(root, 131277, cases[0][1], []);
const signed = await signGrant(me.wallet, {
  identity: me.address, organization: cases[0][1], purpose: "dpv:ResearchAndDevelopment",
  category: "dpv-pd:MedicalHealth", expiry: null, policyVersion: 1,
  policyHash: "0x" + "ab".repeat(32),
  nonce: 1764460800000n, deadline: 1764464400n,
}, 131277, LEDGER);
const withdrawal = await signWithdrawal(me.wallet, {
  identity: me.address, organization: cases[0][1], purpose: "dpv:ResearchAndDevelopment",
  category: "dpv-pd:MedicalHealth", nonce: 1764460800001n, deadline: 1764464400n,
}, 131277, LEDGER);
const erasure = await signErasure(me.wallet, {
  identity: me.address, organization: cases[0][1], deadline: 1764464400n,
}, 131277, LEDGER);
console.log(JSON.stringify({ out, signed, withdrawal, erasure, address: me.address }));
"""


@pytest.fixture(scope="module")
def from_js() -> dict[str, object]:
    argument = json.dumps([f"  {MNEMONIC.upper()} ", CASES])  # as a person might type it
    result: dict[str, object] = run_js(SCRIPT, argument)
    return result


def test_the_browser_derives_the_python_pairwise_identities(from_js: dict[str, object]) -> None:
    seed = pairwise.seed_of(MNEMONIC)
    expected = []
    for chain, org, counter, generation in CASES:
        path = pairwise.derivation_path(chain, org, counter=counter, generation=generation)
        expected.append({
            "index": pairwise.index_of(chain, org), "path": path,
            "address": pairwise.key_at(seed, path).address,
        })  # fmt: skip
    assert from_js["out"] == expected
    assert len({row["address"] for row in expected}) == len(CASES)


def test_the_browser_signs_a_grant_python_reads(from_js: dict[str, object]) -> None:
    signed = SignedRequest.from_json(json.dumps(from_js["signed"]))
    identity = pairwise.key_at(
        pairwise.seed_of(MNEMONIC), pairwise.derivation_path(131277, ORGS[0])
    )
    assert signed.signer == identity.address == from_js["address"]
    grant = signed.request
    assert signed.kind == "grant" and isinstance(grant, GrantRequest)
    assert grant.identity == identity.address
    assert grant.expiry == 2**64 - 1 and grant.policy_version == 1


def test_the_browser_signs_a_withdrawal_and_an_erasure_python_reads(
    from_js: dict[str, object],
) -> None:
    withdrawal = SignedRequest.from_json(json.dumps(from_js["withdrawal"]))
    assert withdrawal.kind == "withdrawal" and withdrawal.signer == from_js["address"]
    assert withdrawal.request.nonce == 1764460800001 and withdrawal.request.deadline == 1764464400
    erasure = SignedErasure.from_json(json.dumps(from_js["erasure"]))
    assert erasure.signer == from_js["address"] == erasure.request.identity
    assert erasure.request.organization == ORGS[0] and erasure.request.deadline == 1764464400
