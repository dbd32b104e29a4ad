// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {OversightBoard} from "../../contracts/OversightBoard.sol";
import {BoardFixture} from "./base/BoardFixture.sol";
import {Vm} from "./base/Vm.sol";

/// @notice Issue 12, part 2: the consortium's validator set lives in AccountRules, only the
///         board sets it, and every change of a validator's effective power (its recorded power
///         while its organization is active, 0 while suspended) is one ValidatorPowerChanged.
contract AccountRulesValidatorsTest is BoardFixture {
    bytes32 internal constant POWER_CHANGED = keccak256("ValidatorPowerChanged(address,bytes32,uint64)");
    bytes32 internal constant KEY1 = bytes32(uint256(0x11));
    bytes32 internal constant KEY2 = bytes32(uint256(0x22));
    address internal lab2 = address(0x2AB);

    /// @dev One ValidatorPowerChanged, as recorded.
    struct Change {
        address organization;
        bytes32 pubKey;
        uint64 power;
    }

    function setUp() public override {
        super.setUp();
        rules.admit(lab2);
    }

    function _set(address organization, bytes32 key, uint64 power) internal {
        vm.prank(address(board));
        rules.setValidator(organization, key, power);
    }

    /// @dev The ValidatorPowerChanged events since the last call (recording starts again).
    function _changes() internal returns (Change[] memory out) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 n;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter == address(rules) && logs[i].topics[0] == POWER_CHANGED) n++;
        }
        out = new Change[](n);
        n = 0;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(rules) || logs[i].topics[0] != POWER_CHANGED) continue;
            out[n++] = Change(
                address(uint160(uint256(logs[i].topics[1]))), logs[i].topics[2], abi.decode(logs[i].data, (uint64))
            );
        }
        vm.recordLogs();
    }

    function _assertChanges(Change[] memory expected, string memory what) internal {
        Change[] memory got = _changes();
        vm.assertEq(got.length, expected.length, string.concat(what, ": number of events"));
        for (uint256 i = 0; i < got.length; i++) {
            vm.assertEq(got[i].organization, expected[i].organization, what);
            vm.assertEq(got[i].pubKey, expected[i].pubKey, what);
            vm.assertEq(uint256(got[i].power), uint256(expected[i].power), what);
        }
    }

    function _one(address organization, bytes32 key, uint64 power) internal pure returns (Change[] memory c) {
        c = new Change[](1);
        c[0] = Change(organization, key, power);
    }

    function _none() internal pure returns (Change[] memory) {
        return new Change[](0);
    }

    function _assertValidator(address organization, bytes32 key, uint64 power, uint64 effective) internal view {
        (bytes32 k, uint64 p, uint64 e) = rules.validatorOf(organization);
        vm.assertEq(k, key, "key");
        vm.assertEq(uint256(p), uint256(power), "recorded power");
        vm.assertEq(uint256(e), uint256(effective), "effective power");
    }

    // ---------------------------------------------------------------- who may set

    function test_onlyTheBoardSetsValidators() public {
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotBoard.selector, address(this)));
        rules.setValidator(lab, KEY1, 10); // an admin
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotBoard.selector, lab));
        vm.prank(lab);
        rules.setValidator(lab, KEY1, 10); // the organization itself
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotBoard.selector, a));
        vm.prank(a);
        rules.setValidator(lab, KEY1, 10); // a board member, not the board
        _assertValidator(lab, 0, 0, 0);
    }

    function test_withNoBoardNobodySetsValidators() public {
        address[] memory admins = new address[](1);
        admins[0] = address(this);
        AccountRules bare = new AccountRules(admins);
        bare.admit(lab);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotBoard.selector, address(this)));
        bare.setValidator(lab, KEY1, 10);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotBoard.selector, address(0)));
        vm.prank(address(0));
        bare.setValidator(lab, KEY1, 10);
    }

    function test_refusesUnadmittedZeroKeyAndTooMuchPower() public {
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotAdmitted.selector, e));
        _set(e, KEY1, 10);
        vm.expectRevert(AccountRules.ZeroKey.selector);
        _set(lab, 0, 10);
        uint64 max = rules.MAX_POWER();
        vm.expectRevert(abi.encodeWithSelector(AccountRules.PowerTooHigh.selector, max + 1, max));
        _set(lab, KEY1, max + 1);
        _set(lab, KEY1, max);
        _assertValidator(lab, KEY1, max, max);
    }

    // ---------------------------------------------------------------- one key per organization

    function test_setEmitsTheEffectivePowerAndListsTheValidator() public {
        vm.recordLogs();
        _set(lab, KEY1, 10);
        _assertChanges(_one(lab, KEY1, 10), "added");
        _assertValidator(lab, KEY1, 10, 10);
        _set(lab, KEY1, 25);
        _assertChanges(_one(lab, KEY1, 25), "power changed");
        _set(lab, KEY1, 25);
        _assertChanges(_none(), "same power: no change, no event");
        (address[] memory orgs, bytes32[] memory keys, uint64[] memory powers) = rules.validators();
        vm.assertEq(orgs.length, 1, "one validator");
        vm.assertEq(orgs[0], lab, "lab");
        vm.assertEq(keys[0], KEY1, "its key");
        vm.assertEq(uint256(powers[0]), 25, "its power");
    }

    function test_aKeyOfAnotherOrganizationIsRefused() public {
        _set(lab, KEY1, 10);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.KeyInUse.selector, KEY1, lab));
        _set(lab2, KEY1, 10);
        _assertValidator(lab2, 0, 0, 0);
        // Once lab lets go of the key, another organization may take it.
        _set(lab, KEY2, 10);
        _set(lab2, KEY1, 5);
        _assertValidator(lab2, KEY1, 5, 5);
    }

    function test_replacingAKeyRemovesTheOldOneFirst() public {
        _set(lab, KEY1, 10);
        vm.recordLogs();
        _set(lab, KEY2, 7);
        Change[] memory expected = new Change[](2);
        expected[0] = Change(lab, KEY1, 0);
        expected[1] = Change(lab, KEY2, 7);
        _assertChanges(expected, "old out, new in");
        _assertValidator(lab, KEY2, 7, 7);
        (address[] memory orgs,,) = rules.validators();
        vm.assertEq(orgs.length, 1, "still one validator");
    }

    function test_powerZeroRemovesTheValidator() public {
        _set(lab, KEY1, 10);
        _set(lab2, KEY2, 20);
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotValidatorKey.selector, lab, KEY2));
        _set(lab, KEY2, 0); // the key to remove must be lab's own
        vm.recordLogs();
        _set(lab, KEY1, 0);
        _assertChanges(_one(lab, KEY1, 0), "removed");
        _assertValidator(lab, 0, 0, 0);
        (address[] memory orgs, bytes32[] memory keys,) = rules.validators();
        vm.assertEq(orgs.length, 1, "lab2 left");
        vm.assertEq(orgs[0], lab2, "lab2");
        vm.assertEq(keys[0], KEY2, "lab2's key");
        vm.expectRevert(abi.encodeWithSelector(AccountRules.NotValidatorKey.selector, lab, KEY1));
        _set(lab, KEY1, 0); // nothing left to remove
        _set(lab2, KEY1, 3); // and the key is free again
    }

    // ---------------------------------------------------------------- suspension and removal

    function test_suspensionZeroesAndReinstatementRestoresThePower() public {
        _set(lab, KEY1, 10);
        vm.recordLogs();
        rules.suspend(lab);
        _assertChanges(_one(lab, KEY1, 0), "suspended");
        _assertValidator(lab, KEY1, 10, 0);
        vm.assertEq(uint256(rules.statusOf(lab)), uint256(AccountRules.Status.Suspended), "history kept");
        rules.reinstate(lab);
        _assertChanges(_one(lab, KEY1, 10), "reinstated");
        _assertValidator(lab, KEY1, 10, 10);
    }

    function test_suspensionWithoutAValidatorEmitsNothing() public {
        vm.recordLogs();
        rules.suspend(lab);
        rules.reinstate(lab);
        _assertChanges(_none(), "no validator, no event");
    }

    function test_theBoardTakingOverASuspensionEmitsNothingMore() public {
        _set(lab, KEY1, 10);
        rules.suspend(lab);
        vm.recordLogs();
        vm.prank(address(board));
        rules.suspend(lab);
        _assertChanges(_none(), "already at 0");
        vm.prank(address(board));
        rules.reinstate(lab);
        _assertChanges(_one(lab, KEY1, 10), "reinstated by the board");
    }

    function test_whileSuspendedChangesAreRecordedNotEffective() public {
        _set(lab, KEY1, 10);
        rules.suspend(lab);
        vm.recordLogs();
        _set(lab, KEY2, 4);
        _assertChanges(_none(), "suspended: effective power stays 0");
        _assertValidator(lab, KEY2, 4, 0);
        (,, uint64[] memory powers) = rules.validators();
        vm.assertEq(uint256(powers[0]), 0, "listed at effective power 0");
        rules.reinstate(lab);
        _assertChanges(_one(lab, KEY2, 4), "the new key comes in");
        rules.suspend(lab);
        _changes();
        _set(lab, KEY2, 0);
        _assertChanges(_none(), "removed while suspended: already 0");
        rules.reinstate(lab);
        _assertChanges(_none(), "no validator to restore");
    }

    function test_removalEmitsZeroAndForgetsTheValidator() public {
        _set(lab, KEY1, 10);
        vm.recordLogs();
        rules.remove(lab);
        _assertChanges(_one(lab, KEY1, 0), "removed");
        _assertValidator(lab, 0, 0, 0);
        (address[] memory orgs,,) = rules.validators();
        vm.assertEq(orgs.length, 0, "none left");
        rules.admit(lab);
        _assertValidator(lab, 0, 0, 0);
        _set(lab2, KEY1, 1); // the key is free
    }

    function test_removingASuspendedOrganizationEmitsNothingMore() public {
        _set(lab, KEY1, 10);
        rules.suspend(lab);
        vm.recordLogs();
        rules.remove(lab);
        _assertChanges(_none(), "its power was already 0");
        _assertValidator(lab, 0, 0, 0);
    }

    // ---------------------------------------------------------------- through the board

    function test_anExecutedProposalSetsTheValidator() public {
        vm.prank(a);
        uint256 id = board.propose(OversightBoard.Action.SetValidator, lab, KEY1, bytes32(uint256(10)));
        _approve(b, id);
        _assertValidator(lab, 0, 0, 0);
        vm.recordLogs();
        _approve(c, id);
        _assertChanges(_one(lab, KEY1, 10), "executed");
        vm.assertTrue(board.proposal(id).executed, "executed");
        _assertValidator(lab, KEY1, 10, 10);

        vm.prank(a);
        id = board.propose(OversightBoard.Action.SetValidator, lab, KEY1, 0);
        _approve(b, id);
        _approve(c, id);
        _assertChanges(_one(lab, KEY1, 0), "removed by the board");
    }

    function test_boardSuspensionZeroesTheValidator() public {
        _set(lab, KEY1, 10);
        vm.recordLogs();
        uint256 id = _propose(a, OversightBoard.Action.SuspendOrganization, lab, 0);
        _approve(b, id);
        _approve(c, id);
        _assertChanges(_one(lab, KEY1, 0), "suspended by the board");
    }

    function test_proposalRefusesZeroKeyTargetAndPower() public {
        vm.startPrank(a);
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidValidator.selector, bytes32(0), 10));
        board.propose(OversightBoard.Action.SetValidator, lab, 0, bytes32(uint256(10)));
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidTarget.selector, address(0)));
        board.propose(OversightBoard.Action.SetValidator, address(0), KEY1, bytes32(uint256(10)));
        uint256 tooMuch = uint256(type(uint64).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidValidator.selector, KEY1, tooMuch));
        board.propose(OversightBoard.Action.SetValidator, lab, KEY1, bytes32(tooMuch));
        uint256 overMax = uint256(rules.MAX_POWER()) + 1;
        vm.expectRevert(abi.encodeWithSelector(OversightBoard.InvalidValidator.selector, KEY1, overMax));
        board.propose(OversightBoard.Action.SetValidator, lab, KEY1, bytes32(overMax));
        vm.stopPrank();
    }

    function test_setValidatorIsAppendedToTheActions() public pure {
        vm.assertEq(uint256(OversightBoard.Action.ReplaceBoard), 6, "existing numbering kept");
        vm.assertEq(uint256(OversightBoard.Action.SetValidator), 7, "appended");
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Whatever the board sets, effective power is the recorded power iff active.
    function testFuzz_effectivePowerFollowsStatus(uint64 power, bool suspended) public {
        power = uint64(bound(power, 1, rules.MAX_POWER()));
        _set(lab, KEY1, power);
        if (suspended) rules.suspend(lab);
        _assertValidator(lab, KEY1, power, suspended ? 0 : power);
    }
}
