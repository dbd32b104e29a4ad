// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title DIDRegistry
/// @notice did:ethr identities, compatible with ERC-1056 (EthereumDIDRegistry): the same
///         functions (with the `*Signed` meta-transaction variants), the same events and the
///         same public `owners`, `delegates`, `changed` and `nonce` mappings, so standard
///         did:ethr resolvers work against it. `changed[identity]` links each identity's events
///         backwards block by block.
/// @dev Written for Solidity 0.8 from the ERC-1056 specification; reverts use custom errors.
///      One deliberate difference: `changeOwner(identity, 0x0)` (deactivation) is final. ERC-1056
///      would store 0, which means "owned by itself" and gives a possibly lost or stolen original
///      key control again; here `identityOwner` returns `DEACTIVATED` (0x…dEaD) instead.
contract DIDRegistry {
    /// @notice Owner of an identity, when it is not the identity address itself.
    mapping(address => address) public owners;
    /// @notice identity => keccak256(delegateType) => delegate => valid until (unix seconds).
    mapping(address => mapping(bytes32 => mapping(address => uint256))) public delegates;
    /// @notice Block number of the identity's latest change (0 if never changed).
    mapping(address => uint256) public changed;
    /// @notice Meta-transaction nonce of each owner key.
    mapping(address => uint256) public nonce;

    /// @notice Owner recorded for a deactivated identity (changeOwner to 0x0): no key controls it.
    address public constant DEACTIVATED = 0x000000000000000000000000000000000000dEaD;

    /// @notice The identity's owner changed.
    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);
    /// @notice A delegate was added (validTo in the future) or revoked (validTo now).
    event DIDDelegateChanged(
        address indexed identity,
        bytes32 delegateType,
        address delegate,
        uint256 validTo,
        uint256 previousChange
    );
    /// @notice An attribute was set (validTo in the future) or revoked (validTo 0).
    event DIDAttributeChanged(
        address indexed identity,
        bytes32 name,
        bytes value,
        uint256 validTo,
        uint256 previousChange
    );

    /// @notice `actor` is not the current owner of `identity`.
    error NotIdentityOwner(address identity, address actor);
    /// @notice The signature is malformed or recovers to no address.
    error InvalidSignature();

    /// @notice The current owner of `identity` (the identity itself unless changed).
    function identityOwner(address identity) public view returns (address) {
        address owner = owners[identity];
        return owner == address(0) ? identity : owner;
    }

    /// @notice Is `delegate` a currently valid delegate of `delegateType` for `identity`?
    function validDelegate(address identity, bytes32 delegateType, address delegate)
        public
        view
        returns (bool)
    {
        return delegates[identity][keccak256(abi.encode(delegateType))][delegate] > block.timestamp;
    }

    /// @notice Transfer ownership of `identity` to `newOwner`.
    function changeOwner(address identity, address newOwner) external {
        _changeOwner(identity, msg.sender, newOwner);
    }

    /// @notice `changeOwner` authorized by the owner's signature (ERC-1056 meta transaction).
    function changeOwnerSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, address newOwner)
        external
    {
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19), bytes1(0), this, nonce[identityOwner(identity)], identity, "changeOwner", newOwner
            )
        );
        _changeOwner(identity, _checkSignature(identity, sigV, sigR, sigS, hash), newOwner);
    }

    /// @notice Add `delegate` of `delegateType` (e.g. "veriKey", "sigAuth") for `validity` seconds.
    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity) external {
        _addDelegate(identity, msg.sender, delegateType, delegate, validity);
    }

    /// @notice `addDelegate` authorized by the owner's signature.
    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                this,
                nonce[identityOwner(identity)],
                identity,
                "addDelegate",
                delegateType,
                delegate,
                validity
            )
        );
        _addDelegate(identity, _checkSignature(identity, sigV, sigR, sigS, hash), delegateType, delegate, validity);
    }

    /// @notice Revoke `delegate` of `delegateType` now.
    function revokeDelegate(address identity, bytes32 delegateType, address delegate) external {
        _revokeDelegate(identity, msg.sender, delegateType, delegate);
    }

    /// @notice `revokeDelegate` authorized by the owner's signature.
    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                this,
                nonce[identityOwner(identity)],
                identity,
                "revokeDelegate",
                delegateType,
                delegate
            )
        );
        _revokeDelegate(identity, _checkSignature(identity, sigV, sigR, sigS, hash), delegateType, delegate);
    }

    /// @notice Publish attribute `name` = `value` (e.g. "did/pub/Secp256k1/veriKey/hex") for `validity` seconds.
    function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity) external {
        _setAttribute(identity, msg.sender, name, value, validity);
    }

    /// @notice `setAttribute` authorized by the owner's signature.
    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                this,
                nonce[identityOwner(identity)],
                identity,
                "setAttribute",
                name,
                value,
                validity
            )
        );
        _setAttribute(identity, _checkSignature(identity, sigV, sigR, sigS, hash), name, value, validity);
    }

    /// @notice Revoke attribute `name` = `value`.
    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external {
        _revokeAttribute(identity, msg.sender, name, value);
    }

    /// @notice `revokeAttribute` authorized by the owner's signature.
    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19), bytes1(0), this, nonce[identityOwner(identity)], identity, "revokeAttribute", name, value
            )
        );
        _revokeAttribute(identity, _checkSignature(identity, sigV, sigR, sigS, hash), name, value);
    }

    function _onlyOwner(address identity, address actor) internal view {
        address owner = owners[identity];
        if (actor != (owner == address(0) ? identity : owner)) revert NotIdentityOwner(identity, actor);
    }

    function _recover(bytes32 hash, uint8 v, bytes32 r, bytes32 s) internal pure returns (address signer) {
        // Reject malleable (high-s) signatures, as OpenZeppelin's ECDSA does.
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) {
            revert InvalidSignature();
        }
        signer = ecrecover(hash, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
    }

    function _checkSignature(address identity, uint8 v, bytes32 r, bytes32 s, bytes32 hash)
        private
        returns (address signer)
    {
        signer = _recover(hash, v, r, s);
        _onlyOwner(identity, signer);
        nonce[signer]++;
    }

    function _changeOwner(address identity, address actor, address newOwner) private {
        _onlyOwner(identity, actor);
        // ERC-1056 stores 0 here, which hands a deactivated identity back to its original key.
        // Store an owner nobody holds the key of instead, so deactivation is final; the event
        // still says 0x0, which is how did:ethr resolvers recognise deactivation.
        owners[identity] = newOwner == address(0) ? DEACTIVATED : newOwner;
        emit DIDOwnerChanged(identity, newOwner, changed[identity]);
        changed[identity] = block.number;
    }

    function _addDelegate(address identity, address actor, bytes32 delegateType, address delegate, uint256 validity)
        private
    {
        _onlyOwner(identity, actor);
        uint256 validTo = block.timestamp + validity;
        delegates[identity][keccak256(abi.encode(delegateType))][delegate] = validTo;
        emit DIDDelegateChanged(identity, delegateType, delegate, validTo, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeDelegate(address identity, address actor, bytes32 delegateType, address delegate) private {
        _onlyOwner(identity, actor);
        delegates[identity][keccak256(abi.encode(delegateType))][delegate] = block.timestamp;
        emit DIDDelegateChanged(identity, delegateType, delegate, block.timestamp, changed[identity]);
        changed[identity] = block.number;
    }

    function _setAttribute(address identity, address actor, bytes32 name, bytes calldata value, uint256 validity)
        private
    {
        _onlyOwner(identity, actor);
        emit DIDAttributeChanged(identity, name, value, block.timestamp + validity, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeAttribute(address identity, address actor, bytes32 name, bytes calldata value) private {
        _onlyOwner(identity, actor);
        emit DIDAttributeChanged(identity, name, value, 0, changed[identity]);
        changed[identity] = block.number;
    }
}
