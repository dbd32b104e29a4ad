"""Gas used per operation of the consent ledger, against the targets of issues #2 and #13.

Runs on the embedded chain (gas is deterministic: the same on any EVM at the same fork), prints
a table and exits 1 when any target is missed.

    python benchmarks/gas.py            # table
    python benchmarks/gas.py --json     # machine-readable
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from eth_account import Account

from collective.chain import Chain, connect
from collective.deploy import deploy_suite
from collective.ledger.erasure_request import ErasureRequest, sign_erasure
from collective.ledger.signing import GrantRequest, code, sign

YEAR = 365 * 24 * 3600


@dataclass
class Row:
    operation: str
    gas: float
    target: int | None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.target is None or self.gas <= self.target


def measure() -> list[Row]:
    chain: Chain = connect(network="embedded")
    dev = chain.dev_accounts
    admin, lab, patient, relayer = dev[0], dev[1], dev[2], dev[3]
    suite = deploy_suite(chain, admin, board_members=[d.address for d in dev[7:10]], threshold=2)
    rules, ledger = suite.contract("AccountRules"), suite.contract("ConsentLedger")
    rows: list[Row] = []

    def gas(fn: Any, sender: Any) -> int:
        return int(chain.transact(fn, sender)["gasUsed"])

    research, treatment = code("dpv:ResearchAndDevelopment"), code("dpv:ServiceProvision")
    lab_results = code("dpv-pd:MedicalHealth/LabResults")
    gas(rules.functions.admit(lab.address), admin)
    gas(rules.functions.admit(relayer.address), admin)
    publish = gas(
        ledger.functions.publishPolicy(code("policy"), "ipfs://policy", [research, treatment]), lab
    )
    expiry = chain.latest_timestamp() + YEAR

    direct = gas(
        ledger.functions.grant(patient.address, lab.address, research, lab_results, expiry, 1),
        patient,
    )
    rows.append(Row("grant (direct, by the subject)", direct, 55_000))

    fresh = Account.create()
    request = GrantRequest(
        fresh.address,
        lab.address,
        research,
        lab_results,
        expiry,
        1,
        code("policy"),
        0,
        chain.latest_timestamp() + 3600,
    )
    signed = sign(fresh, request, chain_id=chain.chain_id, verifying_contract=ledger.address)
    relayed = gas(ledger.functions.grantSigned(*signed.call_args()), relayer)
    rows.append(Row("grantSigned (relayed, subject's first consent)", relayed, 75_000))

    use = gas(ledger.functions.recordUse(patient.address, research, lab_results, code("d")), lab)
    rows.append(Row("recordUse", use, 42_000))

    withdraw = gas(
        ledger.functions.withdraw(patient.address, lab.address, research, lab_results), patient
    )
    rows.append(Row("withdraw (direct, by the subject)", withdraw, 35_000))

    subject = dev[4]
    items = [
        (lab.address, research if i % 2 else treatment, code(f"category-{i}"), expiry, 1)
        for i in range(50)
    ]
    batch = gas(ledger.functions.grantBatch(subject.address, items), subject)
    rows.append(Row("grantBatch of 50, per consent", batch / 50, 30_000))

    uses = [
        (
            subject.address,
            research if i % 2 else treatment,
            code(f"category-{i}"),
            code(f"data-{i}"),
        )
        for i in range(50)
    ]
    batch_use = gas(ledger.functions.recordUseBatch(uses), lab)
    rows.append(Row("recordUseBatch of 50, per record", batch_use / 50, 15_000))

    hospital = dev[5]
    gas(rules.functions.admit(hospital.address), admin)
    consent_to_disclose = gas(
        ledger.functions.grantDisclosure(
            patient.address, hospital.address, lab.address, research, lab_results, expiry, 1
        ),
        patient,
    )
    rows.append(Row("grantDisclosure (direct)", consent_to_disclose, None, "for reference"))
    disclose = gas(
        ledger.functions.recordDisclosure(
            patient.address, lab.address, research, lab_results, code("d")
        ),
        hospital,
    )
    rows.append(Row("recordDisclosure", disclose, 45_000))
    for i in range(50):
        gas(
            ledger.functions.grantDisclosure(
                subject.address,
                hospital.address,
                lab.address,
                research,
                code(f"category-{i}"),
                expiry,
                1,
            ),
            subject,
        )
    disclosures = [
        (subject.address, lab.address, research, code(f"category-{i}"), code(f"data-{i}"))
        for i in range(50)
    ]
    batch_disclose = gas(ledger.functions.recordDisclosureBatch(disclosures), hospital)
    rows.append(Row("recordDisclosureBatch of 50, per record", batch_disclose / 50, 15_000))

    erasure = sign_erasure(
        patient,
        ErasureRequest(patient.address, lab.address, chain.latest_timestamp() + 3600),
        chain_id=chain.chain_id,
        verifying_contract=ledger.address,
    )
    erase = gas(ledger.functions.requestErasureSigned(*erasure.call_args()), relayer)
    rows.append(Row("signed erasure request (relayed)", erase, 70_000))

    rows.append(Row("publishPolicy (2 purposes)", publish, None, "for reference"))
    rows.append(Row("EAS attestation, for scale", 157_000, None, "157k-275k per attestation"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    rows = measure()
    if args.json:
        print(json.dumps([{**row.__dict__, "ok": row.ok} for row in rows], indent=2))
    else:
        print(f"{'operation':<50} {'gasUsed':>10} {'target':>10}  result")
        for row in rows:
            target = f"<= {row.target:,}" if row.target else "-"
            verdict = ("ok" if row.ok else "MISSED") if row.target else row.note
            print(f"{row.operation:<50} {row.gas:>10,.0f} {target:>10}  {verdict}")
    missed = [row.operation for row in rows if not row.ok]
    if missed:
        print(f"gas targets missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
