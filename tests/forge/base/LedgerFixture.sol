// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../../contracts/AccountRules.sol";
import {ConsentLedger} from "../../../contracts/ConsentLedger.sol";
import {ConsentRegistry} from "../../../contracts/ConsentRegistry.sol";
import {Test} from "./Test.sol";

/// @notice Signing helpers for the ledger's EIP-712 requests, built exactly as ConsentRegistry
///         builds them (domain "Collective" / "2", chain id, verifying contract), plus the
///         secp256k1 facts the malleability tests need. Usable from tests and from handlers.
abstract contract LedgerSigning is Test {
    /// @dev ConsentRegistry.NONCE_CLOCK_SKEW: how far (ms) a signed nonce may run ahead of the block.
    uint64 internal constant SKEW = 600_000;
    /// @dev ConsentRegistry.NONCE_STEP: how far a signed nonce may run ahead of the consent's nonce.
    uint64 internal constant NONCE_STEP = 1_000;
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant GRANT_TYPEHASH = keccak256(
        "Grant(address identity,address organization,bytes32 purpose,bytes32 category,uint64 expiry,uint32 policyVersion,bytes32 policyHash,uint64 nonce,uint64 deadline)"
    );
    bytes32 internal constant WITHDRAWAL_TYPEHASH = keccak256(
        "Withdrawal(address identity,address organization,bytes32 purpose,bytes32 category,uint64 nonce,uint64 deadline)"
    );
    /// @dev The order of secp256k1's group, and half of it (the largest s the ledger accepts).
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 internal constant SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    bytes32 internal constant SIG_AUTH = "sigAuth";

    /// @dev The largest nonce a signed request may carry in this block for a consent whose nonce
    ///      is `stored` (NonceInFuture above it): max(block ms + skew, stored + step). A direct
    ///      call in this block stores one past it.
    function _nonceCeiling(uint64 stored) internal view returns (uint64) {
        uint64 window = uint64(block.timestamp) * 1000 + SKEW;
        uint64 step = stored + NONCE_STEP;
        return step > window ? step : window;
    }

    function _domainSeparator(address ledger) internal view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Collective"), keccak256("2"), block.chainid, ledger));
    }

    function _grantDigest(address ledger, ConsentRegistry.Grant memory g) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                GRANT_TYPEHASH,
                g.identity,
                g.organization,
                g.purpose,
                g.category,
                g.expiry,
                g.policyVersion,
                g.policyHash,
                g.nonce,
                g.deadline
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(ledger), structHash));
    }

    function _withdrawalDigest(address ledger, ConsentRegistry.Withdrawal memory w) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(WITHDRAWAL_TYPEHASH, w.identity, w.organization, w.purpose, w.category, w.nonce, w.deadline)
        );
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(ledger), structHash));
    }

    function _signGrant(uint256 key, address ledger, ConsentRegistry.Grant memory g)
        internal
        view
        returns (ConsentRegistry.SignedGrant memory sg)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _grantDigest(ledger, g));
        sg = ConsentRegistry.SignedGrant(g, v, r, s);
    }

    function _signWithdrawal(uint256 key, address ledger, ConsentRegistry.Withdrawal memory w)
        internal
        view
        returns (ConsentRegistry.SignedWithdrawal memory sw)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _withdrawalDigest(ledger, w));
        sw = ConsentRegistry.SignedWithdrawal(w, v, r, s);
    }

    /// @dev The other encoding of the same signature: s -> n - s, v flipped (27 <-> 28). It
    ///      recovers the same signer through the bare ecrecover precompile.
    function _highSTwin(uint8 v, bytes32 s) internal pure returns (uint8, bytes32) {
        return (v == 27 ? 28 : 27, bytes32(SECP256K1_N - uint256(s)));
    }

    /// @dev The ERC-1056 digest of `changeOwnerSigned` for `registry`.
    function _changeOwnerDigest(address registry, uint256 ownerNonce, address identity, address newOwner)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(bytes1(0x19), bytes1(0), registry, ownerNonce, identity, "changeOwner", newOwner)
        );
    }

    /// @dev The ERC-1056 digest of `addDelegateSigned` for `registry`.
    function _addDelegateDigest(
        address registry,
        uint256 ownerNonce,
        address identity,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) internal pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                registry,
                ownerNonce,
                identity,
                "addDelegate",
                delegateType,
                delegate,
                validity
            )
        );
    }
}

/// @notice A deployed ConsentLedger with its AccountRules (this test contract is the admin), a
///         lab and a second relaying organization admitted, the lab's policy v1 covering
///         research, and a patient, a guardian, a thief and a replacement key.
abstract contract LedgerFixture is LedgerSigning {
    // Copies of the ledger's events, for vm.expectEmit.
    event ConsentGranted(
        address indexed identity,
        address indexed organization,
        bytes32 indexed purpose,
        bytes32 category,
        uint64 expiry,
        uint32 policyVersion,
        address agent
    );
    event ConsentWithdrawn(
        address indexed identity, address indexed organization, bytes32 indexed purpose, bytes32 category, address agent
    );
    event SignaturesCancelled(
        address indexed identity,
        address indexed organization,
        bytes32 indexed purpose,
        bytes32 category,
        uint64 nonce,
        address agent
    );
    event SignedRequestSkipped(uint256 index, bytes32 indexed consentId, bytes4 reason);
    event DataUsed(
        address indexed identity,
        address indexed organization,
        bytes32 indexed purpose,
        bytes32 category,
        bytes32 dataRef,
        uint32 policyVersion
    );
    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);

    bytes32 internal constant RESEARCH = keccak256("dpv:ResearchAndDevelopment");
    bytes32 internal constant MARKETING = keccak256("dpv:Marketing");
    bytes32 internal constant HEALTH = keccak256("dpv-pd:MedicalHealth");
    bytes32 internal constant POLICY_V1 = keccak256("lab policy, version 1");
    bytes32 internal constant POLICY_V2 = keccak256("lab policy, version 2");
    uint64 internal constant FOREVER = type(uint64).max;
    uint256 internal constant START = 1_750_000_000;
    uint256 internal constant PATIENT_KEY = 0xA11CE;
    uint256 internal constant GUARDIAN_KEY = 0x6A4D;
    uint256 internal constant THIEF_KEY = 0x7E1F;
    uint256 internal constant NEW_KEY = 0x2EED;

    AccountRules internal rules;
    ConsentLedger internal ledger;
    address internal patient;
    address internal guardian;
    address internal thief;
    address internal newKey;
    address internal lab = address(0x1AB);
    address internal relayer = address(0x2E1A7);

    function setUp() public virtual {
        vm.warp(START);
        address[] memory admins = new address[](1);
        admins[0] = address(this);
        rules = new AccountRules(admins);
        rules.admit(lab);
        rules.admit(relayer);
        ledger = new ConsentLedger(rules);
        patient = vm.addr(PATIENT_KEY);
        guardian = vm.addr(GUARDIAN_KEY);
        thief = vm.addr(THIEF_KEY);
        newKey = vm.addr(NEW_KEY);
        vm.label(patient, "patient");
        vm.label(guardian, "guardian");
        vm.label(thief, "thief");
        vm.label(newKey, "newKey");
        vm.label(lab, "lab");
        vm.label(relayer, "relayer");
        _publish(lab, POLICY_V1, RESEARCH);
    }

    function _publish(address organization, bytes32 contentHash, bytes32 purpose) internal returns (uint32) {
        bytes32[] memory purposes = new bytes32[](1);
        purposes[0] = purpose;
        vm.prank(organization);
        return ledger.publishPolicy(contentHash, "ipfs://policy", purposes);
    }

    /// @dev The patient's consent to the lab's research use of health data, as a signed-grant
    ///      request under the lab's current policy, with `nonce`, valid for a day.
    function _grantRequest(uint64 nonce) internal view returns (ConsentRegistry.Grant memory g) {
        uint32 version = ledger.currentPolicyVersion(lab);
        (bytes32 contentHash,,) = ledger.policy(lab, version);
        g = ConsentRegistry.Grant({
            identity: patient,
            organization: lab,
            purpose: RESEARCH,
            category: HEALTH,
            expiry: FOREVER,
            policyVersion: version,
            policyHash: contentHash,
            nonce: nonce,
            deadline: uint64(block.timestamp + 1 days)
        });
    }

    function _withdrawalRequest(uint64 nonce) internal view returns (ConsentRegistry.Withdrawal memory w) {
        w = ConsentRegistry.Withdrawal({
            identity: patient,
            organization: lab,
            purpose: RESEARCH,
            category: HEALTH,
            nonce: nonce,
            deadline: uint64(block.timestamp + 1 days)
        });
    }

    function _relayGrant(address by, ConsentRegistry.SignedGrant memory sg) internal {
        vm.prank(by);
        ledger.grantSigned(sg.grant, sg.v, sg.r, sg.s);
    }

    function _relayWithdrawal(address by, ConsentRegistry.SignedWithdrawal memory sw) internal {
        vm.prank(by);
        ledger.withdrawSigned(sw.withdrawal, sw.v, sw.r, sw.s);
    }

    /// @dev The patient grants the lab directly (research, health data, until withdrawn, current policy).
    function _grantDirect() internal {
        uint32 version = ledger.currentPolicyVersion(lab);
        vm.prank(patient);
        ledger.grant(patient, lab, RESEARCH, HEALTH, FOREVER, version);
    }

    function _covered() internal view returns (bool) {
        return ledger.isCovered(patient, lab, RESEARCH, HEALTH);
    }

    function _storedNonce() internal view returns (uint64) {
        return ledger.getConsent(patient, lab, RESEARCH, HEALTH).nonce;
    }

    function _active() internal view returns (bool) {
        return ledger.getConsent(patient, lab, RESEARCH, HEALTH).active;
    }

    function _consentId() internal view returns (bytes32) {
        return ledger.consentId(patient, lab, RESEARCH, HEALTH);
    }

    function _msNow() internal view returns (uint64) {
        return uint64(block.timestamp) * 1000;
    }

    /// @dev Block ms + skew: the ceiling's time part (a fresh consent's ceiling).
    function _window() internal view returns (uint64) {
        return _msNow() + SKEW;
    }

    /// @dev The largest nonce a signed request for the patient's consent may carry in this block
    ///      (NonceInFuture above it): the ceiling for the current stored nonce.
    function _latestNonce() internal view returns (uint64) {
        return _nonceCeiling(_storedNonce());
    }

    /// @dev The nonce a direct call on the patient's consent stores in this block: one past the ceiling.
    function _directNonce() internal view returns (uint64) {
        return _latestNonce() + 1;
    }

    /// @dev As the client signs for the patient's consent: max(consent nonce, now in ms).
    function _clientNonce() internal view returns (uint64) {
        return _clientNonce(patient);
    }

    /// @dev As the client signs for `identity`'s consent to the lab: max(consent nonce, now in ms).
    function _clientNonce(address identity) internal view returns (uint64) {
        uint64 stored = ledger.getConsent(identity, lab, RESEARCH, HEALTH).nonce;
        return stored > _msNow() ? stored : _msNow();
    }
}
