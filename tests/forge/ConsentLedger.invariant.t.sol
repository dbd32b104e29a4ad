// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {ConsentLedger} from "../../contracts/ConsentLedger.sol";
import {ConsentRegistry} from "../../contracts/ConsentRegistry.sol";
import {ErasureDisclosureActions} from "./base/ErasureDisclosureActions.sol";
import {LedgerSigning} from "./base/LedgerFixture.sol";
import {LedgerWorld} from "./base/LedgerWorld.sol";

/// @notice Drives a ConsentLedger from a small world: 4 identities (each with a sigAuth guardian
///         key it may appoint), 3 organizations, 2 purposes, 2 data categories. Actions: direct
///         and signed grants and withdrawals (by the owner, the guardian or a stranger; signed
///         mostly with the client's nonce, sometimes by a fast clock or with a huge nonce), key
///         rotations, deactivations (to 0x0 or to 0x…dEaD), policy publications, suspensions,
///         reinstatements, removals and re-admissions, data uses, erasure requests (direct and
///         signed), disclosure consents (direct and signed grants, withdrawals) and
///         disclosures between the organizations, and time passing. Refused calls are part of
///         the run. Ghost counters (LedgerWorld) record what must never happen; the invariants
///         read them. The erasure and disclosure actions are ErasureDisclosureActions'.
contract ConsentLedgerHandler is ErasureDisclosureActions {
    // ------------------------------------------------------------------ consent

    function grantDirect(uint256 idSeed, uint256 orgSeed, uint256 pSeed, uint256 cSeed, uint256 expirySeed) external {
        (address id, address org, bytes32 p, bytes32 c) = _pick(idSeed, orgSeed, pSeed, cSeed);
        uint64 expiry = _expiry(expirySeed);
        uint32 version = ledger.currentPolicyVersion(org);
        vm.prank(_owner(id));
        try ledger.grant(id, org, p, c, expiry, version) {
            grants++;
            _noteGranted(id, org, p, c);
            if (ghostDeactivated[id]) grantsAfterDeactivation++;
        } catch {
            refused++;
        }
    }

    function grantSigned(
        uint256 idSeed,
        uint256 orgSeed,
        uint256 pSeed,
        uint256 cSeed,
        uint256 expirySeed,
        uint256 signerSeed,
        uint256 relayerSeed,
        uint256 nonceSeed
    ) external {
        ConsentRegistry.Grant memory g = _grantRequest(idSeed, orgSeed, pSeed, cSeed, expirySeed, nonceSeed);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_signerKey(g.identity, signerSeed), _grantDigest(address(ledger), g));
        uint64 ceiling = _ceiling(g.identity, g.organization, g.purpose, g.category);
        vm.prank(organizations[relayerSeed % ORGS]);
        try ledger.grantSigned(g, v, r, s) {
            grants++;
            _noteGranted(g.identity, g.organization, g.purpose, g.category);
            if (ghostDeactivated[g.identity]) grantsAfterDeactivation++;
            _noteSignedApplied(g.nonce, ceiling);
        } catch (bytes memory err) {
            _noteSignedRefused(g.nonce, ceiling, err);
        }
    }

    function _grantRequest(
        uint256 idSeed,
        uint256 orgSeed,
        uint256 pSeed,
        uint256 cSeed,
        uint256 expirySeed,
        uint256 nonceSeed
    ) internal view returns (ConsentRegistry.Grant memory g) {
        (address id, address org, bytes32 p, bytes32 c) = _pick(idSeed, orgSeed, pSeed, cSeed);
        uint32 version = ledger.currentPolicyVersion(org);
        (bytes32 contentHash,,) = ledger.policy(org, version);
        g = ConsentRegistry.Grant({
            identity: id,
            organization: org,
            purpose: p,
            category: c,
            expiry: _expiry(expirySeed),
            policyVersion: version,
            policyHash: contentHash,
            nonce: _signedNonce(id, org, p, c, nonceSeed),
            deadline: uint64(block.timestamp + 1 hours)
        });
    }

    function withdrawDirect(uint256 idSeed, uint256 orgSeed, uint256 pSeed, uint256 cSeed) external {
        (address id, address org, bytes32 p, bytes32 c) = _pickMostlyGranted(idSeed, orgSeed, pSeed, cSeed);
        vm.prank(_owner(id));
        try ledger.withdraw(id, org, p, c) {
            withdrawals++;
            if (ghostDeactivated[id]) withdrawalsAfterDeactivation++;
        } catch {
            // Whatever was signed before, the owner of a live identity always withdraws.
            if (!ghostDeactivated[id]) ownerWithdrawalsRefused++;
            refused++;
        }
    }

    function withdrawSigned(
        uint256 idSeed,
        uint256 orgSeed,
        uint256 pSeed,
        uint256 cSeed,
        uint256 signerSeed,
        uint256 relayerSeed,
        uint256 nonceSeed
    ) external {
        (address id, address org, bytes32 p, bytes32 c) = _pickMostlyGranted(idSeed, orgSeed, pSeed, cSeed);
        ConsentRegistry.Withdrawal memory w = ConsentRegistry.Withdrawal({
            identity: id,
            organization: org,
            purpose: p,
            category: c,
            nonce: _signedNonce(id, org, p, c, nonceSeed),
            deadline: uint64(block.timestamp + 1 hours)
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_signerKey(id, signerSeed), _withdrawalDigest(address(ledger), w));
        uint64 ceiling = _ceiling(id, org, p, c);
        vm.prank(organizations[relayerSeed % ORGS]);
        try ledger.withdrawSigned(w, v, r, s) {
            withdrawals++;
            if (ghostDeactivated[id]) withdrawalsAfterDeactivation++;
            _noteSignedApplied(w.nonce, ceiling);
        } catch (bytes memory err) {
            _noteSignedRefused(w.nonce, ceiling, err);
        }
    }

    function recordUse(uint256 idSeed, uint256 orgSeed, uint256 pSeed, uint256 cSeed, bytes32 dataRef) external {
        (address id, address org, bytes32 p, bytes32 c) = _pickMostlyGranted(idSeed, orgSeed, pSeed, cSeed);
        bool covered = ledger.isCovered(id, org, p, c);
        if (ghostErasureRequested[id][org]) usesTriedAfterErasureRequest++;
        vm.prank(org);
        try ledger.recordUse(id, p, c, dataRef) {
            uses++;
            if (ghostDeactivated[id]) usesAfterDeactivation++;
            if (ghostErasureRequested[id][org]) usesAfterErasureRequest++;
            if (!covered) usesNotCovered++;
        } catch {
            if (covered) coveredUsesRefused++;
            refused++;
        }
    }

    // ------------------------------------------------------------------ identities

    /// @dev changeOwner to 0x0, or (one time in four) to DEACTIVATED itself: the same deactivation.
    function deactivate(uint256 idSeed) external {
        address id = identities[idSeed % IDS];
        vm.prank(_owner(id));
        try ledger.changeOwner(id, (idSeed >> 8) % 4 == 0 ? DEACTIVATED : address(0)) {
            if (ghostDeactivated[id]) ownerChangesAfterDeactivation++;
            ghostDeactivated[id] = true;
            deactivations++;
        } catch {
            refused++;
        }
    }

    function rotateKey(uint256 idSeed) external {
        address id = identities[idSeed % IDS];
        uint256 key = _nextKey++;
        vm.prank(_owner(id));
        try ledger.changeOwner(id, vm.addr(key)) {
            if (ghostDeactivated[id]) ownerChangesAfterDeactivation++;
            ownerKey[id] = key;
        } catch {
            refused++;
        }
    }

    function appointGuardian(uint256 idSeed, uint256 validitySeed) external {
        address id = identities[idSeed % IDS];
        vm.prank(_owner(id));
        try ledger.addDelegate(id, SIG_AUTH, vm.addr(guardianKey[id]), bound(validitySeed, 1, 2 days)) {}
        catch {
            refused++;
        }
    }

    // ------------------------------------------------------------------ organizations

    function publishPolicy(uint256 orgSeed, uint256 purposeMask, bytes32 text) external {
        address org = organizations[orgSeed % ORGS];
        uint256 mask = bound(purposeMask, 1, 3);
        bytes32[] memory covered = new bytes32[](mask == 3 ? 2 : 1);
        if (mask == 3) {
            (covered[0], covered[1]) = (purposes[0], purposes[1]);
        } else {
            covered[0] = purposes[mask - 1];
        }
        vm.prank(org);
        try ledger.publishPolicy(text == bytes32(0) ? bytes32(uint256(1)) : text, "ipfs://policy", covered) {}
        catch {
            refused++;
        }
    }

    function suspend(uint256 orgSeed) external {
        try rules.suspend(organizations[orgSeed % ORGS]) {}
        catch {
            refused++;
        }
    }

    function reinstate(uint256 orgSeed) external {
        try rules.reinstate(organizations[orgSeed % ORGS]) {}
        catch {
            refused++;
        }
    }

    function removeOrAdmit(uint256 orgSeed) external {
        address org = organizations[orgSeed % ORGS];
        if (rules.statusOf(org) == AccountRules.Status.None) {
            rules.admit(org);
        } else {
            rules.remove(org);
        }
    }

    function wait(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 3 days));
    }
}

/// @notice ConsentLedger invariants under random grants, withdrawals, deactivations, rotations,
///         policy publications, organization changes, erasure requests and disclosures:
///         `isCovered` implies every condition of coverage, `recordUse` agrees with `isCovered`,
///         a deactivated identity never again has a covered use, a successful grant or
///         withdrawal, or an owner change, the owner of a live identity can always withdraw, no
///         use or disclosure follows an erasure request to the organization (or to either
///         party), and no disclosure goes through without an active, unexpired disclosure
///         consent (`recordDisclosure` agrees with `isDisclosureCovered`).
contract ConsentLedgerInvariantTest is LedgerSigning {
    ConsentLedgerHandler internal handler;
    ConsentLedger internal ledger;
    AccountRules internal rules;
    address[] internal identities;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new ConsentLedgerHandler();
        ledger = handler.ledger();
        rules = handler.rules();
        for (uint256 i = 0; i < handler.identityCount(); i++) {
            identities.push(handler.identities(i));
        }
        targetContract(address(handler));
    }

    /// @dev isCovered => active, unexpired, under the current policy version, identity not
    ///      deactivated, organization active; checked for every consent that can be covered
    ///      (every consent ever granted: nothing else sets `active`).
    function invariant_coveredImpliesEveryCondition() public view {
        LedgerWorld.Key[] memory keys = handler.grantedConsents();
        for (uint256 k = 0; k < keys.length; k++) {
            LedgerWorld.Key memory key = keys[k];
            if (!ledger.isCovered(key.identity, key.organization, key.purpose, key.category)) continue;
            ConsentRegistry.Consent memory consent =
                ledger.getConsent(key.identity, key.organization, key.purpose, key.category);
            vm.assertTrue(consent.active, "covered => active");
            vm.assertLt(block.timestamp, consent.expiry, "covered => unexpired");
            vm.assertEq(
                uint256(consent.policyVersion),
                uint256(ledger.currentPolicyVersion(key.organization)),
                "covered => current policy"
            );
            vm.assertTrue(ledger.currentPolicyCovers(key.organization, key.purpose), "covered => policy covers purpose");
            vm.assertFalse(ledger.isDeactivated(key.identity), "covered => identity not deactivated");
            vm.assertFalse(handler.ghostDeactivated(key.identity), "covered => never deactivated");
            vm.assertEq(
                uint256(rules.statusOf(key.organization)), uint256(AccountRules.Status.Active), "covered => org active"
            );
        }
    }

    /// @dev Once deactivated, always deactivated; nothing covered, granted, withdrawn or used after.
    function invariant_deactivationIsFinal() public view {
        for (uint256 i = 0; i < identities.length; i++) {
            if (handler.ghostDeactivated(identities[i])) {
                vm.assertTrue(ledger.isDeactivated(identities[i]), "deactivated stays deactivated");
            }
        }
        LedgerWorld.Key[] memory keys = handler.grantedConsents();
        for (uint256 k = 0; k < keys.length; k++) {
            LedgerWorld.Key memory key = keys[k];
            if (!handler.ghostDeactivated(key.identity)) continue;
            vm.assertFalse(
                ledger.isCovered(key.identity, key.organization, key.purpose, key.category),
                "a deactivated identity's data is never covered"
            );
        }
        vm.assertEq(handler.grantsAfterDeactivation(), 0, "no grant after deactivation");
        vm.assertEq(handler.withdrawalsAfterDeactivation(), 0, "no withdrawal after deactivation");
        vm.assertEq(handler.usesAfterDeactivation(), 0, "no use after deactivation");
        vm.assertEq(handler.ownerChangesAfterDeactivation(), 0, "no owner change after deactivation");
    }

    /// @dev recordUse goes through exactly when isCovered says so, and the run did exercise it.
    function invariant_recordUseAgreesWithIsCovered() public view {
        vm.assertEq(handler.usesNotCovered(), 0, "no use recorded without coverage");
        vm.assertEq(handler.coveredUsesRefused(), 0, "no covered use refused");
    }

    /// @dev No signed nonce, however large, locks a consent: the owner of a live identity always
    ///      withdraws directly, no signed request above max(block ms + NONCE_CLOCK_SKEW, consent
    ///      nonce + NONCE_STEP) applies, and
    ///      NonceInFuture is reported only for such nonces.
    function invariant_ownerCanAlwaysWithdraw() public view {
        vm.assertEq(handler.ownerWithdrawalsRefused(), 0, "the owner's direct withdrawal never refused");
        vm.assertEq(handler.futureNoncesAccepted(), 0, "no nonce beyond the ceiling applied");
        vm.assertEq(handler.nonceRefusalsMisreported(), 0, "NonceInFuture only beyond the ceiling");
    }

    /// @dev No DataUsed by an organization for an identity after that identity's erasure request
    ///      to it, no DataDisclosed with either party asked, nothing of theirs covered any more,
    ///      each pair requested once, and the ledger's record matches the handler's.
    function invariant_nothingAfterAnErasureRequest() public view {
        vm.assertEq(handler.usesAfterErasureRequest(), 0, "no use after an erasure request");
        vm.assertEq(handler.disclosuresAfterErasureRequest(), 0, "no disclosure after an erasure request");
        vm.assertEq(handler.repeatedErasureRequestsAccepted(), 0, "one request per pair");
        LedgerWorld.Key[] memory keys = handler.grantedConsents();
        for (uint256 k = 0; k < keys.length; k++) {
            LedgerWorld.Key memory key = keys[k];
            bool asked = handler.ghostErasureRequested(key.identity, key.organization);
            vm.assertEq(
                ledger.getErasure(key.identity, key.organization).requestedAt != 0, asked, "ledger and ghost agree"
            );
            if (asked) {
                vm.assertFalse(
                    ledger.isCovered(key.identity, key.organization, key.purpose, key.category),
                    "nothing covered after an erasure request"
                );
            }
        }
        LedgerWorld.DisclosureKey[] memory dkeys = handler.grantedDisclosureConsents();
        for (uint256 k = 0; k < dkeys.length; k++) {
            LedgerWorld.DisclosureKey memory d = dkeys[k];
            if (
                handler.ghostErasureRequested(d.identity, d.discloser)
                    || handler.ghostErasureRequested(d.identity, d.recipient)
            ) {
                vm.assertFalse(
                    ledger.isDisclosureCovered(d.identity, d.discloser, d.recipient, d.purpose, d.category),
                    "no disclosure covered after an erasure request"
                );
            }
        }
    }

    /// @dev No successful recordDisclosure without an active, unexpired disclosure consent at
    ///      that time; recordDisclosure goes through exactly when isDisclosureCovered says so,
    ///      which implies every condition (consent, recipient's current policy, organizations
    ///      active, identity live).
    function invariant_noDisclosureWithoutConsent() public view {
        vm.assertEq(handler.disclosuresWithoutConsent(), 0, "no disclosure without an active, unexpired consent");
        vm.assertEq(handler.disclosuresNotCovered(), 0, "no disclosure recorded without coverage");
        vm.assertEq(handler.coveredDisclosuresRefused(), 0, "no covered disclosure refused");
        LedgerWorld.DisclosureKey[] memory dkeys = handler.grantedDisclosureConsents();
        for (uint256 k = 0; k < dkeys.length; k++) {
            LedgerWorld.DisclosureKey memory d = dkeys[k];
            if (!ledger.isDisclosureCovered(d.identity, d.discloser, d.recipient, d.purpose, d.category)) continue;
            ConsentRegistry.Consent memory c =
                ledger.getDisclosureConsent(d.identity, d.discloser, d.recipient, d.purpose, d.category);
            vm.assertTrue(c.active, "covered => active");
            vm.assertLt(block.timestamp, c.expiry, "covered => unexpired");
            vm.assertEq(
                uint256(c.policyVersion), uint256(ledger.currentPolicyVersion(d.recipient)), "recipient's current"
            );
            vm.assertTrue(ledger.currentPolicyCovers(d.recipient, d.purpose), "covered => recipient covers purpose");
            vm.assertFalse(handler.ghostDeactivated(d.identity), "covered => identity never deactivated");
            vm.assertTrue(rules.isActive(d.discloser) && rules.isActive(d.recipient), "covered => both active");
        }
    }
}
