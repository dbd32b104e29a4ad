// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {OversightBoard} from "../../contracts/OversightBoard.sol";
import {BoardFixture} from "./base/BoardFixture.sol";

/// @notice Issue 10, items 10 and 11, and the board's ReplaceBoard action.
contract OversightBoardTest is BoardFixture {
    function test_constructorRefusesBadThresholdOrLifetime() public {
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidThreshold.selector, 0, 3));
        _newBoard(_list(a, b, c), 0, LIFETIME);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidThreshold.selector, 4, 3));
        _newBoard(_list(a, b, c), 4, LIFETIME);
        vm.expectRevert(OversightBoard.InvalidLifetime.selector);
        _newBoard(_list(a, b, c), 2, 0);
        vm.expectRevert(OversightBoard.InvalidLifetime.selector);
        _newBoard(_list(a, b, c), 2, 3650 days + 1);
        vm.expectRevert(OversightBoard.InvalidLifetime.selector);
        _newBoard(_list(a, b, c), 2, type(uint64).max);
    }

    /// @dev A proposal lifetime from one second to ten years (3650 days), both ends included.
    function test_lifetimeBoundsAreInclusive() public {
        vm.assertEq(uint256(_newBoard(_list(a, b, c), 2, 1).proposalLifetime()), 1, "one second");
        vm.assertEq(uint256(_newBoard(_list(a, b, c), 2, 3650 days).proposalLifetime()), 3650 days, "ten years");
    }

    function testFuzz_lifetimeAcceptedIffOneSecondToTenYears(uint64 lifetime) public {
        if (lifetime == 0 || lifetime > 3650 days) vm.expectRevert(OversightBoard.InvalidLifetime.selector);
        _newBoard(_list(a, b, c), 2, lifetime);
    }

    function test_proposalExecutesWhenApprovalsReachThreshold() public {
        uint256 id = _propose(a, OversightBoard.Action.SuspendOrganization, lab, 0);
        _approve(b, id);
        vm.assertEq(board.approvals(id), 2, "two approvals");
        vm.assertFalse(board.proposal(id).executed, "not yet");
        vm.expectEmit(true, true, false, true, address(board));
        emit ProposalExecuted(id, OversightBoard.Action.SuspendOrganization, lab);
        _approve(c, id);
        vm.assertTrue(board.proposal(id).executed, "executed");
        vm.assertEq(uint256(rules.statusOf(lab)), uint256(AccountRules.Status.Suspended), "lab suspended");
        vm.assertTrue(rules.suspendedByBoard(lab), "by the board");
    }

    function test_approvalRulesForMembers() public {
        uint256 id = _propose(a, OversightBoard.Action.FlagUse, lab, 7);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.AlreadyApproved.selector, id, a));
        _approve(a, id);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.NotMember.selector, e));
        _approve(e, id);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.UnknownProposal.selector, id + 1));
        _approve(b, id + 1);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.ThresholdNotReached.selector, id, 1, 3));
        vm.prank(b);
        board.execute(id);
    }

    // ---------------------------------------------------------------- item 10: membership

    /// @dev A removed member's approval stops counting at once.
    function test_removedMembersApprovalStopsCounting() public {
        uint256 id = _propose(a, OversightBoard.Action.FlagUse, lab, 1);
        _approve(b, id);
        vm.assertEq(board.approvals(id), 2, "a and b");
        _remove(b, c, d, a);
        vm.assertEq(board.approvals(id), 1, "only a counts");
        vm.assertFalse(board.approved(id, b), "b's approval gone with b");
    }

    /// @dev The issue's case: a removed member's approval must not revive when it is re-added.
    function test_readdedMembersOldApprovalDoesNotCount() public {
        uint256 id = _propose(a, OversightBoard.Action.SuspendOrganization, lab, 0);
        _approve(b, id);
        _remove(b, c, d, a);
        _add(b, c, d, a);
        vm.assertEq(board.approvals(id), 1, "only a's approval");
        vm.assertFalse(board.approved(id, b), "b has not approved in this membership");
        vm.assertFalse(board.proposal(id).executed, "not executed");
        // b may approve afresh (no AlreadyApproved), and it counts once.
        _approve(b, id);
        vm.assertEq(board.approvals(id), 2, "a and the new b");
        _approve(c, id);
        vm.assertTrue(board.proposal(id).executed, "executed with three current approvals");
    }

    // ---------------------------------------------------------------- item 10: expiry

    function test_proposalCanBeApprovedUntilItsExpiry() public {
        uint256 id = _propose(a, OversightBoard.Action.FlagUse, lab, 1);
        vm.assertEq(uint256(board.proposal(id).expiresAt), block.timestamp + LIFETIME, "expiresAt");
        vm.warp(block.timestamp + LIFETIME);
        _approve(b, id);
        vm.assertEq(board.approvals(id), 2, "approved at the last second");
    }

    function test_expiredProposalCannotBeApprovedOrExecuted() public {
        uint256 id = _propose(a, OversightBoard.Action.SuspendOrganization, lab, 0);
        _approve(b, id);
        uint64 expiresAt = board.proposal(id).expiresAt;
        vm.warp(uint256(expiresAt) + 1);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.ProposalExpired.selector, id, expiresAt));
        _approve(c, id);
        // Lowering the threshold does not revive it either.
        uint256 lower = _propose(c, OversightBoard.Action.SetThreshold, address(0), 2);
        _approve(d, lower);
        _approve(a, lower);
        vm.assertEq(board.threshold(), 2, "threshold lowered");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.ProposalExpired.selector, id, expiresAt));
        vm.prank(a);
        board.execute(id);
        vm.assertEq(uint256(rules.statusOf(lab)), uint256(AccountRules.Status.Active), "lab untouched");
    }

    /// @dev The issue's input: a 400-day-old suspension is not executed on revived votes.
    function test_fourHundredDayOldProposalIsDead() public {
        uint256 id = _propose(a, OversightBoard.Action.SuspendOrganization, lab, 0);
        _approve(b, id);
        vm.warp(block.timestamp + 400 days);
        uint64 expiresAt = board.proposal(id).expiresAt;
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.ProposalExpired.selector, id, expiresAt));
        _approve(c, id);
    }

    function test_executeWorksBeforeExpiryAfterAThresholdChange() public {
        uint256 id = _propose(a, OversightBoard.Action.SuspendOrganization, lab, 0);
        _approve(b, id);
        uint256 lower = _propose(c, OversightBoard.Action.SetThreshold, address(0), 2);
        _approve(d, lower);
        _approve(a, lower);
        vm.prank(d);
        board.execute(id);
        vm.assertTrue(board.proposal(id).executed, "executed");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.AlreadyExecuted.selector, id));
        vm.prank(d);
        board.execute(id);
    }

    // ---------------------------------------------------------------- item 11: removal with a new threshold

    /// @dev The issue's case: threshold equal to the member count and c's key lost. The others
    ///      (every member but c) remove c, and ref = new threshold lowers the threshold in the
    ///      same proposal, so the board is not frozen. Below the threshold the removal waits
    ///      half the proposal lifetime (c could object meanwhile) and then executes via execute.
    function test_lostKeyIsRemovedWithTheThresholdLoweredInTheSameProposal() public {
        OversightBoard full = _newBoard(_list(a, b, c), 3, LIFETIME);
        vm.prank(a);
        uint256 id = full.propose(OversightBoard.Action.RemoveMember, c, bytes32(uint256(2)), "lost key");
        uint64 notBefore = uint64(block.timestamp) + LIFETIME / 2;
        vm.assertEq(full.approvalsNeeded(id), 2, "a removal needs every other member, not the threshold");
        vm.assertEq(uint256(full.removalNotBefore(id)), uint256(notBefore), "half the lifetime after creation");
        vm.assertFalse(full.proposal(id).executed, "a alone is not enough");
        vm.prank(b);
        full.approve(id);
        vm.assertFalse(full.proposal(id).executed, "every other member approved: it waits");
        vm.assertTrue(full.isMember(c), "c still a member");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalWaiting.selector, id, notBefore));
        vm.prank(a);
        full.execute(id);

        vm.warp(notBefore);
        vm.expectEmit(true, false, false, true, address(full));
        emit MemberRemoved(c);
        vm.expectEmit(false, false, false, true, address(full));
        emit ThresholdChanged(2);
        vm.prank(b);
        full.execute(id);
        vm.assertTrue(full.proposal(id).executed, "executed without c");
        vm.assertEq(full.threshold(), 2, "threshold 2");
        vm.assertEq(full.members().length, 2, "two members");
        vm.assertFalse(full.isMember(c), "c removed");

        // The board acts again with its two remaining keys.
        vm.prank(a);
        uint256 flag = full.propose(OversightBoard.Action.FlagUse, lab, bytes32(uint256(1)), "");
        vm.prank(b);
        full.approve(flag);
        vm.assertTrue(full.proposal(flag).executed, "not frozen");
    }

    /// @dev Only removals get the lowered bar, and only down to every other member.
    function test_approvalsNeededIsTheThresholdExceptForRemovals() public {
        OversightBoard full = _newBoard(_list(a, b, c), 3, LIFETIME);
        vm.prank(a);
        uint256 flag = full.propose(OversightBoard.Action.FlagUse, lab, bytes32(uint256(1)), "");
        vm.assertEq(full.approvalsNeeded(flag), 3, "other actions need the threshold");
        vm.prank(b);
        full.approve(flag);
        vm.assertFalse(full.proposal(flag).executed, "two of three do not flag");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.ThresholdNotReached.selector, flag, 2, 3));
        vm.prank(b);
        full.execute(flag);
        // On the board of four with threshold 3, a removal needs min(3, 4 - 1) = 3.
        uint256 rm = _propose(a, OversightBoard.Action.RemoveMember, d, 0);
        vm.assertEq(board.approvalsNeeded(rm), 3, "min(threshold, members - 1)");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.UnknownProposal.selector, rm + 1));
        board.approvalsNeeded(rm + 1);
    }

    /// @dev With threshold == members, ref = 0 would leave the threshold above the members.
    function test_removalThatWouldLeaveThresholdAboveMembersIsRefused() public {
        OversightBoard full = _newBoard(_list(a, b, c), 3, LIFETIME);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidThreshold.selector, 3, 2));
        vm.prank(a);
        full.propose(OversightBoard.Action.RemoveMember, c, bytes32(0), "");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidThreshold.selector, 5, 2));
        vm.prank(a);
        full.propose(OversightBoard.Action.RemoveMember, c, bytes32(uint256(5)), "");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.NotMember.selector, e));
        vm.prank(a);
        full.propose(OversightBoard.Action.RemoveMember, e, bytes32(uint256(2)), "");
    }

    function test_removalWithZeroRefKeepsTheThreshold() public {
        _remove(d, a, b, c);
        vm.assertEq(board.threshold(), 3, "threshold kept");
        vm.assertEq(board.members().length, 3, "three members");
    }

    function test_lastMemberCannotBeRemoved() public {
        OversightBoard solo = new OversightBoard(rules, _one(a), 1, LIFETIME);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidThreshold.selector, 1, 0));
        vm.prank(a);
        solo.propose(OversightBoard.Action.RemoveMember, a, bytes32(0), "");
    }

    function _one(address m) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = m;
    }

    // ---------------------------------------------------------------- item 11: waiting and objecting

    /// @dev The board of three with threshold 3 whose members a and b want c out.
    function _fullBoardRemovingC() internal returns (OversightBoard full, uint256 id) {
        full = _newBoard(_list(a, b, c), 3, LIFETIME);
        vm.prank(a);
        id = full.propose(OversightBoard.Action.RemoveMember, c, bytes32(uint256(2)), "");
        vm.prank(b);
        full.approve(id);
    }

    function test_removalBelowThresholdExecutesExactlyFromNotBefore() public {
        (OversightBoard full, uint256 id) = _fullBoardRemovingC();
        uint64 notBefore = full.removalNotBefore(id);
        vm.warp(notBefore - 1);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalWaiting.selector, id, notBefore));
        vm.prank(a);
        full.execute(id);
        vm.warp(notBefore);
        vm.prank(a);
        full.execute(id);
        vm.assertFalse(full.isMember(c), "removed at notBefore");
    }

    /// @dev Waiting does not outlive the proposal: after expiry the removal is dead.
    function test_removalBelowThresholdCannotExecuteAfterExpiry() public {
        (OversightBoard full, uint256 id) = _fullBoardRemovingC();
        uint64 expiresAt = full.proposal(id).expiresAt;
        vm.warp(uint256(expiresAt) + 1);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.ProposalExpired.selector, id, expiresAt));
        vm.prank(a);
        full.execute(id);
        vm.assertTrue(full.isMember(c), "c stays");
    }

    function test_objectionBlocksARemovalBelowThreshold() public {
        (OversightBoard full, uint256 id) = _fullBoardRemovingC();
        vm.expectEmit(true, true, false, false, address(full));
        emit RemovalObjectedBy(id, c);
        vm.prank(c);
        full.object(id);
        vm.assertTrue(full.objected(id), "objected");
        // Before the wait the objection is reported first, and after it too.
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalObjected.selector, id, c));
        vm.prank(a);
        full.execute(id);
        vm.warp(full.removalNotBefore(id) + 1 days);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalObjected.selector, id, c));
        vm.prank(b);
        full.execute(id);
        vm.assertTrue(full.isMember(c), "c stays");
        vm.assertEq(full.threshold(), 3, "threshold kept");
    }

    /// @dev The member may object after the wait too, as long as nobody executed the removal.
    function test_objectionAfterTheWaitStillBlocks() public {
        (OversightBoard full, uint256 id) = _fullBoardRemovingC();
        vm.warp(full.removalNotBefore(id));
        vm.prank(c);
        full.object(id);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalObjected.selector, id, c));
        vm.prank(a);
        full.execute(id);
    }

    /// @dev With the full threshold (the member itself approving) the removal executes at once,
    ///      with no wait; an objection only matters below the threshold.
    function test_removalAtTheFullThresholdNeedsNoWait() public {
        (OversightBoard full, uint256 id) = _fullBoardRemovingC();
        vm.prank(c);
        full.approve(id);
        vm.assertTrue(full.proposal(id).executed, "c agreed: executed at once");
        vm.assertFalse(full.isMember(c), "c removed");

        // On the board of four with threshold 3, a removal needs the threshold: an objection
        // does not stop three approvals.
        uint256 rm = _propose(a, OversightBoard.Action.RemoveMember, d, 0);
        vm.prank(d);
        board.object(rm);
        _approve(b, rm);
        _approve(c, rm);
        vm.assertTrue(board.proposal(rm).executed, "threshold reached despite the objection");
        vm.assertFalse(board.isMember(d), "d removed");
    }

    /// @dev Only the member a RemoveMember proposal targets may object, while the proposal is open.
    function test_objectRules() public {
        (OversightBoard full, uint256 id) = _fullBoardRemovingC();
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidTarget.selector, a));
        vm.prank(a);
        full.object(id);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.NotMember.selector, e));
        vm.prank(e);
        full.object(id);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.UnknownProposal.selector, id + 1));
        vm.prank(c);
        full.object(id + 1);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.UnknownProposal.selector, id + 1));
        full.removalNotBefore(id + 1);
        // Not a removal: nobody objects (use another member's vote instead).
        vm.prank(a);
        uint256 flag = full.propose(OversightBoard.Action.FlagUse, lab, bytes32(uint256(1)), "");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidTarget.selector, c));
        vm.prank(c);
        full.object(flag);
        // Expired, or executed: too late.
        uint64 expiresAt = full.proposal(id).expiresAt;
        vm.warp(uint256(expiresAt) + 1);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.ProposalExpired.selector, id, expiresAt));
        vm.prank(c);
        full.object(id);
        vm.prank(a);
        uint256 again = full.propose(OversightBoard.Action.RemoveMember, c, bytes32(uint256(2)), "");
        vm.prank(b);
        full.approve(again);
        vm.prank(c);
        full.approve(again);
        vm.assertTrue(full.proposal(again).executed, "c agreed to go");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.NotMember.selector, c));
        vm.prank(c);
        full.object(again);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.AlreadyExecuted.selector, again));
        vm.prank(a);
        full.object(again);
        vm.assertFalse(full.objected(again), "no objection recorded");
    }

    /// @dev Was KnownIssues.t.sol: on a 2-of-2 board a removal needs one approval (every other
    ///      member), so one member's proposal executed at once and made it a 1-of-1 board. Now
    ///      it waits, and the other member's objection stops it: one member cannot oust the other.
    function test_oneMemberOfATwoOfTwoBoardCannotOustTheOther() public {
        OversightBoard duo = _newBoard(_pair(a, b), 2, LIFETIME);
        vm.prank(a);
        uint256 id = duo.propose(OversightBoard.Action.RemoveMember, b, bytes32(uint256(1)), "");
        vm.assertFalse(duo.proposal(id).executed, "not executed on proposal");
        vm.assertEq(duo.approvalsNeeded(id), 1, "every other member: a alone");
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalWaiting.selector, id, duo.removalNotBefore(id)));
        vm.prank(a);
        duo.execute(id);

        vm.prank(b);
        duo.object(id);
        vm.warp(duo.removalNotBefore(id));
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalObjected.selector, id, b));
        vm.prank(a);
        duo.execute(id);
        vm.warp(duo.proposal(id).expiresAt);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalObjected.selector, id, b));
        vm.prank(a);
        duo.execute(id);
        vm.assertTrue(duo.isMember(b), "b still a member");
        vm.assertEq(duo.threshold(), 2, "still 2 of 2");

        // a still cannot act alone.
        vm.prank(a);
        uint256 suspend = duo.propose(OversightBoard.Action.SuspendOrganization, lab, bytes32(0), "");
        vm.assertFalse(duo.proposal(suspend).executed, "a alone does not suspend");
    }

    /// @dev The lost-key case on a 2-of-2 board: b never objects (its key is gone), and after
    ///      the wait a alone removes b and goes on as a 1-of-1 board.
    function test_twoOfTwoBoardDropsAMemberWhoNeverObjects() public {
        OversightBoard duo = _newBoard(_pair(a, b), 2, LIFETIME);
        vm.prank(a);
        uint256 id = duo.propose(OversightBoard.Action.RemoveMember, b, bytes32(uint256(1)), "lost key");
        vm.warp(duo.removalNotBefore(id));
        vm.expectEmit(true, false, false, true, address(duo));
        emit MemberRemoved(b);
        vm.prank(a);
        duo.execute(id);
        vm.assertFalse(duo.isMember(b), "b removed");
        vm.assertEq(duo.threshold(), 1, "1 of 1");
        vm.prank(a);
        uint256 flag = duo.propose(OversightBoard.Action.FlagUse, lab, bytes32(uint256(1)), "");
        vm.assertTrue(duo.proposal(flag).executed, "a acts alone now");
    }

    /// @dev A member being removed cannot be ousted by a fresh proposal either: each removal
    ///      waits on its own, and b objects to each.
    function test_everyNewRemovalProposalWaitsAgain() public {
        OversightBoard duo = _newBoard(_pair(a, b), 2, LIFETIME);
        vm.prank(a);
        uint256 first = duo.propose(OversightBoard.Action.RemoveMember, b, bytes32(uint256(1)), "");
        vm.prank(b);
        duo.object(first);
        vm.warp(block.timestamp + LIFETIME / 2);
        vm.prank(a);
        uint256 second = duo.propose(OversightBoard.Action.RemoveMember, b, bytes32(uint256(1)), "");
        vm.assertFalse(duo.objected(second), "an objection belongs to one proposal");
        vm.expectRevert(
            abi.encodeWithSelector(OversightBoard.RemovalWaiting.selector, second, duo.removalNotBefore(second))
        );
        vm.prank(a);
        duo.execute(second);
        vm.prank(b);
        duo.object(second);
        vm.warp(duo.removalNotBefore(second));
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalObjected.selector, second, b));
        vm.prank(a);
        duo.execute(second);
    }

    function _pair(address m1, address m2) internal pure returns (address[] memory list) {
        list = new address[](2);
        (list[0], list[1]) = (m1, m2);
    }

    // ---------------------------------------------------------------- other actions

    function test_addMemberValidation() public {
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.AlreadyMember.selector, b));
        _propose(a, OversightBoard.Action.AddMember, b, 0);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidTarget.selector, address(0)));
        _propose(a, OversightBoard.Action.AddMember, address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidThreshold.selector, 5, 4));
        _propose(a, OversightBoard.Action.SetThreshold, address(0), 5);
    }

    function test_flagUseEmits() public {
        bytes32 useRef = keccak256(abi.encode(bytes32("tx"), uint256(3)));
        vm.prank(a);
        uint256 id = board.propose(OversightBoard.Action.FlagUse, lab, useRef, keccak256("no consent"));
        _approve(b, id);
        vm.expectEmit(true, true, true, true, address(board));
        emit UseFlagged(useRef, lab, keccak256("no consent"), id);
        _approve(c, id);
    }

    function test_boardSuspendsAndOnlyTheBoardReinstates() public {
        uint256 s = _propose(a, OversightBoard.Action.SuspendOrganization, lab, 0);
        _approve(b, s);
        _approve(c, s);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.BoardSuspension.selector, lab));
        rules.reinstate(lab);
        uint256 r = _propose(a, OversightBoard.Action.ReinstateOrganization, lab, 0);
        _approve(b, r);
        _approve(c, r);
        vm.assertTrue(rules.isActive(lab), "reinstated by the board");
        vm.assertFalse(rules.suspendedByBoard(lab), "flag cleared");
    }

    /// @dev ReplaceBoard hands the board's authority to a new board: the old board loses it.
    function test_replaceBoardHandsOverAuthority() public {
        OversightBoard next = _newBoard(_list(a, e, d), 2, LIFETIME);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidTarget.selector, address(0)));
        _propose(a, OversightBoard.Action.ReplaceBoard, address(0), 0);

        uint256 id = _propose(a, OversightBoard.Action.ReplaceBoard, address(next), 0);
        _approve(b, id);
        vm.expectEmit(true, true, false, true, address(rules));
        emit BoardChanged(address(next), address(board));
        _approve(c, id);
        vm.assertEq(rules.board(), address(next), "new board");

        // The old board can no longer suspend: its proposal's execution is refused.
        uint256 old = _propose(a, OversightBoard.Action.SuspendOrganization, lab, 0);
        _approve(b, old);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotAdminOrBoard.selector, address(board)));
        _approve(c, old);

        // The new one can.
        vm.prank(a);
        uint256 s = next.propose(OversightBoard.Action.SuspendOrganization, lab, bytes32(0), "");
        vm.prank(e);
        next.approve(s);
        vm.assertTrue(rules.suspendedByBoard(lab), "suspended by the new board");
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev For any set of earlier approvals and any approver removed and re-added, that
    ///      approver's earlier approval stops counting, the others' stay, and it may approve anew.
    function testFuzz_approvalsAfterRemoveAndReadd(uint8 approverMask, uint8 pick, uint32 wait) public {
        // Board of five with threshold 4, so the proposal (at most three approvals) stays open.
        address[] memory five = new address[](5);
        for (uint256 i = 0; i < 5; i++) {
            five[i] = address(uint160(0x1000 + i));
        }
        OversightBoard big = _newBoard(five, 4, LIFETIME);
        vm.prank(five[0]);
        uint256 id = big.propose(OversightBoard.Action.FlagUse, lab, bytes32(uint256(1)), "");
        uint256 count = 1;
        for (uint256 i = 1; i < 5 && count < 3; i++) {
            if (approverMask & (1 << i) != 0) {
                vm.prank(five[i]);
                big.approve(id);
                count++;
            }
        }
        vm.assertEq(big.approvals(id), count, "approvals before");

        address x = five[bound(pick, 0, 4)];
        bool xApproved = big.approved(id, x);
        vm.warp(block.timestamp + bound(wait, 0, LIFETIME / 2));
        // Remove x (the four others approve), then add it back (the four others again).
        address[] memory others = new address[](4);
        uint256 k;
        for (uint256 i = 0; i < 5; i++) {
            if (five[i] != x) others[k++] = five[i];
        }
        vm.prank(others[0]);
        uint256 rm = big.propose(OversightBoard.Action.RemoveMember, x, bytes32(0), "");
        for (uint256 i = 1; i < 4; i++) {
            vm.prank(others[i]);
            big.approve(rm);
        }
        vm.assertFalse(big.isMember(x), "x removed");
        vm.assertEq(big.approvals(id), xApproved ? count - 1 : count, "x's approval gone");
        vm.prank(others[0]);
        uint256 add = big.propose(OversightBoard.Action.AddMember, x, bytes32(0), "");
        for (uint256 i = 1; i < 4; i++) {
            vm.prank(others[i]);
            big.approve(add);
        }
        vm.assertTrue(big.isMember(x), "x back");
        vm.assertFalse(big.approved(id, x), "x starts with no approvals");
        vm.assertEq(big.approvals(id), xApproved ? count - 1 : count, "old approval did not revive");

        vm.prank(x);
        big.approve(id);
        vm.assertEq(big.approvals(id), xApproved ? count : count + 1, "x's fresh approval counts once");
    }

    /// @dev For any lifetime and any wait, a removal below the threshold executes iff the wait
    ///      is from half the lifetime (rounded down) to the whole lifetime and the member did not
    ///      object.
    function testFuzz_removalBelowThresholdWaitsHalfTheLifetime(uint64 lifetime, uint64 wait, bool objects) public {
        lifetime = uint64(bound(lifetime, 1, 3650 days));
        wait = uint64(bound(wait, 0, 2 * uint256(lifetime)));
        OversightBoard duo = _newBoard(_pair(a, b), 2, lifetime);
        uint64 created = uint64(block.timestamp);
        vm.prank(a);
        uint256 id = duo.propose(OversightBoard.Action.RemoveMember, b, bytes32(uint256(1)), "");
        vm.assertEq(uint256(duo.removalNotBefore(id)), uint256(created) + lifetime / 2, "notBefore");
        if (objects) {
            vm.prank(b);
            duo.object(id);
        }
        vm.warp(uint256(created) + wait);
        if (wait > lifetime) {
            vm.expectRevert(abi.encodeWithSelector(OversightBoard.ProposalExpired.selector, id, created + lifetime));
        } else if (objects) {
            vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalObjected.selector, id, b));
        } else if (wait < lifetime / 2) {
            vm.expectRevert(abi.encodeWithSelector(OversightBoard.RemovalWaiting.selector, id, created + lifetime / 2));
        }
        vm.prank(a);
        duo.execute(id);
        vm.assertEq(duo.isMember(b), wait > lifetime || objects || wait < lifetime / 2, "removed iff allowed");
    }

    /// @dev For any lifetime and any wait, a proposal can be approved iff the wait is within
    ///      its lifetime.
    function testFuzz_proposalOpenExactlyUntilExpiry(uint64 lifetime, uint64 wait) public {
        lifetime = uint64(bound(lifetime, 1, 3650 days));
        wait = uint64(bound(wait, 0, 2 * uint256(lifetime)));
        OversightBoard timed = _newBoard(_list(a, b, c), 3, lifetime);
        vm.prank(a);
        uint256 id = timed.propose(OversightBoard.Action.FlagUse, lab, bytes32(uint256(1)), "");
        uint64 expiresAt = uint64(block.timestamp) + lifetime;
        vm.warp(block.timestamp + wait);
        if (wait > lifetime) {
            vm.expectRevert(abi.encodeWithSelector(OversightBoard.ProposalExpired.selector, id, expiresAt));
        }
        vm.prank(b);
        timed.approve(id);
    }
}
