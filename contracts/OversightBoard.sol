// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "./AccountRules.sol";

/// @title OversightBoard
/// @notice M-of-N oversight: members propose and approve actions (suspend or reinstate an
///         organization, flag a recorded data use, change members or the threshold, hand the
///         board's authority to a new board, set an organization's consensus validator). A proposal executes as soon as approvals by
///         current members reach the threshold, and can no longer be approved or executed once
///         it expires (`proposalLifetime` seconds after it was made).
/// @dev Must be set as `board` in AccountRules to suspend, reinstate and set validators. An approval counts
///      only while its member stays on the board without interruption: each membership has a
///      serial number, and an approval records the serial it was given under, so a member who
///      is removed and added again starts with no approvals.
contract OversightBoard {
    /// @notice What a proposal does.
    enum Action {
        SuspendOrganization, // target: organization
        ReinstateOrganization, // target: organization
        FlagUse, // target: organization; ref: use reference; reason: reason hash
        AddMember, // target: new member
        RemoveMember, // target: member; ref: new threshold (0 keeps it), applied with the removal
        SetThreshold, // ref: new threshold
        ReplaceBoard, // target: the new board contract (AccountRules.setBoard)
        SetValidator // target: organization; ref: ed25519 public key; reason: power (uint256, 0 removes)
    }

    /// @notice A proposal and its state.
    struct Proposal {
        Action action;
        address target;
        bytes32 ref;
        bytes32 reason;
        address proposer;
        bool executed;
        uint64 expiresAt; // unix seconds; no approval or execution after it
    }

    /// @notice The AccountRules this board may suspend and reinstate in.
    AccountRules public immutable accountRules;
    /// @notice How long a proposal stays open, in seconds.
    uint64 public immutable proposalLifetime;
    /// @notice Approvals by current members needed to execute.
    uint256 public threshold;

    /// @dev member => serial of its current membership (0: not a member).
    mapping(address => uint256) private _membership;
    /// @dev proposal => member => the membership serial the approval was given under.
    mapping(uint256 => mapping(address => uint256)) private _approvals;
    uint256 private _serials;
    /// @notice Did the member a RemoveMember proposal targets object to it?
    mapping(uint256 => bool) public objected;
    address[] private _members;
    Proposal[] private _proposals;

    /// @notice A proposal was created (and approved by its proposer).
    event ProposalCreated(
        uint256 indexed id, Action action, address indexed target, bytes32 ref, bytes32 reason, address indexed proposer
    );
    /// @notice A member approved a proposal; `approvals` counts current members' approvals.
    event ProposalApproved(uint256 indexed id, address indexed member, uint256 approvals);
    /// @notice A proposal was executed.
    event ProposalExecuted(uint256 indexed id, Action action, address indexed target);
    /// @notice A recorded data use was flagged. `useRef` = keccak256(abi.encode(txHash, logIndex)).
    event UseFlagged(bytes32 indexed useRef, address indexed organization, bytes32 reasonHash, uint256 indexed proposalId);
    /// @notice A member joined the board.
    event MemberAdded(address indexed member);
    /// @notice A member left the board.
    event MemberRemoved(address indexed member);
    /// @notice The member a removal targets objected to it.
    event RemovalObjectedBy(uint256 indexed id, address indexed member);
    /// @notice The approval threshold changed.
    event ThresholdChanged(uint256 threshold);

    /// @notice The caller is not a board member.
    error NotMember(address caller);
    /// @notice No proposal has this id.
    error UnknownProposal(uint256 id);
    /// @notice The proposal was already executed.
    error AlreadyExecuted(uint256 id);
    /// @notice The member already approved this proposal.
    error AlreadyApproved(uint256 id, address member);
    /// @notice Approvals have not reached the threshold.
    error ThresholdNotReached(uint256 id, uint256 approvals, uint256 threshold);
    /// @notice The threshold must be between 1 and the number of members.
    error InvalidThreshold(uint256 threshold, uint256 members);
    /// @notice The address is already a member.
    error AlreadyMember(address account);
    /// @notice The target address is invalid for this action.
    error InvalidTarget(address target);
    /// @notice The proposal expired at `expiresAt`: make a new one.
    error ProposalExpired(uint256 id, uint64 expiresAt);
    /// @notice The proposal lifetime must be from one second to ten years.
    error InvalidLifetime();
    /// @notice The member to be removed objected: the removal needs the full threshold.
    error RemovalObjected(uint256 id, address member);
    /// @notice A removal below the threshold may execute only from `notBefore` on.
    error RemovalWaiting(uint256 id, uint64 notBefore);
    /// @notice A SetValidator proposal's key is zero or its power (in `reason`) is above
    ///         AccountRules.MAX_POWER.
    error InvalidValidator(bytes32 pubKey, uint256 power);

    modifier onlyMember() {
        if (_membership[msg.sender] == 0) revert NotMember(msg.sender);
        _;
    }

    /// @param rules The consortium's AccountRules.
    /// @param initialMembers The initial members.
    /// @param threshold_ Approvals needed (1..members.length).
    /// @param lifetime Seconds a proposal stays open (e.g. 30 days = 2,592,000).
    constructor(AccountRules rules, address[] memory initialMembers, uint256 threshold_, uint64 lifetime) {
        if (lifetime == 0 || lifetime > 3650 days) revert InvalidLifetime();
        accountRules = rules;
        proposalLifetime = lifetime;
        for (uint256 i = 0; i < initialMembers.length; i++) {
            _addMember(initialMembers[i]);
        }
        _setThreshold(threshold_);
    }

    /// @notice Create a proposal; the proposer's approval is counted at once.
    /// @return id The proposal id.
    function propose(Action action, address target, bytes32 ref, bytes32 reason)
        external
        onlyMember
        returns (uint256 id)
    {
        _validate(action, target, ref, reason);
        id = _proposals.length;
        _proposals.push(
            Proposal(action, target, ref, reason, msg.sender, false, uint64(block.timestamp) + proposalLifetime)
        );
        emit ProposalCreated(id, action, target, ref, reason, msg.sender);
        _approve(id);
    }

    /// @notice Approve a proposal; executes it when approvals reach the threshold.
    function approve(uint256 id) external onlyMember {
        _open(id);
        if (approved(id, msg.sender)) revert AlreadyApproved(id, msg.sender);
        _approve(id);
    }

    /// @notice Execute a proposal whose approvals reached the threshold (e.g. after a threshold
    ///         change), or a removal that every other member approved once its waiting time
    ///         (`removalNotBefore`) passed without the member objecting.
    function execute(uint256 id) external onlyMember {
        _open(id);
        uint256 count = approvals(id);
        if (count < threshold) {
            uint256 needed = approvalsNeeded(id);
            if (count < needed) revert ThresholdNotReached(id, count, needed);
            if (objected[id]) revert RemovalObjected(id, _proposals[id].target);
            uint64 notBefore = removalNotBefore(id);
            if (block.timestamp < notBefore) revert RemovalWaiting(id, notBefore);
        }
        _execute(id);
    }

    /// @notice The member a RemoveMember proposal would remove objects: the removal then needs
    ///         the full threshold (so one member of a two-member board cannot oust the other).
    function object(uint256 id) external onlyMember {
        _open(id);
        Proposal storage p = _proposals[id];
        if (p.action != Action.RemoveMember || p.target != msg.sender) revert InvalidTarget(msg.sender);
        objected[id] = true;
        emit RemovalObjectedBy(id, msg.sender);
    }

    /// @notice When a removal without its target's approval may execute: half the proposal's
    ///         lifetime after it was made, so a member whose key works has time to object.
    function removalNotBefore(uint256 id) public view returns (uint64) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        return _proposals[id].expiresAt - proposalLifetime + proposalLifetime / 2;
    }

    /// @notice Is the address a board member?
    function isMember(address account) external view returns (bool) {
        return _membership[account] != 0;
    }

    /// @notice Has `member` approved proposal `id` during its current membership?
    function approved(uint256 id, address member) public view returns (bool) {
        uint256 serial = _membership[member];
        return serial != 0 && _approvals[id][member] == serial;
    }

    /// @notice Number of current members who approved proposal `id` during their current membership.
    function approvals(uint256 id) public view returns (uint256 count) {
        for (uint256 i = 0; i < _members.length; i++) {
            if (approved(id, _members[i])) count++;
        }
    }

    /// @notice Approvals proposal `id` needs: the threshold, except that removing a member
    ///         needs at most every other member (min(threshold, members - 1)), so the rest of a
    ///         board whose threshold equals its size can drop a member whose key is lost. Such a
    ///         removal (below the threshold) executes only through `execute`, after
    ///         `removalNotBefore(id)`, and not if the member objected.
    function approvalsNeeded(uint256 id) public view returns (uint256) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        if (_proposals[id].action == Action.RemoveMember && threshold > _members.length - 1) {
            return _members.length - 1;
        }
        return threshold;
    }

    /// @notice A proposal by id.
    function proposal(uint256 id) external view returns (Proposal memory) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        return _proposals[id];
    }

    /// @notice Number of proposals ever made.
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice The current members.
    function members() external view returns (address[] memory) {
        return _members;
    }

    function _open(uint256 id) private view {
        if (id >= _proposals.length) revert UnknownProposal(id);
        Proposal storage p = _proposals[id];
        if (p.executed) revert AlreadyExecuted(id);
        if (block.timestamp > p.expiresAt) revert ProposalExpired(id, p.expiresAt);
    }

    function _approve(uint256 id) private {
        _approvals[id][msg.sender] = _membership[msg.sender];
        uint256 count = approvals(id);
        emit ProposalApproved(id, msg.sender, count);
        if (count >= threshold) _execute(id);
    }

    function _validate(Action action, address target, bytes32 ref, bytes32 reason) private view {
        if (action == Action.AddMember) {
            if (target == address(0)) revert InvalidTarget(target);
            if (_membership[target] != 0) revert AlreadyMember(target);
        } else if (action == Action.RemoveMember) {
            if (_membership[target] == 0) revert NotMember(target);
            uint256 next = uint256(ref) == 0 ? threshold : uint256(ref);
            if (next == 0 || next > _members.length - 1) revert InvalidThreshold(next, _members.length - 1);
        } else if (action == Action.SetThreshold) {
            if (uint256(ref) == 0 || uint256(ref) > _members.length) {
                revert InvalidThreshold(uint256(ref), _members.length);
            }
        } else if (target == address(0)) {
            revert InvalidTarget(target);
        } else if (action == Action.SetValidator) {
            uint256 power = uint256(reason);
            if (ref == bytes32(0) || power > accountRules.MAX_POWER()) {
                revert InvalidValidator(ref, power);
            }
        }
    }

    function _execute(uint256 id) private {
        Proposal storage p = _proposals[id];
        p.executed = true;
        Action action = p.action;
        if (action == Action.SuspendOrganization) {
            accountRules.suspend(p.target);
        } else if (action == Action.ReinstateOrganization) {
            accountRules.reinstate(p.target);
        } else if (action == Action.FlagUse) {
            emit UseFlagged(p.ref, p.target, p.reason, id);
        } else if (action == Action.AddMember) {
            _addMember(p.target);
        } else if (action == Action.RemoveMember) {
            _removeMember(p.target, uint256(p.ref));
        } else if (action == Action.SetThreshold) {
            _setThreshold(uint256(p.ref));
        } else if (action == Action.ReplaceBoard) {
            accountRules.setBoard(p.target);
        } else {
            accountRules.setValidator(p.target, p.ref, uint64(uint256(p.reason)));
        }
        emit ProposalExecuted(id, action, p.target);
    }

    function _addMember(address member) private {
        if (member == address(0)) revert InvalidTarget(member);
        if (_membership[member] != 0) revert AlreadyMember(member);
        _membership[member] = ++_serials;
        _members.push(member);
        emit MemberAdded(member);
    }

    /// @dev Remove `member`; a non-zero `newThreshold` replaces the threshold in the same step,
    ///      so a board whose threshold equals its size can still drop a member with a lost key.
    function _removeMember(address member, uint256 newThreshold) private {
        if (_membership[member] == 0) revert NotMember(member);
        uint256 next = newThreshold == 0 ? threshold : newThreshold;
        if (next == 0 || next > _members.length - 1) revert InvalidThreshold(next, _members.length - 1);
        delete _membership[member];
        for (uint256 i = 0; i < _members.length; i++) {
            if (_members[i] == member) {
                _members[i] = _members[_members.length - 1];
                _members.pop();
                break;
            }
        }
        emit MemberRemoved(member);
        if (newThreshold != 0 && newThreshold != threshold) {
            threshold = newThreshold;
            emit ThresholdChanged(newThreshold);
        }
    }

    function _setThreshold(uint256 newThreshold) private {
        if (newThreshold == 0 || newThreshold > _members.length) {
            revert InvalidThreshold(newThreshold, _members.length);
        }
        threshold = newThreshold;
        emit ThresholdChanged(newThreshold);
    }
}
