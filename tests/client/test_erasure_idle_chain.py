"""An erasure request past its due date by the wall clock is overdue though no block was
mined since (an idle chain's latest block is old; the next is stamped when it is mined), a
signed request's deadline counts from now, and one already past by the clock is refused: the
kin of ``disclosure status`` on an idle chain. The clock is moved forward (a month cannot
pass in a test); the chain is real."""

from __future__ import annotations

import time

import pytest

from collective import Collective
from collective.chain import Chain
from collective.deploy import Deployment
from collective.errors import InvalidInputError


def test_an_erasure_due_by_the_clock_is_overdue_on_an_idle_chain(
    chain: Chain, suite: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    hospital, lab, patient = (admin.as_account(dev[i]) for i in (1, 2, 4))
    admin.orgs.admit(hospital.address)
    admin.orgs.admit(lab.address)
    patient.erasure.request(lab.address)
    (pending,) = lab.erasure.pending()
    assert not pending.overdue
    head = chain.block_number()
    later = pending.due_at + 60
    monkeypatch.setattr(time, "time", lambda: float(later))
    (pending,) = lab.erasure.pending()
    assert chain.block_number() == head and chain.latest_timestamp() < pending.due_at
    assert pending.overdue
    signed = patient.signing.sign_withdrawal(lab.address, "dpv:Marketing", "dpv-pd:Contact")
    assert signed.request.deadline >= later + 3600
    # a deadline after the idle chain's last block but past by the clock is past
    past = later - 10
    with pytest.raises(InvalidInputError, match="already past"):
        patient.erasure.sign(hospital.address, deadline=past)
    with pytest.raises(InvalidInputError, match="already past"):
        patient.disclosure.sign_withdrawal(
            hospital.address, lab.address, "dpv:Marketing", "dpv-pd:Contact", deadline=past
        )
