"""Consent receipts: building them from grant transactions and verifying them against the chain."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from collective.build.artifacts import load_artifact
from collective.deploy import Deployment
from collective.did import format_did
from collective.errors import InvalidInputError, NotFoundError
from collective.ledger.signing import code
from collective.ledger.vocab import CATEGORIES, PURPOSES, code_of, is_known, name_of
from collective.receipts import (
    DIRECT,
    RELAYED,
    UNTIL_WITHDRAWN,
    ConsentReceipt,
    build_receipt,
    build_receipts,
    iso_time,
    verify_receipt,
)
from tests.helpers import FAR_FUTURE, GENETIC, LAB_RESULTS, RESEARCH, TREATMENT, World

NAMES = {LAB_RESULTS: "dpv-pd:MedicalHealth/LabResults"}
CONTROLLER = {"name": "Example Lab", "contact": "dpo@lab.example", "url": "https://lab.example"}


def tx_hash(receipt: Any) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def direct(w: World, **kw: Any) -> ConsentReceipt:
    tx = w.grant(w.patient, w.lab, expiry=kw.pop("expiry", FAR_FUTURE))
    return build_receipt(w.chain, kw.pop("suite"), tx_hash(tx), names=NAMES, **kw)


def failed(result: Any) -> list[str]:
    return [name for name, passed, _ in result.checks if not passed]


def test_direct_grant_receipt(w: World, suite: Deployment) -> None:
    expiry = w.now() + 86_400
    tx = w.grant(w.patient, w.lab, expiry=expiry)
    r = build_receipt(
        w.chain, suite, tx_hash(tx), controller=CONTROLLER, jurisdiction="EU", names=NAMES
    )
    block = w.chain.get_block(tx["blockNumber"])
    doc = json.loads(r.to_json())
    assert doc["version"] == "KI-CR-v1.1.0" and doc["jurisdiction"] == "EU"
    assert doc["consentTimestamp"] == block["timestamp"]
    assert doc["collectionMethod"] == DIRECT
    assert doc["piiPrincipalId"] == format_did(w.patient.address, w.chain.chain_id)
    (controller,) = doc["piiControllers"]
    assert controller["piiController"] == "Example Lab"
    assert controller["organization"] == w.lab.address
    assert controller["piiControllerUrl"] == "https://lab.example"
    assert doc["policyUrl"] == "https://example.org/policy/v1"
    (purpose,) = doc["services"][0]["purposes"]
    assert purpose["purpose"] == "dpv:ResearchAndDevelopment"
    assert purpose["piiCategory"] == ["dpv-pd:MedicalHealth/LabResults"]
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["termination"] == iso_time(expiry)
    assert doc["sensitive"] is True and doc["spiCat"] == ["dpv-pd:MedicalHealth/LabResults"]
    iso = doc["iso27560"]
    assert iso["record_id"] == "urn:uuid:" + doc["consentReceiptID"]
    assert iso["pii_principal_id"] == doc["piiPrincipalId"]
    content_hash = w.ledger.functions.policy(w.lab.address, 1).call()[0]
    assert iso["privacy_notice"]["hash"] == "0x" + content_hash.hex()
    ev = doc["evidence"]
    assert ev["chainId"] == w.chain.chain_id and ev["contract"] == w.ledger.address
    assert ev["transactionHash"] == tx_hash(tx) and ev["blockNumber"] == tx["blockNumber"]
    assert ev["blockHash"] == "0x" + bytes(block["hash"]).hex()
    consent_id = w.ledger.functions.consentId(
        w.patient.address, w.lab.address, RESEARCH, LAB_RESULTS
    ).call()
    assert ev["consentId"] == "0x" + consent_id.hex() == r.consent_id
    assert (ev["policyVersion"], ev["expiry"], ev["agent"]) == (1, expiry, w.patient.address)
    assert ev["sender"] == w.patient.address
    # Deterministic: the same grant gives the same receipt.
    again = build_receipt(
        w.chain, suite, tx_hash(tx), controller=CONTROLLER, jurisdiction="EU", names=NAMES
    )
    assert again == r
    result = verify_receipt(w.chain, suite, r)
    assert result.ok, failed(result)
    assert result.status == "active"


def test_relayed_signed_grant_receipt(w: World, suite: Deployment) -> None:
    p = w.patient.address
    signed = w.sign_grant(w.patient, p, w.lab, purpose=TREATMENT, category=GENETIC)
    tx = w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    r = build_receipt(w.chain, suite, tx_hash(tx))
    assert r.collection_method == RELAYED
    assert (r.evidence.agent, r.evidence.sender) == (p, w.lab.address)
    assert (r.purpose, r.category) == ("dpv:ServiceProvision", "dpv-pd:Genetic")
    assert r.sensitive and r.spi_categories == ("dpv-pd:Genetic",)
    assert r.termination == UNTIL_WITHDRAWN  # FAR_FUTURE is beyond year 9999
    assert r.controller.name is None and r.to_dict()["piiControllers"][0]["piiController"] == (
        w.lab.address
    )
    assert verify_receipt(w.chain, suite, r.to_json()).ok


def test_json_round_trip(w: World, suite: Deployment) -> None:
    r = direct(w, suite=suite, controller=CONTROLLER, jurisdiction="EU")
    assert ConsentReceipt.from_json(r.to_json()) == r
    r = direct(w, suite=suite)
    assert ConsentReceipt.from_json(r.to_json()) == r
    assert ConsentReceipt.from_json(r.to_json().encode()) == r


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ("{}", "version"),
    ],
)
def test_unparseable_receipts_raise_configuration_errors(text: str, field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        ConsentReceipt.from_json(text)


def _edit(r: ConsentReceipt, path: str, value: Any) -> str:
    doc = r.to_dict()
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("evidence.chainId", None, "no field evidence.chainId"),
        ("evidence.blockHash", "0x12", "evidence.blockHash is not 0x and 64 hex digits"),
        ("evidence.expiry", "soon", "evidence.expiry is not a non-negative integer"),
        ("consentReceiptID", "nope", "consentReceiptID is not a UUID"),
        ("sensitive", "yes", "sensitive is not true or false"),
        ("iso27560.pii_principal_id", "did:ethr:0x1:0xabc", "contradicts piiPrincipalId"),
        ("iso27560.privacy_notice.hash", "0x" + "00" * 32, "contradicts evidence.policyHash"),
        ("services.0.purposes.0.purposeCategory", ["dpv:Marketing"], "purposeCategory"),
        ("piiControllers", [], "exactly one controller"),
    ],
)
def test_malformed_receipt_names_the_field(
    w: World, suite: Deployment, path: str, value: Any, message: str
) -> None:
    r = direct(w, suite=suite)
    with pytest.raises(InvalidInputError, match=message):
        ConsentReceipt.from_json(_edit(r, path, value))
    with pytest.raises(InvalidInputError, match=message):
        verify_receipt(w.chain, suite, _edit(r, path, value))


@pytest.mark.parametrize(
    ("path", "value", "check"),
    [
        ("piiPrincipalId", "STRANGER_DID", "piiPrincipalId"),
        ("evidence.identity", "STRANGER", "evidence.identity"),
        ("evidence.organization", "HOSPITAL", "evidence.organization"),
        ("piiControllers.0.organization", "HOSPITAL", "piiControllers[0].organization"),
        ("services.0.purposes.0.purpose", "dpv:Marketing", "services[0].purposes[0].purpose"),
        ("evidence.purpose", "0x" + code("dpv:Marketing").hex(), "evidence.purpose"),
        ("evidence.category", "0x" + GENETIC.hex(), "evidence.category"),
        ("evidence.expiry", 123, "evidence.expiry"),
        (
            "services.0.purposes.0.termination",
            "2030-01-01T00:00:00Z",
            "services[0].purposes[0].termination",
        ),
        ("evidence.policyVersion", 2, "evidence.policyVersion"),
        ("evidence.agent", "STRANGER", "evidence.agent"),
        ("evidence.consentId", "0x" + "11" * 32, "evidence.consentId"),
        ("collectionMethod", RELAYED, "collectionMethod"),
        ("consentTimestamp", 1, "consentTimestamp"),
        ("consentReceiptID", "00000000-0000-0000-0000-000000000000", "consentReceiptID"),
        ("sensitive", False, "sensitive"),
        ("evidence.blockNumber", 1, "evidence.blockNumber"),
        ("evidence.blockHash", "0x" + "22" * 32, "evidence.blockHash"),
        ("evidence.transactionHash", "0x" + "33" * 32, "evidence.transactionHash"),
        ("evidence.logIndex", 7, "evidence.logIndex"),
        ("evidence.chainId", 1, "evidence.chainId"),
        ("evidence.contract", "STRANGER", "evidence.contract"),
    ],
)
def test_tampered_receipt_fails_naming_the_field(
    w: World, suite: Deployment, path: str, value: Any, check: str
) -> None:
    r = direct(w, suite=suite, controller=CONTROLLER)
    if value == "STRANGER":
        value = w.stranger.address
    elif value == "HOSPITAL":
        value = w.hospital.address
    elif value == "STRANGER_DID":
        value = format_did(w.stranger.address, w.chain.chain_id)
    doc = json.loads(_edit(r, path, value))
    if path == "piiPrincipalId":  # keep the receipt self-consistent: only the chain can tell
        doc["iso27560"]["pii_principal_id"] = value
    if path == "consentReceiptID":
        doc["iso27560"]["record_id"] = "urn:uuid:" + value
    if path == "consentTimestamp":
        doc["iso27560"]["event"]["event_time"] = iso_time(value)
    if path == "evidence.policyVersion":
        doc["iso27560"]["privacy_notice"]["version"] = value
    if path == "services.0.purposes.0.purpose":
        doc["services"][0]["purposes"][0]["purposeCategory"] = [value]
    result = verify_receipt(w.chain, suite, json.dumps(doc))
    assert not result.ok
    assert check in failed(result), result.checks
    detail = next(d for name, passed, d in result.checks if name == check)
    assert detail


def test_tampered_policy_uri_and_hash_fail(w: World, suite: Deployment) -> None:
    r = direct(w, suite=suite)
    forged = replace(r, policy_url="https://evil.example/policy")
    assert failed(verify_receipt(w.chain, suite, forged)) == ["policyUrl"]
    forged = replace(r, evidence=replace(r.evidence, policy_hash="0x" + "44" * 32))
    assert failed(verify_receipt(w.chain, suite, forged)) == ["evidence.policyHash"]
    forged = replace(r, policy_published_at=r.policy_published_at + 1)
    assert failed(verify_receipt(w.chain, suite, forged)) == [
        "iso27560.privacy_notice.published_at"
    ]


def test_withdrawn_consent_still_verifies_as_a_record(w: World, suite: Deployment) -> None:
    r = direct(w, suite=suite)
    p = w.patient.address
    w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    result = verify_receipt(w.chain, suite, r)
    assert result.ok and result.status == "withdrawn" and not result.renewed
    w.grant(w.patient, w.lab)  # granted again: the old receipt records an earlier grant
    result = verify_receipt(w.chain, suite, r)
    assert result.ok and result.status == "active" and result.renewed


def test_expired_consent(w: World, suite: Deployment) -> None:
    r = direct(w, suite=suite, expiry=w.now() + 100)
    w.chain.increase_time(200)
    result = verify_receipt(w.chain, suite, r)
    assert result.ok and result.status == "expired"


def test_batch_needs_a_log_index(w: World, suite: Deployment) -> None:
    p = w.patient.address
    items = [
        (w.lab.address, RESEARCH, LAB_RESULTS, FAR_FUTURE, 1),
        (w.hospital.address, TREATMENT, GENETIC, FAR_FUTURE, 1),
    ]
    tx = w.tx(w.ledger.functions.grantBatch(p, items), w.patient)
    with pytest.raises(InvalidInputError, match="granted 2 consents"):
        build_receipt(w.chain, suite, tx_hash(tx))
    receipts = build_receipts(w.chain, suite, tx_hash(tx), names=NAMES)
    assert [r.organization for r in receipts] == [w.lab.address, w.hospital.address]
    assert len({r.receipt_id for r in receipts}) == 2
    second = build_receipt(w.chain, suite, tx_hash(tx), log_index=receipts[1].log_index)
    assert second == receipts[1]
    assert all(verify_receipt(w.chain, suite, r).ok for r in receipts)
    with pytest.raises(NotFoundError, match="not a ConsentGranted"):
        build_receipt(w.chain, suite, tx_hash(tx), log_index=99)
    # A receipt pointing at the other grant of the batch fails on its fields.
    swapped = replace(
        receipts[0], evidence=replace(receipts[0].evidence, log_index=second.log_index)
    )
    assert "evidence.organization" in failed(verify_receipt(w.chain, suite, swapped))


def test_one_transactions_receipts_as_one_json_file(w: World, suite: Deployment) -> None:
    """``receipts_json``: one receipt's document alone, several as an array."""
    from collective.chain import jsonints
    from collective.receipts import receipts_json

    p = w.patient.address
    items = [
        (w.lab.address, RESEARCH, LAB_RESULTS, 2**64 - 1, 1),
        (w.hospital.address, TREATMENT, GENETIC, FAR_FUTURE, 1),
    ]
    tx = w.tx(w.ledger.functions.grantBatch(p, items), w.patient)
    receipts = build_receipts(w.chain, suite, tx_hash(tx), names=NAMES)
    assert receipts_json(receipts[:1]) == receipts[0].to_json()
    text = receipts_json(receipts)
    assert text.endswith("]\n")
    documents = jsonints.loads(text)
    assert [ConsentReceipt.from_dict(d) for d in documents] == receipts
    assert json.loads(text)[0]["evidence"]["expiry"] == str(2**64 - 1)  # a string for JS


def test_signed_batch_receipts_are_relayed(w: World, suite: Deployment) -> None:
    subjects = [w.patient, w.guardian]
    grants = [w.sign_grant(s, s.address, w.lab).batch_item() for s in subjects]
    tx = w.tx(w.ledger.functions.grantSignedBatch(grants), w.lab)
    receipts = build_receipts(w.chain, suite, tx_hash(tx))
    assert [r.identity for r in receipts] == [s.address for s in subjects]
    assert {r.collection_method for r in receipts} == {RELAYED}


def test_look_alike_contract_is_not_accepted(w: World, suite: Deployment) -> None:
    artifact = load_artifact("ConsentLedger")
    factory = w.chain.contract(artifact.abi, bytecode=artifact.bytecode)
    deployed = w.chain.transact(factory.constructor(suite.address("AccountRules")), w.admin)
    fake = w.chain.contract(artifact.abi, deployed["contractAddress"])
    w.tx(fake.functions.publishPolicy(code("fake"), "https://fake.example", [RESEARCH]), w.lab)
    tx = w.tx(
        fake.functions.grant(w.patient.address, w.lab.address, RESEARCH, GENETIC, FAR_FUTURE, 1),
        w.patient,
    )
    with pytest.raises(NotFoundError, match="granted no consent on the ConsentLedger"):
        build_receipt(w.chain, suite, tx_hash(tx))
    # A receipt made against the look-alike "deployment" does not verify against the real one.
    look_alike = replace(suite, addresses={**suite.addresses, "ConsentLedger": fake.address})
    r = build_receipt(w.chain, look_alike, tx_hash(tx))
    assert verify_receipt(w.chain, look_alike, r).ok
    result = verify_receipt(w.chain, suite, r)
    assert not result.ok and failed(result) == ["evidence.contract"]
    # Pretending the log came from the real ledger does not help either.
    forged = replace(r, evidence=replace(r.evidence, contract=w.ledger.address))
    assert "evidence.logIndex" in failed(verify_receipt(w.chain, suite, forged))


def test_transaction_that_is_not_a_grant(w: World, suite: Deployment) -> None:
    tx = w.tx(w.rules.functions.admit(w.stranger.address), w.admin)
    with pytest.raises(NotFoundError, match="granted no consent"):
        build_receipt(w.chain, suite, tx_hash(tx))
    with pytest.raises(NotFoundError, match="no transaction"):
        build_receipt(w.chain, suite, "0x" + "ab" * 32)
    with pytest.raises(InvalidInputError, match="not a transaction hash"):
        build_receipt(w.chain, suite, "0x1234")


def test_bad_controller_and_names(w: World, suite: Deployment) -> None:
    tx = w.grant(w.patient, w.lab)
    with pytest.raises(InvalidInputError, match="unknown controller field"):
        build_receipt(w.chain, suite, tx_hash(tx), controller={"nom": "Lab"})
    with pytest.raises(InvalidInputError, match="whose code is"):
        build_receipt(w.chain, suite, tx_hash(tx), names={LAB_RESULTS: "dpv-pd:Genetic"})
    # A category no one named (only its code is known) shows as its code, and still verifies.
    nameless = bytes(range(32))
    unnamed = w.grant(w.patient, w.lab, category=nameless)
    r = build_receipt(w.chain, suite, tx_hash(unnamed))
    assert r.category == "0x" + nameless.hex() and not r.sensitive
    assert verify_receipt(w.chain, suite, r).ok


# --- vocab ------------------------------------------------------------------------------------


def test_vocab_codes_are_hashes_of_dpv_names() -> None:
    assert len(PURPOSES) >= 30 and len(CATEGORIES) >= 20
    assert PURPOSES["dpv:ResearchAndDevelopment"] == RESEARCH
    assert PURPOSES["dpv:ServiceProvision"] == TREATMENT
    assert CATEGORIES["dpv-pd:Genetic"] == GENETIC
    for name in ("dpv:Marketing", "dpv:FraudPreventionAndDetection", "dpv-pd:MedicalHealth"):
        assert code_of(name) == code(name)
        assert name_of(code_of(name)) == name
        assert is_known(name) and is_known(code_of(name))
    assert all(name.startswith("dpv:") for name in PURPOSES)
    assert all(name.startswith("dpv-pd:") for name in CATEGORIES)


def test_vocab_accepts_hex_and_bytes_and_reports_unknown_codes() -> None:
    assert code_of("0x" + RESEARCH.hex()) == RESEARCH == code_of(RESEARCH)
    assert code_of("0x" + RESEARCH.hex().upper()) == RESEARCH
    assert name_of("0x" + RESEARCH.hex()) == "dpv:ResearchAndDevelopment"
    never_named = bytes(range(1, 33))
    assert name_of(never_named) == "0x" + never_named.hex()
    assert code_of("dpv-pd:MedicalHealth/LabResults") == LAB_RESULTS
    assert name_of(LAB_RESULTS) == "dpv-pd:MedicalHealth/LabResults"  # learned from code_of
    assert not is_known(LAB_RESULTS) and not is_known("") and not is_known(b"short")


@pytest.mark.parametrize("bad", ["", "   ", "0x1234", "0x" + "zz" * 32, b"\x00" * 31])
def test_vocab_rejects_bad_codes(bad: str | bytes) -> None:
    with pytest.raises(InvalidInputError):
        code_of(bad)
