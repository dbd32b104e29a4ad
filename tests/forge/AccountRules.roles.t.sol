// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {ConsentLedger} from "../../contracts/ConsentLedger.sol";
import {RulesConsumer} from "../../contracts/RulesConsumer.sol";
import {Test} from "./base/Test.sol";

/// @notice Issue 10, item 12: admins and organization accounts are kept apart (RoleConflict),
///         only the board lifts or removes what the board suspended (BoardSuspension), the board
///         may take over an admin's suspension, and once set only the board replaces the board
///         (NotBoard).
contract AccountRulesRolesTest is Test {
    event AccountSuspended(address indexed account, address indexed by);
    event BoardChanged(address indexed board, address indexed by);

    AccountRules internal rules;
    address internal admin2 = address(0xAD2);
    address internal lab = address(0x1AB);
    address internal boardAddr = address(0xB0A2D);
    address internal outsider = address(0x0175);

    function setUp() public {
        address[] memory admins = new address[](2);
        admins[0] = address(this);
        admins[1] = admin2;
        rules = new AccountRules(admins);
        rules.admit(lab);
    }

    function _status(address account) internal view returns (uint256) {
        return uint256(rules.statusOf(account));
    }

    // ---------------------------------------------------------------- roles apart

    function test_anAdminCannotBeAdmittedAsAnOrganization() public {
        vm.expectRevert(abi.encodeWithSelector(AccountRules.RoleConflict.selector, admin2));
        rules.admit(admin2);
        vm.assertEq(_status(admin2), uint256(AccountRules.Status.None), "not admitted");
    }

    function test_anOrganizationCannotBecomeAnAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(AccountRules.RoleConflict.selector, lab));
        rules.addAdmin(lab);
        rules.suspend(lab);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.RoleConflict.selector, lab));
        rules.addAdmin(lab);
        vm.assertFalse(rules.isAdmin(lab), "not an admin");
    }

    function test_bootstrapAdminsCannotRepeat() public {
        address[] memory admins = new address[](2);
        admins[0] = admin2;
        admins[1] = admin2;
        vm.expectRevert(abi.encodeWithSelector(AccountRules.AlreadyAdmin.selector, admin2));
        new AccountRules(admins);
    }

    /// @dev Accepted paths: a role is free again once the other one is given up.
    function test_rolesCanBeSwappedOnlyByGivingOneUp() public {
        rules.removeAdmin(admin2);
        rules.admit(admin2);
        vm.assertTrue(rules.isActive(admin2), "former admin admitted");
        rules.remove(lab);
        rules.addAdmin(lab);
        vm.assertTrue(rules.isAdmin(lab), "former organization made admin");
    }

    /// @dev Why it matters: an admin (never an organization) cannot act as an organization on
    ///      the ledger, so it has no suspension to ignore.
    function test_anAdminIsNoOrganizationOnTheLedger() public {
        ConsentLedger ledger = new ConsentLedger(rules);
        bytes32[] memory purposes = new bytes32[](1);
        purposes[0] = keccak256("dpv:Marketing");
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationNotAdmitted.selector, admin2));
        vm.prank(admin2);
        ledger.publishPolicy(keccak256("text"), "uri", purposes);
    }

    /// @dev For any account and either order, the account ends with at most one role.
    function testFuzz_rolesStayApart(address account, bool adminFirst) public {
        vm.assume(account != address(0) && account != address(this) && account != admin2 && account != lab);
        if (adminFirst) {
            rules.addAdmin(account);
            vm.expectRevert(abi.encodeWithSelector(AccountRules.RoleConflict.selector, account));
            rules.admit(account);
        } else {
            rules.admit(account);
            vm.expectRevert(abi.encodeWithSelector(AccountRules.RoleConflict.selector, account));
            rules.addAdmin(account);
        }
        vm.assertFalse(
            rules.isAdmin(account) && rules.statusOf(account) != AccountRules.Status.None, "never both roles"
        );
    }

    // ---------------------------------------------------------------- board suspensions

    function _setBoard() internal {
        rules.setBoard(boardAddr);
    }

    function test_boardSuspensionIsLiftedOnlyByTheBoard() public {
        _setBoard();
        vm.prank(boardAddr);
        rules.suspend(lab);
        vm.assertTrue(rules.suspendedByBoard(lab), "board suspension");

        vm.expectRevert(abi.encodeWithSelector(AccountRules.BoardSuspension.selector, lab));
        rules.reinstate(lab);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.BoardSuspension.selector, lab));
        vm.prank(admin2);
        rules.reinstate(lab);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.BoardSuspension.selector, lab));
        rules.remove(lab);
        vm.assertEq(_status(lab), uint256(AccountRules.Status.Suspended), "still suspended");

        vm.prank(boardAddr);
        rules.reinstate(lab);
        vm.assertTrue(rules.isActive(lab), "the board lifted it");
        vm.assertFalse(rules.suspendedByBoard(lab), "flag cleared");
        // After the board lifted it, the admins' own powers are back.
        rules.suspend(lab);
        rules.reinstate(lab);
        rules.remove(lab);
        vm.assertEq(_status(lab), uint256(AccountRules.Status.None), "removed by an admin");
    }

    function test_adminSuspensionIsLiftedByAnAdmin() public {
        rules.suspend(lab);
        vm.assertFalse(rules.suspendedByBoard(lab), "an admin's suspension");
        vm.prank(admin2);
        rules.reinstate(lab);
        vm.assertTrue(rules.isActive(lab), "reinstated by an admin");
    }

    function test_boardTakesOverAnAdminsSuspension() public {
        _setBoard();
        rules.suspend(lab);
        vm.expectEmit(true, true, false, true, address(rules));
        emit AccountSuspended(lab, boardAddr);
        vm.prank(boardAddr);
        rules.suspend(lab);
        vm.assertTrue(rules.suspendedByBoard(lab), "now the board's");
        vm.expectRevert(abi.encodeWithSelector(AccountRules.BoardSuspension.selector, lab));
        rules.reinstate(lab);
        // Neither side can suspend it twice.
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotActive.selector, lab));
        vm.prank(boardAddr);
        rules.suspend(lab);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotActive.selector, lab));
        rules.suspend(lab);
    }

    function test_outsidersCannotSuspendOrReinstate() public {
        _setBoard();
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotAdminOrBoard.selector, outsider));
        vm.prank(outsider);
        rules.suspend(lab);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotAdminOrBoard.selector, outsider));
        vm.prank(outsider);
        rules.reinstate(lab);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotAdmin.selector, boardAddr));
        vm.prank(boardAddr);
        rules.remove(lab);
    }

    // ---------------------------------------------------------------- who sets the board

    function test_firstBoardIsSetByAnAdminOnly() public {
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotAdmin.selector, outsider));
        vm.prank(outsider);
        rules.setBoard(boardAddr);
        vm.expectEmit(true, true, false, true, address(rules));
        emit BoardChanged(boardAddr, address(this));
        _setBoard();
        vm.assertEq(rules.board(), boardAddr, "board set");
    }

    function test_onceSetOnlyTheBoardReplacesOrUnsetsItself() public {
        _setBoard();
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotBoard.selector, address(this)));
        rules.setBoard(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotBoard.selector, admin2));
        vm.prank(admin2);
        rules.setBoard(address(0));
        vm.assertEq(rules.board(), boardAddr, "unchanged");

        address next = address(0xB0A2D2);
        vm.prank(boardAddr);
        rules.setBoard(next);
        vm.assertEq(rules.board(), next, "replaced by the board");
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotBoard.selector, boardAddr));
        vm.prank(boardAddr);
        rules.setBoard(boardAddr);
    }

    /// @dev A new board inherits the old board's suspensions (only it can lift them).
    function test_replacementBoardLiftsTheOldBoardsSuspension() public {
        _setBoard();
        vm.prank(boardAddr);
        rules.suspend(lab);
        address next = address(0xB0A2D2);
        vm.prank(boardAddr);
        rules.setBoard(next);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotAdminOrBoard.selector, boardAddr));
        vm.prank(boardAddr);
        rules.reinstate(lab);
        vm.prank(next);
        rules.reinstate(lab);
        vm.assertTrue(rules.isActive(lab), "lifted by the new board");
    }

    /// @dev For any interleaving of admin actions after a board suspension, the account stays
    ///      suspended until the board acts.
    function testFuzz_adminsCannotUndoABoardSuspension(uint8[8] calldata actions) public {
        _setBoard();
        vm.prank(boardAddr);
        rules.suspend(lab);
        for (uint256 i = 0; i < actions.length; i++) {
            address by = actions[i] & 1 == 0 ? address(this) : admin2;
            uint256 what = (actions[i] >> 1) % 5;
            vm.prank(by);
            if (what == 0) {
                try rules.reinstate(lab) {} catch {}
            } else if (what == 1) {
                try rules.remove(lab) {} catch {}
            } else if (what == 2) {
                try rules.suspend(lab) {} catch {}
            } else if (what == 3) {
                try rules.setBoard(by) {} catch {}
            } else {
                try rules.addAdmin(lab) {} catch {}
            }
            vm.assertEq(_status(lab), uint256(AccountRules.Status.Suspended), "still suspended");
            vm.assertTrue(rules.suspendedByBoard(lab), "still the board's");
            vm.assertEq(rules.board(), boardAddr, "board unchanged");
            vm.assertFalse(rules.transactionAllowed(lab, address(0), 0, 0, 0, ""), "lab may not transact");
        }
    }
}
