"""Deploy-and-smoke: the whole consent story on the embedded chain and on anvil."""

from __future__ import annotations

from pathlib import Path

import pytest

from collective.chain import Chain
from collective.deploy import Deployment
from collective.errors import ConsentError, NotPermittedError
from tests.helpers import (
    LAB_RESULTS,
    RESEARCH,
    SIG_AUTH,
    World,
    deploy_consortium,
    expect_revert,
    make_world,
)


@pytest.fixture(params=["embedded", "anvil"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    if request.param == "embedded":
        chain: Chain = request.getfixturevalue("chain")
        suite: Deployment = request.getfixturevalue("suite")
    else:
        chain = request.getfixturevalue("anvil_chain")
        suite = deploy_consortium(chain, tmp_path / "anvil.json", fresh=True)
    return make_world(chain, suite)


def test_consent_story(world: World) -> None:
    w = world
    p = w.patient.address
    # The patient appoints a guardian, who signs consent; the lab relays it and uses the data.
    w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, w.guardian.address, 3600), w.patient)
    signed = w.sign_grant(w.guardian, p, w.lab)
    w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    receipt = w.use(w.lab, p)
    assert w.events(w.ledger, "DataUsed", receipt)[0].args.identity == p
    # The hospital has no consent: refused.
    with expect_revert("NoConsent", ConsentError):
        w.use(w.hospital, p)
    # The patient withdraws; the lab's next use is refused.
    w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    with expect_revert("NoConsent", ConsentError):
        w.use(w.lab, p)
    # The board suspends the lab, 2 of 3.
    w.tx(w.board.functions.propose(0, w.lab.address, b"\0" * 32, b"\0" * 32), w.members[0])
    w.tx(w.board.functions.approve(0), w.members[1])
    assert not w.rules.functions.isActive(w.lab.address).call()
    w.grant(w.patient, w.lab)
    with expect_revert("OrganizationSuspended", NotPermittedError):
        w.use(w.lab, p)
