"""The demo's story, step by step, after the cast is on stage (:mod:`collective.demo.cast`).

Each step is a function of the :class:`~collective.demo.cast.Cast` that does real
transactions and reads on the chain and tells what happened as one or more
:class:`~collective.demo.report.Step` s; :func:`play` runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from collective.chain import Chain
from collective.client.usage import UseItem
from collective.config import ProjectConfig
from collective.demo.cast import Cast, assemble
from collective.demo.report import DemoReport, Listener, Narration, history_rows
from collective.errors import CollectiveError, TransactionError
from collective.ledger.signing import SignedRequest
from collective.receipts import build_receipt, verify_receipt

RESEARCH = "dpv:ResearchAndDevelopment"
TREATMENT = "dpv:ServiceProvision"
LAB_RESULTS = "dpv-pd:MedicalHealth"
HEALTH_RECORD = "dpv-pd:HealthRecord"
GUARDIAN_VALIDITY = 30 * 24 * 3600
POLICIES = {
    "hospital": (
        b"St Mary's Hospital privacy policy v1: we use your health record to treat you.",
        "https://stmarys.example/privacy/v1",
        [TREATMENT],
    ),
    "lab": (
        b"Helix Research Lab policy v1: with your consent, lab results for approved research.",
        "https://helix-lab.example/policy/v1",
        [RESEARCH],
    ),
}


def play(
    chain: Chain,
    accounts: dict[str, LocalAccount],
    config: ProjectConfig,
    manifest: Path | None = None,
    on_step: Listener | None = None,
    keep: Path | None = None,
) -> DemoReport:
    """Assemble the cast on ``chain`` and play every step of the story in order.

    Args:
        chain: the connection.
        accounts: role name -> account (:func:`~collective.demo.cast.roles`).
        config: the project configuration.
        manifest: the network's own deployment manifest (read only).
        on_step: called with each :class:`~collective.demo.report.Step` as soon as it happened.
        keep: where to write the demo's deployment manifest
            (:func:`~collective.demo.cast.assemble`; None: a throwaway one).

    Returns:
        The :class:`~collective.demo.report.DemoReport` with its steps, the patient's
        history and the number of transactions since the story began (``seconds`` is left
        at 0 for the caller to set).

    Raises:
        InvalidInputError: ``keep`` exists, or the chain is the embedded one.
        CollectiveError: a step the story expects to succeed failed (or a use the ledger
            must refuse was accepted).
        ChainError: the node could not be reached.
    """
    report = DemoReport(network=chain.name, chain_id=chain.chain_id)
    narration = Narration(report, on_step)
    first_block = chain.block_number()
    cast = assemble(chain, accounts, config, manifest, narration, keep)
    for step in _STORY:
        step(cast, narration)
    latest = chain.block_number()
    report.transactions = sum(
        len(chain.get_block(n)["transactions"]) for n in range(first_block + 1, latest + 1)
    )
    return report


def _policies(cast: Cast, narration: Narration) -> None:
    """2. Both organizations publish hash-pinned policies."""
    lines = []
    data: dict[str, Any] = {}
    for who, client in (("hospital", cast.hospital), ("lab", cast.lab)):
        content, uri, purposes = POLICIES[who]
        published = client.policies.publish(content, uri, purposes).policy
        lines.append(
            f"{who:<8} v{published.version} covers {', '.join(published.purposes)}; "
            f"sha256 {published.content_hash[:18]}...; {published.uri}"
        )
        data[who] = {"version": published.version, "hash": published.content_hash}
    narration.step("Both publish hash-pinned policies", *lines, policies=data)


def _patient_consents(cast: Cast, narration: Narration) -> None:
    """3. The patient signs consent offline (EIP-712); the lab relays it and gets a consent
    receipt (ISO/IEC TS 27560) that verifies against the chain."""
    did = cast.patient.did.did_of(cast.patient.address)
    signed = cast.patient.signing.sign_grant(
        cast.lab.address,
        RESEARCH,
        LAB_RESULTS,
        expiry=cast.chain.latest_timestamp() + 365 * 24 * 3600,
    )
    carried = SignedRequest.from_json(signed.to_json())  # it travels as JSON
    granted = cast.lab.signing.relay(carried)
    receipt = build_receipt(
        cast.chain,
        cast.lab.deployment,
        granted.tx_hash,
        log_index=granted.log_index,
        controller={"name": "Helix Research Lab", "url": "https://helix-lab.example"},
        jurisdiction="EU",
    )
    verified = verify_receipt(cast.chain, cast.lab.deployment, receipt.to_json())
    narration.step(
        "A patient consents, gasless: signs offline, the lab relays",
        f"patient DID   {did}",
        f"consent       lab may use {LAB_RESULTS} for {RESEARCH}, policy v1, one year",
        f"signature     EIP-712 typed data, {len(signed.to_json())} bytes of JSON, "
        f"relayed by the lab (gas {granted.gas_used:,} paid by the lab)",
        f"receipt       {receipt.receipt_id} (Kantara CR v1.1 / ISO/IEC TS 27560): "
        f"{'verifies against the chain' if verified.ok else 'DOES NOT VERIFY'}",
        did=did,
        consent_id=granted.consent_id,
        receipt=receipt.to_dict(),
    )


def _lab_uses(cast: Cast, narration: Narration) -> None:
    """4. The lab records three uses of the patient's data in one transaction."""
    items = [
        UseItem(cast.patient.address, RESEARCH, LAB_RESULTS, f"helix/cohort-7/sample-{i}")
        for i in (1, 2, 3)
    ]
    recorded = cast.lab.usage.record_batch(items)
    narration.step(
        "The lab records uses of the patient's data",
        f"{len(recorded.records)} uses in one transaction (block {recorded.block_number}); "
        "on chain only hashes of the sample references",
        *(
            f"  data ref {r.data_ref[:18]}... under policy v{r.policy_version}"
            for r in recorded.records
        ),
        uses=len(recorded.records),
    )


def _hospital_discloses(cast: Cast, narration: Narration) -> None:
    """5. The patient consents (signed) to the hospital passing its lab results to the lab;
    the hospital records the disclosure (onward disclosure, GDPR Art. 13(1)(e))."""
    signed = cast.patient.disclosure.sign_grant(
        cast.hospital.address,
        cast.lab.address,
        RESEARCH,
        LAB_RESULTS,
        expiry=cast.chain.latest_timestamp() + 365 * 24 * 3600,
    )
    granted = cast.hospital.disclosure.relay(signed)
    passed = cast.hospital.disclosure.record(
        cast.patient.address, cast.lab.address, RESEARCH, LAB_RESULTS, "stmarys/ward-7/bloods-2"
    )
    (record,) = passed.records
    narration.step(
        "The hospital passes the patient's results to the lab, under disclosure consent",
        f"the patient signed consent for the hospital to disclose {LAB_RESULTS} to the lab "
        f"for {RESEARCH}, under the lab's policy v{granted.policy_version}; the hospital "
        f"relayed it (block {granted.block_number})",
        f"the hospital recorded the disclosure (block {passed.block_number}, gas "
        f"{passed.gas_used:,}): data ref {record.data_ref[:18]}...; the lab may use it only "
        "under its own consent",
        disclosure={"block": passed.block_number, "data_ref": record.data_ref},
    )


def _guardian_then_patient(cast: Cast, narration: Narration) -> None:
    """6. A guardian (an ERC-1056 sigAuth delegate) consents for the patient; then the patient
    revokes the guardian and withdraws the lab's consent and the disclosure consent."""
    # The patient never pays gas (nor needs to be admitted to a permissioned network): it
    # signs the ERC-1056 delegation and the hospital relays it.
    appointed = cast.hospital.did.add_delegate_signed(
        cast.accounts["patient"], cast.guardian.address, "sigAuth", GUARDIAN_VALIDITY
    )
    document = cast.patient.did.resolve(cast.patient.address)
    signed = cast.guardian.signing.sign_grant(
        cast.hospital.address, TREATMENT, HEALTH_RECORD, identity=cast.patient.address
    )
    granted = cast.hospital.signing.relay(signed)
    narration.step(
        "The patient's guardian acts for the patient",
        f"the patient signed {cast.guardian.address} in as a sigAuth delegate for 30 days "
        f"(relayed by the hospital, block {appointed.block_number}); the DID document "
        "now lists "
        f"{len(document.authentication)} authentication keys",
        f"the guardian signed consent for the hospital to use {HEALTH_RECORD} for "
        f"{TREATMENT}; the hospital relayed it: identity {granted.identity}, agent "
        f"{granted.agent}",
        guardian=cast.guardian.address,
    )
    revoked = cast.hospital.did.revoke_delegate_signed(
        cast.accounts["patient"], cast.guardian.address, "sigAuth"
    )
    withdrawal = cast.patient.signing.sign_withdrawal(cast.lab.address, RESEARCH, LAB_RESULTS)
    withdrawn = cast.hospital.signing.relay(withdrawal)
    no_more = cast.patient.disclosure.sign_withdrawal(
        cast.hospital.address, cast.lab.address, RESEARCH, LAB_RESULTS
    )
    stopped = cast.hospital.disclosure.relay(no_more)
    narration.step(
        "The patient takes back control and withdraws the lab's consents",
        f"the patient signed the guardian's revocation; the hospital relayed it "
        f"(block {revoked.block_number})",
        f"signed withdrawal relayed (block {withdrawn.block_number}): the lab may no longer "
        f"use {LAB_RESULTS} for {RESEARCH}",
        f"signed withdrawal of the disclosure consent relayed (block {stopped.block_number}):"
        " the hospital may no longer pass them to the lab",
    )


def _refused_use(cast: Cast, narration: Narration) -> None:
    """7. The lab's next use and the hospital's next disclosure are refused by the contract;
    the lab reads from the chain which disclosures to stop acting on."""
    try:
        cast.lab.usage.record(cast.patient.address, RESEARCH, LAB_RESULTS, "helix/sample-4")
    except TransactionError as exc:
        use_refused = exc
    else:
        raise CollectiveError("the ledger accepted a use after the consent was withdrawn")
    try:
        cast.hospital.disclosure.record(
            cast.patient.address, cast.lab.address, RESEARCH, LAB_RESULTS, "stmarys/bloods-3"
        )
    except TransactionError as exc:
        disclosure_refused = exc
    else:
        raise CollectiveError("the ledger accepted a disclosure after its consent was withdrawn")
    to_stop = cast.lab.disclosure.to_stop()
    narration.step(
        "The lab and the hospital try again: both refused by the contract",
        f"lab use:            {use_refused.error_name}: {use_refused.message}",
        f"hospital discloses: {disclosure_refused.error_name}: {disclosure_refused.message}",
        f"the lab asks the chain what to stop: {len(to_stop)} withdrawn disclosure "
        f"consent{'s' * (len(to_stop) != 1)} ("
        + ", ".join(f"{t.reason}, {t.disclosures} received under it" for t in to_stop)
        + ")",
        refused=True,
        error=use_refused.error_name,
        disclosure_error=disclosure_refused.error_name,
        to_stop=len(to_stop),
    )


def _erasure(cast: Cast, narration: Narration) -> None:
    """8. The patient asks the lab to erase its data (GDPR Art. 17); the lab confirms."""
    signed = cast.patient.erasure.sign(cast.lab.address)
    asked = cast.hospital.erasure.relay(signed)
    evidence = b"Helix Research Lab: the patient's samples and results deleted, backups rotated"
    done = cast.lab.erasure.confirm(cast.patient.address, evidence)
    narration.step(
        "The patient asks the lab to erase its data; the lab confirms",
        f"erasure request signed by the patient, relayed by the hospital (block "
        f"{asked.block_number}): from now on every use by the lab is refused",
        f"confirmation due {datetime.fromtimestamp(asked.due_at, UTC):%Y-%m-%d} (30 days)",
        f"the lab confirmed in block {done.block_number} with evidence hash "
        f"{done.evidence_hash[:18]}... ({'late' if done.late else 'in time'})",
        due_at=asked.due_at,
        evidence_hash=done.evidence_hash,
    )


def _board_suspends(cast: Cast, narration: Narration) -> None:
    """9. The oversight board suspends the lab by 2 of 3 votes; the suspended lab is refused."""
    one, two = cast.acting_as("member 1"), cast.acting_as("member 2")
    proposed = one.oversight.suspend(cast.lab.address, "unreported-data-export")
    approved = two.oversight.approve(proposed.proposal_id)
    status = cast.admin.orgs.profile(cast.lab.address).status
    lines = [
        f"member 1 proposed #{proposed.proposal_id} to suspend the lab "
        f"({proposed.approvals} of 2 votes)",
        f"member 2 approved: {approved.approvals} of 2, executed in block "
        f"{approved.block_number}; the lab is now {status}",
    ]
    try:
        cast.lab.policies.publish(b"v2", "https://helix-lab.example/policy/v2", [RESEARCH])
    except TransactionError as exc:
        lines.append(f"the suspended lab tries to publish a policy: {exc.error_name}")
    narration.step("The oversight board suspends the lab, 2 of 3", *lines, status=status)


def _history(cast: Cast, narration: Narration) -> None:
    """10. The patient's history, read from the chain's events, goes into the report."""
    names: dict[str, str] = {
        cast.hospital.address: "St Mary's Hospital",
        cast.lab.address: "Helix Research Lab",
    }
    narration.report.history = history_rows(cast.patient, names, cast.accounts)


_STORY: tuple[Callable[[Cast, Narration], None], ...] = (
    _policies,
    _patient_consents,
    _lab_uses,
    _hospital_discloses,
    _guardian_then_patient,
    _refused_use,
    _erasure,
    _board_suspends,
    _history,
)

__all__ = [
    "GUARDIAN_VALIDITY",
    "HEALTH_RECORD",
    "LAB_RESULTS",
    "POLICIES",
    "RESEARCH",
    "TREATMENT",
    "play",
]
