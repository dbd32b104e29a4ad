"""PolicyRegistry: who may publish, versioning, purpose coverage."""

from __future__ import annotations

from collective.errors import ConsentError, NotPermittedError
from collective.ledger.signing import code
from tests.helpers import MARKETING, RESEARCH, TREATMENT, World, expect_revert


def test_publish_versions_and_coverage(w: World) -> None:
    lab = w.lab.address
    assert w.ledger.functions.currentPolicyVersion(lab).call() == 1
    content, published_at, purposes = w.ledger.functions.policy(lab, 1).call()
    assert content == code(f"policy-v1-{lab}") and published_at > 0
    assert purposes == [RESEARCH, TREATMENT]
    receipt = w.tx(w.ledger.functions.publishPolicy(code("v2"), "ipfs://v2", [MARKETING]), w.lab)
    (event,) = w.events(w.ledger, "PolicyPublished", receipt)
    assert (event.args.organization, event.args.version, event.args.uri) == (lab, 2, "ipfs://v2")
    assert event.args.purposes == [MARKETING]
    assert w.ledger.functions.currentPolicyVersion(lab).call() == 2
    assert w.ledger.functions.currentPolicyCovers(lab, MARKETING).call()
    assert not w.ledger.functions.currentPolicyCovers(lab, RESEARCH).call()
    # Version 1 stays readable: history is never rewritten.
    assert w.ledger.functions.policy(lab, 1).call()[2] == [RESEARCH, TREATMENT]


def test_unknown_version_is_an_error(w: World) -> None:
    with expect_revert("UnknownPolicyVersion", ConsentError):
        w.chain.call(w.ledger.functions.policy(w.lab.address, 9))


def test_only_active_organizations_publish(w: World) -> None:
    fn = w.ledger.functions.publishPolicy(code("x"), "u", [RESEARCH])
    with expect_revert("OrganizationNotAdmitted", NotPermittedError):
        w.tx(fn, w.stranger)
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    with expect_revert("OrganizationSuspended", NotPermittedError):
        w.tx(fn, w.lab)


def test_policy_needs_hash_and_purposes(w: World) -> None:
    with expect_revert("InvalidPolicy"):
        w.tx(w.ledger.functions.publishPolicy(b"\0" * 32, "u", [RESEARCH]), w.lab)
    with expect_revert("InvalidPolicy"):
        w.tx(w.ledger.functions.publishPolicy(code("x"), "u", []), w.lab)
