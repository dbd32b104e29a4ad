// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentLedger} from "../../contracts/ConsentLedger.sol";
import {ConsentRegistry} from "../../contracts/ConsentRegistry.sol";
import {DataUsageLog} from "../../contracts/DataUsageLog.sol";
import {DIDRegistry} from "../../contracts/DIDRegistry.sol";
import {ErasureRegistry} from "../../contracts/ErasureRegistry.sol";
import {RulesConsumer} from "../../contracts/RulesConsumer.sol";
import {LedgerFixture} from "./base/LedgerFixture.sol";

/// @notice Issue 13, part 2: an erasure request (direct or EIP-712 signed and relayed) refuses
///         every later use by that organization for that identity and ends its consents with
///         it; the organization confirms with an evidence hash, due erasurePeriod() later.
contract ErasureTest is LedgerFixture {
    event ErasureRequested(address indexed identity, address indexed organization, uint64 dueAt, address agent);
    event ErasureConfirmed(address indexed identity, address indexed organization, bytes32 evidenceHash, bool late);
    event ErasurePeriodSet(uint64 period);

    bytes32 internal constant ERASURE_TYPEHASH =
        keccak256("ErasureRequest(address identity,address organization,uint64 deadline)");
    bytes32 internal constant EVIDENCE = keccak256("lab erasure evidence");
    address internal otherLab = address(0x0B1AB);

    function setUp() public override {
        super.setUp();
        rules.admit(otherLab);
        _publish(otherLab, POLICY_V1, RESEARCH);
        _grantDirect();
        vm.prank(patient);
        ledger.grant(patient, otherLab, RESEARCH, HEALTH, FOREVER, 1);
    }

    function _request(uint64 deadline) internal view returns (ErasureRegistry.ErasureRequest memory) {
        return ErasureRegistry.ErasureRequest(patient, lab, deadline);
    }

    function _sign(uint256 key, address verifying, ErasureRegistry.ErasureRequest memory q)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(abi.encode(ERASURE_TYPEHASH, q.identity, q.organization, q.deadline));
        (v, r, s) = vm.sign(key, keccak256(abi.encodePacked("\x19\x01", _domainSeparator(verifying), structHash)));
    }

    function _use(address org) internal {
        vm.prank(org);
        ledger.recordUse(patient, RESEARCH, HEALTH, keccak256("ref"));
    }

    function _requestDirect() internal {
        vm.prank(patient);
        ledger.requestErasure(patient, lab);
    }

    // ------------------------------------------------------------------ the request's effect

    function test_directRequestEmitsWithTheDueTime() public {
        vm.assertEq(uint256(ledger.erasurePeriod()), 30 days, "default period");
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ErasureRequested(patient, lab, uint64(block.timestamp + 30 days), patient);
        _requestDirect();
        ErasureRegistry.Erasure memory e = ledger.getErasure(patient, lab);
        vm.assertEq(uint256(e.requestedAt), block.timestamp, "requestedAt");
        vm.assertEq(uint256(e.dueAt), block.timestamp + 30 days, "dueAt");
        vm.assertEq(uint256(e.confirmedAt), 0, "not confirmed");
    }

    function test_useAfterRequestIsRefusedAndConsentEnds() public {
        _use(lab);
        vm.assertTrue(_covered(), "covered before");
        _requestDirect();
        vm.assertFalse(_covered(), "the consent no longer covers");
        vm.expectRevert(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, lab));
        _use(lab);
        DataUsageLog.UseItem[] memory uses = new DataUsageLog.UseItem[](1);
        uses[0] = DataUsageLog.UseItem(patient, RESEARCH, HEALTH, keccak256("ref"));
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, lab));
        ledger.recordUseBatch(uses);
    }

    function test_otherOrganizationsAreUnaffected() public {
        _requestDirect();
        _use(otherLab);
        vm.assertTrue(ledger.isCovered(patient, otherLab, RESEARCH, HEALTH), "other lab still covered");
    }

    function test_aRegrantDoesNotCoverAgain() public {
        _requestDirect();
        _grantDirect();
        vm.assertFalse(_covered(), "final for the pair");
        vm.expectRevert(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, lab));
        _use(lab);
    }

    function test_onlyTheOwnerRequestsDirectly() public {
        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, thief));
        ledger.requestErasure(patient, lab);
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, lab));
        ledger.requestErasure(patient, lab);
    }

    function test_aSecondRequestIsRefused() public {
        _requestDirect();
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasureAlreadyRequested.selector, patient, lab));
        ledger.requestErasure(patient, lab);
    }

    // ------------------------------------------------------------------ signed

    function test_signedRequestByTheOwnerIsRelayed() public {
        ErasureRegistry.ErasureRequest memory q = _request(uint64(block.timestamp + 1 hours));
        (uint8 v, bytes32 r, bytes32 s) = _sign(PATIENT_KEY, address(ledger), q);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ErasureRequested(patient, lab, uint64(block.timestamp + 30 days), patient);
        vm.prank(relayer);
        ledger.requestErasureSigned(q, v, r, s);
        vm.assertFalse(_covered(), "ended");
    }

    function test_signedRequestByAGuardianIsRelayed() public {
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 1 days);
        ErasureRegistry.ErasureRequest memory q = _request(uint64(block.timestamp + 1 hours));
        (uint8 v, bytes32 r, bytes32 s) = _sign(GUARDIAN_KEY, address(ledger), q);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ErasureRequested(patient, lab, uint64(block.timestamp + 30 days), guardian);
        vm.prank(lab);
        ledger.requestErasureSigned(q, v, r, s);
    }

    function test_signedRequestCannotBeReplayed() public {
        ErasureRegistry.ErasureRequest memory q = _request(uint64(block.timestamp + 1 hours));
        (uint8 v, bytes32 r, bytes32 s) = _sign(PATIENT_KEY, address(ledger), q);
        vm.prank(relayer);
        ledger.requestErasureSigned(q, v, r, s);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasureAlreadyRequested.selector, patient, lab));
        ledger.requestErasureSigned(q, v, r, s);
    }

    function test_signatureForAnotherLedgerOrChainIsRefused() public {
        ErasureRegistry.ErasureRequest memory q = _request(uint64(block.timestamp + 1 hours));
        ConsentLedger other = new ConsentLedger(rules);
        (uint8 v, bytes32 r, bytes32 s) = _sign(PATIENT_KEY, address(other), q);
        vm.prank(relayer);
        vm.expectRevert(); // recovers to some other address: SignerNotAuthorized
        ledger.requestErasureSigned(q, v, r, s);

        (v, r, s) = _sign(PATIENT_KEY, address(ledger), q);
        vm.chainId(block.chainid + 1);
        vm.prank(relayer);
        vm.expectRevert();
        ledger.requestErasureSigned(q, v, r, s);
        vm.assertEq(uint256(ledger.getErasure(patient, lab).requestedAt), 0, "nothing stored");
    }

    function test_expiredSignatureIsRefused() public {
        uint64 deadline = uint64(block.timestamp + 1 hours);
        ErasureRegistry.ErasureRequest memory q = _request(deadline);
        (uint8 v, bytes32 r, bytes32 s) = _sign(PATIENT_KEY, address(ledger), q);
        vm.warp(deadline + 1);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignatureExpired.selector, deadline));
        ledger.requestErasureSigned(q, v, r, s);
    }

    function test_strangersSignatureIsRefused() public {
        ErasureRegistry.ErasureRequest memory q = _request(uint64(block.timestamp + 1 hours));
        (uint8 v, bytes32 r, bytes32 s) = _sign(THIEF_KEY, address(ledger), q);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, thief));
        ledger.requestErasureSigned(q, v, r, s);
    }

    function test_malformedSignatureIsRefused() public {
        ErasureRegistry.ErasureRequest memory q = _request(uint64(block.timestamp + 1 hours));
        (uint8 v, bytes32 r, bytes32 s) = _sign(PATIENT_KEY, address(ledger), q);
        (v, s) = _highSTwin(v, s);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.InvalidSignature.selector));
        ledger.requestErasureSigned(q, v, r, s);
    }

    function test_relayerMustBeAdmitted() public {
        ErasureRegistry.ErasureRequest memory q = _request(uint64(block.timestamp + 1 hours));
        (uint8 v, bytes32 r, bytes32 s) = _sign(PATIENT_KEY, address(ledger), q);
        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationNotAdmitted.selector, thief));
        ledger.requestErasureSigned(q, v, r, s);
    }

    function test_aDeactivatedIdentityCannotRequest() public {
        ErasureRegistry.ErasureRequest memory q = _request(uint64(block.timestamp + 1 hours));
        (uint8 v, bytes32 r, bytes32 s) = _sign(PATIENT_KEY, address(ledger), q);
        vm.prank(patient);
        ledger.changeOwner(patient, address(0));
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        ledger.requestErasureSigned(q, v, r, s);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        ledger.requestErasure(patient, lab);
    }

    // ------------------------------------------------------------------ confirmation

    function test_confirmWithinTheDeadline() public {
        _requestDirect();
        vm.warp(block.timestamp + 10 days);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ErasureConfirmed(patient, lab, EVIDENCE, false);
        vm.prank(lab);
        ledger.confirmErasure(patient, EVIDENCE);
        vm.assertEq(uint256(ledger.getErasure(patient, lab).confirmedAt), block.timestamp, "confirmedAt");
        vm.assertFalse(_covered(), "still ended");
    }

    function test_lateConfirmationIsAcceptedAndMarkedLate() public {
        _requestDirect();
        vm.warp(block.timestamp + 30 days + 1);
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ErasureConfirmed(patient, lab, EVIDENCE, true);
        vm.prank(lab);
        ledger.confirmErasure(patient, EVIDENCE);
    }

    function test_confirmNeedsARequestOfTheCaller() public {
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.NoErasureRequest.selector, patient, lab));
        ledger.confirmErasure(patient, EVIDENCE);
        _requestDirect();
        vm.prank(otherLab);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.NoErasureRequest.selector, patient, otherLab));
        ledger.confirmErasure(patient, EVIDENCE);
    }

    function test_confirmOnlyOnce() public {
        _requestDirect();
        vm.prank(lab);
        ledger.confirmErasure(patient, EVIDENCE);
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasureAlreadyConfirmed.selector, patient, lab));
        ledger.confirmErasure(patient, EVIDENCE);
    }

    // ------------------------------------------------------------------ the period

    function test_adminSetsThePeriodForNewRequestsOnly() public {
        _requestDirect();
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ErasurePeriodSet(7 days);
        ledger.setErasurePeriod(7 days);
        vm.assertEq(uint256(ledger.getErasure(patient, lab).dueAt), block.timestamp + 30 days, "pending unchanged");
        vm.prank(patient);
        ledger.requestErasure(patient, otherLab);
        vm.assertEq(uint256(ledger.getErasure(patient, otherLab).dueAt), block.timestamp + 7 days, "new period");
    }

    function test_periodIsAdminOnlyAndBounded() public {
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.NotConsortiumAdmin.selector, lab));
        ledger.setErasurePeriod(7 days);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasurePeriodOutOfRange.selector, uint64(1 hours)));
        ledger.setErasurePeriod(1 hours);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasurePeriodOutOfRange.selector, uint64(91 days)));
        ledger.setErasurePeriod(91 days);
    }

    /// Requests whose times do not fit the packed first slot (32-bit seconds: from 2106) keep
    /// exact times in the pair's own slot, stay confirmable, and still refuse uses.
    function test_requestsPastThe32BitClockKeepExactTimes() public {
        for (uint256 i = 0; i < 2; i++) {
            uint256 start = i == 0 ? 2 ** 32 - 1 days : 2 ** 32 + 7 days; // due past, or all past
            vm.warp(start);
            address identity = i == 0 ? patient : address(uint160(0xA11CE + i));
            vm.prank(identity);
            ledger.requestErasure(identity, lab);
            ErasureRegistry.Erasure memory e = ledger.getErasure(identity, lab);
            vm.assertEq(uint256(e.requestedAt), start, "requestedAt exact");
            vm.assertEq(uint256(e.dueAt), start + 30 days, "dueAt exact");
            vm.assertEq(uint256(e.confirmedAt), 0, "not confirmed");
            vm.assertEq(uint256(ledger.getErasure(identity, otherLab).requestedAt), 0, "others untouched");
            vm.prank(identity);
            vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasureAlreadyRequested.selector, identity, lab));
            ledger.requestErasure(identity, lab);
            vm.prank(identity);
            ledger.requestErasure(identity, otherLab); // a second organization still works
            vm.warp(start + 1 days);
            vm.prank(lab);
            ledger.confirmErasure(identity, EVIDENCE);
            vm.assertEq(uint256(ledger.getErasure(identity, lab).confirmedAt), start + 1 days, "confirmedAt");
            vm.assertEq(uint256(ledger.getErasure(identity, otherLab).requestedAt), start, "second request");
        }
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(DataUsageLog.UseAfterErasureRequest.selector, patient, lab));
        ledger.recordUse(patient, RESEARCH, HEALTH, keccak256("ref"));
    }

    /// A packed request (made before 2106) confirmed after 2**32 seconds stays confirmed.
    function test_aPackedRequestConfirmedPastThe32BitClockIsConfirmed() public {
        vm.warp(2 ** 32 - 40 days);
        _requestDirect();
        vm.warp(2 ** 32 + 5);
        vm.prank(lab);
        ledger.confirmErasure(patient, EVIDENCE);
        ErasureRegistry.Erasure memory e = ledger.getErasure(patient, lab);
        vm.assertEq(uint256(e.requestedAt), 2 ** 32 - 40 days, "requestedAt");
        vm.assertGt(uint256(e.confirmedAt), 0, "confirmed (capped at the 32-bit clock's end)");
        vm.prank(lab);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.ErasureAlreadyConfirmed.selector, patient, lab));
        ledger.confirmErasure(patient, EVIDENCE);
    }

    function testFuzz_anyUseAfterARequestIsRefused(bytes32 purpose, bytes32 category, bytes32 ref) public {
        _requestDirect();
        vm.prank(lab);
        vm.expectRevert();
        ledger.recordUse(patient, purpose, category, ref);
        vm.assertFalse(ledger.isCovered(patient, lab, purpose, category), "nothing covers");
    }
}
