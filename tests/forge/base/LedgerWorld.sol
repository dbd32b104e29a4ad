// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../../contracts/AccountRules.sol";
import {ConsentLedger} from "../../../contracts/ConsentLedger.sol";
import {ConsentRegistry} from "../../../contracts/ConsentRegistry.sol";
import {DisclosureSigning} from "./DisclosureSigning.sol";

/// @notice The world a ConsentLedger invariant handler drives: 4 identities (each with a
///         sigAuth guardian key it may appoint), 3 organizations, 2 purposes, 2 data categories,
///         the consents and disclosure consents granted so far, the ghosts of what the ledger
///         should hold (deactivations, erasure requests), the counters of what must never
///         happen and of what did, and the helpers that pick from the world and build nonces
///         and expiries. The actions live in the handlers built on it.
abstract contract LedgerWorld is DisclosureSigning {
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
