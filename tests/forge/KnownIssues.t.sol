// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {OversightBoard} from "../../contracts/OversightBoard.sol";
import {LedgerFixture} from "./base/LedgerFixture.sol";
import {BoardFixture} from "./base/BoardFixture.sol";

/// @notice Contract faults found while writing the issue-10 tests, each as a test of the behaviour
///         the contract promises. They fail on the current contracts, so they are skipped unless
///         COLLECTIVE_FORGE_KNOWN_ISSUES=1 (`COLLECTIVE_FORGE_KNOWN_ISSUES=1 forge test --match-path
///         tests/forge/KnownIssues.t.sol` shows them failing). Delete the skip with the fix.
contract KnownIssuesTest is LedgerFixture {
    function setUp() public override {
        vm.skip(!vm.envOr("COLLECTIVE_FORGE_KNOWN_ISSUES", false), "known contract issue: see KnownIssues.t.sol");
        super.setUp();
    }

    /// @dev FAULT: a signed request with nonce 2^64 - 2 (the largest `_checkSigned` accepts) sets
    ///      the consent's stored nonce to 2^64 - 1. From then on `_directNonce` (c.nonce + 1)
    ///      overflows, so the owner's direct `withdraw` reverts with Panic(0x11), and every signed
    ///      withdrawal fails `InvalidNonce` (it needs nonce >= 2^64 - 1, and 2^64 - 1 is refused).
    ///      A sigAuth delegate (or any client that signs a huge nonce) can thus grant a consent
    ///      (expiry FOREVER) that the subject can never withdraw; revoking the delegate or
    ///      rotating the key does not help, only deactivating the whole identity ends coverage.
    ///      Breaks "every way to grant has a matching way to withdraw" and item 6.
    function test_knownIssue_nonceNearMaxMakesAConsentUnwithdrawable() public {
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 1 days);
        _relayGrant(lab, _signGrant(GUARDIAN_KEY, address(ledger), _grantRequest(type(uint64).max - 1)));
        vm.assertTrue(_covered(), "the delegate's grant covers");
        vm.assertEq(uint256(_storedNonce()), type(uint64).max, "stored nonce at 2^64 - 1");

        // The owner revokes the delegate and withdraws directly: this must work.
        vm.prank(patient);
        ledger.revokeDelegate(patient, SIG_AUTH, guardian);
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH); // today: Panic(0x11)
        vm.assertFalse(_covered(), "withdrawn");
    }
}

/// @notice A question about the lost-key rule of item 11 (OversightBoard.approvalsNeeded, commit
///         76e3f93), kept with the faults above (skipped the same way) until it is decided.
contract KnownBoardIssuesTest is BoardFixture {
    function setUp() public override {
        vm.skip(!vm.envOr("COLLECTIVE_FORGE_KNOWN_ISSUES", false), "known contract issue: see KnownIssues.t.sol");
        super.setUp();
    }

    /// @dev TRADE-OFF: a removal needs min(threshold, members - 1) approvals, and `propose`
    ///      counts the proposer's approval and executes at once. On a 2-of-2 board that is one
    ///      approval: either member alone removes the other with ref = 1 in a single transaction
    ///      and is from then on a 1-of-1 board (suspends, reinstates, replaces the board alone),
    ///      and the other member gets no chance to react. The same holds for any N-of-N board
    ///      whose N - 1 members agree to drop the threshold to 1, which is their call; for N = 2
    ///      the "N - 1" is the proposer alone. Expected here: the unanimity a 2-of-2 board was
    ///      set up for is not bypassed by one member (e.g. a delay before a below-threshold
    ///      removal executes, during which the target can still act).
    function test_knownIssue_oneMemberOfATwoOfTwoBoardCannotSeizeIt() public {
        address[] memory two = new address[](2);
        (two[0], two[1]) = (a, b);
        OversightBoard duo = _newBoard(two, 2, LIFETIME);
        vm.prank(a);
        uint256 id = duo.propose(OversightBoard.Action.RemoveMember, b, bytes32(uint256(1)), "");
        vm.assertFalse(duo.proposal(id).executed, "a alone removed b (today: executed at once)");
        vm.assertTrue(duo.isMember(b), "b still a member");
    }
}
