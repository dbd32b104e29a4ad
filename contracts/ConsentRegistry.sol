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
/// @dev One storage slot per consent. Its nonce orders the subject's intents: a signed request
///      is valid only if its nonce is at least the consent's nonce, and using it moves the
///      consent's nonce past it. The client signs with nonce = max(consent nonce, unix time in
///      milliseconds), so a later-signed request carries a larger nonce and, whichever order
///      relayers submit them in, the subject's later intent wins: an older signed renewal can
///      neither front-run nor outlive a later signed withdrawal. A nonce may run at most
///      max(block ms + NONCE_CLOCK_SKEW, consent nonce + NONCE_STEP) (`NonceInFuture`): the
///      signer's clock may run 10 min fast, and a burst signed in a row stays relayable and
///      ordered in blocks sharing a timestamp. A direct call moves the nonce one past that
///      ceiling: it voids every request that could be relayed in its block, and no signed nonce
///      can push the consent's nonce out of reach of the next direct call (which would make the
///      consent impossible to withdraw). A withdrawal,
///      direct or signed, is accepted even when nothing is active: it then only cancels the
///      pending signatures (`SignaturesCancelled`). Replay protection is completed by the
///      deadline and the EIP-712 domain's chainId and verifying contract.
abstract contract ConsentRegistry is DIDRegistry, PolicyRegistry {
    /// @notice Stored state of one consent (one slot).
    struct Consent {
        uint64 expiry; // unix seconds; the consent covers uses strictly before it
        uint64 grantedAt; // unix seconds of the latest grant
        uint32 policyVersion; // the organization's policy version agreed to
        uint64 nonce; // signed requests need a nonce >= this; moves on every change
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
        bytes32 policyHash; // the content hash of that policy version: the text agreed to
        uint64 nonce;
        uint64 deadline;
    }

    /// @notice A withdrawal request (also the EIP-712 `Withdrawal` struct when signed).
    struct Withdrawal {
        address identity;
        address organization;
        bytes32 purpose;
        bytes32 category;
        uint64 nonce;
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
        "Grant(address identity,address organization,bytes32 purpose,bytes32 category,uint64 expiry,uint32 policyVersion,bytes32 policyHash,uint64 nonce,uint64 deadline)"
    );
    bytes32 public constant WITHDRAWAL_TYPEHASH = keccak256(
        "Withdrawal(address identity,address organization,bytes32 purpose,bytes32 category,uint64 nonce,uint64 deadline)"
    );
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _NAME_HASH = keccak256("Collective");
    bytes32 private constant _VERSION_HASH = keccak256("2");
    bytes32 private constant _SIG_AUTH = "sigAuth";
    /// @notice How far (ms) a signed request's nonce may run ahead of the relaying block's time.
    uint64 public constant NONCE_CLOCK_SKEW = 600_000;
    /// @notice How far a signed request's nonce may run ahead of the consent's nonce, whatever the
    ///         time (so a burst of requests signed right after a direct call stays ordered).
    uint64 public constant NONCE_STEP = 1_000;

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
    /// @notice A withdrawal found nothing active: it voided every pending signed request for
    ///         the consent with a nonce below `nonce`. `agent` authorized it.
    event SignaturesCancelled(
        address indexed identity,
        address indexed organization,
        bytes32 indexed purpose,
        bytes32 category,
        uint64 nonce,
        address agent
    );
    /// @notice Item `index` of a signed batch was not applied; `reason` is the selector of the
    ///         error the single call would revert with (e.g. `InvalidNonce`). The rest went on.
    event SignedRequestSkipped(uint256 index, bytes32 indexed consentId, bytes4 reason);

    /// @notice The consent's expiry is not in the future.
    error ExpiryInPast(uint64 expiry);
    /// @notice `policyVersion` is not the organization's current version covering `purpose`.
    error PolicyNotCurrent(address organization, uint32 policyVersion, bytes32 purpose);
    /// @notice The signed grant's `policyHash` is not the content hash of that policy version.
    error PolicyHashMismatch(address organization, uint32 policyVersion, bytes32 signedHash);
    /// @notice The signed request's deadline has passed.
    error SignatureExpired(uint64 deadline);
    /// @notice The signed request's nonce is below the consent's (it was used, or a later intent
    ///         of the subject superseded it); `expected` is the lowest nonce accepted now.
    error InvalidNonce(bytes32 consentId, uint64 expected, uint64 given);
    /// @notice The signed request's nonce is past both NONCE_CLOCK_SKEW ms ahead of the block's
    ///         time and NONCE_STEP past the consent's nonce (`latest` is the largest accepted
    ///         now): the signer's clock runs fast.
    error NonceInFuture(bytes32 consentId, uint64 given, uint64 latest);
    /// @notice The signer is neither the identity's owner nor a valid `sigAuth` delegate.
    error SignerNotAuthorized(address identity, address signer);

    constructor() {
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // ------------------------------------------------------------------ grant / withdraw, direct

    /// @notice Grant (or renew) a consent, called by the identity's current owner.
    /// @dev Voids every signed request for this consent made before this block.
    function grant(
        address identity,
        address organization,
        bytes32 purpose,
        bytes32 category,
        uint64 expiry,
        uint32 policyVersion
    ) external {
        _onlyOwner(identity, msg.sender);
        _grantDirect(identity, organization, purpose, category, expiry, policyVersion);
    }

    /// @notice Withdraw a consent, called by the identity's current owner. With nothing active
    ///         it still voids every signed request for the consent made before this block.
    function withdraw(address identity, address organization, bytes32 purpose, bytes32 category) external {
        _onlyOwner(identity, msg.sender);
        _withdrawDirect(identity, organization, purpose, category);
    }

    /// @notice Grant many consents of one identity in one transaction (owner only; all or nothing).
    function grantBatch(address identity, GrantItem[] calldata items) external {
        _onlyOwner(identity, msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            GrantItem calldata it = items[i];
            _grantDirect(identity, it.organization, it.purpose, it.category, it.expiry, it.policyVersion);
        }
    }

    /// @notice Withdraw many consents of one identity in one transaction (owner only).
    function withdrawBatch(address identity, WithdrawItem[] calldata items) external {
        _onlyOwner(identity, msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            WithdrawItem calldata it = items[i];
            _withdrawDirect(identity, it.organization, it.purpose, it.category);
        }
    }

    // ------------------------------------------------------------------ grant / withdraw, signed

    /// @notice Relay a grant signed (EIP-712) by the identity's owner or a `sigAuth` delegate.
    /// @dev The relayer must be an admitted, active account. Reverts with the first rule broken.
    function grantSigned(Grant calldata g, uint8 v, bytes32 r, bytes32 s) external {
        _requireActive(msg.sender);
        (bytes memory err,) = _grantSigned(g, v, r, s);
        if (err.length != 0) _bubble(err);
    }

    /// @notice Relay a withdrawal signed (EIP-712) by the identity's owner or a `sigAuth` delegate.
    function withdrawSigned(Withdrawal calldata w, uint8 v, bytes32 r, bytes32 s) external {
        _requireActive(msg.sender);
        (bytes memory err,) = _withdrawSigned(w, v, r, s);
        if (err.length != 0) _bubble(err);
    }

    /// @notice Relay many signed grants (of any identities) in one transaction. An item that
    ///         is consumed, expired or invalid is skipped (`SignedRequestSkipped`); the rest apply.
    function grantSignedBatch(SignedGrant[] calldata items) external {
        _requireActive(msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            (bytes memory err, bytes32 id) = _grantSigned(items[i].grant, items[i].v, items[i].r, items[i].s);
            if (err.length != 0) emit SignedRequestSkipped(i, id, bytes4(err));
        }
    }

    /// @notice Relay many signed withdrawals (of any identities) in one transaction. An item
    ///         that is consumed, expired or invalid is skipped (`SignedRequestSkipped`); the rest
    ///         apply, so front-running one item delays nobody else's withdrawal.
    function withdrawSignedBatch(SignedWithdrawal[] calldata items) external {
        _requireActive(msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            (bytes memory err, bytes32 id) =
                _withdrawSigned(items[i].withdrawal, items[i].v, items[i].r, items[i].s);
            if (err.length != 0) emit SignedRequestSkipped(i, id, bytes4(err));
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
    /// @dev Active consent, unexpired, under the organization's current policy version, the
    ///      identity not deactivated, no erasure requested of the organization for the
    ///      identity, and the organization admitted and not suspended.
    function isCovered(address identity, address organization, bytes32 purpose, bytes32 category)
        external
        view
        returns (bool)
    {
        Consent memory c = _consents[consentId(identity, organization, purpose, category)];
        return c.active && block.timestamp < c.expiry && c.policyVersion == currentPolicyVersion[organization]
            && !isDeactivated(identity) && !_erasureRequested(identity, organization)
            && accountRules.isActive(organization);
    }

    /// @notice The EIP-712 domain separator (name "Collective", version "2").
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
        return (hex"0f", "Collective", "2", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ------------------------------------------------------------------ internals

    /// @dev Has `identity` asked `organization` to erase its data (ErasureRegistry)? One read.
    function _erasureRequested(address identity, address organization) internal view virtual returns (bool);

    /// @dev Which of `a`, `b` (in that order) has `identity` asked to erase, or address(0)
    ///      (ErasureRegistry). One read when the identity asked nobody.
    function _erasureRequestedOfEither(address identity, address a, address b)
        internal
        view
        virtual
        returns (address);

    function _grantDirect(
        address identity,
        address organization,
        bytes32 purpose,
        bytes32 category,
        uint64 expiry,
        uint32 policyVersion
    ) private {
        bytes memory err = _grantRules(organization, purpose, expiry, policyVersion);
        if (err.length != 0) _bubble(err);
        Consent storage c = _consents[keccak256(abi.encode(identity, organization, purpose, category))];
        _storeGrant(c, expiry, policyVersion, _directNonce(c));
        emit ConsentGranted(identity, organization, purpose, category, expiry, policyVersion, msg.sender);
    }

    function _withdrawDirect(address identity, address organization, bytes32 purpose, bytes32 category) private {
        Consent storage c = _consents[keccak256(abi.encode(identity, organization, purpose, category))];
        _storeWithdrawal(identity, organization, purpose, category, c, _directNonce(c), msg.sender);
    }

    /// @dev A direct call's next nonce: one past the largest nonce a signed request may carry
    ///      now (`_nonceCeiling`), so no request relayable in this block survives the call.
    function _directNonce(Consent storage c) internal view returns (uint64 next) {
        // One past the largest nonce a request may carry now: none relayable now survives.
        // Unchecked: the ceiling stays far below 2**64 (see `_nonceCeiling`).
        unchecked {
            next = _nonceCeiling(c.nonce) + 1;
        }
    }

    /// @dev The error a grant would revert with (empty if none): expiry and current policy.
    function _grantRules(address organization, bytes32 purpose, uint64 expiry, uint32 policyVersion)
        internal
        view
        returns (bytes memory err)
    {
        if (expiry <= block.timestamp) return abi.encodeWithSelector(ExpiryInPast.selector, expiry);
        if (policyVersion == 0 || _coverage[organization][purpose] != policyVersion) {
            return abi.encodeWithSelector(PolicyNotCurrent.selector, organization, policyVersion, purpose);
        }
    }

    function _storeGrant(Consent storage c, uint64 expiry, uint32 policyVersion, uint64 next) internal {
        // Hot path: write the packed slot once (layout of `Consent`: expiry bits 0-63,
        // grantedAt 64-127, policyVersion 128-159, nonce 160-223, active bit 224).
        assembly ("memory-safe") {
            sstore(c.slot, or(or(expiry, shl(64, timestamp())), or(shl(128, policyVersion), or(shl(160, next), shl(224, 1)))))
        }
    }

    function _storeWithdrawal(
        address identity,
        address organization,
        bytes32 purpose,
        bytes32 category,
        Consent storage c,
        uint64 next,
        address agent
    ) private {
        bool wasActive = c.active;
        c.active = false;
        c.nonce = next;
        if (wasActive) {
            emit ConsentWithdrawn(identity, organization, purpose, category, agent);
        } else {
            emit SignaturesCancelled(identity, organization, purpose, category, next, agent);
        }
    }

    /// @dev Apply a signed grant, or return the error it breaks (and apply nothing).
    function _grantSigned(Grant calldata g, uint8 v, bytes32 r, bytes32 s)
        private
        returns (bytes memory err, bytes32 id)
    {
        id = keccak256(abi.encode(g.identity, g.organization, g.purpose, g.category));
        Consent storage c = _consents[id];
        address signer;
        (err, signer) = _checkSigned(g.identity, _grantStructHash(g), g.deadline, c.nonce, g.nonce, id, v, r, s);
        if (err.length != 0) return (err, id);
        err = _grantRules(g.organization, g.purpose, g.expiry, g.policyVersion);
        if (err.length != 0) return (err, id);
        if (_policies[g.organization][g.policyVersion].contentHash != g.policyHash) {
            return (
                abi.encodeWithSelector(PolicyHashMismatch.selector, g.organization, g.policyVersion, g.policyHash), id
            );
        }
        _storeGrant(c, g.expiry, g.policyVersion, g.nonce + 1);
        emit ConsentGranted(g.identity, g.organization, g.purpose, g.category, g.expiry, g.policyVersion, signer);
    }

    /// @dev Apply a signed withdrawal (or cancellation), or return the error it breaks.
    function _withdrawSigned(Withdrawal calldata w, uint8 v, bytes32 r, bytes32 s)
        private
        returns (bytes memory err, bytes32 id)
    {
        id = keccak256(abi.encode(w.identity, w.organization, w.purpose, w.category));
        Consent storage c = _consents[id];
        address signer;
        bytes32 structHash = keccak256(
            abi.encode(WITHDRAWAL_TYPEHASH, w.identity, w.organization, w.purpose, w.category, w.nonce, w.deadline)
        );
        (err, signer) = _checkSigned(w.identity, structHash, w.deadline, c.nonce, w.nonce, id, v, r, s);
        if (err.length != 0) return (err, id);
        _storeWithdrawal(w.identity, w.organization, w.purpose, w.category, c, w.nonce + 1, signer);
    }

    function _grantStructHash(Grant calldata g) private pure returns (bytes32) {
        return keccak256(
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
    }

    /// @dev The largest nonce a signed request may carry now: NONCE_CLOCK_SKEW ms ahead of the
    ///      block's time, or NONCE_STEP past the consent's nonce, whichever is larger (so requests
    ///      signed in a burst stay relayable and ordered in blocks that share a timestamp).
    ///      Each use moves the nonce at most NONCE_STEP + 1 past the window: no overflow, so
    ///      the arithmetic is unchecked (the window reaches 2**64 in the year 584,000,000; the
    ///      stored nonce, at most NONCE_STEP + 1 per transaction past it, needs 10**16 of them).
    function _nonceCeiling(uint64 stored) internal view returns (uint64) {
        unchecked {
            uint64 window = uint64(block.timestamp) * 1000 + NONCE_CLOCK_SKEW;
            uint64 step = stored + NONCE_STEP;
            return step > window ? step : window;
        }
    }

    /// @dev The rules every signed request obeys, in the order a single call reports them:
    ///      deadline, identity not deactivated, a well-formed signature by the owner or a valid
    ///      `sigAuth` delegate, and a nonce from the consent's up to `_nonceCeiling`. Returns the error (empty if none) and the
    ///      signer.
    function _checkSigned(
        address identity,
        bytes32 structHash,
        uint64 deadline,
        uint64 stored,
        uint64 given,
        bytes32 id,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) internal view returns (bytes memory, address signer) {
        if (block.timestamp > deadline) return (abi.encodeWithSelector(SignatureExpired.selector, deadline), signer);
        address owner = _identities[identity].owner;
        if (owner == DEACTIVATED) return (abi.encodeWithSelector(IdentityDeactivated.selector, identity), signer);
        signer = _tryRecover(keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash)), v, r, s);
        if (signer == address(0)) return (abi.encodeWithSelector(InvalidSignature.selector), signer);
        if (signer != (owner == address(0) ? identity : owner) && !validDelegate(identity, _SIG_AUTH, signer)) {
            return (abi.encodeWithSelector(SignerNotAuthorized.selector, identity, signer), signer);
        }
        if (given < stored) return (abi.encodeWithSelector(InvalidNonce.selector, id, stored, given), signer);
        uint64 latest = _nonceCeiling(stored);
        if (given > latest) return (abi.encodeWithSelector(NonceInFuture.selector, id, given, latest), signer);
        return ("", signer);
    }

    /// @dev Revert with an ABI-encoded custom error built by the checks above.
    function _bubble(bytes memory err) internal pure {
        assembly ("memory-safe") {
            revert(add(err, 0x20), mload(err))
        }
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }
}
