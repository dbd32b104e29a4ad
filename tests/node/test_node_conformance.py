"""The consent story the embedded chain and anvil run (tests/test_smoke.py), on
`collective node --dev` through collective.chain.Chain; receipts and logs as web3 reads them."""

from __future__ import annotations

from collective.chain import Chain
from collective.deploy import Deployment
from collective.errors import ConsentError, NotPermittedError
from tests.helpers import LAB_RESULTS, RESEARCH, SIG_AUTH, expect_revert, make_world


def test_consent_story_on_node(node_chain: Chain, node_suite: Deployment) -> None:
    w = make_world(node_chain, node_suite)
    p = w.patient.address
    w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, w.guardian.address, 3600), w.patient)
    signed = w.sign_grant(w.guardian, p, w.lab)
    w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    receipt = w.use(w.lab, p)
    assert w.events(w.ledger, "DataUsed", receipt)[0].args.identity == p
    with expect_revert("NoConsent", ConsentError):
        w.use(w.hospital, p)
    w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    with expect_revert("NoConsent", ConsentError):
        w.use(w.lab, p)
    w.tx(w.board.functions.propose(0, w.lab.address, b"\0" * 32, b"\0" * 32), w.members[0])
    w.tx(w.board.functions.approve(0), w.members[1])
    assert not w.rules.functions.isActive(w.lab.address).call()
    w.grant(w.patient, w.lab)
    with expect_revert("OrganizationSuspended", NotPermittedError):
        w.use(w.lab, p)


def test_logs_and_receipts_through_web3(node_chain: Chain, node_suite: Deployment) -> None:
    w = make_world(node_chain, node_suite)
    receipt = w.grant(w.patient, w.lab)
    assert receipt["status"] == 1 and receipt["blockNumber"] == node_chain.w3.eth.block_number
    block = node_chain.w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
    assert block["transactions"][0]["hash"] == receipt["transactionHash"]
    logs = node_chain.w3.eth.get_logs(
        {"fromBlock": 0, "toBlock": "latest", "address": w.ledger.address}
    )
    granted = w.ledger.events.ConsentGranted().process_log(logs[-1])
    assert granted.args.identity == w.patient.address
    assert (
        node_chain.w3.eth.get_transaction(receipt["transactionHash"])["from"] == w.patient.address
    )
