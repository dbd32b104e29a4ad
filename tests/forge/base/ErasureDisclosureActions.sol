// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentRegistry} from "../../../contracts/ConsentRegistry.sol";
import {DisclosureLog} from "../../../contracts/DisclosureLog.sol";
import {ErasureRegistry} from "../../../contracts/ErasureRegistry.sol";
import {LedgerWorld} from "./LedgerWorld.sol";

/// @notice A ConsentLedger handler's erasure and disclosure actions: erasure requests (direct,
///         or signed by the owner, the guardian or a stranger and relayed), each followed by
///         every use and disclosure the identity's consents allowed with that organization;
///         disclosure-consent grants (direct and signed) and withdrawals (direct and signed);
///         disclosures (single and one-item batches) between two distinct organizations. Each
///         notes in the world's ghosts and counters what happened and what must never happen.
abstract contract ErasureDisclosureActions is LedgerWorld {
    /// @dev The owner asks an organization to erase, directly or (one time in two) by a signed
    ///      request (owner, guardian or stranger) relayed by an organization. One time in two
    ///      the identity first asks another organization directly, so the picked request often
    ///      lands in the per-pair slot rather than the identity's packed first one.
    function requestErasure(uint256 idSeed, uint256 orgSeed, uint256 signerSeed, uint256 relayerSeed) external {
        (address id, address org) = _pickErasure(idSeed, orgSeed);
        if ((relayerSeed >> 8) % 2 == 0) {
            address other = organizations[orgSeed % ORGS];
            if (other == org) other = organizations[(orgSeed + 1) % ORGS];
            vm.prank(_owner(id));
            try ledger.requestErasure(id, other) {
                _noteRequested(id, other);
            } catch {}
        }
        bool ok;
        if (signerSeed % 2 == 0) {
            vm.prank(_owner(id));
            try ledger.requestErasure(id, org) {
                ok = true;
            } catch {}
        } else {
            ErasureRegistry.ErasureRequest memory q =
                ErasureRegistry.ErasureRequest(id, org, uint64(block.timestamp + 1 hours));
            bytes32 structHash = keccak256(abi.encode(ledger.ERASURE_TYPEHASH(), id, org, q.deadline));
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(
                _signerKey(id, signerSeed >> 1),
                keccak256(abi.encodePacked("\x19\x01", _domainSeparator(address(ledger)), structHash))
            );
            vm.prank(organizations[relayerSeed % ORGS]);
            try ledger.requestErasureSigned(q, v, r, s) {
                ok = true;
            } catch {}
        }
        if (ok) {
            _noteRequested(id, org);
        } else {
            refused++;
        }
    }

    /// @dev Note a request that went through, then put it to the test at once: the organization
    ///      tries every use its consents from the identity allowed, and every disclosure consent
    ///      of the identity naming it (as discloser or recipient) is tried; none may go through.
    function _noteRequested(address id, address org) internal {
        if (ghostErasureRequested[id][org]) repeatedErasureRequestsAccepted++;
        ghostErasureRequested[id][org] = true;
        erasureRequests++;
        for (uint256 k = 0; k < _granted.length; k++) {
            Key storage key = _granted[k];
            if (key.identity != id || key.organization != org) continue;
            usesTriedAfterErasureRequest++;
            vm.prank(org);
            try ledger.recordUse(id, key.purpose, key.category, keccak256("ref")) {
                usesAfterErasureRequest++;
            } catch {}
        }
        for (uint256 k = 0; k < _disclosureConsents.length; k++) {
            DisclosureKey memory d = _disclosureConsents[k];
            if (d.identity != id || (d.discloser != org && d.recipient != org)) continue;
            disclosuresTriedAfterErasureRequest++;
            if (_disclose(d)) disclosuresAfterErasureRequest++;
        }
    }

    // ------------------------------------------------------------------ disclosure

    function grantDisclosure(uint256 idSeed, uint256 orgSeeds, uint256 pSeed, uint256 cSeed, uint256 expirySeed)
        external
    {
        DisclosureKey memory k = _pickDisclosure(idSeed, orgSeeds, pSeed, cSeed, false);
        uint32 version = ledger.currentPolicyVersion(k.recipient);
        vm.prank(_owner(k.identity));
        try ledger.grantDisclosure(
            k.identity, k.discloser, k.recipient, k.purpose, k.category, _expiry(expirySeed), version
        ) {
            _noteDisclosureGranted(k);
        } catch {
            refused++;
        }
    }

    function grantDisclosureSigned(
        uint256 idSeed,
        uint256 orgSeeds,
        uint256 pSeed,
        uint256 cSeed,
        uint256 expirySeed,
        uint256 signerSeed
    ) external {
        DisclosureKey memory k = _pickDisclosure(idSeed, orgSeeds, pSeed, cSeed, false);
        DisclosureLog.DisclosureGrant memory g;
        (g.identity, g.discloser, g.recipient, g.purpose, g.category) =
        (k.identity, k.discloser, k.recipient, k.purpose, k.category);
        g.policyVersion = ledger.currentPolicyVersion(k.recipient);
        if (g.policyVersion != 0) (g.policyHash,,) = ledger.policy(k.recipient, g.policyVersion);
        (g.expiry, g.nonce, g.deadline) =
        (_expiry(expirySeed), _disclosureClientNonce(k), uint64(block.timestamp + 1 hours));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(_signerKey(k.identity, signerSeed), _disclosureGrantDigest(address(ledger), g));
        vm.prank(organizations[(signerSeed >> 8) % ORGS]);
        try ledger.grantDisclosureSigned(g, v, r, s) {
            _noteDisclosureGranted(k);
        } catch {
            refused++;
        }
    }

    /// @dev Directly by the owner, or (one time in two) signed by the owner and relayed.
    function withdrawDisclosure(uint256 idSeed, uint256 orgSeeds, uint256 pSeed, uint256 cSeed, bool signed) external {
        DisclosureKey memory k = _pickDisclosure(idSeed, orgSeeds, pSeed, cSeed, true);
        if (!signed) {
            vm.prank(_owner(k.identity));
            try ledger.withdrawDisclosure(k.identity, k.discloser, k.recipient, k.purpose, k.category) {
                if (ghostDeactivated[k.identity]) withdrawalsAfterDeactivation++;
                _discloseRightAfterWithdrawal(k);
            } catch {
                if (!ghostDeactivated[k.identity]) ownerWithdrawalsRefused++;
                refused++;
            }
            return;
        }
        DisclosureLog.DisclosureWithdrawal memory w = DisclosureLog.DisclosureWithdrawal(
            k.identity,
            k.discloser,
            k.recipient,
            k.purpose,
            k.category,
            _disclosureClientNonce(k),
            uint64(block.timestamp + 1 hours)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey[k.identity], _disclosureWithdrawalDigest(address(ledger), w));
        vm.prank(k.recipient);
        try ledger.withdrawDisclosureSigned(w, v, r, s) {
            _discloseRightAfterWithdrawal(k);
        } catch {
            refused++;
        }
    }

    /// @dev Right after a withdrawal the discloser tries the disclosure: it may not go through.
    function _discloseRightAfterWithdrawal(DisclosureKey memory k) internal {
        if (ledger.isDisclosureCovered(k.identity, k.discloser, k.recipient, k.purpose, k.category)) {
            disclosuresWithoutConsent++; // isDisclosureCovered must say no at once
        }
        if (_disclose(k)) disclosuresWithoutConsent++;
    }

    /// @dev recordDisclosure (or a one-item batch) by the discloser; checks it against the
    ///      consent's stored state, isDisclosureCovered and the erasure ghost. One time in two
    ///      the owner first grants the consent directly in the same block (so disclosures that
    ///      go through are frequent enough for the checks to bite in a short run).
    function recordDisclosure(uint256 idSeed, uint256 orgSeeds, uint256 pSeed, uint256 cSeed, uint256 mode) external {
        DisclosureKey memory k = _pickDisclosure(idSeed, orgSeeds, pSeed, cSeed, true);
        if (mode % 2 == 0) {
            uint32 version = ledger.currentPolicyVersion(k.recipient);
            vm.prank(_owner(k.identity));
            try ledger.grantDisclosure(
                k.identity, k.discloser, k.recipient, k.purpose, k.category, _expiry(mode >> 8), version
            ) {
                _noteDisclosureGranted(k);
            } catch {}
        }
        bool asBatch = (mode >> 1) % 2 == 1;
        if ((mode >> 2) % 4 == 0) _warpToExpiry(k); // the boundary: refused from expiry on
        if (ghostErasureRequested[k.identity][k.discloser] || ghostErasureRequested[k.identity][k.recipient]) {
            disclosuresTriedAfterErasureRequest++;
        }
        ConsentRegistry.Consent memory consent =
            ledger.getDisclosureConsent(k.identity, k.discloser, k.recipient, k.purpose, k.category);
        bool consented = consent.active && block.timestamp < consent.expiry;
        bool covered = ledger.isDisclosureCovered(k.identity, k.discloser, k.recipient, k.purpose, k.category);
        bool ok = asBatch ? _discloseBatch(k) : _disclose(k);
        if (ok) {
            disclosures++;
            if (!consented) disclosuresWithoutConsent++;
            if (!covered) disclosuresNotCovered++;
            if (ghostErasureRequested[k.identity][k.discloser] || ghostErasureRequested[k.identity][k.recipient]) {
                disclosuresAfterErasureRequest++;
            }
        } else {
            if (covered) coveredDisclosuresRefused++;
            refused++;
        }
    }

    /// @dev Move time to the consent's expiry (if it is active, finite and in the future).
    function _warpToExpiry(DisclosureKey memory k) internal {
        ConsentRegistry.Consent memory c =
            ledger.getDisclosureConsent(k.identity, k.discloser, k.recipient, k.purpose, k.category);
        if (c.active && c.expiry > block.timestamp && c.expiry != type(uint64).max) vm.warp(c.expiry);
    }

    function _disclose(DisclosureKey memory k) internal returns (bool) {
        vm.prank(k.discloser);
        try ledger.recordDisclosure(k.identity, k.recipient, k.purpose, k.category, keccak256("ref")) {
            return true;
        } catch {
            return false;
        }
    }

    function _discloseBatch(DisclosureKey memory k) internal returns (bool) {
        DisclosureLog.DisclosureItem[] memory items = new DisclosureLog.DisclosureItem[](1);
        items[0] = DisclosureLog.DisclosureItem(k.identity, k.recipient, k.purpose, k.category, keccak256("ref"));
        vm.prank(k.discloser);
        try ledger.recordDisclosureBatch(items) {
            return true;
        } catch {
            return false;
        }
    }
}
