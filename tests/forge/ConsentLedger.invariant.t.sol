// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {ConsentLedger} from "../../contracts/ConsentLedger.sol";
import {ConsentRegistry} from "../../contracts/ConsentRegistry.sol";
import {LedgerSigning} from "./base/LedgerFixture.sol";

/// @notice Drives a ConsentLedger from a small world: 4 identities (each with a sigAuth guardian
///         key it may appoint), 3 organizations, 2 purposes, 2 data categories. Actions: direct
///         and signed grants and withdrawals (by the owner, the guardian or a stranger; signed
///         mostly with the client's nonce, sometimes by a fast clock or with a huge nonce), key
///         rotations, deactivations (to 0x0 or to 0x…dEaD), policy publications, suspensions,
///         reinstatements, removals and re-admissions, data uses, and time passing. Refused calls
///         are part of the run. Ghost counters record what must never happen; the invariants
///         read them.
contract ConsentLedgerHandler is LedgerSigning {
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

    // What did happen (to see that the run exercised the rules).
    uint256 public grants;
    uint256 public withdrawals;
    uint256 public uses;
    uint256 public deactivations;
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
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(_signerKey(g.identity, signerSeed), _grantDigest(address(ledger), g));
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
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(_signerKey(id, signerSeed), _withdrawalDigest(address(ledger), w));
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
        vm.prank(org);
        try ledger.recordUse(id, p, c, dataRef) {
            uses++;
            if (ghostDeactivated[id]) usesAfterDeactivation++;
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
        try ledger.addDelegate(id, SIG_AUTH, vm.addr(guardianKey[id]), bound(validitySeed, 1, 2 days)) {} catch {
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
        try ledger.publishPolicy(text == bytes32(0) ? bytes32(uint256(1)) : text, "ipfs://policy", covered) {} catch {
            refused++;
        }
    }

    function suspend(uint256 orgSeed) external {
        try rules.suspend(organizations[orgSeed % ORGS]) {} catch {
            refused++;
        }
    }

    function reinstate(uint256 orgSeed) external {
        try rules.reinstate(organizations[orgSeed % ORGS]) {} catch {
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

    // ------------------------------------------------------------------ helpers

    function _noteGranted(address id, address org, bytes32 p, bytes32 c) internal {
        bytes32 key = keccak256(abi.encode(id, org, p, c));
        if (_seen[key]) return;
        _seen[key] = true;
        _granted.push(Key(id, org, p, c));
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
///         policy publications and organization changes: `isCovered` implies every condition of
///         coverage, `recordUse` agrees with `isCovered`, a deactivated identity never again
///         has a covered use, a successful grant or withdrawal, or an owner change, and the owner
///         of a live identity can always withdraw.
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
}
