// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentRegistry} from "../../contracts/ConsentRegistry.sol";
import {DIDRegistry} from "../../contracts/DIDRegistry.sol";
import {RulesConsumer} from "../../contracts/RulesConsumer.sol";
import {LedgerFixture} from "./base/LedgerFixture.sol";
import {Vm} from "./base/Vm.sol";

/// @notice Issue 10, item 5: a signed Grant carries the content hash of the policy version it
///         agrees to, and the ledger checks it.
contract PolicyHashTest is LedgerFixture {
    function test_domainSeparatorMatchesTheLedgers() public view {
        vm.assertEq(ledger.DOMAIN_SEPARATOR(), _domainSeparator(address(ledger)), "EIP-712 domain");
        vm.assertEq(ledger.GRANT_TYPEHASH(), GRANT_TYPEHASH, "Grant typehash");
        vm.assertEq(ledger.WITHDRAWAL_TYPEHASH(), WITHDRAWAL_TYPEHASH, "Withdrawal typehash");
    }

    function test_signedGrantWithThePolicysHashIsAccepted() public {
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        vm.assertEq(sg.grant.policyHash, POLICY_V1, "the request names v1's text");
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ConsentGranted(patient, lab, RESEARCH, HEALTH, FOREVER, 1, patient);
        _relayGrant(relayer, sg);
        vm.assertTrue(_covered(), "covered");
    }

    function test_signedGrantWithAnotherHashIsRefused() public {
        ConsentRegistry.Grant memory g = _grantRequest(_msNow());
        g.policyHash = keccak256("some other text");
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), g);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.PolicyHashMismatch.selector, lab, uint32(1), g.policyHash)
        );
        _relayGrant(lab, sg);
        vm.assertFalse(_active(), "nothing stored");
        vm.assertEq(uint256(_storedNonce()), 0, "nonce untouched");
    }

    /// @dev The issue's input: the subject signs for version 2 before it exists; the lab then
    ///      publishes other text as v2 and relays. Refused before publication (not current) and
    ///      after it (the hash names the text the subject saw, not the one published).
    function test_signatureForAnUnpublishedVersionCannotBeRelayedWithOtherText() public {
        ConsentRegistry.Grant memory g = _grantRequest(_msNow());
        g.policyVersion = 2;
        g.policyHash = POLICY_V2;
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), g);

        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.PolicyNotCurrent.selector, lab, uint32(2), RESEARCH));
        _relayGrant(lab, sg);

        bytes32 otherText = keccak256("lab policy, version 2, as actually published");
        vm.assertEq(uint256(_publish(lab, otherText, RESEARCH)), 2, "v2 published");
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.PolicyHashMismatch.selector, lab, uint32(2), POLICY_V2));
        _relayGrant(lab, sg);
        vm.assertFalse(_active(), "no consent to text the subject never saw");
    }

    function test_signatureForAnUnpublishedVersionHoldsForExactlyThatText() public {
        ConsentRegistry.Grant memory g = _grantRequest(_msNow());
        g.policyVersion = 2;
        g.policyHash = POLICY_V2;
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), g);
        _publish(lab, POLICY_V2, RESEARCH);
        _relayGrant(lab, sg);
        vm.assertTrue(_covered(), "the text the subject signed for");
    }

    function test_signedGrantForAStaleVersionIsRefused() public {
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        _publish(lab, POLICY_V2, RESEARCH);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.PolicyNotCurrent.selector, lab, uint32(1), RESEARCH));
        _relayGrant(lab, sg);
    }

    function testFuzz_anyOtherHashIsRefused(bytes32 signedHash) public {
        vm.assume(signedHash != POLICY_V1);
        ConsentRegistry.Grant memory g = _grantRequest(_msNow());
        g.policyHash = signedHash;
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), g);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.PolicyHashMismatch.selector, lab, uint32(1), signedHash));
        _relayGrant(lab, sg);
    }
}

/// @notice Issue 10, item 6: nonces order the subject's intents. A signed request is valid iff
///         stored nonce <= its nonce <= ceiling = max(block ms + NONCE_CLOCK_SKEW, stored +
///         NONCE_STEP) (else InvalidNonce, or NonceInFuture above the ceiling) and sets stored =
///         nonce + 1; a direct call sets stored = ceiling + 1; a withdrawal of an
///         inactive consent cancels pending signatures instead of reverting. So no signed nonce
///         can put a consent out of reach of its owner's direct withdrawal.
contract NonceOrderTest is LedgerFixture {
    function test_signedRequestSetsStoredNoncePastIt() public {
        uint64 n = _msNow();
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(n));
        _relayGrant(lab, sg);
        vm.assertEq(uint256(_storedNonce()), uint256(n) + 1, "stored = nonce + 1");

        // The same request again: consumed.
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), n + 1, n));
        _relayGrant(relayer, sg);
    }

    function test_nonceEqualToStoredIsAccepted() public {
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow())));
        uint64 stored = _storedNonce();
        _relayWithdrawal(lab, _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(stored)));
        vm.assertFalse(_active(), "withdrawn with nonce == stored");
        vm.assertEq(uint256(_storedNonce()), uint256(stored) + 1, "stored moved on");
    }

    function test_nonceBelowStoredIsRefused() public {
        _grantDirect();
        uint64 stored = _storedNonce();
        ConsentRegistry.SignedWithdrawal memory sw =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(stored - 1));
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), stored, stored - 1));
        _relayWithdrawal(lab, sw);
        vm.assertTrue(_active(), "still active");
    }

    // ---------------------------------------------------------------- the clock-skew window

    function test_clockSkewIsTenMinutes() public view {
        vm.assertEq(uint256(ledger.NONCE_CLOCK_SKEW()), uint256(SKEW), "NONCE_CLOCK_SKEW = 600,000 ms");
    }

    function test_nonceStepIsOneThousand() public view {
        vm.assertEq(uint256(ledger.NONCE_STEP()), uint256(NONCE_STEP), "NONCE_STEP = 1,000");
    }

    /// @dev A signer's clock may run up to NONCE_CLOCK_SKEW ahead of the block: the largest
    ///      nonce accepted is block ms + skew, inclusive.
    function test_nonceUpToTheClockSkewAheadIsAccepted() public {
        uint64 latest = _latestNonce();
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(latest)));
        vm.assertTrue(_covered(), "granted with a nonce ten minutes ahead");
        vm.assertEq(uint256(_storedNonce()), uint256(latest) + 1, "stored = nonce + 1");
    }

    function test_nonceBeyondTheClockSkewIsRefused() public {
        uint64 latest = _latestNonce();
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(latest + 1));
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.NonceInFuture.selector, _consentId(), latest + 1, latest)
        );
        _relayGrant(lab, sg);
        ConsentRegistry.SignedWithdrawal memory sw =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(latest + 1));
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.NonceInFuture.selector, _consentId(), latest + 1, latest)
        );
        _relayWithdrawal(lab, sw);
        vm.assertFalse(_active(), "nothing granted");
        vm.assertEq(uint256(_storedNonce()), 0, "nonce untouched");
    }

    /// @dev The nonces the old rule let through (up to 2^64 - 2) and 2^64 - 1 are all refused.
    function test_hugeNoncesAreRefused() public {
        uint64 latest = _latestNonce();
        uint64[3] memory huge = [type(uint64).max, type(uint64).max - 1, latest + 1 days * 1000];
        for (uint256 i = 0; i < huge.length; i++) {
            ConsentRegistry.SignedGrant memory sg =
                _signGrant(PATIENT_KEY, address(ledger), _grantRequest(huge[i]));
            vm.expectRevert(
                abi.encodeWithSelector(ConsentRegistry.NonceInFuture.selector, _consentId(), huge[i], latest)
            );
            _relayGrant(lab, sg);
        }
    }

    /// @dev A request signed by a clock running more than the skew ahead is not lost: it becomes
    ///      relayable once the chain's time catches up (within its deadline).
    function test_aFastClocksRequestIsRelayableOnceTheBlockCatchesUp() public {
        uint64 nonce = _latestNonce() + 5_000;
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(nonce));
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.NonceInFuture.selector, _consentId(), nonce, _latestNonce())
        );
        _relayGrant(lab, sg);
        vm.warp(block.timestamp + 4);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.NonceInFuture.selector, _consentId(), nonce, _latestNonce())
        );
        _relayGrant(lab, sg);
        vm.warp(block.timestamp + 1);
        _relayGrant(lab, sg);
        vm.assertTrue(_covered(), "relayed five seconds later");
    }

    /// @dev Two direct calls in one block put the stored nonce past the window (window + 1, then
    ///      window + step + 2): a nonce below it is InvalidNonce (checked first), one above
    ///      stored + step NonceInFuture (the step ceiling, above the window), and the client's
    ///      nonce (the stored one) is accepted in the same block: no state locks signed requests out.
    function test_storedNonceAheadOfTheWindowIsRelayableAtOnce() public {
        uint64 window = _window();
        _grantDirect();
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        uint64 stored = _storedNonce();
        vm.assertEq(uint256(stored), uint256(window) + NONCE_STEP + 2, "stored = (window + 1) + step + 1");
        uint64 latest = _latestNonce();
        vm.assertEq(uint256(latest), uint256(stored) + NONCE_STEP, "the ceiling is stored + step, above the window");
        ConsentRegistry.SignedGrant memory below =
            _signGrant(PATIENT_KEY, address(ledger), _grantRequest(stored - 1));
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), stored, stored - 1)
        );
        _relayGrant(lab, below);
        ConsentRegistry.SignedGrant memory beyond =
            _signGrant(PATIENT_KEY, address(ledger), _grantRequest(latest + 1));
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.NonceInFuture.selector, _consentId(), latest + 1, latest)
        );
        _relayGrant(lab, beyond);
        vm.assertEq(uint256(_clientNonce()), uint256(stored), "the client's nonce is the stored one");
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_clientNonce())));
        vm.assertTrue(_covered(), "accepted in the same block");
    }

    /// @dev For any stored nonce state and any signed nonce: accepted iff stored <= nonce <=
    ///      max(block ms + skew, stored + step); else InvalidNonce (below) or NonceInFuture (above).
    function testFuzz_signedNonceAcceptedExactlyWithinTheWindow(
        uint64 nonce,
        bool nearWindow,
        uint8 start,
        uint32 waitS
    ) public {
        if (start % 3 == 1) _grantDirect(); // stored = block ms + skew + 1
        if (start % 3 == 2) _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_latestNonce())));
        vm.warp(block.timestamp + bound(waitS, 0, 1 hours));
        uint64 stored = _storedNonce();
        uint64 latest = _latestNonce();
        vm.assertEq(
            uint256(latest),
            uint256(_storedNonce()) + NONCE_STEP > uint256(_window()) ? uint256(_storedNonce()) + NONCE_STEP : _window(),
            "latest = max(block ms + skew, stored + step)"
        );
        if (nearWindow) {
            // Half the runs within an hour of the window's edges, where the rules change.
            uint256 low = stored > 1 hours * 1000 ? stored - 1 hours * 1000 : 0;
            nonce = uint64(bound(nonce, low, uint256(latest) + 1 hours * 1000));
        }
        ConsentRegistry.SignedWithdrawal memory sw =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(nonce));
        if (nonce < stored) {
            vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), stored, nonce));
        } else if (nonce > latest) {
            vm.expectRevert(
                abi.encodeWithSelector(ConsentRegistry.NonceInFuture.selector, _consentId(), nonce, latest)
            );
        }
        _relayWithdrawal(relayer, sw);
        if (nonce >= stored && nonce <= latest) {
            vm.assertEq(uint256(_storedNonce()), uint256(nonce) + 1, "stored = nonce + 1");
            vm.assertFalse(_active(), "withdrawn");
        } else {
            vm.assertEq(uint256(_storedNonce()), uint256(stored), "a refused request changes nothing");
        }
    }

    // ---------------------------------------------------------------- direct calls

    /// @dev A direct call stores one past the ceiling: block ms + skew + 1 while the window is
    ///      the ceiling, stored + step + 1 while the step is (a second direct call in the same
    ///      block, or a second later), and window + 1 again once the block time has caught up.
    function test_directCallMovesNonceOnePastTheCeiling() public {
        _grantDirect();
        vm.assertEq(uint256(_storedNonce()), uint256(_window()) + 1, "stored = block.timestamp * 1000 + skew + 1");
        // A second direct call in the same block: the step ceiling (stored + step) is above the window.
        uint64 stored = _storedNonce();
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertEq(uint256(_storedNonce()), uint256(stored) + NONCE_STEP + 1, "stored + step + 1 in the same block");
        // A second later the window moved by 1,000 ms only: still the step ceiling.
        vm.warp(block.timestamp + 1);
        stored = _storedNonce();
        vm.assertGt(uint256(stored) + NONCE_STEP, uint256(_window()), "the step is still above the window");
        _grantDirect();
        vm.assertEq(uint256(_storedNonce()), uint256(stored) + NONCE_STEP + 1, "stored + step + 1 a second later");
        // Ten seconds later the window is above the step again: window + 1.
        vm.warp(block.timestamp + 10);
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertEq(uint256(_storedNonce()), uint256(_window()) + 1, "the new block's window + 1");
    }

    /// @dev After the largest nonce a signed request may carry (stored = window + 1), the
    ///      ceiling is stored + step, and the direct call stores one past it.
    function test_directCallAfterTheLargestSignedNonceIsStoredPlusStepPlusOne() public {
        uint64 latest = _latestNonce();
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(latest)));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertEq(
            uint256(_storedNonce()), uint256(latest) + 1 + NONCE_STEP + 1, "ceiling = stored + step; stored = ceiling + 1"
        );
    }

    function test_directCallAfterANonceLessAheadIsTheWindowPlusOne() public {
        uint64 ahead = _msNow() + 5_000;
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(ahead)));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertEq(uint256(_storedNonce()), uint256(_window()) + 1, "ceiling = window; stored = window + 1");
    }

    /// @dev The direct call voids requests signed before it by a clock running fast, up to and
    ///      including the full skew ahead of its block (the ceiling).
    function test_directCallVoidsARequestSignedByAFastClock() public {
        uint64 fast = _latestNonce() - 1; // signed by a clock 9:59.999 ahead
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(fast));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), _storedNonce(), fast)
        );
        _relayGrant(lab, sg);
        vm.assertFalse(_active(), "never granted");
    }

    /// @dev The edge: a request with nonce exactly at the ceiling, signed before a direct call
    ///      in the same block, is voided by it, whether the ceiling is the window (block ms +
    ///      skew) or the step (stored + step).
    function test_directCallVoidsTheRequestAtTheCeiling() public {
        // The window is the ceiling (fresh consent).
        uint64 edge = _latestNonce();
        vm.assertEq(uint256(edge), uint256(_window()), "the window is the ceiling");
        ConsentRegistry.SignedGrant memory atWindow = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(edge));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertEq(uint256(_storedNonce()), uint256(edge) + 1, "stored = ceiling + 1");
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), edge + 1, edge));
        _relayGrant(lab, atWindow);

        // The step is the ceiling (stored = window + 1 now, in the same block).
        edge = _latestNonce();
        vm.assertEq(uint256(edge), uint256(_storedNonce()) + NONCE_STEP, "the step is the ceiling");
        ConsentRegistry.SignedGrant memory atStep = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(edge));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertEq(uint256(_storedNonce()), uint256(edge) + 1, "stored = ceiling + 1");
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), edge + 1, edge));
        _relayGrant(lab, atStep);
        vm.assertFalse(_active(), "never granted");
    }

    /// @dev A burst signed right after a direct call (one client process: stored, stored + 1)
    ///      relays in order in the same block: the second nonce is above the window but within
    ///      stored + step, so it is not NonceInFuture.
    function test_burstSignedRightAfterADirectCallRelaysInOrderInTheSameBlock() public {
        _grantDirect();
        uint64 n = _clientNonce();
        vm.assertEq(uint256(n), uint256(_storedNonce()), "the client's nonce is the stored one");
        ConsentRegistry.SignedWithdrawal memory first =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(n));
        ConsentRegistry.SignedGrant memory second = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(n + 1));
        vm.assertGt(uint256(n) + 1, uint256(_window()), "the second nonce is above the window");
        _relayWithdrawal(relayer, first);
        vm.assertFalse(_active(), "the first (withdrawal) applied");
        _relayGrant(lab, second);
        vm.assertTrue(_active(), "the second (grant) applied, in the same block");
        vm.assertEq(uint256(_storedNonce()), uint256(n) + 2, "stored = second nonce + 1");
    }

    /// @dev Right after a direct call the client signs with the stored nonce (max(stored, now
    ///      ms)), which is within the window at once: no ten-minute wait.
    function test_clientRequestRightAfterADirectCallIsAccepted() public {
        _grantDirect();
        uint64 n = _clientNonce();
        vm.assertEq(uint256(n), uint256(_storedNonce()), "the client's nonce is the stored one");
        _relayWithdrawal(relayer, _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(n)));
        vm.assertFalse(_active(), "withdrawn in the same block");
    }

    /// @dev The issue's input: a signed grant valid for 30 days; the subject changes its mind on
    ///      day 1 and withdraws directly (nothing is active: no revert, signatures cancelled);
    ///      the lab's relay on day 29 is refused.
    function test_directWithdrawalCancelsAPendingSignedGrant() public {
        ConsentRegistry.Grant memory g = _grantRequest(_msNow());
        g.deadline = uint64(block.timestamp + 30 days);
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), g);

        vm.warp(block.timestamp + 1 days);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignaturesCancelled(patient, lab, RESEARCH, HEALTH, _directNonce(), patient);
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);

        vm.warp(block.timestamp + 28 days);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), _storedNonce(), g.nonce)
        );
        _relayGrant(lab, sg);
        vm.assertFalse(_active(), "never granted");
    }

    // ---------------------------------------------------------------- withdrawability (was KnownIssues.t.sol)

    /// @dev Formerly a known issue: a sigAuth delegate's grant with nonce 2^64 - 2 set the stored
    ///      nonce to 2^64 - 1, after which the owner's direct withdraw overflowed (Panic 0x11) and
    ///      no signed withdrawal was accepted: a consent nobody could withdraw. Now such a nonce
    ///      is NonceInFuture, and after the largest nonce the delegate can get accepted the
    ///      owner still withdraws directly, and by signature a second later.
    function test_delegateCannotMakeAConsentUnwithdrawable() public {
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 1 days);
        ConsentRegistry.SignedGrant memory huge =
            _signGrant(GUARDIAN_KEY, address(ledger), _grantRequest(type(uint64).max - 1));
        vm.expectRevert(
            abi.encodeWithSelector(
                ConsentRegistry.NonceInFuture.selector, _consentId(), type(uint64).max - 1, _latestNonce()
            )
        );
        _relayGrant(lab, huge);

        uint64 latest = _latestNonce();
        _relayGrant(lab, _signGrant(GUARDIAN_KEY, address(ledger), _grantRequest(latest)));
        vm.assertTrue(_covered(), "the delegate's grant covers");
        vm.assertEq(uint256(_storedNonce()), uint256(latest) + 1, "stored nonce at most the window + 1");

        // The owner revokes the delegate and withdraws directly.
        vm.prank(patient);
        ledger.revokeDelegate(patient, SIG_AUTH, guardian);
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertFalse(_covered(), "withdrawn");

        // The signed way works too: grant again, then a signed withdrawal with the client's nonce.
        vm.warp(block.timestamp + 1);
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_clientNonce())));
        vm.assertTrue(_covered(), "granted again");
        vm.warp(block.timestamp + 1);
        _relayWithdrawal(relayer, _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_clientNonce())));
        vm.assertFalse(_covered(), "withdrawn by signature");
    }

    /// @dev For any nonce a delegate signs, relayed at any time: the owner can always withdraw
    ///      directly at once, and by a signature with the client's nonce a second later.
    function testFuzz_ownerCanAlwaysWithdraw(uint64 nonce, uint32 relayAfterS, uint32 withdrawAfterS) public {
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 2 days);
        ConsentRegistry.Grant memory g = _grantRequest(nonce);
        g.deadline = uint64(block.timestamp + 2 days);
        ConsentRegistry.SignedGrant memory sg = _signGrant(GUARDIAN_KEY, address(ledger), g);
        vm.warp(block.timestamp + bound(relayAfterS, 0, 1 days));
        uint64 latest = _latestNonce();
        vm.prank(lab);
        try ledger.grantSigned(sg.grant, sg.v, sg.r, sg.s) {
            vm.assertLe(uint256(nonce), uint256(latest), "only a nonce within the ceiling applies");
        } catch (bytes memory err) {
            vm.assertEq(bytes32(bytes4(err)), bytes32(ConsentRegistry.NonceInFuture.selector), "only NonceInFuture");
            vm.assertGt(uint256(nonce), uint256(latest), "refused only above the ceiling");
        }
        vm.warp(block.timestamp + bound(withdrawAfterS, 0, 1 days));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertFalse(_active(), "the owner's direct withdrawal works");

        vm.prank(patient);
        ledger.grant(patient, lab, RESEARCH, HEALTH, FOREVER, 1);
        vm.warp(block.timestamp + 1);
        _relayWithdrawal(relayer, _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_clientNonce())));
        vm.assertFalse(_active(), "the owner's signed withdrawal works");
    }

    // ---------------------------------------------------------------- later intent wins

    /// @dev The gasless way: a signed withdrawal of an inactive consent cancels too.
    function test_signedWithdrawalCancelsAPendingSignedGrant() public {
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        vm.warp(block.timestamp + 60);
        uint64 later = _msNow();
        ConsentRegistry.SignedWithdrawal memory sw =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(later));
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignaturesCancelled(patient, lab, RESEARCH, HEALTH, later + 1, patient);
        _relayWithdrawal(relayer, sw);
        vm.assertEq(uint256(_storedNonce()), uint256(later) + 1, "stored = nonce + 1");
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), later + 1, sg.grant.nonce)
        );
        _relayGrant(lab, sg);
    }

    function test_withdrawingAnActiveConsentEmitsWithdrawn() public {
        _grantDirect();
        vm.warp(block.timestamp + 1);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ConsentWithdrawn(patient, lab, RESEARCH, HEALTH, patient);
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertFalse(_covered(), "not covered");
    }

    /// @dev An older signed renewal and a later signed withdrawal, submitted in both orders:
    ///      the withdrawal wins either way. Both are signed (nonce = signing ms) after the
    ///      direct grant's nonce (block ms + skew + 1) has passed.
    function test_laterSignedWithdrawalBeatsOlderRenewalInBothOrders() public {
        for (uint256 order = 0; order < 2; order++) {
            uint256 snapshot = block.timestamp;
            _grantDirect();
            vm.warp(block.timestamp + SKEW / 1000 + 10);
            ConsentRegistry.SignedGrant memory renewal =
                _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
            vm.warp(block.timestamp + 10);
            ConsentRegistry.SignedWithdrawal memory withdrawal =
                _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_msNow()));
            vm.warp(block.timestamp + 10);
            if (order == 0) {
                _relayGrant(lab, renewal);
                _relayWithdrawal(relayer, withdrawal);
            } else {
                _relayWithdrawal(relayer, withdrawal);
                vm.expectRevert(
                    abi.encodeWithSelector(
                        ConsentRegistry.InvalidNonce.selector, _consentId(), _storedNonce(), renewal.grant.nonce
                    )
                );
                _relayGrant(lab, renewal);
            }
            vm.assertFalse(_active(), "the later withdrawal wins");
            vm.warp(snapshot + 1 hours);
        }
    }

    function test_laterSignedRenewalBeatsOlderWithdrawalInBothOrders() public {
        for (uint256 order = 0; order < 2; order++) {
            uint256 snapshot = block.timestamp;
            _grantDirect();
            vm.warp(block.timestamp + SKEW / 1000 + 10);
            ConsentRegistry.SignedWithdrawal memory withdrawal =
                _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_msNow()));
            vm.warp(block.timestamp + 10);
            ConsentRegistry.SignedGrant memory renewal =
                _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
            vm.warp(block.timestamp + 10);
            if (order == 0) {
                _relayWithdrawal(relayer, withdrawal);
                _relayGrant(lab, renewal);
            } else {
                _relayGrant(lab, renewal);
                vm.expectRevert(
                    abi.encodeWithSelector(
                        ConsentRegistry.InvalidNonce.selector, _consentId(), _storedNonce(), withdrawal.withdrawal.nonce
                    )
                );
                _relayWithdrawal(relayer, withdrawal);
            }
            vm.assertTrue(_active(), "the later renewal wins");
            vm.warp(snapshot + 1 hours);
        }
    }

    /// @dev Within the skew after a direct call, clients that do not share a process sign with
    ///      the same nonce (the stored one, above their clocks): such requests tie, and the first
    ///      relayed applies while the other is refused (InvalidNonce), whichever was signed
    ///      later. (One client process orders its own requests: it issues stored, stored + 1...)
    function test_requestsSignedWithinTheSkewAfterADirectCallTie() public {
        _grantDirect();
        vm.warp(block.timestamp + 10);
        ConsentRegistry.SignedGrant memory renewal =
            _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_clientNonce()));
        vm.warp(block.timestamp + 10);
        ConsentRegistry.SignedWithdrawal memory withdrawal =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_clientNonce()));
        vm.assertEq(uint256(renewal.grant.nonce), uint256(withdrawal.withdrawal.nonce), "same nonce");
        _relayGrant(lab, renewal);
        vm.expectRevert(
            abi.encodeWithSelector(
                ConsentRegistry.InvalidNonce.selector,
                _consentId(),
                renewal.grant.nonce + 1,
                withdrawal.withdrawal.nonce
            )
        );
        _relayWithdrawal(relayer, withdrawal);
        vm.assertTrue(_active(), "the first relayed applied");
        // The same process orders its requests: the withdrawal signed with stored + 1 applies.
        _relayWithdrawal(
            relayer, _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(renewal.grant.nonce + 1))
        );
        vm.assertFalse(_active(), "re-signed withdrawal applied");
    }

    /// @dev Relays one request and reports whether it applied.
    function _tryGrant(ConsentRegistry.SignedGrant memory sg) internal returns (bool ok) {
        vm.prank(lab);
        try ledger.grantSigned(sg.grant, sg.v, sg.r, sg.s) {
            ok = true;
        } catch (bytes memory err) {
            vm.assertEq(bytes32(bytes4(err)), bytes32(ConsentRegistry.InvalidNonce.selector), "only InvalidNonce");
        }
    }

    function _tryWithdraw(ConsentRegistry.SignedWithdrawal memory sw) internal returns (bool ok) {
        vm.prank(relayer);
        try ledger.withdrawSigned(sw.withdrawal, sw.v, sw.r, sw.s) {
            ok = true;
        } catch (bytes memory err) {
            vm.assertEq(bytes32(bytes4(err)), bytes32(ConsentRegistry.InvalidNonce.selector), "only InvalidNonce");
        }
    }

    /// @dev For any two signing times (distinct milliseconds, nonces as the client makes them:
    ///      max(consent nonce, signing time in ms)), any kinds (grant or withdrawal) and either
    ///      submission order, the consent ends as the later-signed request says, and the
    ///      earlier-signed one never applies after the later one. The relay happens after both
    ///      were signed, by up to the skew before the later signer's clock.
    function testFuzz_laterIntentWinsInEitherOrder(
        uint32 firstOffsetMs,
        uint32 gapMs,
        uint32 relayLagMs,
        bool laterIsGrant,
        bool earlierIsGrant,
        bool submitLaterFirst,
        bool startActive
    ) public {
        if (startActive) _grantDirect();
        uint64 t1 = _clientNonce() + uint64(bound(firstOffsetMs, 0, 30 days * 1000));
        uint64 t2 = t1 + uint64(bound(gapMs, 1, 30 days * 1000));
        // Relayed in a block whose time is at least t2 - skew (so t2 is within the window).
        uint256 relayAt = (uint256(t2) - SKEW) / 1000 + 1 + bound(relayLagMs, 0, 1 days * 1000) / 1000;
        if (relayAt > block.timestamp) vm.warp(relayAt);
        (bool laterApplied, bool earlierAppliedAfterLater) =
            _relayBoth(t1, t2, laterIsGrant, earlierIsGrant, submitLaterFirst);
        vm.assertTrue(laterApplied, "the later request always applies");
        vm.assertFalse(earlierAppliedAfterLater, "the earlier request never applies after the later one");
        vm.assertEq(_active(), laterIsGrant, "the consent is what the later request says");
        vm.assertEq(uint256(_storedNonce()), uint256(t2) + 1, "stored = later nonce + 1");
    }

    /// @dev Signs an earlier (nonce t1) and a later (t2) request of the given kinds and relays
    ///      them in the given order; did the later apply, and the earlier after it?
    function _relayBoth(uint64 t1, uint64 t2, bool laterIsGrant, bool earlierIsGrant, bool submitLaterFirst)
        internal
        returns (bool laterApplied, bool earlierAppliedAfterLater)
    {
        ConsentRegistry.SignedGrant memory g1 = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(t1));
        ConsentRegistry.SignedWithdrawal memory w1 =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(t1));
        ConsentRegistry.SignedGrant memory g2 = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(t2));
        ConsentRegistry.SignedWithdrawal memory w2 =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(t2));
        if (submitLaterFirst) {
            laterApplied = laterIsGrant ? _tryGrant(g2) : _tryWithdraw(w2);
            earlierAppliedAfterLater = earlierIsGrant ? _tryGrant(g1) : _tryWithdraw(w1);
        } else {
            earlierIsGrant ? _tryGrant(g1) : _tryWithdraw(w1);
            laterApplied = laterIsGrant ? _tryGrant(g2) : _tryWithdraw(w2);
        }
    }

    /// @dev A direct call voids every request signed before it that was relayable in its block
    ///      (nonce = the signer's clock in ms, which may run fast by up to the skew: up to the
    ///      ceiling inclusive), and leaves requests signed afterwards valid.
    function testFuzz_directCallVoidsEverythingSignedBefore(
        uint32 signedAgoMs,
        uint32 laterMs,
        uint32 relayAfterS,
        bool directIsGrant
    ) public {
        vm.warp(block.timestamp + 1 days);
        // From a day ago to a clock 10:00.000 ahead of this block (the ceiling).
        uint64 signedAt = _latestNonce() - uint64(bound(signedAgoMs, 0, 1 days * 1000));
        ConsentRegistry.SignedGrant memory old = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(signedAt));
        ConsentRegistry.SignedWithdrawal memory oldW =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(signedAt));

        uint64 expected = _directNonce();
        if (directIsGrant) {
            _grantDirect();
        } else {
            vm.prank(patient);
            ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        }
        vm.assertEq(
            uint256(_storedNonce()), uint256(expected), "stored = max(now ms + skew, stored + step) + 1"
        );

        vm.warp(block.timestamp + bound(relayAfterS, 0, 1 hours));
        bytes memory voided =
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), _storedNonce(), signedAt);
        vm.expectRevert(voided);
        _relayGrant(lab, old);
        vm.expectRevert(voided);
        _relayWithdrawal(lab, oldW);

        // Signed afterwards, by any clock the window accepts now.
        uint64 signedLater = _storedNonce() + uint64(bound(laterMs, 0, _latestNonce() - _storedNonce()));
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(signedLater)));
        vm.assertTrue(_active(), "a request signed after the direct call applies");
    }

    /// @dev Nonces belong to one consent: using one consent's nonce does not touch another's.
    function test_noncesArePerConsent() public {
        uint64 n = _msNow();
        ConsentRegistry.Grant memory g = _grantRequest(n);
        g.category = keccak256("dpv-pd:Genetic");
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), g));
        vm.assertEq(uint256(_storedNonce()), 0, "the health consent's nonce untouched");
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(n)));
        vm.assertTrue(_active(), "same nonce value, other consent");
    }
}

/// @notice Issue 10, item 7: signed batches skip consumed or invalid items (SignedRequestSkipped
///         with the single call's error selector) and apply the rest.
contract SignedBatchTest is LedgerFixture {
    uint256 internal constant OTHER_KEY = 0x0DD;
    address internal other;

    function setUp() public override {
        super.setUp();
        other = vm.addr(OTHER_KEY);
    }

    function _otherWithdrawal(uint64 nonce) internal view returns (ConsentRegistry.Withdrawal memory w) {
        w = _withdrawalRequest(nonce);
        w.identity = other;
    }

    function _otherGrant(uint64 nonce) internal view returns (ConsentRegistry.Grant memory g) {
        g = _grantRequest(nonce);
        g.identity = other;
    }

    /// @dev The issue's input: one item of a withdrawal batch is front-run; the rest go through.
    function test_frontRunItemIsSkippedAndTheRestWithdrawn() public {
        _grantDirect();
        vm.prank(other);
        ledger.grant(other, lab, RESEARCH, HEALTH, FOREVER, 1);
        vm.warp(block.timestamp + 1);

        // Signed as the client does: max(consent nonce, now ms), here the direct grants' nonces.
        ConsentRegistry.SignedWithdrawal[] memory items = new ConsentRegistry.SignedWithdrawal[](2);
        items[0] = _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_clientNonce()));
        items[1] = _signWithdrawal(OTHER_KEY, address(ledger), _otherWithdrawal(_clientNonce(other)));
        // Someone relays the patient's item alone first.
        _relayWithdrawal(relayer, items[0]);

        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignedRequestSkipped(0, _consentId(), ConsentRegistry.InvalidNonce.selector);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ConsentWithdrawn(other, lab, RESEARCH, HEALTH, other);
        vm.prank(lab);
        ledger.withdrawSignedBatch(items);
        vm.assertFalse(_active(), "patient withdrawn (by the front-runner)");
        vm.assertFalse(ledger.getConsent(other, lab, RESEARCH, HEALTH).active, "other withdrawn by the batch");
    }

    function test_grantBatchSkipsEachKindOfInvalidItem() public {
        uint64 n = _msNow();
        ConsentRegistry.SignedGrant[] memory items = new ConsentRegistry.SignedGrant[](8);
        items[0] = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(n));
        items[1] = items[0]; // consumed by item 0
        ConsentRegistry.Grant memory badHash = _otherGrant(n);
        badHash.policyHash = POLICY_V2;
        items[2] = _signGrant(OTHER_KEY, address(ledger), badHash);
        ConsentRegistry.Grant memory expired = _otherGrant(n);
        expired.deadline = uint64(block.timestamp - 1);
        items[3] = _signGrant(OTHER_KEY, address(ledger), expired);
        items[4] = _signGrant(THIEF_KEY, address(ledger), _otherGrant(n)); // not other's key
        items[5] = _signGrant(OTHER_KEY, address(ledger), _otherGrant(n));
        (items[5].v, items[5].s) = _highSTwin(items[5].v, items[5].s); // malleated
        // Ahead of the ceiling (other's consent is fresh: nonce 0).
        items[6] = _signGrant(OTHER_KEY, address(ledger), _otherGrant(_nonceCeiling(0) + 1));
        items[7] = _signGrant(OTHER_KEY, address(ledger), _otherGrant(n)); // valid

        bytes32 otherId = ledger.consentId(other, lab, RESEARCH, HEALTH);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ConsentGranted(patient, lab, RESEARCH, HEALTH, FOREVER, 1, patient);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignedRequestSkipped(1, _consentId(), ConsentRegistry.InvalidNonce.selector);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignedRequestSkipped(2, otherId, ConsentRegistry.PolicyHashMismatch.selector);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignedRequestSkipped(3, otherId, ConsentRegistry.SignatureExpired.selector);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignedRequestSkipped(4, otherId, ConsentRegistry.SignerNotAuthorized.selector);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignedRequestSkipped(5, otherId, DIDRegistry.InvalidSignature.selector);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignedRequestSkipped(6, otherId, ConsentRegistry.NonceInFuture.selector);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ConsentGranted(other, lab, RESEARCH, HEALTH, FOREVER, 1, other);
        vm.prank(lab);
        ledger.grantSignedBatch(items);
        vm.assertTrue(_covered(), "item 0 applied");
        vm.assertTrue(ledger.isCovered(other, lab, RESEARCH, HEALTH), "item 7 applied");
    }

    function test_batchOfOnlySkippedItemsDoesNotRevert() public {
        ConsentRegistry.SignedWithdrawal[] memory items = new ConsentRegistry.SignedWithdrawal[](1);
        items[0] = _signWithdrawal(THIEF_KEY, address(ledger), _withdrawalRequest(_msNow()));
        vm.recordLogs();
        vm.prank(lab);
        ledger.withdrawSignedBatch(items);
        vm.assertEq(vm.getRecordedLogs().length, 1, "one log: the skip");
        vm.assertEq(uint256(_storedNonce()), 0, "nothing applied");
    }

    /// @dev The relayer's own admission is not an item's fault: it still reverts the batch.
    function test_batchFromANonMemberRelayerReverts() public {
        ConsentRegistry.SignedGrant[] memory items = new ConsentRegistry.SignedGrant[](1);
        items[0] = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationNotAdmitted.selector, thief));
        vm.prank(thief);
        ledger.grantSignedBatch(items);
        rules.suspend(lab);
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, lab));
        vm.prank(lab);
        ledger.grantSignedBatch(items);
    }

    /// @dev For any split of a withdrawal batch into front-run and untouched items, exactly the
    ///      front-run items are skipped and every identity ends withdrawn.
    function testFuzz_anyFrontRunSubsetIsSkipped(uint8 frontRunMask) public {
        uint256 count = 4;
        ConsentRegistry.SignedWithdrawal[] memory items = new ConsentRegistry.SignedWithdrawal[](count);
        address[] memory ids = new address[](count);
        for (uint256 i = 0; i < count; i++) {
            ids[i] = vm.addr(0x5000 + i);
            vm.prank(ids[i]);
            ledger.grant(ids[i], lab, RESEARCH, HEALTH, FOREVER, 1);
        }
        vm.warp(block.timestamp + 1);
        for (uint256 i = 0; i < count; i++) {
            ConsentRegistry.Withdrawal memory w = _withdrawalRequest(_clientNonce(ids[i]));
            w.identity = ids[i];
            items[i] = _signWithdrawal(0x5000 + i, address(ledger), w);
            if (frontRunMask & (1 << i) != 0) _relayWithdrawal(relayer, items[i]);
        }
        vm.recordLogs();
        vm.prank(lab);
        ledger.withdrawSignedBatch(items);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 skipped;
        uint256 withdrawn;
        for (uint256 j = 0; j < logs.length; j++) {
            if (logs[j].topics[0] == SignedRequestSkipped.selector) {
                (uint256 index, bytes4 reason) = abi.decode(logs[j].data, (uint256, bytes4));
                vm.assertTrue(frontRunMask & (1 << index) != 0, "only front-run items skipped");
                vm.assertEq(bytes32(reason), bytes32(ConsentRegistry.InvalidNonce.selector), "reason InvalidNonce");
                skipped++;
            } else if (logs[j].topics[0] == ConsentWithdrawn.selector) {
                withdrawn++;
            }
        }
        uint256 frontRun;
        for (uint256 i = 0; i < count; i++) {
            if (frontRunMask & (1 << i) != 0) frontRun++;
            vm.assertFalse(ledger.getConsent(ids[i], lab, RESEARCH, HEALTH).active, "every identity withdrawn");
        }
        vm.assertEq(skipped, frontRun, "one skip per front-run item");
        vm.assertEq(withdrawn, count - frontRun, "the rest withdrawn by the batch");
    }
}

/// @notice Issue 10, item 9: only the low-s, v in {27, 28} encoding of a signature is accepted.
contract MalleabilityTest is LedgerFixture {
    function test_highSTwinOfASignedGrantIsRefused() public {
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        vm.assertLe(uint256(sg.s), SECP256K1_HALF_N, "forge signs with a low s");
        (uint8 v2, bytes32 s2) = _highSTwin(sg.v, sg.s);
        // The twin is a genuine signature by the patient as far as ecrecover goes...
        vm.assertEq(ecrecover(_grantDigest(address(ledger), sg.grant), v2, sg.r, s2), patient, "twin recovers");
        // ...and the ledger refuses it.
        vm.expectRevert(DIDRegistry.InvalidSignature.selector);
        vm.prank(lab);
        ledger.grantSigned(sg.grant, v2, sg.r, s2);
        // The canonical encoding is accepted.
        _relayGrant(lab, sg);
        vm.assertTrue(_active(), "low-s accepted");
    }

    function test_highSTwinOfASignedWithdrawalIsRefused() public {
        _grantDirect();
        ConsentRegistry.SignedWithdrawal memory sw =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_storedNonce()));
        (uint8 v2, bytes32 s2) = _highSTwin(sw.v, sw.s);
        vm.expectRevert(DIDRegistry.InvalidSignature.selector);
        vm.prank(lab);
        ledger.withdrawSigned(sw.withdrawal, v2, sw.r, s2);
        _relayWithdrawal(lab, sw);
        vm.assertFalse(_active(), "low-s accepted");
    }

    function test_vZeroOrOneIsRefused() public {
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        vm.expectRevert(DIDRegistry.InvalidSignature.selector);
        vm.prank(lab);
        ledger.grantSigned(sg.grant, sg.v - 27, sg.r, sg.s);
    }

    function test_erc1056HighSTwinIsRefused() public {
        bytes32 digest = _changeOwnerDigest(address(ledger), 0, patient, newKey);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PATIENT_KEY, digest);
        (uint8 v2, bytes32 s2) = _highSTwin(v, s);
        vm.expectRevert(DIDRegistry.InvalidSignature.selector);
        ledger.changeOwnerSigned(patient, v2, r, s2, newKey);
        vm.expectRevert(DIDRegistry.InvalidSignature.selector);
        ledger.changeOwnerSigned(patient, v - 27, r, s, newKey);
        ledger.changeOwnerSigned(patient, v, r, s, newKey);
        vm.assertEq(ledger.identityOwner(patient), newKey, "low-s accepted");
    }

    function test_signatureRecoveringToNoAddressIsRefused() public {
        ConsentRegistry.Grant memory g = _grantRequest(_msNow());
        vm.expectRevert(DIDRegistry.InvalidSignature.selector);
        vm.prank(lab);
        ledger.grantSigned(g, 27, bytes32(0), bytes32(uint256(1)));
    }

    /// @dev For any key and request, the high-s twin is refused and the original accepted.
    function testFuzz_anyHighSTwinIsRefused(uint256 key, uint64 nonce) public {
        key = bound(key, 1, SECP256K1_N - 1);
        nonce = uint64(bound(nonce, 0, _nonceCeiling(0))); // the signer's consent is fresh
        address signer = vm.addr(key);
        ConsentRegistry.Grant memory g = _grantRequest(nonce);
        g.identity = signer;
        ConsentRegistry.SignedGrant memory sg = _signGrant(key, address(ledger), g);
        (uint8 v2, bytes32 s2) = _highSTwin(sg.v, sg.s);
        vm.assertGt(uint256(s2), SECP256K1_HALF_N, "the twin has a high s");
        vm.expectRevert(DIDRegistry.InvalidSignature.selector);
        vm.prank(lab);
        ledger.grantSigned(g, v2, sg.r, s2);
        _relayGrant(lab, sg);
        vm.assertTrue(ledger.getConsent(signer, lab, RESEARCH, HEALTH).active, "original accepted");
    }

    /// @dev Any v other than 27 or 28 is refused, even with an otherwise valid (r, s).
    function testFuzz_anyOtherVIsRefused(uint8 v) public {
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        vm.assume(v != 27 && v != 28);
        vm.expectRevert(DIDRegistry.InvalidSignature.selector);
        vm.prank(lab);
        ledger.grantSigned(sg.grant, v, sg.r, sg.s);
    }
}
