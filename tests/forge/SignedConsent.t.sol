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
///         its nonce >= the consent's stored nonce and sets stored = nonce + 1; a direct call
///         sets stored = max(stored + 1, block.timestamp * 1000); a withdrawal of an inactive
///         consent cancels pending signatures instead of reverting.
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

    function test_largestNonceIsRefused() public {
        ConsentRegistry.SignedGrant memory sg =
            _signGrant(PATIENT_KEY, address(ledger), _grantRequest(type(uint64).max));
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), uint64(0), type(uint64).max)
        );
        _relayGrant(lab, sg);
    }

    function test_directGrantMovesNonceToBlockTimeInMs() public {
        _grantDirect();
        vm.assertEq(uint256(_storedNonce()), uint256(_msNow()), "stored = block.timestamp * 1000");
        // A second direct call in the same block: stored + 1.
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertEq(uint256(_storedNonce()), uint256(_msNow()) + 1, "stored + 1 when ahead of the clock");
    }

    function test_directCallAfterAFutureNonceIsStoredPlusOne() public {
        uint64 ahead = _msNow() + 5_000;
        _relayGrant(lab, _signGrant(PATIENT_KEY, address(ledger), _grantRequest(ahead)));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.assertEq(uint256(_storedNonce()), uint256(ahead) + 2, "max(stored + 1, now ms) = stored + 1");
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
        emit SignaturesCancelled(patient, lab, RESEARCH, HEALTH, _msNow(), patient);
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);

        vm.warp(block.timestamp + 28 days);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _consentId(), _storedNonce(), g.nonce)
        );
        _relayGrant(lab, sg);
        vm.assertFalse(_active(), "never granted");
    }

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
    ///      the withdrawal wins either way.
    function test_laterSignedWithdrawalBeatsOlderRenewalInBothOrders() public {
        for (uint256 order = 0; order < 2; order++) {
            uint256 snapshot = block.timestamp;
            _grantDirect();
            vm.warp(block.timestamp + 10);
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
            vm.warp(block.timestamp + 10);
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
    ///      earlier-signed one never applies after the later one.
    function testFuzz_laterIntentWinsInEitherOrder(
        uint32 firstOffsetMs,
        uint32 gapMs,
        bool laterIsGrant,
        bool earlierIsGrant,
        bool submitLaterFirst,
        bool startActive
    ) public {
        if (startActive) _grantDirect();
        uint64 base = _storedNonce() > _msNow() ? _storedNonce() : _msNow();
        uint64 t1 = base + uint64(bound(firstOffsetMs, 0, 30 days * 1000));
        uint64 t2 = t1 + uint64(bound(gapMs, 1, 30 days * 1000));
        // Relayed after both were signed.
        vm.warp(uint256(t2) / 1000 + 1);

        ConsentRegistry.SignedGrant memory g1 = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(t1));
        ConsentRegistry.SignedWithdrawal memory w1 =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(t1));
        ConsentRegistry.SignedGrant memory g2 = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(t2));
        ConsentRegistry.SignedWithdrawal memory w2 =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(t2));

        bool laterApplied;
        bool earlierAppliedAfterLater;
        if (submitLaterFirst) {
            laterApplied = laterIsGrant ? _tryGrant(g2) : _tryWithdraw(w2);
            earlierAppliedAfterLater = earlierIsGrant ? _tryGrant(g1) : _tryWithdraw(w1);
        } else {
            earlierIsGrant ? _tryGrant(g1) : _tryWithdraw(w1);
            laterApplied = laterIsGrant ? _tryGrant(g2) : _tryWithdraw(w2);
        }
        vm.assertTrue(laterApplied, "the later request always applies");
        vm.assertFalse(earlierAppliedAfterLater, "the earlier request never applies after the later one");
        vm.assertEq(_active(), laterIsGrant, "the consent is what the later request says");
        vm.assertEq(uint256(_storedNonce()), uint256(t2) + 1, "stored = later nonce + 1");
    }

    /// @dev A direct call voids every request signed (nonce = signing ms) up to its block, and
    ///      leaves requests signed afterwards valid.
    function testFuzz_directCallVoidsEverythingSignedBefore(uint32 signedAgoMs, uint32 laterMs, bool directIsGrant)
        public
    {
        vm.warp(block.timestamp + 1 days);
        uint64 signedAt = _msNow() - uint64(bound(signedAgoMs, 1, 1 days * 1000));
        ConsentRegistry.SignedGrant memory old = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(signedAt));
        ConsentRegistry.SignedWithdrawal memory oldW =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(signedAt));

        uint64 before = _storedNonce();
        if (directIsGrant) {
            _grantDirect();
        } else {
            vm.prank(patient);
            ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        }
        uint64 expected = before + 1 > _msNow() ? before + 1 : _msNow();
        vm.assertEq(uint256(_storedNonce()), uint256(expected), "stored = max(stored + 1, now ms)");

        vm.prank(lab);
        try ledger.grantSigned(old.grant, old.v, old.r, old.s) {
            vm.assertTrue(false, "an earlier signed grant applied after a direct call");
        } catch {}
        vm.prank(lab);
        try ledger.withdrawSigned(oldW.withdrawal, oldW.v, oldW.r, oldW.s) {
            vm.assertTrue(false, "an earlier signed withdrawal applied after a direct call");
        } catch {}

        uint64 signedLater = _storedNonce() + uint64(bound(laterMs, 0, 1 days * 1000));
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

        ConsentRegistry.SignedWithdrawal[] memory items = new ConsentRegistry.SignedWithdrawal[](2);
        items[0] = _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_msNow()));
        items[1] = _signWithdrawal(OTHER_KEY, address(ledger), _otherWithdrawal(_msNow()));
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
        ConsentRegistry.SignedGrant[] memory items = new ConsentRegistry.SignedGrant[](7);
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
        items[6] = _signGrant(OTHER_KEY, address(ledger), _otherGrant(n)); // valid

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
        emit ConsentGranted(other, lab, RESEARCH, HEALTH, FOREVER, 1, other);
        vm.prank(lab);
        ledger.grantSignedBatch(items);
        vm.assertTrue(_covered(), "item 0 applied");
        vm.assertTrue(ledger.isCovered(other, lab, RESEARCH, HEALTH), "item 6 applied");
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
            ConsentRegistry.Withdrawal memory w = _withdrawalRequest(_msNow());
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
        nonce = uint64(bound(nonce, 0, type(uint64).max - 1));
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
