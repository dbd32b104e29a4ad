// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentLedger} from "../../contracts/ConsentLedger.sol";
import {ConsentRegistry} from "../../contracts/ConsentRegistry.sol";
import {DataUsageLog} from "../../contracts/DataUsageLog.sol";
import {DIDRegistry} from "../../contracts/DIDRegistry.sol";
import {DisclosureLog} from "../../contracts/DisclosureLog.sol";
import {ErasureRegistry} from "../../contracts/ErasureRegistry.sol";
import {RulesConsumer} from "../../contracts/RulesConsumer.sol";
import {DisclosureFixture} from "./base/DisclosureFixture.sol";
import {Vm} from "./base/Vm.sol";

/// @notice Issue 13, part 1: onward disclosure. recordDisclosure goes through exactly under an
///         active, unexpired disclosure consent to the recipient's current policy, with both
///         organizations active and no erasure requested of either; isDisclosureCovered says
///         the same in every case.
contract DisclosureTest is DisclosureFixture {
    function test_typehashesAndIdMatchTheSpec() public view {
        vm.assertEq(ledger.DISCLOSURE_GRANT_TYPEHASH(), DISCLOSURE_GRANT_TYPEHASH, "DisclosureGrant typehash");
        vm.assertEq(
            ledger.DISCLOSURE_WITHDRAWAL_TYPEHASH(), DISCLOSURE_WITHDRAWAL_TYPEHASH, "DisclosureWithdrawal typehash"
        );
        vm.assertEq(_discId(), keccak256(abi.encode(patient, hospital, lab, RESEARCH, HEALTH)), "five-word id");
    }

    function test_disclosureIsRecordedWithTheEventsExactFields() public {
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DisclosureConsentGranted(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 1, patient);
        _grantDisclosure(FOREVER);
        ConsentRegistry.Consent memory c = _discConsent();
        vm.assertTrue(c.active, "active");
        vm.assertEq(uint256(c.expiry), FOREVER, "expiry");
        vm.assertEq(uint256(c.grantedAt), block.timestamp, "grantedAt");
        vm.assertEq(uint256(c.policyVersion), 1, "the recipient's version");

        vm.assertTrue(_discCovered(), "covered");
        vm.recordLogs();
        vm.prank(hospital);
        ledger.recordDisclosure(patient, lab, RESEARCH, HEALTH, REF);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1, "one event");
        vm.assertEq(logs[0].topics.length, 4, "three indexed fields");
        vm.assertEq(logs[0].topics[0], DataDisclosed.selector, "DataDisclosed");
        vm.assertEq(logs[0].topics[1], bytes32(uint256(uint160(patient))), "identity");
        vm.assertEq(logs[0].topics[2], bytes32(uint256(uint160(hospital))), "discloser");
        vm.assertEq(logs[0].topics[3], bytes32(uint256(uint160(lab))), "recipient");
        vm.assertEq(keccak256(logs[0].data), keccak256(abi.encode(RESEARCH, HEALTH, REF, uint32(1))), "data");
    }

    function test_refusedWithoutConsent() public {
        bytes memory none = abi.encodeWithSelector(
            DisclosureLog.NoDisclosureConsent.selector, patient, hospital, lab, RESEARCH, HEALTH
        );
        _expectRefused(none);
        // A consent to another recipient, or for another discloser, or a use consent, is not it.
        vm.prank(patient);
        ledger.grantDisclosure(patient, otherLab, lab, RESEARCH, HEALTH, FOREVER, 1);
        _publish(otherLab, POLICY_V1, RESEARCH);
        vm.prank(patient);
        ledger.grantDisclosure(patient, hospital, otherLab, RESEARCH, HEALTH, FOREVER, 1);
        vm.prank(patient);
        ledger.grant(patient, lab, RESEARCH, HEALTH, FOREVER, 1);
        _expectRefused(none);
    }

    function test_refusedAfterDirectWithdrawal() public {
        _grantDisclosure(FOREVER);
        _expectDisclosed(1);
        uint64 next = _nonceCeiling(_discConsent().nonce) + 1;
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DisclosureConsentWithdrawn(patient, hospital, lab, RESEARCH, HEALTH, true, next, patient);
        vm.prank(patient);
        ledger.withdrawDisclosure(patient, hospital, lab, RESEARCH, HEALTH);
        _expectRefused(
            abi.encodeWithSelector(DisclosureLog.NoDisclosureConsent.selector, patient, hospital, lab, RESEARCH, HEALTH)
        );
        // Nothing active: a second withdrawal only cancels pending signatures.
        next = _nonceCeiling(_discConsent().nonce) + 1;
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DisclosureConsentWithdrawn(patient, hospital, lab, RESEARCH, HEALTH, false, next, patient);
        vm.prank(patient);
        ledger.withdrawDisclosure(patient, hospital, lab, RESEARCH, HEALTH);
    }

    /// @dev "A disclosure refused after withdrawal", the withdrawal signed and relayed.
    function test_aDisclosureRefusedAfterSignedWithdrawal() public {
        _grantDisclosure(FOREVER);
        _expectDisclosed(1);
        DisclosureLog.DisclosureWithdrawal memory w = _discWithdrawalRequest();
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DisclosureConsentWithdrawn(patient, hospital, lab, RESEARCH, HEALTH, true, w.nonce + 1, patient);
        _relayDiscWithdrawal(relayer, PATIENT_KEY, w);
        _expectRefused(
            abi.encodeWithSelector(DisclosureLog.NoDisclosureConsent.selector, patient, hospital, lab, RESEARCH, HEALTH)
        );
    }

    function test_refusedAfterExpiry() public {
        uint64 expiry = uint64(block.timestamp + 1 days);
        _grantDisclosure(expiry);
        vm.warp(expiry - 1);
        _expectDisclosed(1);
        vm.warp(expiry);
        _expectRefused(abi.encodeWithSelector(DataUsageLog.ConsentExpired.selector, _discId(), expiry));
    }

    function test_refusedWhenTheRecipientMovesToANewVersionUntilRegranted() public {
        _grantDisclosure(FOREVER);
        _publish(lab, POLICY_V2, RESEARCH);
        _expectRefused(abi.encodeWithSelector(DataUsageLog.StalePolicyVersion.selector, lab, uint32(1), uint32(2)));
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.PolicyNotCurrent.selector, lab, uint32(1), RESEARCH));
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 1);
        _grantDisclosure(FOREVER); // under v2
        _expectDisclosed(2);
    }

    function test_refusedWhenTheRecipientStopsCoveringThePurpose() public {
        _grantDisclosure(FOREVER);
        _publish(lab, POLICY_V2, MARKETING);
        _expectRefused(abi.encodeWithSelector(DataUsageLog.StalePolicyVersion.selector, lab, uint32(1), uint32(2)));
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.PolicyNotCurrent.selector, lab, uint32(2), RESEARCH));
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 2);
        vm.assertEq(uint256(_publish(lab, keccak256("lab policy, version 3"), RESEARCH)), 3, "v3");
        _expectRefused(abi.encodeWithSelector(DataUsageLog.StalePolicyVersion.selector, lab, uint32(1), uint32(3)));
        _grantDisclosure(FOREVER); // under v3
        _expectDisclosed(3);
    }

    /// @dev The organizations are checked before the consent, the discloser before the recipient;
    ///      suspended and never admitted (or removed) each have their error.
    function test_refusedWhenAnOrganizationIsSuspendedOrNotAdmitted() public {
        rules.suspend(hospital);
        _expectRefused(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, hospital));
        _grantDisclosure(FOREVER);
        _expectRefused(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, hospital));
        rules.suspend(lab);
        _expectRefused(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, hospital));
        rules.reinstate(hospital);
        _expectRefused(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, lab));
        rules.remove(hospital);
        _expectRefused(abi.encodeWithSelector(RulesConsumer.OrganizationNotAdmitted.selector, hospital));
        rules.admit(hospital);
        rules.remove(lab);
        _expectRefused(abi.encodeWithSelector(RulesConsumer.OrganizationNotAdmitted.selector, lab));
        rules.admit(lab);
        _expectDisclosed(1);
    }

    function test_refusedWhenTheIdentityIsDeactivated() public {
        _grantDisclosure(FOREVER);
        vm.prank(patient);
        ledger.changeOwner(patient, address(0));
        _expectRefused(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 1);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        ledger.withdrawDisclosure(patient, hospital, lab, RESEARCH, HEALTH);
    }

    function test_refusedAfterAnErasureRequestToTheDiscloser() public {
        _grantDisclosure(FOREVER);
        vm.prank(patient);
        ledger.requestErasure(patient, hospital);
        _expectRefused(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, hospital));
    }

    function test_refusedAfterAnErasureRequestToTheRecipient() public {
        _grantDisclosure(FOREVER);
        vm.prank(patient);
        ledger.requestErasure(patient, lab);
        _expectRefused(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, lab));
        _grantDisclosure(FOREVER); // a regrant does not lift it
        _expectRefused(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, lab));
    }

    /// @dev The identity's first request (the packed slot) is to a third organization, which
    ///      does not stop the disclosure; later requests (the per-pair slot) to either party do.
    function test_erasureRequestsAfterAFirstOneToAThirdOrganization() public {
        _grantDisclosure(FOREVER);
        vm.prank(patient);
        ledger.requestErasure(patient, otherLab);
        _expectDisclosed(1);
        vm.prank(patient);
        ledger.requestErasure(patient, lab);
        _expectRefused(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, lab));
        vm.prank(patient);
        ledger.requestErasure(patient, hospital);
        // Both asked: the discloser is named first.
        _expectRefused(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, hospital));
    }

    function test_erasureRequestToTheDiscloserSecondInLine() public {
        _grantDisclosure(FOREVER);
        vm.prank(patient);
        ledger.requestErasure(patient, otherLab);
        vm.prank(patient);
        ledger.requestErasure(patient, hospital);
        _expectRefused(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, hospital));
    }

    function test_anErasureRequestOfAnotherIdentityDoesNotMatter() public {
        _grantDisclosure(FOREVER);
        vm.prank(guardian);
        ledger.requestErasure(guardian, hospital);
        vm.prank(guardian);
        ledger.requestErasure(guardian, lab);
        _expectDisclosed(1);
    }

    function test_grantRefusesAnExpiredExpiry() public {
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ExpiryInPast.selector, uint64(block.timestamp)));
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, uint64(block.timestamp), 1);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ExpiryInPast.selector, uint64(0)));
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, 0, 1);
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        g.expiry = uint64(block.timestamp - 1);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.ExpiryInPast.selector, g.expiry));
        _relayDiscGrant(relayer, PATIENT_KEY, g);
        vm.assertFalse(_discConsent().active, "nothing stored");
    }

    /// @dev The version must be the recipient's current one covering the purpose (never the
    ///      discloser's, which need not have a policy at all).
    function test_grantRefusesAVersionThatIsNotTheRecipientsCurrentCovering() public {
        bytes4 notCurrent = ConsentRegistry.PolicyNotCurrent.selector;
        vm.startPrank(patient);
        vm.expectRevert(abi.encodeWithSelector(notCurrent, lab, uint32(0), RESEARCH));
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 0);
        vm.expectRevert(abi.encodeWithSelector(notCurrent, lab, uint32(2), RESEARCH));
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 2);
        vm.expectRevert(abi.encodeWithSelector(notCurrent, lab, uint32(1), MARKETING));
        ledger.grantDisclosure(patient, hospital, lab, MARKETING, HEALTH, FOREVER, 1);
        vm.expectRevert(abi.encodeWithSelector(notCurrent, hospital, uint32(1), RESEARCH));
        ledger.grantDisclosure(patient, lab, hospital, RESEARCH, HEALTH, FOREVER, 1);
        vm.stopPrank();
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        g.policyVersion = 2;
        vm.expectRevert(abi.encodeWithSelector(notCurrent, lab, uint32(2), RESEARCH));
        _relayDiscGrant(relayer, PATIENT_KEY, g);
    }

    function test_onlyTheOwnerGrantsAndWithdrawsDirectly() public {
        vm.prank(hospital);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, hospital));
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 1);
        _grantDisclosure(FOREVER);
        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, thief));
        ledger.withdrawDisclosure(patient, hospital, lab, RESEARCH, HEALTH);
        _expectDisclosed(1);
    }

    // ------------------------------------------------------------------ signed

    function test_signedGrantByTheOwner() public {
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DisclosureConsentGranted(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 1, patient);
        _relayDiscGrant(relayer, PATIENT_KEY, g);
        vm.assertEq(uint256(_discConsent().nonce), uint256(g.nonce) + 1, "nonce moved past the request");
        _expectDisclosed(1);
    }

    function test_signedGrantAndWithdrawalByAGuardian() public {
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, guardian));
        _relayDiscGrant(relayer, GUARDIAN_KEY, g);
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 1 days);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DisclosureConsentGranted(patient, hospital, lab, RESEARCH, HEALTH, FOREVER, 1, guardian);
        _relayDiscGrant(hospital, GUARDIAN_KEY, g);
        _expectDisclosed(1);
        DisclosureLog.DisclosureWithdrawal memory w = _discWithdrawalRequest();
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DisclosureConsentWithdrawn(patient, hospital, lab, RESEARCH, HEALTH, true, w.nonce + 1, guardian);
        _relayDiscWithdrawal(lab, GUARDIAN_KEY, w);
        _expectRefused(
            abi.encodeWithSelector(DisclosureLog.NoDisclosureConsent.selector, patient, hospital, lab, RESEARCH, HEALTH)
        );
    }

    function test_signedByAStrangerIsRefused() public {
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, thief));
        _relayDiscGrant(relayer, THIEF_KEY, g);
        _grantDisclosure(FOREVER);
        DisclosureLog.DisclosureWithdrawal memory w = _discWithdrawalRequest();
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, thief));
        _relayDiscWithdrawal(relayer, THIEF_KEY, w);
        _expectDisclosed(1);
    }

    function test_aSignedRequestCannotBeReplayed() public {
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        _relayDiscGrant(relayer, PATIENT_KEY, g);
        bytes memory replay =
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _discId(), g.nonce + 1, g.nonce);
        vm.expectRevert(replay);
        _relayDiscGrant(relayer, PATIENT_KEY, g);

        DisclosureLog.DisclosureWithdrawal memory w = _discWithdrawalRequest();
        _relayDiscWithdrawal(relayer, PATIENT_KEY, w);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _discId(), w.nonce + 1, w.nonce));
        _relayDiscWithdrawal(relayer, PATIENT_KEY, w);
        // The withdrawal outlives the earlier grant's signature too.
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, _discId(), w.nonce + 1, g.nonce));
        _relayDiscGrant(relayer, PATIENT_KEY, g);
        vm.assertFalse(_discConsent().active, "still withdrawn");
    }

    function test_aSignatureForAnotherLedgerOrChainIsRefused() public {
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        ConsentLedger other = new ConsentLedger(rules);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PATIENT_KEY, _disclosureGrantDigest(address(other), g));
        // In this ledger's domain the signature recovers to some other address.
        address stranger = ecrecover(_disclosureGrantDigest(address(ledger), g), v, r, s);
        vm.assertNotEq(stranger, patient, "another domain, another signer");
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, stranger));
        ledger.grantDisclosureSigned(g, v, r, s);

        (v, r, s) = vm.sign(PATIENT_KEY, _disclosureGrantDigest(address(ledger), g));
        vm.chainId(block.chainid + 1);
        stranger = ecrecover(_disclosureGrantDigest(address(ledger), g), v, r, s);
        vm.assertNotEq(stranger, patient, "another chain, another signer");
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, stranger));
        ledger.grantDisclosureSigned(g, v, r, s);
        vm.assertFalse(_discConsent().active, "nothing stored");
    }

    function test_anExpiredSignatureIsRefused() public {
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        DisclosureLog.DisclosureWithdrawal memory w = _discWithdrawalRequest();
        vm.warp(g.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignatureExpired.selector, g.deadline));
        _relayDiscGrant(relayer, PATIENT_KEY, g);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignatureExpired.selector, w.deadline));
        _relayDiscWithdrawal(relayer, PATIENT_KEY, w);
    }

    function test_aSignedGrantNamesTheRecipientsPolicyText() public {
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        g.policyHash = keccak256("some other text");
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.PolicyHashMismatch.selector, lab, uint32(1), g.policyHash)
        );
        _relayDiscGrant(relayer, PATIENT_KEY, g);
        vm.assertEq(uint256(_discConsent().nonce), 0, "nonce untouched");
    }

    function test_aSignedRequestRelayedByANonMemberIsRefused() public {
        DisclosureLog.DisclosureGrant memory g = _discGrantRequest();
        DisclosureLog.DisclosureWithdrawal memory w = _discWithdrawalRequest();
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationNotAdmitted.selector, thief));
        _relayDiscGrant(thief, PATIENT_KEY, g);
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationNotAdmitted.selector, thief));
        _relayDiscWithdrawal(thief, PATIENT_KEY, w);
        rules.suspend(relayer);
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, relayer));
        _relayDiscGrant(relayer, PATIENT_KEY, g);
        vm.assertFalse(_discConsent().active, "nothing stored");
        rules.reinstate(relayer);
        _relayDiscGrant(relayer, PATIENT_KEY, g);
        _expectDisclosed(1);
    }

    // ------------------------------------------------------------------ batch, use, aliasing

    function test_theBatchIsAllOrNothing() public {
        _grantDisclosure(FOREVER);
        vm.prank(guardian);
        ledger.grantDisclosure(guardian, hospital, lab, RESEARCH, HEALTH, FOREVER, 1);
        DisclosureLog.DisclosureItem[] memory items = new DisclosureLog.DisclosureItem[](3);
        items[0] = DisclosureLog.DisclosureItem(patient, lab, RESEARCH, HEALTH, REF);
        items[1] = DisclosureLog.DisclosureItem(thief, lab, RESEARCH, HEALTH, REF); // no consent
        items[2] = DisclosureLog.DisclosureItem(guardian, lab, RESEARCH, HEALTH, REF);
        vm.prank(hospital);
        vm.expectRevert(
            abi.encodeWithSelector(DisclosureLog.NoDisclosureConsent.selector, thief, hospital, lab, RESEARCH, HEALTH)
        );
        ledger.recordDisclosureBatch(items);

        items[1] = DisclosureLog.DisclosureItem(patient, otherLab, RESEARCH, HEALTH, REF);
        rules.suspend(otherLab);
        vm.prank(hospital);
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, otherLab));
        ledger.recordDisclosureBatch(items);

        items[1] = items[2];
        rules.suspend(hospital); // the discloser is checked before any item
        vm.prank(hospital);
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, hospital));
        ledger.recordDisclosureBatch(items);
        rules.reinstate(hospital);
        (items[0], items[2]) = (items[2], items[0]); // the patient's item last
        vm.prank(patient);
        ledger.requestErasure(patient, lab); // only the last item is refused: the whole batch reverts
        vm.prank(hospital);
        vm.expectRevert(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, lab));
        ledger.recordDisclosureBatch(items);

        items[2] = items[0];
        vm.recordLogs();
        vm.prank(hospital);
        ledger.recordDisclosureBatch(items);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 3, "every item disclosed");
        for (uint256 i = 0; i < 3; i++) {
            vm.assertEq(logs[i].topics[0], DataDisclosed.selector, "DataDisclosed");
            vm.assertEq(logs[i].topics[1], bytes32(uint256(uint160(guardian))), "the item's identity");
        }
    }

    function test_theRecipientStillNeedsItsOwnUseConsent() public {
        _grantDisclosure(FOREVER);
        _expectDisclosed(1);
        vm.assertFalse(_covered(), "no use consent");
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(DataUsageLog.NoConsent.selector, patient, lab, RESEARCH, HEALTH));
        ledger.recordUse(patient, RESEARCH, HEALTH, REF);
        _grantDirect();
        vm.prank(lab);
        ledger.recordUse(patient, RESEARCH, HEALTH, REF);
    }

    /// @dev A use consent (patient, lab, research, health) and disclosure consents naming the
    ///      same four values (lab as discloser, as recipient, or both) are separate slots.
    function test_useAndDisclosureConsentsNeverAlias() public {
        _grantDirect();
        vm.assertFalse(_discCovered(), "use consent is no disclosure consent");
        vm.assertFalse(ledger.isDisclosureCovered(patient, lab, lab, RESEARCH, HEALTH), "nor lab -> lab");
        vm.assertFalse(ledger.getDisclosureConsent(patient, lab, lab, RESEARCH, HEALTH).active, "lab -> lab inactive");
        vm.prank(lab);
        vm.expectRevert(
            abi.encodeWithSelector(DisclosureLog.NoDisclosureConsent.selector, patient, lab, lab, RESEARCH, HEALTH)
        );
        ledger.recordDisclosure(patient, lab, RESEARCH, HEALTH, REF);

        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        vm.prank(patient);
        ledger.grantDisclosure(patient, lab, lab, RESEARCH, HEALTH, FOREVER, 1);
        _grantDisclosure(FOREVER);
        vm.assertFalse(_covered(), "disclosure consents are no use consent");
        vm.assertFalse(_active(), "the use consent stays withdrawn");
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(DataUsageLog.NoConsent.selector, patient, lab, RESEARCH, HEALTH));
        ledger.recordUse(patient, RESEARCH, HEALTH, REF);
    }

    /// @dev No disclosure id equals a use consent id built from any four of the same values
    ///      (each position any of the five, as 32-byte words: what abi.encode hashes).
    function testFuzz_disclosureIdNeverEqualsAUseConsentId(
        address identity,
        address discloser,
        address recipient,
        bytes32 purpose,
        bytes32 category
    ) public view {
        bytes32 id = ledger.disclosureConsentId(identity, discloser, recipient, purpose, category);
        bytes32[5] memory w = [
            bytes32(uint256(uint160(identity))),
            bytes32(uint256(uint160(discloser))),
            bytes32(uint256(uint160(recipient))),
            purpose,
            category
        ];
        for (uint256 a = 0; a < 5; a++) {
            for (uint256 b = 0; b < 5; b++) {
                for (uint256 c = 0; c < 5; c++) {
                    for (uint256 d = 0; d < 5; d++) {
                        vm.assertNotEq(id, keccak256(abi.encode(w[a], w[b], w[c], w[d])), "no alias");
                    }
                }
            }
        }
        address[3] memory orgs = [identity, discloser, recipient];
        for (uint256 o = 0; o < 3; o++) {
            vm.assertNotEq(id, ledger.consentId(identity, orgs[o], purpose, category), "no alias (ledger)");
            vm.assertNotEq(id, ledger.consentId(orgs[o], recipient, category, purpose), "no alias (swapped)");
        }
    }
}

/// @notice The repacked ErasureRegistry: an identity's first request lives in one packed slot,
///         each later one in its per-pair slot. One identity asks three organizations in turn
///         (with different periods, so each due time is its own); every answer, confirmation,
///         refusal and use check reads the right slot.
contract ErasureRepackTest is DisclosureFixture {
    bytes32 internal constant EVIDENCE = keccak256("erasure evidence");
    address[3] internal orgs;
    uint256[3] internal requestedAt;
    uint256[3] internal dueAt;

    function setUp() public override {
        super.setUp();
        orgs = [hospital, lab, otherLab];
        _publish(hospital, POLICY_V1, RESEARCH);
        _publish(otherLab, POLICY_V1, RESEARCH);
        uint64[3] memory periods = [uint64(30 days), 7 days, 90 days];
        for (uint256 i = 0; i < 3; i++) {
            vm.prank(patient);
            ledger.grant(patient, orgs[i], RESEARCH, HEALTH, FOREVER, 1);
        }
        for (uint256 i = 0; i < 3; i++) {
            vm.warp(block.timestamp + 1 hours);
            if (i != 0) ledger.setErasurePeriod(periods[i]);
            vm.prank(patient);
            ledger.requestErasure(patient, orgs[i]);
            (requestedAt[i], dueAt[i]) = (block.timestamp, block.timestamp + periods[i]);
        }
    }

    function _assertErasure(uint256 i, uint256 confirmedAt) internal view {
        ErasureRegistry.Erasure memory e = ledger.getErasure(patient, orgs[i]);
        vm.assertEq(uint256(e.requestedAt), requestedAt[i], "requestedAt");
        vm.assertEq(uint256(e.dueAt), dueAt[i], "dueAt");
        vm.assertEq(uint256(e.confirmedAt), confirmedAt, "confirmedAt");
    }

    function test_eachRequestReadsBackFromItsSlot() public view {
        for (uint256 i = 0; i < 3; i++) {
            _assertErasure(i, 0);
        }
        ErasureRegistry.Erasure memory none = ledger.getErasure(patient, relayer);
        vm.assertEq(uint256(none.requestedAt) + none.dueAt + none.confirmedAt, 0, "never asked: all zero");
        none = ledger.getErasure(guardian, hospital);
        vm.assertEq(uint256(none.requestedAt) + none.dueAt + none.confirmedAt, 0, "another identity: all zero");
    }

    /// @dev Confirmations in reverse order, each at its own time; the others are untouched.
    function test_eachConfirmsOnceAndOnlyItself() public {
        uint256[3] memory confirmedAt;
        for (uint256 k = 0; k < 3; k++) {
            uint256 i = 2 - k;
            vm.warp(block.timestamp + 1 days);
            vm.prank(orgs[i]);
            ledger.confirmErasure(patient, EVIDENCE);
            confirmedAt[i] = block.timestamp;
            for (uint256 j = 0; j < 3; j++) {
                _assertErasure(j, confirmedAt[j]);
            }
        }
        for (uint256 i = 0; i < 3; i++) {
            vm.prank(orgs[i]);
            vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasureAlreadyConfirmed.selector, patient, orgs[i]));
            ledger.confirmErasure(patient, EVIDENCE);
        }
    }

    function test_aSecondRequestToEachIsRefused() public {
        for (uint256 i = 0; i < 3; i++) {
            vm.prank(patient);
            vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasureAlreadyRequested.selector, patient, orgs[i]));
            ledger.requestErasure(patient, orgs[i]);
            _assertErasure(i, 0);
        }
    }

    function test_usesByEachAreRefused() public {
        for (uint256 i = 0; i < 3; i++) {
            vm.assertFalse(ledger.isCovered(patient, orgs[i], RESEARCH, HEALTH), "not covered");
            vm.prank(orgs[i]);
            vm.expectRevert(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, orgs[i]));
            ledger.recordUse(patient, RESEARCH, HEALTH, REF);
        }
        // Another organization, asked nothing, still uses.
        rules.admit(address(0xFEED));
        _publish(address(0xFEED), POLICY_V1, RESEARCH);
        vm.prank(patient);
        ledger.grant(patient, address(0xFEED), RESEARCH, HEALTH, FOREVER, 1);
        vm.prank(address(0xFEED));
        ledger.recordUse(patient, RESEARCH, HEALTH, REF);
    }
}
