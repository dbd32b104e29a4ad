// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../../contracts/AccountRules.sol";
import {OversightBoard} from "../../../contracts/OversightBoard.sol";
import {Test} from "./Test.sol";

/// @notice A board of four (a, b, c, d) with threshold 3 and 30-day proposals, set as the board of
///         an AccountRules that admitted a lab.
abstract contract BoardFixture is Test {
    event ProposalExecuted(uint256 indexed id, OversightBoard.Action action, address indexed target);
    event MemberRemoved(address indexed member);
    event ThresholdChanged(uint256 threshold);
    event UseFlagged(bytes32 indexed useRef, address indexed organization, bytes32 reasonHash, uint256 indexed proposalId);
    event BoardChanged(address indexed board, address indexed by);
    event RemovalObjectedBy(uint256 indexed id, address indexed member);

    uint64 internal constant LIFETIME = 30 days;

    AccountRules internal rules;
    OversightBoard internal board;
    address internal a = address(0xA);
    address internal b = address(0xB);
    address internal c = address(0xC);
    address internal d = address(0xD);
    address internal e = address(0xE);
    address internal lab = address(0x1AB);

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        address[] memory admins = new address[](1);
        admins[0] = address(this);
        rules = new AccountRules(admins);
        rules.admit(lab);
        board = _newBoard(_list(a, b, c, d), 3, LIFETIME);
        rules.setBoard(address(board));
    }

    function _newBoard(address[] memory members, uint256 threshold, uint64 lifetime)
        internal
        returns (OversightBoard)
    {
        return new OversightBoard(rules, members, threshold, lifetime);
    }

    function _list(address m1, address m2, address m3, address m4) internal pure returns (address[] memory list) {
        list = new address[](4);
        (list[0], list[1], list[2], list[3]) = (m1, m2, m3, m4);
    }

    function _list(address m1, address m2, address m3) internal pure returns (address[] memory list) {
        list = new address[](3);
        (list[0], list[1], list[2]) = (m1, m2, m3);
    }

    function _propose(address by, OversightBoard.Action action, address target, uint256 ref)
        internal
        returns (uint256 id)
    {
        vm.prank(by);
        id = board.propose(action, target, bytes32(ref), keccak256("reason"));
    }

    function _approve(address by, uint256 id) internal {
        vm.prank(by);
        board.approve(id);
    }

    /// @dev Remove `member` with the approvals of three others (threshold 3 of 4 stays).
    function _remove(address member, address p1, address p2, address p3) internal {
        uint256 id = _propose(p1, OversightBoard.Action.RemoveMember, member, 0);
        _approve(p2, id);
        _approve(p3, id);
        vm.assertFalse(board.isMember(member), "removed");
    }

    function _add(address member, address p1, address p2, address p3) internal {
        uint256 id = _propose(p1, OversightBoard.Action.AddMember, member, 0);
        _approve(p2, id);
        _approve(p3, id);
        vm.assertTrue(board.isMember(member), "added");
    }
}
