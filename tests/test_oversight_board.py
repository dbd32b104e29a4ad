"""OversightBoard: M-of-N proposals to suspend, reinstate, flag uses and change the board."""

from __future__ import annotations

from collective.errors import NotPermittedError
from collective.signing import code
from tests.helpers import World, expect_revert

SUSPEND, REINSTATE, FLAG, ADD, REMOVE, THRESHOLD = range(6)
NONE = b"\0" * 32
ZERO = "0x" + "00" * 20


def propose(
    w: World, member, action: int, target: str = ZERO, ref: bytes = NONE, reason: bytes = NONE
) -> int:
    count = w.board.functions.proposalCount().call()
    w.tx(w.board.functions.propose(action, target, ref, reason), member)
    return int(count)


def test_two_of_three_suspend_an_organization(w: World) -> None:
    a, b, _ = w.members
    assert w.board.functions.threshold().call() == 2
    pid = propose(w, a, SUSPEND, w.lab.address)
    assert w.rules.functions.isActive(w.lab.address).call()  # one vote is not enough
    assert w.board.functions.approvals(pid).call() == 1
    receipt = w.tx(w.board.functions.approve(pid), b)
    assert w.events(w.board, "ProposalExecuted", receipt)[0].args.id == pid
    assert w.rules.functions.statusOf(w.lab.address).call() == 2
    assert w.board.functions.proposal(pid).call()[5] is True
    with expect_revert("AlreadyExecuted"):
        w.tx(w.board.functions.approve(pid), w.members[2])
    pid = propose(w, b, REINSTATE, w.lab.address)
    w.tx(w.board.functions.approve(pid), a)
    assert w.rules.functions.isActive(w.lab.address).call()


def test_only_members_propose_approve_and_execute(w: World) -> None:
    with expect_revert("NotMember", NotPermittedError):
        propose(w, w.stranger, SUSPEND, w.lab.address)
    pid = propose(w, w.members[0], SUSPEND, w.lab.address)
    with expect_revert("NotMember", NotPermittedError):
        w.tx(w.board.functions.approve(pid), w.admin)
    with expect_revert("NotMember", NotPermittedError):
        w.tx(w.board.functions.execute(pid), w.stranger)
    with expect_revert("AlreadyApproved"):
        w.tx(w.board.functions.approve(pid), w.members[0])
    with expect_revert("ThresholdNotReached"):
        w.tx(w.board.functions.execute(pid), w.members[0])
    with expect_revert("UnknownProposal"):
        w.tx(w.board.functions.approve(99), w.members[0])


def test_flagging_a_use_emits_the_reason(w: World) -> None:
    use_ref = code("0xtxhash:3")
    pid = propose(w, w.members[0], FLAG, w.lab.address, use_ref, code("no lawful basis"))
    receipt = w.tx(w.board.functions.approve(pid), w.members[2])
    (flag,) = w.events(w.board, "UseFlagged", receipt)
    assert (flag.args.useRef, flag.args.organization) == (use_ref, w.lab.address)
    assert (flag.args.reasonHash, flag.args.proposalId) == (code("no lawful basis"), pid)


def test_membership_and_threshold_changes(w: World) -> None:
    a, b, c = w.members
    pid = propose(w, a, ADD, w.stranger.address)
    w.tx(w.board.functions.approve(pid), b)
    assert w.board.functions.isMember(w.stranger.address).call()
    assert len(w.board.functions.members().call()) == 4
    pid = propose(w, a, THRESHOLD, ref=(3).to_bytes(32, "big"))
    w.tx(w.board.functions.approve(pid), b)
    assert w.board.functions.threshold().call() == 3
    pid = propose(w, a, REMOVE, c.address)
    w.tx(w.board.functions.approve(pid), b)
    assert w.board.functions.isMember(c.address).call()  # 2 approvals of a 3 threshold
    w.tx(w.board.functions.approve(pid), w.stranger)
    assert not w.board.functions.isMember(c.address).call()
    with expect_revert("NotMember"):
        propose(w, c, SUSPEND, w.lab.address)


def test_invalid_proposals_are_refused(w: World) -> None:
    a = w.members[0]
    with expect_revert("InvalidThreshold"):
        propose(w, a, THRESHOLD, ref=(4).to_bytes(32, "big"))
    with expect_revert("InvalidThreshold"):
        propose(w, a, THRESHOLD, ref=NONE)
    with expect_revert("AlreadyMember"):
        propose(w, a, ADD, w.members[1].address)
    with expect_revert("NotMember"):
        propose(w, a, REMOVE, w.stranger.address)
    with expect_revert("InvalidTarget"):
        propose(w, a, SUSPEND, ZERO)


def test_removed_members_approvals_stop_counting(w: World) -> None:
    a, b, c = w.members
    pending = propose(w, c, SUSPEND, w.lab.address)  # c approves
    pid = propose(w, a, REMOVE, c.address)
    w.tx(w.board.functions.approve(pid), b)
    assert w.board.functions.approvals(pending).call() == 0
    w.tx(w.board.functions.approve(pending), a)
    assert w.rules.functions.isActive(w.lab.address).call()
    w.tx(w.board.functions.approve(pending), b)
    assert not w.rules.functions.isActive(w.lab.address).call()


def test_execute_after_threshold_is_lowered(w: World) -> None:
    a, b, _ = w.members
    pending = propose(w, a, SUSPEND, w.lab.address)
    pid = propose(w, b, THRESHOLD, ref=(1).to_bytes(32, "big"))
    w.tx(w.board.functions.approve(pid), a)
    w.tx(w.board.functions.execute(pending), b)
    assert not w.rules.functions.isActive(w.lab.address).call()
