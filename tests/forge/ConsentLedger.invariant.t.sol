// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {ConsentLedger} from "../../contracts/ConsentLedger.sol";
import {ConsentRegistry} from "../../contracts/ConsentRegistry.sol";
import {DisclosureLog} from "../../contracts/DisclosureLog.sol";
import {ErasureRegistry} from "../../contracts/ErasureRegistry.sol";
import {DisclosureSigning} from "./base/DisclosureSigning.sol";
import {LedgerSigning} from "./base/LedgerFixture.sol";

/// @notice Drives a ConsentLedger from a small world: 4 identities (each with a sigAuth guardian
///         key it may appoint), 3 organizations, 2 purposes, 2 data categories. Actions: direct
///         and signed grants and withdrawals (by the owner, the guardian or a stranger; signed
///         mostly with the client's nonce, sometimes by a fast clock or with a huge nonce), key
///         rotations, deactivations (to 0x0 or to 0x…dEaD), policy publications, suspensions,
///         reinstatements, removals and re-admissions, data uses, erasure requests (direct and
///         signed), disclosure consents (direct and signed grants, withdrawals) and
///         disclosures between the organizations, and time passing. Refused calls are part of
///         the run. Ghost counters record what must never happen; the invariants read them.
contract ConsentLedgerHandler is DisclosureSigning {
    uint256 internal constant IDS = 4;
    uint256 internal constant ORGS = 3;
    address internal constant DEACTIVATED = 0x000000000000000000000000000000000000dEaD;

    AccountRules public immutable rules;
    ConsentLedger public immutable ledger;

    address[IDS] public identities;
    address[ORGS] public organizations;
    bytes32[2] public purposes = [keccak256("dpv:ResearchAndDevelopment"), keccak256("dpv:Marketing")];
    bytes32[2] public categories = [keccak256("dpv-pd:MedicalHealth"), keccak256("dpv-pd:Genetic")];

    mapping(address => uint256) public ownerKey; // identity => its current owner's private key
    mapping(address => uint256) public guardianKey; // identity => the guardian's private key
    mapping(address => bool) public ghostDeactivated;

    /// @notice A consent of the world (identity, organization, purpose, category).
    struct Key {
        address identity;
        address organization;
        bytes32 purpose;
        bytes32 category;
    }

    /// @dev Every consent ever granted. Only a grant sets `active`, so no other consent can be
    ///      covered: the invariants check these (a cheaper, complete subset of the world).
    Key[] internal _granted;
    mapping(bytes32 => bool) internal _seen;

    /// @notice A disclosure consent of the world (identity, discloser, recipient, purpose, category).
    struct DisclosureKey {
        address identity;
        address discloser;
        address recipient;
        bytes32 purpose;
        bytes32 category;
    }

    /// @dev Every disclosure consent ever granted (only a grant sets `active`).
    DisclosureKey[] internal _disclosureConsents;
    /// @notice identity => organization => the identity asked it to erase (ghost of the ledger).
    mapping(address => mapping(address => bool)) public ghostErasureRequested;
    uint256 internal _nextKey = 0x10000;

    // What must never happen.
    uint256 public grantsAfterDeactivation;
    uint256 public withdrawalsAfterDeactivation;
    uint256 public usesAfterDeactivation;
    uint256 public usesNotCovered; // recordUse went through while isCovered said false
    uint256 public coveredUsesRefused; // recordUse reverted while isCovered said true
    uint256 public ownerChangesAfterDeactivation;
    uint256 public ownerWithdrawalsRefused; // the owner of a live identity could not withdraw directly
    uint256 public futureNoncesAccepted; // a signed nonce above the ceiling applied
    uint256 public nonceRefusalsMisreported; // NonceInFuture for a nonce within the ceiling
    uint256 public usesAfterErasureRequest; // DataUsed by an organization the identity asked to erase
    uint256 public disclosuresAfterErasureRequest; // DataDisclosed with either party asked to erase
    uint256 public disclosuresWithoutConsent; // DataDisclosed without an active, unexpired disclosure consent
    uint256 public disclosuresNotCovered; // recordDisclosure went through while isDisclosureCovered said false
    uint256 public coveredDisclosuresRefused; // recordDisclosure reverted while isDisclosureCovered said true
    uint256 public repeatedErasureRequestsAccepted; // a second request of the same pair went through

    // What did happen (to see that the run exercised the rules).
    uint256 public grants;
    uint256 public withdrawals;
    uint256 public uses;
    uint256 public deactivations;
    uint256 public erasureRequests;
    uint256 public disclosureGrants;
    uint256 public disclosures;
    uint256 public usesTriedAfterErasureRequest;
    uint256 public disclosuresTriedAfterErasureRequest;
    uint256 public futureNoncesRefused;
    uint256 public refused;

    constructor() {
        address[] memory admins = new address[](1);
        admins[0] = address(this);
        rules = new AccountRules(admins);
        ledger = new ConsentLedger(rules);
        for (uint256 i = 0; i < ORGS; i++) {
            organizations[i] = address(uint160(0x0A0000 + i));
            rules.admit(organizations[i]);
            bytes32[] memory covered = new bytes32[](2);
            (covered[0], covered[1]) = (purposes[0], purposes[1]);
            vm.prank(organizations[i]);
            ledger.publishPolicy(keccak256(abi.encode("policy", i, 1)), "ipfs://policy", covered);
        }
        for (uint256 i = 0; i < IDS; i++) {
            uint256 key = 0x1D0000 + i;
            identities[i] = vm.addr(key);
            ownerKey[identities[i]] = key;
            guardianKey[identities[i]] = 0x6D0000 + i;
        }
    }

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

    // ------------------------------------------------------------------ erasure

    /// @dev The owner asks an organization to erase, directly or (one time in two) by a signed
    ///      request (owner, guardian or stranger) relayed by an organization.
    function requestErasure(uint256 idSeed, uint256 orgSeed, uint256 signerSeed, uint256 relayerSeed) external {
        (address id, address org) = _pickErasure(idSeed, orgSeed);
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
        if (!ok) {
            refused++;
            return;
        }
        if (ghostErasureRequested[id][org]) repeatedErasureRequestsAccepted++;
        ghostErasureRequested[id][org] = true;
        erasureRequests++;
        _useRightAfter(id, org);
    }

    /// @dev Right after a request, the organization tries every use its consents from the
    ///      identity allowed (none may go through), so each request is put to the test.
    function _useRightAfter(address id, address org) internal {
        for (uint256 k = 0; k < _granted.length; k++) {
            Key storage key = _granted[k];
            if (key.identity != id || key.organization != org) continue;
            usesTriedAfterErasureRequest++;
            vm.prank(org);
            try ledger.recordUse(id, key.purpose, key.category, keccak256("ref")) {
                usesAfterErasureRequest++;
            } catch {}
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
        try ledger.withdrawDisclosureSigned(w, v, r, s) {}
        catch {
            refused++;
        }
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

    // ------------------------------------------------------------------ views for the invariants

    function identityCount() external pure returns (uint256) {
        return IDS;
    }

    /// @notice Every consent ever granted in this run.
    function grantedConsents() external view returns (Key[] memory) {
        return _granted;
    }

    /// @notice Every disclosure consent ever granted in this run.
    function grantedDisclosureConsents() external view returns (DisclosureKey[] memory) {
        return _disclosureConsents;
    }

    // ------------------------------------------------------------------ helpers

    function _noteGranted(address id, address org, bytes32 p, bytes32 c) internal {
        bytes32 key = keccak256(abi.encode(id, org, p, c));
        if (_seen[key]) return;
        _seen[key] = true;
        _granted.push(Key(id, org, p, c));
    }

    function _noteDisclosureGranted(DisclosureKey memory k) internal {
        disclosureGrants++;
        if (ghostDeactivated[k.identity]) grantsAfterDeactivation++;
        bytes32 key = keccak256(abi.encode(k.identity, k.discloser, k.recipient, k.purpose, k.category));
        if (_seen[key]) return;
        _seen[key] = true;
        _disclosureConsents.push(k);
    }

    /// @dev A disclosure consent of the world (discloser and recipient from `orgSeeds`' low and
    ///      next bytes, distinct); with `mostlyGranted`, three times in four one granted before.
    function _pickDisclosure(uint256 idSeed, uint256 orgSeeds, uint256 pSeed, uint256 cSeed, bool mostlyGranted)
        internal
        view
        returns (DisclosureKey memory)
    {
        if (mostlyGranted && _disclosureConsents.length != 0 && idSeed % 4 != 0) {
            return _disclosureConsents[orgSeeds % _disclosureConsents.length];
        }
        uint256 d = orgSeeds % ORGS;
        uint256 r = (d + 1 + (orgSeeds >> 8) % (ORGS - 1)) % ORGS;
        return DisclosureKey(
            identities[idSeed % IDS], organizations[d], organizations[r], purposes[pSeed % 2], categories[cSeed % 2]
        );
    }

    /// @dev Three times in four a pair that has a consent (twice a use consent's organization,
    ///      once a disclosure consent's discloser or recipient), so later uses meet the request.
    function _pickErasure(uint256 idSeed, uint256 orgSeed) internal view returns (address, address) {
        uint256 pick = idSeed % 4;
        if ((pick == 1 || pick == 2) && _granted.length != 0) {
            Key storage key = _granted[orgSeed % _granted.length];
            return (key.identity, key.organization);
        }
        if (pick == 3 && _disclosureConsents.length != 0) {
            DisclosureKey storage d = _disclosureConsents[orgSeed % _disclosureConsents.length];
            return (d.identity, (orgSeed >> 8) % 2 == 0 ? d.discloser : d.recipient);
        }
        return (identities[idSeed % IDS], organizations[orgSeed % ORGS]);
    }

    function _disclosureClientNonce(DisclosureKey memory k) internal view returns (uint64) {
        uint64 stored = ledger.getDisclosureConsent(k.identity, k.discloser, k.recipient, k.purpose, k.category).nonce;
        uint64 nowMs = uint64(block.timestamp) * 1000;
        return stored > nowMs ? stored : nowMs;
    }

    function _pick(uint256 idSeed, uint256 orgSeed, uint256 pSeed, uint256 cSeed)
        internal
        view
        returns (address, address, bytes32, bytes32)
    {
        return (identities[idSeed % IDS], organizations[orgSeed % ORGS], purposes[pSeed % 2], categories[cSeed % 2]);
    }

    /// @dev Three times in four a consent granted before (if any), so uses and withdrawals meet
    ///      consents; otherwise any consent of the world.
    function _pickMostlyGranted(uint256 idSeed, uint256 orgSeed, uint256 pSeed, uint256 cSeed)
        internal
        view
        returns (address, address, bytes32, bytes32)
    {
        if (_granted.length == 0 || idSeed % 4 == 0) return _pick(idSeed, orgSeed, pSeed, cSeed);
        Key storage key = _granted[orgSeed % _granted.length];
        return (key.identity, key.organization, key.purpose, key.category);
    }

    /// @dev The owner's address for a direct call (DEACTIVATED's key is nobody's: use the last owner).
    function _owner(address id) internal view returns (address) {
        return vm.addr(ownerKey[id]);
    }

    /// @dev Mostly the owner, sometimes the guardian (valid or not), sometimes a stranger.
    function _signerKey(address id, uint256 seed) internal view returns (uint256) {
        uint256 pick = seed % 4;
        if (pick <= 1) return ownerKey[id];
        if (pick == 2) return guardianKey[id];
        return 0x5EED;
    }

    /// @dev Six times in eight the client's nonce; else one from a clock up to twice the skew
    ///      fast, or a huge one (up to 2^64 - 1, which once made a consent unwithdrawable).
    function _signedNonce(address id, address org, bytes32 p, bytes32 c, uint256 seed) internal view returns (uint64) {
        uint64 client = _clientNonce(id, org, p, c);
        uint256 pick = seed % 8;
        if (pick == 0) return type(uint64).max - uint64((seed >> 8) % 4);
        if (pick == 1) return client + uint64(bound(seed >> 8, 0, 2 * SKEW));
        return client;
    }

    /// @dev The largest nonce a signed request for this consent may carry now (before the relay):
    ///      max(block ms + skew, consent nonce + step).
    function _ceiling(address id, address org, bytes32 p, bytes32 c) internal view returns (uint64) {
        return _nonceCeiling(ledger.getConsent(id, org, p, c).nonce);
    }

    /// @dev An applied signed request never carried a nonce above the ceiling it was relayed under.
    function _noteSignedApplied(uint64 nonce, uint64 ceiling) internal {
        if (nonce > ceiling) futureNoncesAccepted++;
    }

    /// @dev A nonce above the ceiling is refused (NonceInFuture when the earlier rules pass),
    ///      and NonceInFuture names only such nonces.
    function _noteSignedRefused(uint64 nonce, uint64 ceiling, bytes memory err) internal {
        refused++;
        bool future = nonce > ceiling;
        if (bytes4(err) == ConsentRegistry.NonceInFuture.selector) {
            futureNoncesRefused++;
            if (!future) nonceRefusalsMisreported++;
        }
    }

    /// @dev As the client: max(consent nonce, now in ms).
    function _clientNonce(address id, address org, bytes32 p, bytes32 c) internal view returns (uint64) {
        uint64 stored = ledger.getConsent(id, org, p, c).nonce;
        uint64 nowMs = uint64(block.timestamp) * 1000;
        return stored > nowMs ? stored : nowMs;
    }

    /// @dev Mostly a future expiry within a week, sometimes "until withdrawn", sometimes past.
    function _expiry(uint256 seed) internal view returns (uint64) {
        uint256 pick = seed % 8;
        if (pick == 0) return type(uint64).max;
        if (pick == 1) return uint64(block.timestamp);
        return uint64(block.timestamp + bound(seed >> 8, 1, 7 days));
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
        ConsentLedgerHandler.Key[] memory keys = handler.grantedConsents();
        for (uint256 k = 0; k < keys.length; k++) {
            ConsentLedgerHandler.Key memory key = keys[k];
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
        ConsentLedgerHandler.Key[] memory keys = handler.grantedConsents();
        for (uint256 k = 0; k < keys.length; k++) {
            ConsentLedgerHandler.Key memory key = keys[k];
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
        ConsentLedgerHandler.Key[] memory keys = handler.grantedConsents();
        for (uint256 k = 0; k < keys.length; k++) {
            ConsentLedgerHandler.Key memory key = keys[k];
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
        ConsentLedgerHandler.DisclosureKey[] memory dkeys = handler.grantedDisclosureConsents();
        for (uint256 k = 0; k < dkeys.length; k++) {
            ConsentLedgerHandler.DisclosureKey memory d = dkeys[k];
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
        ConsentLedgerHandler.DisclosureKey[] memory dkeys = handler.grantedDisclosureConsents();
        for (uint256 k = 0; k < dkeys.length; k++) {
            ConsentLedgerHandler.DisclosureKey memory d = dkeys[k];
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
