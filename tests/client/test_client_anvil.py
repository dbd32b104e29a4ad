"""The client on a real node (anvil): many threads through one account, another program
sharing the account, and signatures carried between processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from collective import Collective
from collective.chain import Chain
from collective.deploy import deploy_suite

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
THREADS = 8
USES_PER_THREAD = 12


def test_eight_threads_record_uses_through_one_account(anvil_chain: Chain, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dev = anvil_chain.dev_accounts
    suite = deploy_suite(anvil_chain, dev[0], manifest_path=tmp_path / "anvil.json")
    admin = Collective(anvil_chain, suite, dev[0])
    lab, patient = admin.as_account(dev[2]), admin.as_account(dev[3])
    admin.orgs.admit(lab.address)
    lab.policies.publish(b"lab policy", "https://lab.example/v1", [RESEARCH])
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    nonce_before = anvil_chain.get_transaction_count(lab.address)

    def work(thread: int) -> list[str]:
        return [
            lab.usage.record(patient.address, RESEARCH, HEALTH, f"t{thread}/r{i}").tx_hash
            for i in range(USES_PER_THREAD)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        hashes = [h for chunk in pool.map(work, range(THREADS)) for h in chunk]

    total = THREADS * USES_PER_THREAD
    assert len(set(hashes)) == total  # every use its own transaction, none lost
    assert anvil_chain.get_transaction_count(lab.address) == nonce_before + total
    refs = {r.data_ref for r in lab.usage.history(identity=patient.address)}
    assert len(refs) == total


def test_nonce_counter_recovers_when_another_program_sends(anvil_chain: Chain, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dev = anvil_chain.dev_accounts
    suite = deploy_suite(anvil_chain, dev[0], manifest_path=tmp_path / "anvil.json")
    admin = Collective(anvil_chain, suite, dev[0])
    admin.orgs.admit(dev[1].address)
    # Another program (its own connection, its own counter) sends from the same account.
    from collective.chain import connect_rpc

    other = Collective(connect_rpc(anvil_chain.url or ""), suite, dev[0])
    other.orgs.admit(dev[2].address)
    third = admin.orgs.admit(dev[3].address)  # stale local nonce: re-read and retried
    assert third.organization == dev[3].address
    assert {o.address for o in admin.orgs.list()} == {a.address for a in dev[1:4]}


def test_a_signature_made_in_another_process_is_relayed(anvil_chain: Chain, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The subject's process signs and writes JSON; the lab's process relays it."""
    import subprocess
    import sys

    dev = anvil_chain.dev_accounts
    manifest = tmp_path / "anvil.json"
    suite = deploy_suite(anvil_chain, dev[0], manifest_path=manifest)
    admin = Collective(anvil_chain, suite, dev[0])
    lab = admin.as_account(dev[2])
    admin.orgs.admit(lab.address)
    lab.policies.publish(b"lab policy", "https://lab.example/v1", [RESEARCH])
    script = (
        "import sys; from collective import Collective\n"
        "me = Collective.connect(rpc=sys.argv[1], account=3, deployment=sys.argv[2])\n"
        "print(me.signing.sign_grant(sys.argv[3], 'dpv:ResearchAndDevelopment',"
        " 'dpv-pd:MedicalHealth').to_json())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, anvil_chain.url or "", str(manifest), lab.address],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    from collective.ledger.signing import SignedRequest

    granted = lab.signing.relay_grant(SignedRequest.from_json(done.stdout))
    assert granted.identity == dev[3].address and granted.organization == lab.address
    assert lab.consent.is_covered(dev[3].address, lab.address, RESEARCH, HEALTH)
