// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DIDRegistry} from "./DIDRegistry.sol";
import {PolicyRegistry} from "./PolicyRegistry.sol";

/// @title ConsentRegistry
/// @notice Consent keyed by (subject identity, organization, purpose, data category), with an
///         expiry and the policy version agreed to. The identity's current DID owner grants and
///         withdraws directly, or signs an EIP-712 message (the owner or a valid `sigAuth`
///         delegate, e.g. a guardian) that any admitted account relays. Every way to grant has
///         a matching way to withdraw (GDPR Art. 7(3)).
/// @dev One storage slot per consent; its nonce protects signed requests against replay
///      (with the deadline and the EIP-712 domain's chainId and verifying contract).
abstract contract ConsentRegistry is DIDRegistry, PolicyRegistry {
    /// @notice Stored state of one consent (one slot).
    struct Consent {
        uint64 expiry; // unix seconds; the consent covers uses strictly before it
        uint64 grantedAt; // unix seconds of the latest grant
        uint32 policyVersion; // the organization's policy version agreed to
        uint32 nonce; // bumped on every change; signed requests must quote it
        bool active; // granted and not withdrawn since
    }

    /// @notice A grant request (also the EIP-712 `Grant` struct when signed).
    struct Grant {
        address identity;
        address organization;
        bytes32 purpose;
        bytes32 category;
        uint64 expiry;
        uint32 policyVersion;
        uint32 nonce;
        uint64 deadline;
    }

    /// @notice A withdrawal request (also the EIP-712 `Withdrawal` struct when signed).
    struct Withdrawal {
        address identity;
        address organization;
        bytes32 purpose;
        bytes32 category;
        uint32 nonce;
        uint64 deadline;
    }

    /// @notice One item of a direct batch grant by the identity's owner.
    struct GrantItem {
        address organization;
        bytes32 purpose;
        bytes32 category;
        uint64 expiry;
        uint32 policyVersion;
    }

    /// @notice One item of a direct batch withdrawal by the identity's owner.
    struct WithdrawItem {
        address organization;
        bytes32 purpose;
        bytes32 category;
    }

    /// @notice A signed grant with its signature, for relayed batches.
    struct SignedGrant {
        Grant grant;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A signed withdrawal with its signature, for relayed batches.
    struct SignedWithdrawal {
        Withdrawal withdrawal;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(address identity,address organization,bytes32 purpose,bytes32 category,uint64 expiry,uint32 policyVersion,uint32 nonce,uint64 deadline)"
    );
    bytes32 public constant WITHDRAWAL_TYPEHASH = keccak256(
        "Withdrawal(address identity,address organization,bytes32 purpose,bytes32 category,uint32 nonce,uint64 deadline)"
    );
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _NAME_HASH = keccak256("Collective");
    bytes32 private constant _VERSION_HASH = keccak256("1");
    bytes32 private constant _SIG_AUTH = "sigAuth";

    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;

    mapping(bytes32 => Consent) internal _consents;

    /// @notice A consent was granted or renewed. `agent` is the owner or delegate who authorized it.
    event ConsentGranted(
        address indexed identity,
        address indexed organization,
        bytes32 indexed purpose,
        bytes32 category,
        uint64 expiry,
        uint32 policyVersion,
        address agent
    );
    /// @notice A consent was withdrawn. `agent` is the owner or delegate who authorized it.
    event ConsentWithdrawn(
        address indexed identity, address indexed organization, bytes32 indexed purpose, bytes32 category, address agent
    );

    /// @notice The consent's expiry is not in the future.
    error ExpiryInPast(uint64 expiry);
    /// @notice `policyVersion` is not the organization's current version covering `purpose`.
    error PolicyNotCurrent(address organization, uint32 policyVersion, bytes32 purpose);
    /// @notice There is no active consent to withdraw.
    error ConsentNotActive(bytes32 consentId);
    /// @notice The signed request's deadline has passed.
    error SignatureExpired(uint64 deadline);
    /// @notice The signed request quotes a stale nonce (it was already used or superseded).
    error InvalidNonce(bytes32 consentId, uint32 expected, uint32 given);
    /// @notice The signer is neither the identity's owner nor a valid `sigAuth` delegate.
    error SignerNotAuthorized(address identity, address signer);

    constructor() {
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // ------------------------------------------------------------------ grant / withdraw, direct

    /// @notice Grant (or renew) a consent, called by the identity's current owner.
    function grant(
        address identity,
        address organization,
        bytes32 purpose,
        bytes32 category,
        uint64 expiry,
        uint32 policyVersion
    ) external {
        _onlyOwner(identity, msg.sender);
        _grant(identity, organization, purpose, category, expiry, policyVersion, msg.sender);
    }

    /// @notice Withdraw a consent, called by the identity's current owner.
    function withdraw(address identity, address organization, bytes32 purpose, bytes32 category) external {
        _onlyOwner(identity, msg.sender);
        _withdraw(identity, organization, purpose, category, msg.sender);
    }

    /// @notice Grant many consents of one identity in one transaction (owner only).
    function grantBatch(address identity, GrantItem[] calldata items) external {
        _onlyOwner(identity, msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            GrantItem calldata it = items[i];
            _grant(identity, it.organization, it.purpose, it.category, it.expiry, it.policyVersion, msg.sender);
        }
    }

    /// @notice Withdraw many consents of one identity in one transaction (owner only).
    function withdrawBatch(address identity, WithdrawItem[] calldata items) external {
        _onlyOwner(identity, msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            WithdrawItem calldata it = items[i];
            _withdraw(identity, it.organization, it.purpose, it.category, msg.sender);
        }
    }

    // ------------------------------------------------------------------ grant / withdraw, signed

    /// @notice Relay a grant signed (EIP-712) by the identity's owner or a `sigAuth` delegate.
    /// @dev The relayer must be an admitted, active account.
    function grantSigned(Grant calldata g, uint8 v, bytes32 r, bytes32 s) external {
        _requireActive(msg.sender);
        _grantSigned(g, v, r, s);
    }

    /// @notice Relay a withdrawal signed (EIP-712) by the identity's owner or a `sigAuth` delegate.
    function withdrawSigned(Withdrawal calldata w, uint8 v, bytes32 r, bytes32 s) external {
        _requireActive(msg.sender);
        _withdrawSigned(w, v, r, s);
    }

    /// @notice Relay many signed grants (of any identities) in one transaction.
    function grantSignedBatch(SignedGrant[] calldata items) external {
        _requireActive(msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            _grantSigned(items[i].grant, items[i].v, items[i].r, items[i].s);
        }
    }

    /// @notice Relay many signed withdrawals (of any identities) in one transaction.
    function withdrawSignedBatch(SignedWithdrawal[] calldata items) external {
        _requireActive(msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            _withdrawSigned(items[i].withdrawal, items[i].v, items[i].r, items[i].s);
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice The id of a consent: keccak256(abi.encode(identity, organization, purpose, category)).
    function consentId(address identity, address organization, bytes32 purpose, bytes32 category)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(identity, organization, purpose, category));
    }

    /// @notice The stored state of a consent (all zero if never granted).
    function getConsent(address identity, address organization, bytes32 purpose, bytes32 category)
        external
        view
        returns (Consent memory)
    {
        return _consents[consentId(identity, organization, purpose, category)];
    }

    /// @notice Would a use by `organization` be covered right now?
    /// @dev Active consent, unexpired, under the organization's current policy version, and the
    ///      organization admitted and not suspended.
    function isCovered(address identity, address organization, bytes32 purpose, bytes32 category)
        external
        view
        returns (bool)
    {
        Consent memory c = _consents[consentId(identity, organization, purpose, category)];
        return c.active && block.timestamp < c.expiry && c.policyVersion == currentPolicyVersion[organization]
            && accountRules.isActive(organization);
    }

    /// @notice The EIP-712 domain separator (name "Collective", version "1").
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice EIP-5267 description of the EIP-712 domain.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "Collective", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ------------------------------------------------------------------ internals

    function _grant(
        address identity,
        address organization,
        bytes32 purpose,
        bytes32 category,
        uint64 expiry,
        uint32 policyVersion,
        address agent
    ) internal {
        if (expiry <= block.timestamp) revert ExpiryInPast(expiry);
        if (policyVersion == 0 || _coverage[organization][purpose] != policyVersion) {
            revert PolicyNotCurrent(organization, policyVersion, purpose);
        }
        Consent storage c = _consents[keccak256(abi.encode(identity, organization, purpose, category))];
        // Hot path: read and write the packed slot once (layout of `Consent`: expiry bits 0-63,
        // grantedAt 64-127, policyVersion 128-159, nonce 160-191, active bit 192).
        assembly ("memory-safe") {
            let next := and(add(shr(160, sload(c.slot)), 1), 0xffffffff)
            sstore(c.slot, or(or(expiry, shl(64, timestamp())), or(shl(128, policyVersion), or(shl(160, next), shl(192, 1)))))
        }
        emit ConsentGranted(identity, organization, purpose, category, expiry, policyVersion, agent);
    }

    function _withdraw(address identity, address organization, bytes32 purpose, bytes32 category, address agent)
        internal
    {
        bytes32 id = keccak256(abi.encode(identity, organization, purpose, category));
        Consent storage c = _consents[id];
        if (!c.active) revert ConsentNotActive(id);
        c.active = false;
        unchecked {
            c.nonce += 1;
        }
        emit ConsentWithdrawn(identity, organization, purpose, category, agent);
    }

    function _grantSigned(Grant calldata g, uint8 v, bytes32 r, bytes32 s) private {
        if (block.timestamp > g.deadline) revert SignatureExpired(g.deadline);
        bytes32 structHash = keccak256(
            abi.encode(
                GRANT_TYPEHASH,
                g.identity,
                g.organization,
                g.purpose,
                g.category,
                g.expiry,
                g.policyVersion,
                g.nonce,
                g.deadline
            )
        );
        address signer = _authorizedSigner(g.identity, structHash, v, r, s);
        _checkNonce(g.identity, g.organization, g.purpose, g.category, g.nonce);
        _grant(g.identity, g.organization, g.purpose, g.category, g.expiry, g.policyVersion, signer);
    }

    function _withdrawSigned(Withdrawal calldata w, uint8 v, bytes32 r, bytes32 s) private {
        if (block.timestamp > w.deadline) revert SignatureExpired(w.deadline);
        bytes32 structHash = keccak256(
            abi.encode(WITHDRAWAL_TYPEHASH, w.identity, w.organization, w.purpose, w.category, w.nonce, w.deadline)
        );
        address signer = _authorizedSigner(w.identity, structHash, v, r, s);
        _checkNonce(w.identity, w.organization, w.purpose, w.category, w.nonce);
        _withdraw(w.identity, w.organization, w.purpose, w.category, signer);
    }

    function _checkNonce(address identity, address organization, bytes32 purpose, bytes32 category, uint32 given)
        private
        view
    {
        bytes32 id = keccak256(abi.encode(identity, organization, purpose, category));
        uint32 expected = _consents[id].nonce;
        if (given != expected) revert InvalidNonce(id, expected, given);
    }

    function _authorizedSigner(address identity, bytes32 structHash, uint8 v, bytes32 r, bytes32 s)
        private
        view
        returns (address signer)
    {
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
        signer = _recover(digest, v, r, s);
        if (signer != identityOwner(identity) && !validDelegate(identity, _SIG_AUTH, signer)) {
            revert SignerNotAuthorized(identity, signer);
        }
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }
}
