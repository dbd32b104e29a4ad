"""The whole consent story on one chain, as a list of steps a person can read.

:func:`run_demo` plays it through the Python client and returns a :class:`DemoReport`;
``collective demo`` prints it (and ``--json`` dumps it). Every step is a real transaction or
read on the chain; the refusals are real reverts caught and explained.

1. The consortium deploys the suite with a three-member oversight board (2 of 3 to act) and
   admits a hospital and a research lab.
2. Both publish hash-pinned policies.
3. A patient, known only by a did:ethr DID, signs consent (EIP-712, offline, no gas) for the lab
   to use lab results for research; the lab relays it and gets a consent receipt.
4. The lab records uses of the patient's data.
5. The patient consents (signed) to the hospital passing its lab results to the lab for
   research; the hospital records the disclosure (onward disclosure, GDPR Art. 13(1)(e)).
6. The patient appoints a guardian, who consents for the patient to the hospital's treatment;
   then the patient takes back control (revokes the guardian) and withdraws the lab's consent
   and the disclosure consent.
7. The lab's next use and the hospital's next disclosure are refused by the contract; the lab
   learns from the chain which disclosures to stop acting on.
8. The patient asks the lab to erase its data (GDPR Art. 17; signed, the hospital relays it);
   the lab confirms with the hash of its erasure evidence, within the 30-day deadline.
9. The board suspends the lab by two of three votes; the suspended lab is refused.
10. The patient's history (consents, uses, disclosures, erasure), read from the chain's events.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collective.chain import Chain, connect
from collective.client import Collective
from collective.client.subject_history import identity_history
from collective.client.subject_records import (
    DISCLOSE,
    DISCLOSURE_GRANT,
    DISCLOSURE_WITHDRAW,
    ERASURE_CONFIRM,
    ERASURE_REQUEST,
    GRANT,
    USE,
    WITHDRAW,
)
from collective.client.usage import UseItem
from collective.config import ProjectConfig, load_config
from collective.deploy import deploy_suite, load_deployment
from collective.errors import CollectiveError, ConfigurationError, TransactionError
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


@dataclass(frozen=True)
class Step:
    """One thing that happened: a title, readable lines, and the facts as data."""

    title: str
    lines: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)
    refused: bool = False


@dataclass
class DemoReport:
    """Everything the demo did, in order."""

    network: str
    chain_id: int
    steps: list[Step] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    transactions: int = 0


Listener = Callable[[Step], None]


def run_demo(
    network: str | None = None,
    *,
    rpc: str | None = None,
    manifest: Path | None = None,
    config: ProjectConfig | None = None,
    on_step: Listener | None = None,
    chain: Chain | None = None,
) -> DemoReport:
    """Play the story on ``network`` or the node at ``rpc`` (default: a fresh embedded chain).

    On a node the actors are its well-known dev accounts (anvil, ``collective node --dev``)
    and the suite is deployed fresh; the demo needs ten dev accounts. If the network has a
    deployment of its own (``manifest``, default ``deployments/<network>.json``) whose
    AccountRules permissions the node, the demo's transacting accounts are admitted there first.

    Args:
        network: a network name of hardhat.config.json (default: its defaultNetwork).
        rpc: a JSON-RPC URL of a dev node; wins over ``network``.
        manifest: the network's own deployment manifest (read only, never written).
        config: the project configuration (default: loaded from hardhat.config.json).
        on_step: called with each :class:`Step` as soon as it happened.
        chain: a connection already open (then ``network`` and ``rpc`` are not used).

    Returns:
        The :class:`DemoReport`: the steps, the patient's history, the transaction count
        and the time taken (seconds).

    Raises:
        ConfigurationError: the chain has fewer than ten well-known dev accounts.
        ChainError: the node cannot be reached.
        CollectiveError: a step the story expects to succeed failed (or a use the ledger
            must refuse was accepted).
    """
    started = time.perf_counter()
    config = config or load_config()
    chain = chain or connect(network, rpc, config)
    if len(chain.dev_accounts) < 10:
        raise ConfigurationError(
            f"the demo needs ten well-known dev accounts, and {chain.where} has none",
            hint="run it on the embedded chain, on anvil, or on `collective node start --dev`",
        )
    story = _Story(chain, config, on_step, manifest)
    report = story.play()
    report.seconds = time.perf_counter() - started
    return report


class _Story:
    def __init__(
        self,
        chain: Chain,
        config: ProjectConfig,
        on_step: Listener | None,
        manifest: Path | None = None,
    ) -> None:
        self.chain = chain
        self.manifest = manifest
        self.config = config
        self.on_step = on_step
        dev = chain.dev_accounts
        self.accounts = {
            "consortium": dev[0],
            "hospital": dev[1],
            "lab": dev[2],
            "patient": dev[3],
            "guardian": dev[4],
            "member 1": dev[7],
            "member 2": dev[8],
            "member 3": dev[9],
        }
        self.report = DemoReport(network=chain.name, chain_id=chain.chain_id)
        self.first_block = 0

    def step(self, title: str, *lines: str, refused: bool = False, **data: Any) -> None:
        done = Step(title, tuple(lines), data, refused)
        self.report.steps.append(done)
        if self.on_step is not None:
            self.on_step(done)

    def as_(self, who: str) -> Collective:
        return self.admin.as_account(self.accounts[who])

    def play(self) -> DemoReport:
        self.first_block = self.chain.block_number()
        self.setup()
        self.policies()
        self.patient_consents()
        self.lab_uses()
        self.hospital_discloses()
        self.guardian_then_patient()
        self.refused_use()
        self.erasure()
        self.board_suspends()
        self.history()
        self.report.transactions = self._count_transactions()
        return self.report

    def setup(self) -> None:
        self.admit_to_network()  # before the demo's own suite, which lands at fresh addresses
        members = [self.accounts[m].address for m in ("member 1", "member 2", "member 3")]
        # a throwaway manifest: the demo never touches deployments/
        with tempfile.TemporaryDirectory(prefix="collective-demo-") as scratch:
            suite = deploy_suite(
                self.chain,
                self.accounts["consortium"],
                board_members=members,
                threshold=2,
                manifest_path=Path(scratch) / f"{self.chain.name}.json",
                fresh=True,
                config=self.config,
            )
        self.admin = Collective(self.chain, suite, self.accounts["consortium"])
        self.hospital, self.lab = self.as_("hospital"), self.as_("lab")
        self.patient, self.guardian = self.as_("patient"), self.as_("guardian")
        self.step(
            "The consortium deploys the ledger",
            f"AccountRules   {suite.address('AccountRules')}",
            f"ConsentLedger  {suite.address('ConsentLedger')}  (DID, policy, consent and usage "
            "registries)",
            f"OversightBoard {suite.address('OversightBoard')}  (3 members, 2 votes to act)",
            addresses=dict(suite.addresses),
        )
        lines = []
        for name, client in (
            ("St Mary's Hospital", self.hospital),
            ("Helix Research Lab", self.lab),
        ):
            admitted = self.admin.orgs.admit(client.address)
            lines.append(f"{name:<20} {client.address} admitted (block {admitted.block_number})")
        self.step("The consortium admits a hospital and a research lab", *lines)

    def admit_to_network(self) -> None:
        """On a node permissioned by an AccountRules of its own (`collective node` started
        from `node init`, Besu), admit the accounts that will send transactions there too.
        The network's rules are the ones its deployment manifest records; the subjects
        (patient, guardian) never send a transaction, so they need no admission."""
        if self.chain.embedded:
            return
        try:
            network = load_deployment(self.chain, self.manifest, verify=True, config=self.config)
        except CollectiveError:
            return  # no (live) deployment of the suite on this network: nothing to admit to
        rules = Collective(self.chain, network, self.accounts["consortium"])
        if not rules.orgs.is_admin(self.accounts["consortium"].address):
            return
        senders = ("hospital", "lab", "member 1", "member 2", "member 3")
        admitted = []
        for who in senders:
            address = self.accounts[who].address
            status = rules.orgs.profile(address).status
            if status == "unknown":
                rules.orgs.admit(address)
            elif status == "suspended":
                rules.orgs.reinstate(address)
            else:
                continue
            admitted.append(who)
        if admitted:
            self.step(
                "The network admits the accounts that will transact",
                f"{self.chain.where} is permissioned by AccountRules "
                f"{network.address('AccountRules')}: admitted {', '.join(admitted)}",
            )

    def policies(self) -> None:
        lines = []
        data: dict[str, Any] = {}
        for who, client in (("hospital", self.hospital), ("lab", self.lab)):
            content, uri, purposes = POLICIES[who]
            published = client.policies.publish(content, uri, purposes).policy
            lines.append(
                f"{who:<8} v{published.version} covers {', '.join(published.purposes)}; "
                f"sha256 {published.content_hash[:18]}...; {published.uri}"
            )
            data[who] = {"version": published.version, "hash": published.content_hash}
        self.step("Both publish hash-pinned policies", *lines, policies=data)

    def patient_consents(self) -> None:
        did = self.patient.did.did_of(self.patient.address)
        signed = self.patient.signing.sign_grant(
            self.lab.address,
            RESEARCH,
            LAB_RESULTS,
            expiry=self.chain.latest_timestamp() + 365 * 24 * 3600,
        )
        carried = SignedRequest.from_json(signed.to_json())  # it travels as JSON
        granted = self.lab.signing.relay(carried)
        receipt = build_receipt(
            self.chain,
            self.lab.deployment,
            granted.tx_hash,
            log_index=granted.log_index,
            controller={"name": "Helix Research Lab", "url": "https://helix-lab.example"},
            jurisdiction="EU",
        )
        verified = verify_receipt(self.chain, self.lab.deployment, receipt.to_json())
        self.patient_did = did
        self.step(
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

    def lab_uses(self) -> None:
        items = [
            UseItem(self.patient.address, RESEARCH, LAB_RESULTS, f"helix/cohort-7/sample-{i}")
            for i in (1, 2, 3)
        ]
        recorded = self.lab.usage.record_batch(items)
        self.step(
            "The lab records uses of the patient's data",
            f"{len(recorded.records)} uses in one transaction (block {recorded.block_number}); "
            "on chain only hashes of the sample references",
            *(
                f"  data ref {r.data_ref[:18]}... under policy v{r.policy_version}"
                for r in recorded.records
            ),
            uses=len(recorded.records),
        )

    def hospital_discloses(self) -> None:
        signed = self.patient.disclosure.sign_grant(
            self.hospital.address,
            self.lab.address,
            RESEARCH,
            LAB_RESULTS,
            expiry=self.chain.latest_timestamp() + 365 * 24 * 3600,
        )
        granted = self.hospital.disclosure.relay(signed)
        passed = self.hospital.disclosure.record(
            self.patient.address, self.lab.address, RESEARCH, LAB_RESULTS, "stmarys/ward-7/bloods-2"
        )
        (record,) = passed.records
        self.step(
            "The hospital passes the patient's results to the lab, under disclosure consent",
            f"the patient signed consent for the hospital to disclose {LAB_RESULTS} to the lab "
            f"for {RESEARCH}, under the lab's policy v{granted.policy_version}; the hospital "
            f"relayed it (block {granted.block_number})",
            f"the hospital recorded the disclosure (block {passed.block_number}, gas "
            f"{passed.gas_used:,}): data ref {record.data_ref[:18]}...; the lab may use it only "
            "under its own consent",
            disclosure={"block": passed.block_number, "data_ref": record.data_ref},
        )

    def guardian_then_patient(self) -> None:
        # The patient never pays gas (nor needs to be admitted to a permissioned network): it
        # signs the ERC-1056 delegation and the hospital relays it.
        appointed = self.hospital.did.add_delegate_signed(
            self.accounts["patient"], self.guardian.address, "sigAuth", GUARDIAN_VALIDITY
        )
        document = self.patient.did.resolve(self.patient.address)
        signed = self.guardian.signing.sign_grant(
            self.hospital.address, TREATMENT, HEALTH_RECORD, identity=self.patient.address
        )
        granted = self.hospital.signing.relay(signed)
        self.step(
            "The patient's guardian acts for the patient",
            f"the patient signed {self.guardian.address} in as a sigAuth delegate for 30 days "
            f"(relayed by the hospital, block {appointed.block_number}); the DID document "
            "now lists "
            f"{len(document.authentication)} authentication keys",
            f"the guardian signed consent for the hospital to use {HEALTH_RECORD} for "
            f"{TREATMENT}; the hospital relayed it: identity {granted.identity}, agent "
            f"{granted.agent}",
            guardian=self.guardian.address,
        )
        revoked = self.hospital.did.revoke_delegate_signed(
            self.accounts["patient"], self.guardian.address, "sigAuth"
        )
        withdrawal = self.patient.signing.sign_withdrawal(self.lab.address, RESEARCH, LAB_RESULTS)
        withdrawn = self.hospital.signing.relay(withdrawal)
        no_more = self.patient.disclosure.sign_withdrawal(
            self.hospital.address, self.lab.address, RESEARCH, LAB_RESULTS
        )
        stopped = self.hospital.disclosure.relay(no_more)
        self.step(
            "The patient takes back control and withdraws the lab's consents",
            f"the patient signed the guardian's revocation; the hospital relayed it "
            f"(block {revoked.block_number})",
            f"signed withdrawal relayed (block {withdrawn.block_number}): the lab may no longer "
            f"use {LAB_RESULTS} for {RESEARCH}",
            f"signed withdrawal of the disclosure consent relayed (block {stopped.block_number}):"
            " the hospital may no longer pass them to the lab",
        )

    def refused_use(self) -> None:
        try:
            self.lab.usage.record(self.patient.address, RESEARCH, LAB_RESULTS, "helix/sample-4")
        except TransactionError as exc:
            use_refused = exc
        else:
            raise CollectiveError("the ledger accepted a use after the consent was withdrawn")
        try:
            self.hospital.disclosure.record(
                self.patient.address, self.lab.address, RESEARCH, LAB_RESULTS, "stmarys/bloods-3"
            )
        except TransactionError as exc:
            disclosure_refused = exc
        else:
            raise CollectiveError(
                "the ledger accepted a disclosure after its consent was withdrawn"
            )
        to_stop = self.lab.disclosure.to_stop()
        self.step(
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

    def erasure(self) -> None:
        signed = self.patient.erasure.sign(self.lab.address)
        asked = self.hospital.erasure.relay(signed)
        evidence = b"Helix Research Lab: the patient's samples and results deleted, backups rotated"
        done = self.lab.erasure.confirm(self.patient.address, evidence)
        self.step(
            "The patient asks the lab to erase its data; the lab confirms",
            f"erasure request signed by the patient, relayed by the hospital (block "
            f"{asked.block_number}): from now on every use by the lab is refused",
            f"confirmation due {datetime.fromtimestamp(asked.due_at, UTC):%Y-%m-%d} (30 days)",
            f"the lab confirmed in block {done.block_number} with evidence hash "
            f"{done.evidence_hash[:18]}... ({'late' if done.late else 'in time'})",
            due_at=asked.due_at,
            evidence_hash=done.evidence_hash,
        )

    def board_suspends(self) -> None:
        one, two = self.as_("member 1"), self.as_("member 2")
        proposed = one.oversight.suspend(self.lab.address, "unreported-data-export")
        approved = two.oversight.approve(proposed.proposal_id)
        status = self.admin.orgs.profile(self.lab.address).status
        lines = [
            f"member 1 proposed #{proposed.proposal_id} to suspend the lab "
            f"({proposed.approvals} of 2 votes)",
            f"member 2 approved: {approved.approvals} of 2, executed in block "
            f"{approved.block_number}; the lab is now {status}",
        ]
        try:
            self.lab.policies.publish(b"v2", "https://helix-lab.example/policy/v2", [RESEARCH])
        except TransactionError as exc:
            lines.append(f"the suspended lab tries to publish a policy: {exc.error_name}")
        self.step("The oversight board suspends the lab, 2 of 3", *lines, status=status)

    def history(self) -> None:
        names: dict[str, str] = {
            self.hospital.address: "St Mary's Hospital",
            self.lab.address: "Helix Research Lab",
        }
        rows: list[dict[str, Any]] = []
        for row in identity_history(self.patient, self.patient.address, names=names):
            what = _WHAT.get(row.action, row.action)
            if row.policy_version is not None:
                what += f" (policy v{row.policy_version})"
            organization = row.organization_name or row.organization
            if row.recipient is not None:
                organization += f" -> {row.recipient_name or row.recipient}"
            if row.agent is not None:
                by = _who(row.agent, self.accounts)
            else:
                by = row.organization_name or row.organization
            data = row.data_ref or row.evidence_hash or ""
            rows.append(
                {
                    "block": row.block,
                    "time": datetime.fromtimestamp(row.timestamp, UTC).strftime(
                        "%Y-%m-%d %H:%M:%S"
                    ),
                    "what": what,
                    "organization": organization,
                    "purpose": row.purpose,
                    "category": row.category,
                    "by": by,
                    "data": data[:14] + "..." if data else "",
                }
            )
        self.report.history = rows

    def _count_transactions(self) -> int:
        latest = self.chain.block_number()
        return sum(
            len(self.chain.get_block(n)["transactions"])
            for n in range(self.first_block + 1, latest + 1)
        )


_WHAT = {
    GRANT: "consent granted",
    WITHDRAW: "consent withdrawn",
    USE: "data used",
    DISCLOSE: "data disclosed",
    DISCLOSURE_GRANT: "disclosure consented",
    DISCLOSURE_WITHDRAW: "disclosure consent withdrawn",
    ERASURE_REQUEST: "erasure requested",
    ERASURE_CONFIRM: "erasure confirmed",
}


def _who(address: str, accounts: dict[str, Any]) -> str:
    for name, account in accounts.items():
        if account.address == address:
            return name
    return address


__all__ = ["DemoReport", "Step", "run_demo"]
