// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {OversightBoard} from "../../contracts/OversightBoard.sol";
import {Test} from "./base/Test.sol";

/// @notice Drives an OversightBoard (3 of 6 actors as members, threshold 2, 7-day proposals) with
///         random proposals (add or remove a member, with or without a new threshold, set the
///         threshold, flag a use, suspend or reinstate an organization), approvals, executions,
///         objections to removals and time passing. It keeps its own model of approvals: a
///         member's approval counts while the membership it was given in lasts (a generation per
///         actor, bumped on every re-entry). Every execution is checked against the rules it
///         happened under: approvals at the threshold, or a removal with every other member's
///         approval, past `removalNotBefore` and not objected to by its target.
contract OversightBoardHandler is Test {
    uint256 internal constant ACTORS = 6;
    uint64 internal constant LIFETIME = 7 days;

    AccountRules public immutable rules;
    OversightBoard public immutable board;
    address[ACTORS] public actors;
    address public lab = address(0x1AB);

    /// @dev actor => generation of its current (or last) membership.
    mapping(address => uint256) public generation;
    /// @dev proposal => actor => generation the approval was given in (0: none).
    mapping(uint256 => mapping(address => uint256)) public approvedIn;
    mapping(address => bool) internal _wasMember;

    uint256 public executeCalls;
    uint256 public refused;
    uint256 public objections;
    uint256 public removalsAfterWait; // removals below the threshold executed after the wait

    // What must never happen.
    uint256 public executedBelowThreshold; // by propose or approve, with fewer approvals than the threshold
    uint256 public executedAgainstRemovalRules; // by execute, below the threshold, not a waited, unopposed removal
    uint256 public objectionsByOthers; // object() accepted from someone the proposal does not remove

    constructor() {
        address[] memory admins = new address[](1);
        admins[0] = address(this);
        rules = new AccountRules(admins);
        rules.admit(lab);
        for (uint256 i = 0; i < ACTORS; i++) {
            actors[i] = address(uint160(0xB0A2D000 + i));
        }
        address[] memory initial = new address[](3);
        (initial[0], initial[1], initial[2]) = (actors[0], actors[1], actors[2]);
        board = new OversightBoard(rules, initial, 2, LIFETIME);
        rules.setBoard(address(board));
        _syncMembership();
    }

    function propose(uint256 actorSeed, uint256 actionSeed, uint256 targetSeed, uint256 refSeed) external {
        address by = _steer(actorSeed, true);
        // Membership changes twice as often as the rest (all actions but ReplaceBoard).
        uint256 pick = actionSeed % 9;
        OversightBoard.Action action = pick >= 6 ? OversightBoard.Action(3 + pick % 2) : OversightBoard.Action(pick);
        address target = lab;
        if (action == OversightBoard.Action.AddMember) target = _steer(targetSeed, false);
        if (action == OversightBoard.Action.RemoveMember) target = _steer(targetSeed, true);
        uint256 ref = refSeed % 5; // thresholds 0..4 (0: keep, for removals)
        _propose(by, action, target, ref);
    }

    function approve(uint256 actorSeed, uint256 idSeed) external {
        uint256 proposals = board.proposalCount();
        if (proposals == 0) return;
        uint256 id = _pickProposal(idSeed, proposals);
        _approve(_steerApprover(actorSeed, id), id);
    }

    /// @dev The lost-key case in one step: the threshold is raised to the board's size if it is
    ///      lower (every member approving), then every member but the target approves removing
    ///      it with a new threshold. The removal then waits half the lifetime for `execute`,
    ///      unless the target objects meanwhile.
    function proposeRemovalByAllOthers(uint256 targetSeed, uint256 refSeed) external {
        address[] memory members = board.members();
        if (members.length < 2) return;
        if (board.threshold() < members.length) {
            (bool raised, uint256 id) =
                _propose(members[0], OversightBoard.Action.SetThreshold, address(0), members.length);
            for (uint256 i = 1; raised && i < members.length && !board.proposal(id).executed; i++) {
                _approve(members[i], id);
            }
        }
        address target = members[targetSeed % members.length];
        address proposer = members[(targetSeed + 1) % members.length];
        (bool ok, uint256 rm) = _propose(
            proposer, OversightBoard.Action.RemoveMember, target, 1 + refSeed % (members.length - 1)
        );
        for (uint256 i = 0; ok && i < members.length; i++) {
            if (members[i] != target && members[i] != proposer) _approve(members[i], rm);
        }
    }

    function _propose(address by, OversightBoard.Action action, address target, uint256 ref)
        internal
        returns (bool ok, uint256 id)
    {
        uint256 next = board.proposalCount();
        uint256 threshold = board.threshold();
        vm.prank(by);
        try board.propose(action, target, bytes32(ref), "") returns (uint256 made) {
            (ok, id) = (true, made);
            vm.assertEq(id, next, "ids count up");
            approvedIn[id][by] = generation[by];
            // Executed at once only when the proposer's approval alone is the threshold.
            if (board.proposal(id).executed && threshold > 1) executedBelowThreshold++;
        } catch {
            refused++;
        }
        _syncMembership();
    }

    function _approve(address by, uint256 id) internal {
        uint256 count = board.approvals(id) + 1; // with this approval (a repeated one is refused)
        uint256 threshold = board.threshold();
        bool wasExecuted = board.proposal(id).executed;
        vm.prank(by);
        try board.approve(id) {
            approvedIn[id][by] = generation[by];
            // approve executes at the threshold, never below it (a removal waits for execute).
            if (!wasExecuted && board.proposal(id).executed && count < threshold) executedBelowThreshold++;
        } catch {
            refused++;
        }
        _syncMembership();
    }

    function execute(uint256 actorSeed, uint256 idSeed) external {
        uint256 proposals = board.proposalCount();
        if (proposals == 0) return;
        uint256 id = _pickProposal(idSeed, proposals);
        // The rules as they stand before the call.
        uint256 count = board.approvals(id);
        uint256 threshold = board.threshold();
        uint256 needed = board.approvalsNeeded(id);
        bool objected = board.objected(id);
        bool waited = block.timestamp >= board.removalNotBefore(id);
        bool removal = board.proposal(id).action == OversightBoard.Action.RemoveMember;
        vm.prank(_steer(actorSeed, true));
        try board.execute(id) {
            executeCalls++;
            if (count < threshold) {
                if (!removal || count < needed || objected || !waited) executedAgainstRemovalRules++;
                removalsAfterWait++;
            }
        } catch {
            refused++;
        }
        _syncMembership();
    }

    /// @dev Three times in four the target of a removal objects (on one of the newest
    ///      proposals), else any actor tries to object to any proposal (and is refused unless it
    ///      is the proposal's target).
    function object(uint256 actorSeed, uint256 idSeed) external {
        uint256 proposals = board.proposalCount();
        if (proposals == 0) return;
        uint256 id = _pickProposal(idSeed, proposals);
        OversightBoard.Proposal memory p = board.proposal(id);
        address by = actorSeed % 4 != 0 && p.action == OversightBoard.Action.RemoveMember
            ? p.target
            : actors[(actorSeed >> 2) % ACTORS];
        vm.prank(by);
        try board.object(id) {
            objections++;
            if (p.action != OversightBoard.Action.RemoveMember || p.target != by) objectionsByOthers++;
            vm.assertTrue(board.objected(id), "recorded");
        } catch {
            refused++;
        }
    }

    /// @dev Up to three days: a removal waits 3.5 days (half the lifetime), a proposal lives 7.
    function wait(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 3 days));
    }

    /// @dev Three times in four an actor whose membership is `member` (if there is one), else
    ///      any actor (so non-members try too and are refused).
    function _steer(uint256 seed, bool member) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 i = 0; i < ACTORS; i++) {
                address actor = actors[(seed % ACTORS + i) % ACTORS];
                if (board.isMember(actor) == member) return actor;
            }
        }
        return actors[(seed >> 2) % ACTORS];
    }

    /// @dev Three times in four a member that has not approved `id` yet (if there is one).
    function _steerApprover(uint256 seed, uint256 id) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 i = 0; i < ACTORS; i++) {
                address actor = actors[(seed % ACTORS + i) % ACTORS];
                if (board.isMember(actor) && !board.approved(id, actor)) return actor;
            }
        }
        return actors[(seed >> 2) % ACTORS];
    }

    /// @dev Three times in four one of the three newest proposals (where approvals gather and
    ///      members change), else any proposal (old, expired, executed ones too).
    function _pickProposal(uint256 seed, uint256 count) internal pure returns (uint256) {
        if (seed % 4 == 0) return (seed >> 2) % count;
        uint256 back = (seed >> 2) % (count < 3 ? count : 3);
        return count - 1 - back;
    }

    function actorCount() external pure returns (uint256) {
        return ACTORS;
    }

    /// @notice The model: does `actor`'s approval of `id` count now (given during its current
    ///         membership)? Membership is read from the board, generations from the handler.
    function modelCounts(uint256 id, address actor) external view returns (bool) {
        uint256 given = approvedIn[id][actor];
        return given != 0 && given == generation[actor] && board.isMember(actor);
    }

    /// @dev Bump the generation of every actor that (re-)entered the board in the last board call
    ///      (a call executes at most one proposal, so nobody leaves and re-enters within one
    ///      call); run after every board call.
    function _syncMembership() internal {
        for (uint256 i = 0; i < ACTORS; i++) {
            address actor = actors[i];
            bool isMember = board.isMember(actor);
            if (isMember && !_wasMember[actor]) generation[actor]++;
            _wasMember[actor] = isMember;
        }
    }
}

/// @notice OversightBoard invariants: the threshold stays within 1..members, approvals(id) never
///         counts a non-member, and it equals the handler's model (approvals given during the
///         approver's current membership only); every execution followed the rules in force.
contract OversightBoardInvariantTest is Test {
    OversightBoardHandler internal handler;
    OversightBoard internal board;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new OversightBoardHandler();
        board = handler.board();
        targetContract(address(handler));
    }

    function invariant_thresholdWithinMembers() public view {
        uint256 members = board.members().length;
        vm.assertGe(board.threshold(), 1, "threshold >= 1");
        vm.assertLe(board.threshold(), members, "threshold <= members");
        vm.assertGe(members, 1, "never an empty board");
    }

    function invariant_approvalsCountOnlyCurrentMembers() public view {
        uint256 actors = handler.actorCount();
        address[] memory who = new address[](actors);
        bool[] memory member = new bool[](actors);
        for (uint256 i = 0; i < actors; i++) {
            who[i] = handler.actors(i);
            member[i] = board.isMember(who[i]);
        }
        uint256 proposals = board.proposalCount();
        for (uint256 id = 0; id < proposals; id++) {
            uint256 expected;
            for (uint256 i = 0; i < actors; i++) {
                bool approved = board.approved(id, who[i]);
                if (!member[i]) vm.assertFalse(approved, "a non-member's approval never counts");
                vm.assertEq(approved, handler.modelCounts(id, who[i]), "approved() follows the membership model");
                if (approved) expected++;
            }
            vm.assertEq(board.approvals(id), expected, "approvals(id) == current members' approvals");
        }
    }

    /// @dev Every execution followed the rules in force: the threshold, or a removal with every
    ///      other member's approval after its wait and without its target's objection; and only
    ///      a removal's target objects.
    function invariant_executionsFollowTheRules() public view {
        vm.assertEq(handler.executedBelowThreshold(), 0, "propose/approve never execute below the threshold");
        vm.assertEq(handler.executedAgainstRemovalRules(), 0, "below the threshold only a waited, unopposed removal");
        vm.assertEq(handler.objectionsByOthers(), 0, "only the member a removal targets objects");
    }

    /// @dev members() lists each actor once, exactly the ones isMember says.
    function invariant_membersListMatchesIsMember() public view {
        address[] memory members = board.members();
        uint256 listed;
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address actor = handler.actors(i);
            uint256 times;
            for (uint256 j = 0; j < members.length; j++) {
                if (members[j] == actor) times++;
            }
            vm.assertEq(times, board.isMember(actor) ? 1 : 0, "listed once iff a member");
            listed += times;
        }
        vm.assertEq(listed, members.length, "only actors are members");
    }
}
