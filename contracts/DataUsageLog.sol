// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentRegistry} from "./ConsentRegistry.sol";

/// @title DataUsageLog
/// @notice Organizations record each use of a subject's data. The record is refused unless a
///         matching, unexpired, unwithdrawn consent under the organization's current policy
///         version exists, the identity is not deactivated nor asked the organization to erase
///         its data (ErasureRegistry), and the organization is admitted
///         and not suspended. The record holds
///         only codes and a hash of the data reference, never personal data.
abstract contract DataUsageLog is ConsentRegistry {
    /// @notice One use in a batch.
    struct UseItem {
        address identity;
        bytes32 purpose;
        bytes32 category;
        bytes32 dataRef;
    }

    /// @notice `organization` used `identity`'s data of `category` for `purpose`, covered by a
    ///         consent under `policyVersion`. `dataRef` is a hash referring to the data used.
    event DataUsed(
        address indexed identity,
        address indexed organization,
        bytes32 indexed purpose,
        bytes32 category,
        bytes32 dataRef,
        uint32 policyVersion
    );

    /// @notice No active consent exists (never granted, or withdrawn).
    error NoConsent(address identity, address organization, bytes32 purpose, bytes32 category);
    /// @notice The consent expired at `expiry`.
    error ConsentExpired(bytes32 consentId, uint64 expiry);
    /// @notice The consent names an older policy version than the organization's current one.
    error StalePolicyVersion(address organization, uint32 consented, uint32 current);
    /// @notice `identity` asked `organization` to erase its data: no use is recorded any more.
    error UseAfterErasureRequest(address identity, address organization);

    /// @notice Record one use of a subject's data by the calling organization.
    function recordUse(address identity, bytes32 purpose, bytes32 category, bytes32 dataRef) external {
        _requireActive(msg.sender);
        _recordUse(identity, purpose, category, dataRef, currentPolicyVersion[msg.sender]);
    }

    /// @notice Record many uses in one transaction; all or nothing.
    function recordUseBatch(UseItem[] calldata uses) external {
        _requireActive(msg.sender);
        uint32 current = currentPolicyVersion[msg.sender];
        for (uint256 i = 0; i < uses.length; i++) {
            UseItem calldata u = uses[i];
            _recordUse(u.identity, u.purpose, u.category, u.dataRef, current);
        }
    }

    function _recordUse(address identity, bytes32 purpose, bytes32 category, bytes32 dataRef, uint32 current)
        private
    {
        bytes32 id = keccak256(abi.encode(identity, msg.sender, purpose, category));
        Consent storage c = _consents[id];
        if (!c.active) revert NoConsent(identity, msg.sender, purpose, category);
        if (_identities[identity].owner == DEACTIVATED) revert IdentityDeactivated(identity);
        if (block.timestamp >= c.expiry) revert ConsentExpired(id, c.expiry);
        if (c.policyVersion != current) revert StalePolicyVersion(msg.sender, c.policyVersion, current);
        if (_erasureRequested(identity, msg.sender)) revert UseAfterErasureRequest(identity, msg.sender);
        emit DataUsed(identity, msg.sender, purpose, category, dataRef, current);
    }
}
