"""What an auditor reads about onward disclosure, checked against a real chain: an
organization's report lists the disclosures it made and those it received, and its title
says so (not "by" alone, which would claim the recipient disclosed them)."""

from __future__ import annotations

from pathlib import Path

from collective.audit import report, sync, verify
from collective.audit.render import render
from collective.deploy import Deployment
from tests.helpers import FAR_FUTURE, LAB_RESULTS, RESEARCH, World

REF = b"\x07" * 32


def test_an_organization_report_names_disclosures_made_and_received(
    w: World, suite: Deployment, tmp_path: Path
) -> None:
    patient, hospital, lab = w.patient.address, w.hospital, w.lab
    fn = w.ledger.functions
    w.tx(fn.grantDisclosure(patient, hospital.address, lab.address, RESEARCH, LAB_RESULTS,
                            FAR_FUTURE, 1), w.patient)  # fmt: skip
    w.tx(fn.recordDisclosure(patient, lab.address, RESEARCH, LAB_RESULTS, REF), hospital)
    db = tmp_path / "audit.sqlite"
    sync(w.chain, suite, db)
    assert verify(db, chain=w.chain, deployment=suite).ok
    for org in (hospital.address, lab.address):
        found = report(db, organization=org)
        assert len(found.disclosures) == 1
        for style in ("table", "html"):
            text = render(found, style)
            assert f"disclosures made or received by {org}" in text
            assert f"disclosures by {org}" not in text
    subject = render(report(db, subject=patient), "table")
    assert f"disclosures of {patient}" in subject
