// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {Test} from "./base/Test.sol";

/// @notice Drives AccountRules' admin functions from a fixed set of actors, so the invariant can
///         count admins by asking about every address that could be one. Calls that revert
///         (not an admin, already an admin, the last admin, ...) are part of the run and are
///         counted, not filtered out.
/// @dev A skeleton to grow: add an action per state-changing function and a ghost variable for
///      what the invariants need.
contract AccountRulesHandler is Test {
    AccountRules public immutable rules;
    address[] public actors;

    // Ghost counters: calls that went through, and calls the contract refused.
    uint256 public adminsAdded;
    uint256 public adminsRemoved;
    uint256 public refused;

    constructor(uint256 actorCount, uint256 bootstrapAdmins) {
        for (uint256 i = 0; i < actorCount; i++) {
            actors.push(vm.addr(i + 1));
        }
        address[] memory admins = new address[](bootstrapAdmins);
        for (uint256 i = 0; i < bootstrapAdmins; i++) {
            admins[i] = actors[i];
        }
        rules = new AccountRules(admins);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function addAdmin(uint256 callerSeed, uint256 adminSeed) external {
        vm.prank(_actor(callerSeed));
        try rules.addAdmin(_actor(adminSeed)) {
            adminsAdded++;
        } catch {
            refused++;
        }
    }

    function removeAdmin(uint256 callerSeed, uint256 adminSeed) external {
        vm.prank(_actor(callerSeed));
        try rules.removeAdmin(_actor(adminSeed)) {
            adminsRemoved++;
        } catch {
            refused++;
        }
    }

    function admit(uint256 callerSeed, uint256 accountSeed) external {
        vm.prank(_actor(callerSeed));
        try rules.admit(_actor(accountSeed)) {} catch {
            refused++;
        }
    }

    function remove(uint256 callerSeed, uint256 accountSeed) external {
        vm.prank(_actor(callerSeed));
        try rules.remove(_actor(accountSeed)) {} catch {
            refused++;
        }
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }
}

/// @notice AccountRules' basic admin invariant: `adminCount` equals the number of addresses with
///         `isAdmin` true, and never drops to 0.
contract AccountRulesInvariantTest is Test {
    uint256 internal constant ACTORS = 6;
    uint256 internal constant BOOTSTRAP_ADMINS = 2;

    AccountRulesHandler internal handler;
    AccountRules internal rules;

    function setUp() public {
        handler = new AccountRulesHandler(ACTORS, BOOTSTRAP_ADMINS);
        rules = handler.rules();
        targetContract(address(handler));
    }

    function invariant_adminCountMatchesAdmins() public view {
        uint256 admins = 0;
        for (uint256 i = 0; i < ACTORS; i++) {
            if (rules.isAdmin(handler.actors(i))) admins++;
        }
        vm.assertEq(rules.adminCount(), admins, "adminCount == number of isAdmin addresses");
    }

    function invariant_neverWithoutAdmin() public view {
        vm.assertGt(rules.adminCount(), 0, "at least one admin");
    }

    function invariant_adminCountFollowsAddsAndRemoves() public view {
        vm.assertEq(
            rules.adminCount(),
            BOOTSTRAP_ADMINS + handler.adminsAdded() - handler.adminsRemoved(),
            "adminCount == bootstrap + added - removed"
        );
    }
}
