"""The validator set through the client, against the real contracts on the embedded chain:
board proposals set it, suspension zeroes it, reads return typed records."""

from __future__ import annotations

import base64

import pytest

from collective import Collective
from collective.chain import Chain
from collective.client.oversight import Action
from collective.client.validators import MAX_POWER, Validator, key_base64, validator_key
from collective.deploy import Deployment
from collective.errors import InvalidInputError, NotPermittedError, TransactionError

KEY1 = bytes(range(1, 33))
KEY2 = bytes(range(101, 133))
# What CometBFT writes in priv_validator_key.json's pub_key.value: base64 of the 32 bytes.
KEY1_B64 = base64.b64encode(KEY1).decode()


@pytest.fixture
def board(chain: Chain, suite: Deployment) -> tuple[Collective, Collective, Collective]:
    """The admin (who admitted an organization, dev account 1) and two board members (7, 8;
    the threshold is 2)."""
    admin = Collective(chain, suite, chain.dev_accounts[0])
    admin.orgs.admit(chain.dev_accounts[1].address)
    return admin, admin.as_account(chain.dev_accounts[7]), admin.as_account(chain.dev_accounts[8])


def _pass(m1: Collective, m2: Collective, org: str, key: str | bytes, power: int) -> int:
    vote = m1.oversight.set_validator(org, key, power)
    assert not vote.executed and vote.approvals == 1
    assert m2.oversight.approve(vote.proposal_id).executed
    return vote.proposal_id


def test_a_board_proposal_sets_reads_and_removes_a_validator(
    board: tuple[Collective, Collective, Collective],
) -> None:
    admin, m1, m2 = board
    org = admin.chain.dev_accounts[1].address
    assert admin.oversight.validators() == []
    proposal_id = _pass(m1, m2, org, KEY1_B64, 10)
    assert admin.oversight.validators() == [Validator(org, "0x" + KEY1.hex(), 10, 10)]
    proposal = admin.oversight.proposal(proposal_id)
    assert proposal.action is Action.SET_VALIDATOR and proposal.power == 10
    assert proposal.ref == "0x" + KEY1.hex() and proposal.reason == ""

    admin.orgs.suspend(org)  # history kept, power out
    (suspended,) = admin.oversight.validators()
    assert (suspended.power, suspended.effective_power) == (10, 0)
    admin.orgs.reinstate(org)
    assert admin.oversight.validators()[0].effective_power == 10

    _pass(m1, m2, org, "0x" + KEY2.hex(), 3)  # a new key replaces the old one
    (replaced,) = admin.oversight.validators()
    assert replaced.pub_key_base64 == key_base64(KEY2) and replaced.power == 3
    _pass(m1, m2, org, KEY2, 0)
    assert admin.oversight.validators() == []


def test_a_key_held_by_another_organization_is_refused(
    board: tuple[Collective, Collective, Collective],
) -> None:
    admin, m1, m2 = board
    first, second = (admin.chain.dev_accounts[i].address for i in (1, 2))
    admin.orgs.admit(second)
    _pass(m1, m2, first, KEY1, 5)
    vote = m1.oversight.set_validator(second, KEY1, 5)
    with pytest.raises(TransactionError) as refused:
        m2.oversight.approve(vote.proposal_id)
    assert refused.value.error_name == "KeyInUse"


def test_only_board_members_propose_and_bad_keys_and_powers_are_named(
    board: tuple[Collective, Collective, Collective],
) -> None:
    admin, m1, _ = board
    org = admin.chain.dev_accounts[1].address
    with pytest.raises(NotPermittedError):
        admin.oversight.set_validator(org, KEY1, 1)
    for bad in ("abc", KEY1_B64[:-4], "0x" + "11" * 31, "0x" + "00" * 32, b"short"):
        with pytest.raises(InvalidInputError, match="key"):
            m1.oversight.set_validator(org, bad, 1)
    for power in (-1, MAX_POWER + 1):
        with pytest.raises(InvalidInputError, match="voting power"):
            m1.oversight.set_validator(org, KEY1, power)


def test_key_forms_agree() -> None:
    assert validator_key(KEY1_B64) == validator_key("0x" + KEY1.hex()) == KEY1
    assert validator_key(f"  {KEY1_B64}\n") == KEY1
    assert key_base64("0x" + KEY1.hex()) == KEY1_B64
