// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentRegistry} from "../../../contracts/ConsentRegistry.sol";
import {DisclosureLog} from "../../../contracts/DisclosureLog.sol";
import {DisclosureSigning} from "./DisclosureSigning.sol";
import {LedgerFixture} from "./LedgerFixture.sol";

/// @notice The fixture's world plus a hospital (the discloser) and a third organization: the
///         patient's disclosure consent is "the hospital may pass my health data to the lab
///         for research", under the lab's (the recipient's) policy.
abstract contract DisclosureFixture is DisclosureSigning, LedgerFixture {
    event DisclosureConsentGranted(
        address indexed identity,
        address indexed discloser,
        address indexed recipient,
        bytes32 purpose,
        bytes32 category,
        uint64 expiry,
        uint32 policyVersion,
        address agent
    );
    event DisclosureConsentWithdrawn(
        address indexed identity,
        address indexed discloser,
        address indexed recipient,
        bytes32 purpose,
        bytes32 category,
        bool wasActive,
        uint64 nonce,
        address agent
    );
    event DataDisclosed(
        address indexed identity,
        address indexed discloser,
        address indexed recipient,
        bytes32 purpose,
        bytes32 category,
        bytes32 dataRef,
        uint32 policyVersion
    );

    bytes32 internal constant REF = keccak256("record 42");
    address internal hospital = address(0x4051);
    address internal otherLab = address(0x0B1AB);

    function setUp() public virtual override {
        super.setUp();
        rules.admit(hospital);
        rules.admit(otherLab);
        vm.label(hospital, "hospital");
        vm.label(otherLab, "otherLab");
    }

    /// @dev The patient's disclosure consent (hospital -> lab, research, health), directly.
    function _grantDisclosure(uint64 expiry) internal {
        uint32 version = ledger.currentPolicyVersion(lab);
        vm.prank(patient);
        ledger.grantDisclosure(patient, hospital, lab, RESEARCH, HEALTH, expiry, version);
    }

    function _discCovered() internal view returns (bool) {
        return ledger.isDisclosureCovered(patient, hospital, lab, RESEARCH, HEALTH);
    }

    function _discConsent() internal view returns (ConsentRegistry.Consent memory) {
        return ledger.getDisclosureConsent(patient, hospital, lab, RESEARCH, HEALTH);
    }

    function _discId() internal view returns (bytes32) {
        return ledger.disclosureConsentId(patient, hospital, lab, RESEARCH, HEALTH);
    }

    /// @dev isDisclosureCovered is true and recordDisclosure emits DataDisclosed under `version`.
    function _expectDisclosed(uint32 version) internal {
        vm.assertTrue(_discCovered(), "isDisclosureCovered agrees: covered");
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DataDisclosed(patient, hospital, lab, RESEARCH, HEALTH, REF, version);
        vm.prank(hospital);
        ledger.recordDisclosure(patient, lab, RESEARCH, HEALTH, REF);
    }

    /// @dev isDisclosureCovered is false and recordDisclosure reverts with exactly `err`.
    function _expectRefused(bytes memory err) internal {
        vm.assertFalse(_discCovered(), "isDisclosureCovered agrees: not covered");
        vm.prank(hospital);
        vm.expectRevert(err);
        ledger.recordDisclosure(patient, lab, RESEARCH, HEALTH, REF);
    }

    /// @dev A signed-grant request for the patient's disclosure consent under the lab's current
    ///      policy, with the client's nonce (max(consent nonce, now in ms)), valid for a day.
    function _discGrantRequest() internal view returns (DisclosureLog.DisclosureGrant memory g) {
        uint32 version = ledger.currentPolicyVersion(lab);
        (bytes32 contentHash,,) = ledger.policy(lab, version);
        g = DisclosureLog.DisclosureGrant({
            identity: patient,
            discloser: hospital,
            recipient: lab,
            purpose: RESEARCH,
            category: HEALTH,
            expiry: FOREVER,
            policyVersion: version,
            policyHash: contentHash,
            nonce: _discClientNonce(),
            deadline: uint64(block.timestamp + 1 days)
        });
    }

    function _discWithdrawalRequest() internal view returns (DisclosureLog.DisclosureWithdrawal memory w) {
        w = DisclosureLog.DisclosureWithdrawal({
            identity: patient,
            discloser: hospital,
            recipient: lab,
            purpose: RESEARCH,
            category: HEALTH,
            nonce: _discClientNonce(),
            deadline: uint64(block.timestamp + 1 days)
        });
    }

    function _discClientNonce() internal view returns (uint64) {
        uint64 stored = _discConsent().nonce;
        return stored > _msNow() ? stored : _msNow();
    }

    function _relayDiscGrant(address by, uint256 key, DisclosureLog.DisclosureGrant memory g) internal {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _disclosureGrantDigest(address(ledger), g));
        vm.prank(by);
        ledger.grantDisclosureSigned(g, v, r, s);
    }

    function _relayDiscWithdrawal(address by, uint256 key, DisclosureLog.DisclosureWithdrawal memory w) internal {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _disclosureWithdrawalDigest(address(ledger), w));
        vm.prank(by);
        ledger.withdrawDisclosureSigned(w, v, r, s);
    }
}
