// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RulesConsumer} from "./RulesConsumer.sol";

/// @title PolicyRegistry
/// @notice Each organization publishes numbered versions of its data-use policy: the content
///         hash of the document, where to read it, and the purposes it covers. A consent names
///         the version it agreed to; only the organization's current version covers new uses.
abstract contract PolicyRegistry is RulesConsumer {
    struct Policy {
        bytes32 contentHash;
        uint64 publishedAt;
        bytes32[] purposes;
    }

    /// @notice The organization's current (latest) policy version; 0 if it never published.
    mapping(address => uint32) public currentPolicyVersion;
    mapping(address => mapping(uint32 => Policy)) internal _policies;
    /// @dev organization => purpose => current version if that version covers the purpose, else 0.
    mapping(address => mapping(bytes32 => uint32)) internal _coverage;

    /// @notice `organization` published policy `version` (document hash, URI and purposes).
    event PolicyPublished(
        address indexed organization, uint32 indexed version, bytes32 contentHash, string uri, bytes32[] purposes
    );

    /// @notice A policy must name at least one purpose and carry a non-zero content hash.
    error InvalidPolicy();
    /// @notice The organization has no policy version `version`.
    error UnknownPolicyVersion(address organization, uint32 version);

    /// @notice Publish the next policy version for the calling organization.
    /// @param contentHash Hash of the policy document (e.g. keccak256 or sha256 of its bytes).
    /// @param uri Where the document can be read.
    /// @param purposes Purpose codes (hashed W3C DPV names) the policy covers.
    /// @return version The new version number (1 for the first).
    function publishPolicy(bytes32 contentHash, string calldata uri, bytes32[] calldata purposes)
        external
        returns (uint32 version)
    {
        _requireActive(msg.sender);
        if (contentHash == bytes32(0) || purposes.length == 0) revert InvalidPolicy();
        uint32 previous = currentPolicyVersion[msg.sender];
        if (previous != 0) {
            bytes32[] storage old = _policies[msg.sender][previous].purposes;
            for (uint256 i = 0; i < old.length; i++) {
                delete _coverage[msg.sender][old[i]];
            }
        }
        version = previous + 1;
        currentPolicyVersion[msg.sender] = version;
        Policy storage p = _policies[msg.sender][version];
        p.contentHash = contentHash;
        p.publishedAt = uint64(block.timestamp);
        p.purposes = purposes;
        for (uint256 i = 0; i < purposes.length; i++) {
            _coverage[msg.sender][purposes[i]] = version;
        }
        emit PolicyPublished(msg.sender, version, contentHash, uri, purposes);
    }

    /// @notice A published policy version.
    function policy(address organization, uint32 version)
        external
        view
        returns (bytes32 contentHash, uint64 publishedAt, bytes32[] memory purposes)
    {
        Policy storage p = _policies[organization][version];
        if (p.contentHash == bytes32(0)) revert UnknownPolicyVersion(organization, version);
        return (p.contentHash, p.publishedAt, p.purposes);
    }

    /// @notice Does the organization's current policy cover `purpose`?
    function currentPolicyCovers(address organization, bytes32 purpose) external view returns (bool) {
        return _coverage[organization][purpose] != 0;
    }
}
