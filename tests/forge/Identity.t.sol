// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentRegistry} from "../../contracts/ConsentRegistry.sol";
import {DataUsageLog} from "../../contracts/DataUsageLog.sol";
import {DIDRegistry} from "../../contracts/DIDRegistry.sol";
import {LedgerFixture} from "./base/LedgerFixture.sol";
import {Vm} from "./base/Vm.sol";

/// @notice Issue 10, items 1 and 2: deactivation (changeOwner to 0x0) ends everything, and every
///         owner change starts a new delegate epoch, so what an earlier key set up stops acting.
contract DeactivationTest is LedgerFixture {
    address internal constant DEACTIVATED = 0x000000000000000000000000000000000000dEaD;

    function _deactivate() internal {
        vm.prank(patient);
        ledger.changeOwner(patient, address(0));
    }

    function _addGuardian(uint256 validity) internal {
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, validity);
    }

    function test_deactivationIsRecordedAndAnnouncedAsZeroOwner() public {
        vm.expectEmit(true, false, false, true, address(ledger));
        emit DIDOwnerChanged(patient, address(0), 0);
        _deactivate();
        vm.assertTrue(ledger.isDeactivated(patient), "isDeactivated");
        vm.assertEq(ledger.identityOwner(patient), DEACTIVATED, "identityOwner is DEACTIVATED");
        vm.assertEq(ledger.owners(patient), DEACTIVATED, "owners is DEACTIVATED");
        vm.assertFalse(ledger.isDeactivated(guardian), "other identities untouched");
    }

    /// @dev Handing the identity to DEACTIVATED (0x…dEaD) itself is a deactivation too: the same
    ///      state, final, and announced as owner 0x0 (how did:ethr resolvers see deactivation),
    ///      never as a transfer to 0x…dEaD.
    function test_changeOwnerToTheDeactivatedAddressIsADeactivation() public {
        _grantDirect();
        _addGuardian(1 days);
        vm.assertEq(ledger.DEACTIVATED(), DEACTIVATED, "the contract's DEACTIVATED");
        vm.recordLogs();
        vm.prank(patient);
        ledger.changeOwner(patient, DEACTIVATED);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1, "one event");
        vm.assertEq(logs[0].topics[0], DIDOwnerChanged.selector, "DIDOwnerChanged");
        vm.assertEq(logs[0].topics[1], bytes32(uint256(uint160(patient))), "for the patient");
        (address announced, uint256 previousChange) = abi.decode(logs[0].data, (address, uint256));
        vm.assertEq(announced, address(0), "announced as 0x0, not 0x...dEaD");
        vm.assertEq(previousChange, block.number, "previous change: the delegate's block");

        vm.assertTrue(ledger.isDeactivated(patient), "isDeactivated");
        vm.assertEq(ledger.identityOwner(patient), DEACTIVATED, "identityOwner is DEACTIVATED");
        vm.assertEq(ledger.owners(patient), DEACTIVATED, "owners is DEACTIVATED");
        vm.assertEq(uint256(ledger.delegateEpoch(patient)), 1, "a new delegate epoch");
        vm.assertFalse(ledger.validDelegate(patient, SIG_AUTH, guardian), "the guardian lapsed");
        vm.assertFalse(_covered(), "nothing covered");
        // Final: the original key gets nothing back.
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        ledger.changeOwner(patient, patient);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
    }

    /// @dev The same through the ERC-1056 meta transaction.
    function test_signedChangeOwnerToTheDeactivatedAddressIsADeactivation() public {
        bytes32 digest = _changeOwnerDigest(address(ledger), ledger.nonce(patient), patient, DEACTIVATED);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PATIENT_KEY, digest);
        vm.expectEmit(true, false, false, true, address(ledger));
        emit DIDOwnerChanged(patient, address(0), 0);
        vm.prank(relayer);
        ledger.changeOwnerSigned(patient, v, r, s, DEACTIVATED);
        vm.assertTrue(ledger.isDeactivated(patient), "isDeactivated");
        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        _relayGrant(lab, sg);
    }

    /// @dev Any other new owner is a plain transfer, announced as itself.
    function testFuzz_onlyZeroAndDeactivatedDeactivate(address newOwner) public {
        bool deactivates = newOwner == address(0) || newOwner == DEACTIVATED;
        vm.expectEmit(true, false, false, true, address(ledger));
        emit DIDOwnerChanged(patient, deactivates ? address(0) : newOwner, 0);
        vm.prank(patient);
        ledger.changeOwner(patient, newOwner);
        vm.assertEq(ledger.isDeactivated(patient), deactivates, "deactivated iff 0x0 or 0x...dEaD");
        if (!deactivates) vm.assertEq(ledger.identityOwner(patient), newOwner, "transferred");
    }

    function test_onlyTheOwnerDeactivates() public {
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, thief));
        vm.prank(thief);
        ledger.changeOwner(patient, address(0));
        vm.assertFalse(ledger.isDeactivated(patient), "still active");
    }

    function test_deactivationIsFinal() public {
        _deactivate();
        // The original key gets nothing back: no owner change, no delegate, no attribute.
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        ledger.changeOwner(patient, patient);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 1 hours);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        ledger.setAttribute(patient, "did/svc/x", "y", 1 hours);
        // Not through a signed meta transaction either (nonce of the DEACTIVATED owner).
        bytes32 digest = _changeOwnerDigest(address(ledger), ledger.nonce(DEACTIVATED), patient, patient);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PATIENT_KEY, digest);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        ledger.changeOwnerSigned(patient, v, r, s, patient);
    }

    function test_ownerCannotGrantOrWithdrawDirectlyAfterDeactivation() public {
        _grantDirect();
        _deactivate();
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        ledger.grant(patient, lab, RESEARCH, HEALTH, FOREVER, 1);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        ledger.withdraw(patient, lab, RESEARCH, HEALTH);
        ConsentRegistry.GrantItem[] memory items = new ConsentRegistry.GrantItem[](1);
        items[0] = ConsentRegistry.GrantItem(lab, RESEARCH, HEALTH, FOREVER, 1);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(patient);
        ledger.grantBatch(patient, items);
    }

    /// @dev The issue's input: a guardian added for an hour, the patient deactivates, the
    ///      guardian signs a grant and the lab relays it. Before deactivation the same kind of
    ///      request goes through.
    function test_guardianSignedGrantAcceptedBeforeAndRefusedAfterDeactivation() public {
        _addGuardian(1 hours);
        ConsentRegistry.SignedGrant memory before = _signGrant(GUARDIAN_KEY, address(ledger), _grantRequest(_msNow()));
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ConsentGranted(patient, lab, RESEARCH, HEALTH, FOREVER, 1, guardian);
        _relayGrant(lab, before);
        vm.assertTrue(_covered(), "guardian's grant covers before deactivation");

        vm.warp(block.timestamp + 1);
        ConsentRegistry.SignedGrant memory later = _signGrant(GUARDIAN_KEY, address(ledger), _grantRequest(_msNow()));
        _deactivate();
        vm.assertFalse(ledger.validDelegate(patient, SIG_AUTH, guardian), "guardian lapsed");
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        _relayGrant(lab, later);
        // The owner's own key cannot sign either.
        ConsentRegistry.SignedGrant memory own = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow() + 1));
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        _relayGrant(lab, own);
    }

    function test_signedWithdrawalRefusedAfterDeactivation() public {
        _grantDirect();
        ConsentRegistry.SignedWithdrawal memory sw =
            _signWithdrawal(PATIENT_KEY, address(ledger), _withdrawalRequest(_storedNonce()));
        _deactivate();
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        _relayWithdrawal(lab, sw);
    }

    function test_signedBatchSkipsDeactivatedIdentity() public {
        ConsentRegistry.SignedGrant[] memory items = new ConsentRegistry.SignedGrant[](1);
        items[0] = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        _deactivate();
        vm.expectEmit(true, true, true, true, address(ledger));
        emit SignedRequestSkipped(0, _consentId(), DIDRegistry.IdentityDeactivated.selector);
        vm.prank(lab);
        ledger.grantSignedBatch(items);
        vm.assertFalse(_active(), "nothing granted");
    }

    /// @dev A consent granted before deactivation covers uses until then, and none after.
    function test_consentGrantedBeforeDeactivationStopsCovering() public {
        _grantDirect();
        vm.assertTrue(_covered(), "covered while the identity lives");
        vm.expectEmit(true, true, true, true, address(ledger));
        emit DataUsed(patient, lab, RESEARCH, HEALTH, keccak256("sample-1"), 1);
        vm.prank(lab);
        ledger.recordUse(patient, RESEARCH, HEALTH, keccak256("sample-1"));

        _deactivate();
        vm.assertTrue(_active(), "the stored consent is untouched");
        vm.assertFalse(_covered(), "not covered after deactivation");
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(lab);
        ledger.recordUse(patient, RESEARCH, HEALTH, keccak256("sample-2"));

        DataUsageLog.UseItem[] memory uses = new DataUsageLog.UseItem[](1);
        uses[0] = DataUsageLog.UseItem(patient, RESEARCH, HEALTH, keccak256("sample-3"));
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(lab);
        ledger.recordUseBatch(uses);
    }

    /// @dev Deactivation ends coverage whatever the consent's terms and whenever it happens.
    function testFuzz_deactivationEndsCoverage(uint64 expiryOffset, uint32 elapsed) public {
        uint64 expiry = uint64(bound(expiryOffset, 2, 3650 days)) + uint64(block.timestamp);
        vm.prank(patient);
        ledger.grant(patient, lab, RESEARCH, HEALTH, expiry, 1);
        vm.warp(block.timestamp + bound(elapsed, 0, expiry - block.timestamp - 1));
        vm.assertTrue(_covered(), "covered before deactivation");
        _deactivate();
        vm.assertFalse(_covered(), "not covered after");
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.IdentityDeactivated.selector, patient));
        vm.prank(lab);
        ledger.recordUse(patient, RESEARCH, HEALTH, bytes32(uint256(elapsed)));
    }
}

/// @notice Key rotation: every owner change bumps the identity's delegate epoch, so delegates the
///         previous key appointed (a thief who delegated to himself) no longer act.
contract KeyRotationTest is LedgerFixture {
    bytes32 internal constant SIG_AUTH_HASH = keccak256(abi.encode(bytes32("sigAuth")));

    /// @dev The thief holds the patient's key and appoints himself sigAuth delegate with it.
    function _thiefDelegatesToHimself() internal {
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, thief, 365 days);
    }

    function _rotate(address from, address to) internal {
        vm.prank(from);
        ledger.changeOwner(patient, to);
    }

    function test_rotationBumpsTheDelegateEpoch() public {
        vm.assertEq(uint256(ledger.delegateEpoch(patient)), 0, "epoch 0 at first");
        _rotate(patient, newKey);
        vm.assertEq(uint256(ledger.delegateEpoch(patient)), 1, "epoch 1 after a rotation");
        _rotate(newKey, patient);
        vm.assertEq(uint256(ledger.delegateEpoch(patient)), 2, "epoch 2 after another");
        vm.assertEq(ledger.identityOwner(patient), patient, "back to the original key");
    }

    function test_thiefDelegateActsUntilTheOwnerRotates() public {
        _thiefDelegatesToHimself();
        vm.assertTrue(ledger.validDelegate(patient, SIG_AUTH, thief), "thief valid before rotation");
        vm.assertEq(
            ledger.delegates(patient, SIG_AUTH_HASH, thief), block.timestamp + 365 days, "delegates() before"
        );
        // Accepted path: before the rotation the thief's signature counts.
        _relayGrant(lab, _signGrant(THIEF_KEY, address(ledger), _grantRequest(_msNow())));
        vm.assertTrue(_covered(), "the thief's grant went through before rotation");

        _rotate(patient, newKey);
        vm.assertFalse(ledger.validDelegate(patient, SIG_AUTH, thief), "thief lapsed");
        vm.assertEq(ledger.delegates(patient, SIG_AUTH_HASH, thief), 0, "delegates() reads 0");

        // Refused path: the same kind of request now fails, for grants and withdrawals alike.
        vm.warp(block.timestamp + 1);
        ConsentRegistry.SignedGrant memory sg = _signGrant(THIEF_KEY, address(ledger), _grantRequest(_msNow()));
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, thief));
        _relayGrant(lab, sg);
        ConsentRegistry.SignedWithdrawal memory sw =
            _signWithdrawal(THIEF_KEY, address(ledger), _withdrawalRequest(_msNow()));
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, thief));
        _relayWithdrawal(lab, sw);
    }

    function test_oldKeyCanDoNothingAfterRotation() public {
        _rotate(patient, newKey);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, patient));
        vm.prank(patient);
        ledger.grant(patient, lab, RESEARCH, HEALTH, FOREVER, 1);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, patient));
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, thief, 1 days);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, patient));
        vm.prank(patient);
        ledger.changeOwner(patient, thief);

        ConsentRegistry.SignedGrant memory sg = _signGrant(PATIENT_KEY, address(ledger), _grantRequest(_msNow()));
        vm.expectRevert(abi.encodeWithSelector(ConsentRegistry.SignerNotAuthorized.selector, patient, patient));
        _relayGrant(lab, sg);

        // The old key's ERC-1056 meta transaction is refused as well.
        bytes32 digest = _changeOwnerDigest(address(ledger), ledger.nonce(newKey), patient, thief);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PATIENT_KEY, digest);
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, patient));
        ledger.changeOwnerSigned(patient, v, r, s, thief);
    }

    function test_newOwnerAndItsDelegatesAct() public {
        _rotate(patient, newKey);
        _relayGrant(lab, _signGrant(NEW_KEY, address(ledger), _grantRequest(_msNow())));
        vm.assertTrue(_covered(), "the new key's signed grant");

        vm.prank(newKey);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 1 days);
        vm.assertTrue(ledger.validDelegate(patient, SIG_AUTH, guardian), "appointed under the new owner");
        ConsentRegistry.SignedWithdrawal memory sw =
            _signWithdrawal(GUARDIAN_KEY, address(ledger), _withdrawalRequest(_storedNonce()));
        vm.expectEmit(true, true, true, true, address(ledger));
        emit ConsentWithdrawn(patient, lab, RESEARCH, HEALTH, guardian);
        _relayWithdrawal(lab, sw);
        vm.assertFalse(_active(), "withdrawn by the new owner's guardian");
    }

    /// @dev Rotating to the very same key still starts a new epoch (a cheap "revoke all").
    function test_rotationToTheSameKeyRevokesAllDelegates() public {
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 1 days);
        _rotate(patient, patient);
        vm.assertFalse(ledger.validDelegate(patient, SIG_AUTH, guardian), "lapsed");
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, guardian, 1 days);
        vm.assertTrue(ledger.validDelegate(patient, SIG_AUTH, guardian), "re-appointed");
    }

    function test_signedOwnerChangeStartsANewEpochToo() public {
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, thief, 1 days);
        bytes32 digest = _changeOwnerDigest(address(ledger), ledger.nonce(patient), patient, newKey);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PATIENT_KEY, digest);
        vm.prank(relayer);
        ledger.changeOwnerSigned(patient, v, r, s, newKey);
        vm.assertEq(ledger.identityOwner(patient), newKey, "owner changed by signature");
        vm.assertFalse(ledger.validDelegate(patient, SIG_AUTH, thief), "thief lapsed");
    }

    /// @dev Any delegate appointed under any earlier owner is cut off by any number of
    ///      rotations, and a delegate appointed afterwards is valid.
    function testFuzz_rotationCutsOffEveryEarlierDelegate(uint256 delegateKey, uint8 rotations, uint32 validity)
        public
    {
        delegateKey = bound(delegateKey, 1, SECP256K1_HALF_N);
        address delegate = vm.addr(delegateKey);
        uint256 valid = bound(validity, 1, 3650 days);
        uint256 n = bound(rotations, 1, 8);
        vm.prank(patient);
        ledger.addDelegate(patient, SIG_AUTH, delegate, valid);
        vm.assertTrue(ledger.validDelegate(patient, SIG_AUTH, delegate), "valid when appointed");

        address owner = patient;
        for (uint256 i = 0; i < n; i++) {
            address next = vm.addr(0xB0000 + i);
            vm.prank(owner);
            ledger.changeOwner(patient, next);
            owner = next;
            vm.assertFalse(ledger.validDelegate(patient, SIG_AUTH, delegate), "lapsed after a rotation");
            vm.assertEq(ledger.delegates(patient, SIG_AUTH_HASH, delegate), 0, "delegates() 0");
        }
        vm.assertEq(uint256(ledger.delegateEpoch(patient)), n, "one epoch per rotation");

        vm.prank(owner);
        ledger.addDelegate(patient, SIG_AUTH, delegate, valid);
        vm.assertTrue(ledger.validDelegate(patient, SIG_AUTH, delegate), "valid when re-appointed");
    }
}
