"""OversightBoard: M-of-N proposals to suspend, reinstate, flag uses and change the board."""

from __future__ import annotations

from collective.errors import NotPermittedError
from collective.ledger.signing import code
from tests.helpers import World, expect_revert

SUSPEND, REINSTATE, FLAG, ADD, REMOVE, THRESHOLD, REPLACE_BOARD = range(7)
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


# --- issue 10: approvals tied to membership, proposals expire, removal lowers the threshold ---


def test_a_re_added_members_old_approval_does_not_count_again(w: World) -> None:
    """Item 10: a removed member's approvals used to count again once the member was re-added."""
    a, b, c = w.members
    pending = propose(w, c, SUSPEND, w.lab.address)  # c approves, then leaves
    pid = propose(w, a, REMOVE, c.address)
    w.tx(w.board.functions.approve(pid), b)
    pid = propose(w, a, ADD, c.address)
    w.tx(w.board.functions.approve(pid), b)
    assert w.board.functions.isMember(c.address).call()
    assert not w.board.functions.approved(pending, c.address).call()
    assert w.board.functions.approvals(pending).call() == 0
    w.tx(w.board.functions.approve(pending), a)  # 1 of 2: c's old vote is gone
    assert w.rules.functions.isActive(w.lab.address).call()
    w.tx(w.board.functions.approve(pending), c)  # c may approve afresh
    assert not w.rules.functions.isActive(w.lab.address).call()


def test_proposals_expire(w: World) -> None:
    """Item 10: a 400-day-old suspension was executed on revived votes."""
    a, b, _ = w.members
    lifetime = w.board.functions.proposalLifetime().call()
    assert lifetime == 30 * 86400
    pid = propose(w, a, SUSPEND, w.lab.address)
    expires_at = w.board.functions.proposal(pid).call()[6]
    w.chain.increase_time(lifetime + 1)
    with expect_revert("ProposalExpired", NotPermittedError) as caught:
        w.tx(w.board.functions.approve(pid), b)
    assert caught.error is not None and caught.error.error_args["expiresAt"] == expires_at
    with expect_revert("ProposalExpired", NotPermittedError):
        w.tx(w.board.functions.execute(pid), a)
    assert w.rules.functions.isActive(w.lab.address).call()


def test_a_removal_can_lower_the_threshold_in_the_same_proposal(w: World) -> None:
    """Item 11: with threshold == members, one lost key froze the board."""
    a, b, c = w.members
    pid = propose(w, a, THRESHOLD, ref=(3).to_bytes(32, "big"))
    w.tx(w.board.functions.approve(pid), b)
    assert w.board.functions.threshold().call() == 3
    # c's key is lost. A plain removal is invalid (2 members < threshold 3) ...
    with expect_revert("InvalidThreshold", NotPermittedError):
        propose(w, a, REMOVE, c.address)
    # ... but a removal that lowers the threshold to 2 passes with the two keys left.
    # It needs every other member (2), not the lost third key, and half the proposal's
    # lifetime for the member to object if its key in fact works.
    pid = propose(w, a, REMOVE, c.address, ref=(2).to_bytes(32, "big"))
    assert w.board.functions.approvalsNeeded(pid).call() == 2
    w.tx(w.board.functions.approve(pid), b)
    assert w.board.functions.isMember(c.address).call()
    with expect_revert("RemovalWaiting", NotPermittedError):
        w.tx(w.board.functions.execute(pid), a)
    w.chain.increase_time(w.board.functions.proposalLifetime().call() // 2 + 1)
    w.tx(w.board.functions.execute(pid), a)
    assert not w.board.functions.isMember(c.address).call()
    assert w.board.functions.threshold().call() == 2
    assert w.board.functions.members().call() == [a.address, b.address]
    # Any other proposal still needs the (new) threshold.
    pending = propose(w, a, SUSPEND, w.lab.address)
    assert w.board.functions.approvalsNeeded(pending).call() == 2


def test_a_member_whose_key_works_blocks_a_removal_below_the_threshold(w: World) -> None:
    """Found by the forge suite: on a 2-of-2 board one member alone could remove the other
    (min(threshold, members-1) = 1) and take the board. Now the member objects."""
    a, b, c = w.members
    pid = propose(w, a, THRESHOLD, ref=(3).to_bytes(32, "big"))
    w.tx(w.board.functions.approve(pid), b)
    pid = propose(w, a, REMOVE, c.address, ref=(2).to_bytes(32, "big"))
    w.tx(w.board.functions.approve(pid), b)
    with expect_revert("InvalidTarget", NotPermittedError):
        w.tx(w.board.functions.object(pid), a)  # only the member to be removed objects
    w.tx(w.board.functions.object(pid), c)
    w.chain.increase_time(w.board.functions.proposalLifetime().call() // 2 + 1)
    with expect_revert("RemovalObjected", NotPermittedError):
        w.tx(w.board.functions.execute(pid), a)
    assert w.board.functions.isMember(c.address).call()
