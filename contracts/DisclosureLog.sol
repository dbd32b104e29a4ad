// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DataUsageLog} from "./DataUsageLog.sol";

/// @title DisclosureLog
/// @notice Onward disclosure (Kantara consent receipt "third-party disclosure"; GDPR Art.
///         13(1)(e) "recipients"): an organization (the discloser) may pass a subject's data
///         of one category, for one purpose, to one named organization (the recipient) only
///         under the subject's disclosure consent naming all four. `recordDisclosure` is
///         refused unless that consent is active and unexpired, the identity is not
///         deactivated nor asked the discloser or the recipient to erase its data, both
///         organizations are admitted and not suspended, and the recipient's current policy
///         version covers the purpose and is the version the subject agreed to. The recipient
///         still needs its own use consent (DataUsageLog) to use what it received.
/// @dev A disclosure consent is a `Consent` slot of the same mapping as a use consent, keyed by
///      keccak256(abi.encode(identity, discloser, recipient, purpose, category)): five words,
///      so it never collides with a use consent's four-word key. It follows the use consent's
///      rules exactly (ConsentRegistry): the owner grants and withdraws directly, or signs an
///      EIP-712 `DisclosureGrant` / `DisclosureWithdrawal` (owner or `sigAuth` delegate) that an
///      admitted account relays; the same nonce window orders the subject's intents; the policy
///      version agreed to is the recipient's, whose document says what it does with the data.
///      Every check on a disclosure is one storage read, as a use's: no loops.
abstract contract DisclosureLog is DataUsageLog {
    /// @notice A disclosure-consent grant request (also the EIP-712 `DisclosureGrant` struct).
    struct DisclosureGrant {
        address identity;
        address discloser;
        address recipient;
        bytes32 purpose;
        bytes32 category;
        uint64 expiry;
        uint32 policyVersion; // the recipient's policy version agreed to
        bytes32 policyHash; // the content hash of that policy version
        uint64 nonce;
        uint64 deadline;
    }

    /// @notice A disclosure-consent withdrawal (also the EIP-712 `DisclosureWithdrawal` struct).
    struct DisclosureWithdrawal {
        address identity;
        address discloser;
        address recipient;
        bytes32 purpose;
        bytes32 category;
        uint64 nonce;
        uint64 deadline;
    }

    /// @notice One disclosure in a batch (the discloser is the caller).
    struct DisclosureItem {
        address identity;
        address recipient;
        bytes32 purpose;
        bytes32 category;
        bytes32 dataRef;
    }

    bytes32 public constant DISCLOSURE_GRANT_TYPEHASH = keccak256(
        "DisclosureGrant(address identity,address discloser,address recipient,bytes32 purpose,bytes32 category,uint64 expiry,uint32 policyVersion,bytes32 policyHash,uint64 nonce,uint64 deadline)"
    );
    bytes32 public constant DISCLOSURE_WITHDRAWAL_TYPEHASH = keccak256(
        "DisclosureWithdrawal(address identity,address discloser,address recipient,bytes32 purpose,bytes32 category,uint64 nonce,uint64 deadline)"
    );

    /// @notice A disclosure consent was granted or renewed; `agent` authorized it.
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
    /// @notice A disclosure consent was withdrawn (`wasActive`), or a withdrawal found nothing
    ///         active and only voided the pending signed requests below `nonce`. Indexed by
    ///         recipient, so each recipient can follow the withdrawals that concern it.
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
    /// @notice `discloser` passed `identity`'s data of `category` to `recipient` for `purpose`,
    ///         under a disclosure consent to the recipient's policy `policyVersion`. `dataRef`
    ///         is a hash referring to the data passed.
    event DataDisclosed(
        address indexed identity,
        address indexed discloser,
        address indexed recipient,
        bytes32 purpose,
        bytes32 category,
        bytes32 dataRef,
        uint32 policyVersion
    );

    /// @notice No active disclosure consent exists (never granted, or withdrawn).
    error NoDisclosureConsent(
        address identity, address discloser, address recipient, bytes32 purpose, bytes32 category
    );

    // ------------------------------------------------------------------ consent, direct

    /// @notice Grant (or renew) a disclosure consent, called by the identity's current owner.
    ///         `policyVersion` is the recipient's current version, which must cover `purpose`.
    function grantDisclosure(
        address identity,
        address discloser,
        address recipient,
        bytes32 purpose,
        bytes32 category,
        uint64 expiry,
        uint32 policyVersion
    ) external {
        _onlyOwner(identity, msg.sender);
        bytes memory err = _grantRules(recipient, purpose, expiry, policyVersion);
        if (err.length != 0) _bubble(err);
        Consent storage c = _consents[disclosureConsentId(identity, discloser, recipient, purpose, category)];
        _storeGrant(c, expiry, policyVersion, _directNonce(c));
        emit DisclosureConsentGranted(identity, discloser, recipient, purpose, category, expiry, policyVersion, msg.sender);
    }

    /// @notice Withdraw a disclosure consent, called by the identity's current owner. With
    ///         nothing active it still voids every signed request made before this block.
    function withdrawDisclosure(
        address identity,
        address discloser,
        address recipient,
        bytes32 purpose,
        bytes32 category
    ) external {
        _onlyOwner(identity, msg.sender);
        Consent storage c = _consents[disclosureConsentId(identity, discloser, recipient, purpose, category)];
        _storeDisclosureWithdrawal(
            DisclosureWithdrawal(identity, discloser, recipient, purpose, category, 0, 0), c, _directNonce(c), msg.sender
        );
    }

    // ------------------------------------------------------------------ consent, signed

    /// @notice Relay a disclosure grant signed (EIP-712) by the identity's owner or a `sigAuth`
    ///         delegate. The relayer must be an admitted, active account.
    function grantDisclosureSigned(DisclosureGrant calldata g, uint8 v, bytes32 r, bytes32 s) external {
        _requireActive(msg.sender);
        bytes32 id = disclosureConsentId(g.identity, g.discloser, g.recipient, g.purpose, g.category);
        Consent storage c = _consents[id];
        (bytes memory err, address signer) =
            _checkSigned(g.identity, _disclosureGrantHash(g), g.deadline, c.nonce, g.nonce, id, v, r, s);
        if (err.length == 0) err = _grantRules(g.recipient, g.purpose, g.expiry, g.policyVersion);
        if (err.length != 0) _bubble(err);
        if (_policies[g.recipient][g.policyVersion].contentHash != g.policyHash) {
            revert PolicyHashMismatch(g.recipient, g.policyVersion, g.policyHash);
        }
        _storeGrant(c, g.expiry, g.policyVersion, g.nonce + 1);
        emit DisclosureConsentGranted(
            g.identity, g.discloser, g.recipient, g.purpose, g.category, g.expiry, g.policyVersion, signer
        );
    }

    /// @notice Relay a disclosure withdrawal signed (EIP-712) by the identity's owner or a
    ///         `sigAuth` delegate. The relayer must be an admitted, active account.
    function withdrawDisclosureSigned(DisclosureWithdrawal calldata w, uint8 v, bytes32 r, bytes32 s) external {
        _requireActive(msg.sender);
        bytes32 id = disclosureConsentId(w.identity, w.discloser, w.recipient, w.purpose, w.category);
        Consent storage c = _consents[id];
        bytes32 structHash = keccak256(
            abi.encode(
                DISCLOSURE_WITHDRAWAL_TYPEHASH,
                w.identity,
                w.discloser,
                w.recipient,
                w.purpose,
                w.category,
                w.nonce,
                w.deadline
            )
        );
        (bytes memory err, address signer) =
            _checkSigned(w.identity, structHash, w.deadline, c.nonce, w.nonce, id, v, r, s);
        if (err.length != 0) _bubble(err);
        _storeDisclosureWithdrawal(w, c, w.nonce + 1, signer);
    }

    // ------------------------------------------------------------------ disclosures

    /// @notice Record that the calling organization passed `identity`'s data to `recipient`.
    function recordDisclosure(address identity, address recipient, bytes32 purpose, bytes32 category, bytes32 dataRef)
        external
    {
        _requireBothActive(msg.sender, recipient);
        _recordDisclosure(identity, recipient, purpose, category, dataRef);
    }

    /// @notice Record many disclosures by the calling organization in one transaction; all or
    ///         nothing.
    function recordDisclosureBatch(DisclosureItem[] calldata items) external {
        _requireActive(msg.sender);
        for (uint256 i = 0; i < items.length; i++) {
            DisclosureItem calldata d = items[i];
            _requireActive(d.recipient);
            _recordDisclosure(d.identity, d.recipient, d.purpose, d.category, d.dataRef);
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice The id of a disclosure consent:
    ///         keccak256(abi.encode(identity, discloser, recipient, purpose, category)).
    function disclosureConsentId(
        address identity,
        address discloser,
        address recipient,
        bytes32 purpose,
        bytes32 category
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(identity, discloser, recipient, purpose, category));
    }

    /// @notice The stored state of a disclosure consent (all zero if never granted).
    function getDisclosureConsent(
        address identity,
        address discloser,
        address recipient,
        bytes32 purpose,
        bytes32 category
    ) external view returns (Consent memory) {
        return _consents[disclosureConsentId(identity, discloser, recipient, purpose, category)];
    }

    /// @notice Would `recordDisclosure` by `discloser` succeed right now (the same rules)?
    function isDisclosureCovered(
        address identity,
        address discloser,
        address recipient,
        bytes32 purpose,
        bytes32 category
    ) external view returns (bool) {
        Consent memory c = _consents[disclosureConsentId(identity, discloser, recipient, purpose, category)];
        return c.active && block.timestamp < c.expiry && c.policyVersion == _coverage[recipient][purpose]
            && !isDeactivated(identity) && _erasureRequestedOfEither(identity, discloser, recipient) == address(0)
            && accountRules.isActive(discloser)
            && accountRules.isActive(recipient);
    }

    // ------------------------------------------------------------------ internals

    function _recordDisclosure(address identity, address recipient, bytes32 purpose, bytes32 category, bytes32 dataRef)
        private
    {
        bytes32 id = keccak256(abi.encode(identity, msg.sender, recipient, purpose, category));
        Consent storage c = _consents[id];
        if (!c.active) revert NoDisclosureConsent(identity, msg.sender, recipient, purpose, category);
        if (_identities[identity].owner == DEACTIVATED) revert IdentityDeactivated(identity);
        if (block.timestamp >= c.expiry) revert ConsentExpired(id, c.expiry);
        uint32 version = c.policyVersion;
        if (_coverage[recipient][purpose] != version) {
            revert StalePolicyVersion(recipient, version, currentPolicyVersion[recipient]);
        }
        address erasing = _erasureRequestedOfEither(identity, msg.sender, recipient);
        if (erasing != address(0)) revert UseAfterErasureRequest(identity, erasing);
        emit DataDisclosed(identity, msg.sender, recipient, purpose, category, dataRef, version);
    }

    function _storeDisclosureWithdrawal(DisclosureWithdrawal memory w, Consent storage c, uint64 next, address agent)
        private
    {
        bool wasActive = c.active;
        c.active = false;
        c.nonce = next;
        emit DisclosureConsentWithdrawn(w.identity, w.discloser, w.recipient, w.purpose, w.category, wasActive, next, agent);
    }

    function _disclosureGrantHash(DisclosureGrant calldata g) private pure returns (bytes32) {
        // Two static abi.encode halves concatenate to the one encoding (no stack-too-deep).
        return keccak256(
            bytes.concat(
                abi.encode(DISCLOSURE_GRANT_TYPEHASH, g.identity, g.discloser, g.recipient, g.purpose, g.category),
                abi.encode(g.expiry, g.policyVersion, g.policyHash, g.nonce, g.deadline)
            )
        );
    }
}
