"""Healthcare: a hospital and a research lab share patient data for research under consent.

    python scripts/examples/healthcare.py                           # the embedded chain
    python scripts/examples/healthcare.py --network anvil           # a named network
    python scripts/examples/healthcare.py --rpc http://127.0.0.1:8545 --manifest dep.json

The story: the consortium admits St Mary's Hospital and the Helix Research Lab; both publish
their policies. Patients are did:ethr identities. Ana and Ben grant consent themselves (they
pay gas); Chloe and Dara have no ether, so they sign their consent as JSON and the hospital
relays it, each with a pairwise identity for the lab derived from one secret, a mnemonic
(``collective.Subject``: no other organization can link it to them); Eli is a child, so his
parent (a ``sigAuth`` guardian of his DID) signs for him.
The lab records uses in batches. Ana withdraws, and the lab's next use of her data is refused.
Ben lets the hospital pass his records to the lab (onward disclosure); when he withdraws that
consent, the hospital's next disclosure is refused and the lab learns from the chain what to
stop. Fay, a new patient with no ether, asks the lab to erase her data (signed, the hospital
relays it) and the lab confirms with the hash of its evidence.
Last, each patient's data-use history.

On the embedded chain (the default) the suite is deployed fresh. On a node, the deployment
manifest is used (``--manifest``, default ``deployments/<network>.json``) and written by
deploying the suite when there is none. Actors are the chain's dev accounts when it has them
(anvil, embedded); elsewhere name keystore accounts: ``--admin``, ``--hospital``, ``--lab``,
``--patient`` (twice), password from ``COLLECTIVE_PASSWORD``. Chloe, Dara, Eli and his parent
are new keys in every run: they never need ether.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from collective import (
    Collective,
    CollectiveError,
    ConsentError,
    SignedErasure,
    SignedRequest,
    Subject,
)
from collective.accounts import resolve_account
from collective.chain import Chain, connect
from collective.client.consent import GrantItem
from collective.client.usage import UseItem
from collective.deploy import Deployment, deploy_suite, load_deployment
from collective.did import SIG_AUTH
from collective.errors import ConfigurationError

RESEARCH = "dpv:ResearchAndDevelopment"
TREATMENT = "dpv:ServiceProvision"
HEALTH = "dpv-pd:MedicalHealth"
GENETIC = "dpv-pd:Genetic"
YEAR = 365 * 24 * 3600

# Dev account index of each actor on dev chains (the board is 7, 8, 9 when we deploy).
DEV = {"admin": 0, "hospital": 1, "lab": 2}
PATIENTS_DEV = [3, 4]
BOARD_DEV = [7, 8, 9]


def say(text: str = "") -> None:
    print(text, flush=True)


def step(title: str) -> None:
    say()
    say(f"== {title}")


# --- setup: chain, actors, deployment ---------------------------------------------------------


def actor(chain: Chain, role: str, given: str | None, dev_index: int) -> LocalAccount:
    """The account playing ``role``: ``given`` (keystore name, address, index) or a dev account."""
    if given is None and not chain.dev_accounts:
        raise ConfigurationError(
            f"{chain.where} has no dev accounts: name the {role} account with --{role}",
            hint="a keystore account name; its password comes from COLLECTIVE_PASSWORD",
        )
    return resolve_account(chain, given if given is not None else dev_index)


def deployment(chain: Chain, admin: LocalAccount, manifest: Path | None) -> Deployment:
    """The suite: deployed fresh on the embedded chain, else loaded from (or written to) the
    manifest."""
    if chain.embedded:
        # The embedded chain ends with the process: its manifest goes to a scratch folder.
        path = manifest or Path(tempfile.gettempdir()) / "collective-examples" / "healthcare.json"
        members = _board(chain, admin)
        return deploy_suite(
            chain,
            admin,
            board_members=members,
            threshold=min(2, len(members)),
            manifest_path=path,
            fresh=True,
        )
    from collective.config import load_config
    from collective.deploy import default_manifest_path

    path = manifest or default_manifest_path(chain, load_config())
    if path.exists():
        found = load_deployment(chain, path)
        say(f"using the deployment in {path}")
        return found
    members = _board(chain, admin)
    say(f"no deployment manifest at {path}: deploying the suite")
    return deploy_suite(
        chain, admin, board_members=members, threshold=min(2, len(members)), manifest_path=path
    )


def _board(chain: Chain, admin: LocalAccount) -> list[str]:
    if len(chain.dev_accounts) > max(BOARD_DEV):
        return [chain.dev_accounts[i].address for i in BOARD_DEV]
    return [admin.address]


# --- the story ----------------------------------------------------------------------------------


def admit(admin: Collective, org: Collective, name: str) -> None:
    status = admin.orgs.profile(org.address).status
    if status == "unknown":
        done = admin.orgs.admit(org.address)
        say(f"admitted {name} ({org.address})  [gas {done.gas_used:,}]")
    elif status == "suspended":
        admin.orgs.reinstate(org.address)
        say(f"reinstated {name} ({org.address})")
    else:
        say(f"{name} ({org.address}) is already an active member")


def publish(org: Collective, name: str, purposes: list[str]) -> int:
    document = f"{name} data-use policy: we use your data only for {', '.join(purposes)}."
    slug = "".join(c for c in name.lower().replace(" ", "-") if c.isalnum() or c == "-")
    uri = f"https://{slug}.example/privacy"
    published = org.policies.publish(document.encode(), uri, purposes).policy
    say(
        f"{name} published policy v{published.version} ({uri}, sha256 "
        f"{published.content_hash[:14]}...) covering {', '.join(published.purposes)}"
    )
    return published.version


def direct_consents(patients: dict[str, Collective], lab: Collective) -> None:
    for name, patient in patients.items():
        batch = patient.consent.grant_batch(
            [GrantItem(lab.address, RESEARCH, HEALTH), GrantItem(lab.address, RESEARCH, GENETIC)]
        )
        say(
            f"{name} ({patient.did.did_of(patient.address)}) granted the lab research use of "
            f"{HEALTH} and {GENETIC} themselves  [one tx, gas {batch.gas_used:,}]"
        )


def signed_consents(hospital: Collective, lab: Collective, people: dict[str, LocalAccount]) -> None:
    """Patients without ether sign offline; the JSON travels to the hospital, which relays."""
    inbox: list[str] = []
    for name, key in people.items():
        patient = hospital.as_account(key)  # the patient's own wallet: it signs, never sends
        signed = patient.signing.sign_grant(lab.address, RESEARCH, HEALTH)
        inbox.append(signed.to_json())
        say(f"{name} signed a consent for the lab ({len(inbox[-1])} bytes of JSON, no gas)")
    relayed = hospital.signing.relay_batch([SignedRequest.from_json(text) for text in inbox])
    say(
        f"the hospital relayed {len(relayed.items)} signed consents in one transaction "
        f"[gas {relayed.gas_used:,}, paid by the hospital]"
    )


def appoint_guardian(relayer: Collective, child: LocalAccount, guardian: str) -> None:
    """The child's key signs ERC-1056 ``addDelegate(sigAuth, guardian)`` offline and the
    hospital relays it (``addDelegateSigned``): the child needs no ether."""
    relayer.did.add_delegate_signed(child, guardian, SIG_AUTH, YEAR)


def guardian_consent(
    hospital: Collective, lab: Collective, child: LocalAccount, parent: LocalAccount
) -> None:
    appoint_guardian(hospital, child, parent.address)
    doc = hospital.did.resolve(child.address)
    say(
        f"Eli (a child, {doc.id}) appointed his parent {parent.address} as sigAuth guardian "
        f"for a year; his DID document lists {len(doc.document['authentication'])} "
        f"authentication methods"
    )
    wallet = hospital.as_account(parent)  # the parent's wallet signs for Eli's identity
    signed = wallet.signing.sign_grant(lab.address, RESEARCH, HEALTH, identity=child.address)
    granted = hospital.signing.relay(SignedRequest.from_json(signed.to_json()))
    say(
        f"the parent signed Eli's consent, the hospital relayed it: identity {granted.identity}, "
        f"agent {granted.agent} (the guardian)"
    )


def record_uses(lab: Collective, names: dict[str, str], study: str) -> None:
    items = [UseItem(addr, RESEARCH, HEALTH, f"{study}/{name}") for name, addr in names.items()]
    done = lab.usage.record_batch(items)
    say(
        f"the lab recorded {len(done.records)} uses for {study} in one transaction "
        f"[block {done.block_number}, gas {done.gas_used:,}]"
    )


def withdraw_and_refuse(ana: Collective, lab: Collective) -> None:
    gone = ana.consent.withdraw(lab.address, RESEARCH, HEALTH)
    say(f"Ana withdrew her consent for {HEALTH}  [gas {gone.gas_used:,}]")
    covered = lab.consent.is_covered(ana.address, lab.address, RESEARCH, HEALTH)
    say(f"is the lab's use of Ana's {HEALTH} covered now? {covered}")
    try:
        lab.usage.record(ana.address, RESEARCH, HEALTH, "study-3/Ana")
    except ConsentError as refused:
        say(f"REFUSED: the lab's next use of Ana's data ({refused.error_name}): {refused.message}")
    else:
        raise ConfigurationError("the use after Ana's withdrawal was not refused")


def disclosure(ben: Collective, hospital: Collective, lab: Collective) -> None:
    """Ben consents that the hospital pass his records to the lab; the hospital does; Ben
    withdraws that consent; the next disclosure is refused; the lab asks what to stop."""
    granted = ben.disclosure.grant(hospital.address, lab.address, RESEARCH, HEALTH)
    say(
        f"Ben consented that the hospital pass his {HEALTH} to the lab for {RESEARCH}, under "
        f"the lab's policy v{granted.policy_version}  [gas {granted.gas_used:,}]"
    )
    passed = hospital.disclosure.record(ben.address, lab.address, RESEARCH, HEALTH, "ward-3/Ben")
    say(
        f"the hospital disclosed Ben's {HEALTH} to the lab [block {passed.block_number}, gas "
        f"{passed.gas_used:,}]; the lab uses it only under its own consent from Ben"
    )
    ben.disclosure.withdraw(hospital.address, lab.address, RESEARCH, HEALTH)
    try:
        hospital.disclosure.record(ben.address, lab.address, RESEARCH, HEALTH, "ward-3/Ben-2")
    except ConsentError as refused:
        say(f"REFUSED: the hospital's next disclosure of Ben's data ({refused.error_name})")
    else:
        raise ConfigurationError("the disclosure after Ben's withdrawal was not refused")
    mine = [t for t in lab.disclosure.to_stop() if t.identity == ben.address]
    say(
        f"the lab asks the chain what to stop: Ben's consent {mine[0].reason}, after "
        f"{mine[0].disclosures} disclosure(s) to the lab"
    )


def erasure(hospital: Collective, lab: Collective) -> None:
    """Fay (no ether) consents, the lab uses her data, she asks the lab to erase it."""
    fay = hospital.as_account(Account.create())  # her wallet signs; the hospital relays
    hospital.signing.relay(fay.signing.sign_grant(lab.address, RESEARCH, HEALTH))
    lab.usage.record(fay.address, RESEARCH, HEALTH, "study-1/Fay")
    signed = SignedErasure.from_json(fay.erasure.sign(lab.address).to_json())  # travels as JSON
    asked = hospital.erasure.relay(signed)
    due = datetime.fromtimestamp(asked.due_at, UTC).strftime("%Y-%m-%d")
    say(f"Fay asked the lab to erase her data (signed, relayed by the hospital); due {due}")
    try:
        lab.usage.record(fay.address, RESEARCH, HEALTH, "study-2/Fay")
    except ConsentError as refused:
        say(f"REFUSED: the lab's next use of Fay's data ({refused.error_name})")
    pending = [p for p in lab.erasure.pending() if p.identity == fay.address]
    done = lab.erasure.confirm(fay.address, b"Helix: Fay's samples and results deleted")
    say(
        f"the lab had {len(pending)} pending request from Fay and confirmed it "
        f"({'late' if done.late else 'in time'}, evidence sha256 {done.evidence_hash[:14]}...)"
    )


def histories(client: Collective, names: dict[str, str], orgs: dict[str, str]) -> None:
    for name, address in names.items():
        records = client.usage.history(identity=address)
        say(f"{name} ({client.did.did_of(address)}): {len(records)} use(s)")
        for r in records:
            when = datetime.fromtimestamp(r.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
            org = orgs.get(r.organization, r.organization)
            say(
                f"  {when}  {org:<20} {r.purpose:<28} {r.category:<22} "
                f"policy v{r.policy_version}  data {r.data_ref[:12]}...  block "
                f"{r.where.block_number}"
            )


def story(
    admin: Collective, hospital: Collective, lab: Collective, patients: dict[str, Collective]
) -> None:
    step("1. The consortium admits the hospital and the research lab")
    admit(admin, hospital, "St Mary's Hospital")
    admit(admin, lab, "Helix Research Lab")

    step("2. Both publish their data-use policies")
    publish(hospital, "St Mary's Hospital", [TREATMENT, RESEARCH])
    publish(lab, "Helix Research Lab", [RESEARCH])

    step("3. Patients consent directly (they pay gas)")
    direct_consents(patients, lab)

    step("4. Patients without ether sign; the hospital relays (gasless)")
    # one mnemonic each; the identity the lab sees is theirs for the lab alone (pairwise)
    gasless = {
        name: Subject.new(chain_id=lab.chain.chain_id)[0]
        .in_consortium(lab)
        .identity_for(lab.address)
        .account
        for name in ("Chloe", "Dara")
    }
    signed_consents(hospital, lab, gasless)

    step("5. A child patient: his guardian signs for him")
    child, parent = Account.create(), Account.create()
    guardian_consent(hospital, lab, child, parent)

    who = {name: p.address for name, p in patients.items()}
    who |= {name: key.address for name, key in gasless.items()} | {"Eli": child.address}
    step("6. The lab records uses in batches")
    record_uses(lab, who, "study-1")
    record_uses(lab, {name: who[name] for name in ("Ana", "Chloe")}, "study-2")

    step("7. Ana withdraws; the lab's next use is refused")
    withdraw_and_refuse(patients["Ana"], lab)

    step("8. Ben's records go from the hospital to the lab, until he withdraws that consent")
    disclosure(patients["Ben"], hospital, lab)

    step("9. Fay asks the lab to erase her data; the lab confirms")
    erasure(hospital, lab)

    step("10. Each patient's data-use history")
    orgs = {hospital.address: "St Mary's Hospital", lab.address: "Helix Research Lab"}
    histories(lab, who, orgs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", help="named network from hardhat.config.json")
    parser.add_argument("--rpc", help="JSON-RPC URL of any node (overrides --network)")
    parser.add_argument("--manifest", type=Path, help="deployment manifest to use or write")
    for role in ("admin", "hospital", "lab"):
        parser.add_argument(f"--{role}", help=f"the {role}'s account (keystore name)")
    parser.add_argument("--patient", action="append", help="a paying patient (twice)")
    args = parser.parse_args(argv)
    try:
        chain = connect(args.network, args.rpc)
        say(f"Healthcare example on {chain.name} (chain {chain.chain_id}, {chain.where})")
        admin = actor(chain, "admin", args.admin, DEV["admin"])
        suite = deployment(chain, admin, args.manifest)
        say(f"ConsentLedger at {suite.address('ConsentLedger')}")
        base = Collective(chain, suite, admin)
        hospital = base.as_account(actor(chain, "hospital", args.hospital, DEV["hospital"]))
        lab = base.as_account(actor(chain, "lab", args.lab, DEV["lab"]))
        given = args.patient or [None, None]
        keys = [actor(chain, "patient", g, i) for g, i in zip(given, PATIENTS_DEV, strict=False)]
        patients = {n: base.as_account(k) for n, k in zip(("Ana", "Ben"), keys, strict=False)}
        story(base, hospital, lab, patients)
    except CollectiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    say()
    say("done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
