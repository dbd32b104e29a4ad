"""An erasure request past its due date by the wall clock is overdue though no block was
mined since (an idle chain's latest block is old; the next is stamped when it is mined), as
a signed request's deadline counts from now: the kin of ``disclosure status`` on an idle
chain. The clock is moved forward (a month cannot pass in a test); the chain is real."""

from __future__ import annotations

import time

import pytest

from collective import Collective
from collective.chain import Chain
from collective.deploy import Deployment


def test_an_erasure_due_by_the_clock_is_overdue_on_an_idle_chain(
    chain: Chain, suite: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    lab, patient = admin.as_account(dev[2]), admin.as_account(dev[4])
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
