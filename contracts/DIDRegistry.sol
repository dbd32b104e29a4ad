// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title DIDRegistry
/// @notice did:ethr identities, compatible with ERC-1056 (EthereumDIDRegistry): the same
///         functions (with the `*Signed` meta-transaction variants), the same events and the
///         same public `owners`, `delegates`, `changed` and `nonce` mappings, so standard
///         did:ethr resolvers work against it. `changed[identity]` links each identity's events
///         backwards block by block.
/// @dev Written for Solidity 0.8 from the ERC-1056 specification; reverts use custom errors.
///      Two deliberate differences, both so that "the old key can do nothing" holds:
///      - `changeOwner(identity, 0x0)` (deactivation) is final. ERC-1056 would store 0, which
///        means "owned by itself" and gives a possibly lost or stolen original key control
///        again; here `identityOwner` returns `DEACTIVATED` (0x…dEaD) and nothing acts for it.
///      - Every owner change starts a new delegate epoch: delegates appointed under a previous
///        owner are no longer valid (`validDelegate` false, `delegates` 0), so a thief who
///        appointed himself loses that power when the rightful owner rotates the key. Events are
///        unchanged, so did:ethr resolvers resolve the same documents as for ERC-1056.
///      Replay across chains: the ERC-1056 digest names this contract's address but no chain
///      id; Collective deploys the ledger through ChainBoundDeployer (CREATE2 salted with
///      block.chainid), so no two chains share a ledger address.
contract DIDRegistry {
    /// @dev One slot per identity: its owner (0 = the identity itself) and its delegate epoch,
    ///      bumped on every owner change so delegates appointed under a previous owner lapse.
    struct IdentityRecord {
        address owner;
        uint64 epoch;
    }

    mapping(address => IdentityRecord) internal _identities;
    /// @dev identity => keccak256(delegateType) => delegate => validTo (bits 0-191) | epoch << 192.
    mapping(address => mapping(bytes32 => mapping(address => uint256))) internal _delegates;
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
    /// @notice The signature is malformed, malleable (high s, v not 27/28) or recovers to no address.
    error InvalidSignature();
    /// @notice The identity was deactivated: no key and no delegate acts for it, no use is covered.
    error IdentityDeactivated(address identity);

    /// @notice ERC-1056 `owners`: the recorded owner of `identity` (0 if it was never changed).
    function owners(address identity) external view returns (address) {
        return _identities[identity].owner;
    }

    /// @notice ERC-1056 `delegates`: until when `delegate` is valid (unix seconds), or 0 when it
    ///         was appointed under a previous owner (or never).
    /// @param delegateTypeHash keccak256(abi.encode(delegateType)), as in ERC-1056.
    function delegates(address identity, bytes32 delegateTypeHash, address delegate) external view returns (uint256) {
        uint256 packed = _delegates[identity][delegateTypeHash][delegate];
        return packed >> 192 == _identities[identity].epoch ? uint192(packed) : 0;
    }

    /// @notice The delegate epoch of `identity`: bumped by every owner change (and deactivation).
    function delegateEpoch(address identity) external view returns (uint64) {
        return _identities[identity].epoch;
    }

    /// @notice The current owner of `identity` (the identity itself unless changed; DEACTIVATED
    ///         after deactivation).
    function identityOwner(address identity) public view returns (address) {
        address owner = _identities[identity].owner;
        return owner == address(0) ? identity : owner;
    }

    /// @notice Is `delegate` a currently valid delegate of `delegateType` for `identity`?
    /// @dev Valid means: appointed since the identity's latest owner change (same epoch), and
    ///      its validity not yet over. A key rotation (or deactivation) therefore cuts off every
    ///      delegate the previous key appointed.
    function validDelegate(address identity, bytes32 delegateType, address delegate) public view returns (bool) {
        uint256 packed = _delegates[identity][keccak256(abi.encode(delegateType))][delegate];
        return packed >> 192 == _identities[identity].epoch && uint192(packed) > block.timestamp;
    }

    /// @notice Has `identity` been deactivated (changeOwner to 0x0)?
    function isDeactivated(address identity) public view returns (bool) {
        return _identities[identity].owner == DEACTIVATED;
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
        address owner = _identities[identity].owner;
        if (owner == DEACTIVATED) revert IdentityDeactivated(identity);
        if (actor != (owner == address(0) ? identity : owner)) revert NotIdentityOwner(identity, actor);
    }

    function _recover(bytes32 hash, uint8 v, bytes32 r, bytes32 s) internal pure returns (address signer) {
        signer = _tryRecover(hash, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
    }

    /// @dev The signer, or 0 for a malformed signature. Refuses the high-s twin and any v but
    ///      27/28 (EIP-2; OpenZeppelin's ECDSA rule), so each signature has one encoding.
    function _tryRecover(bytes32 hash, uint8 v, bytes32 r, bytes32 s) internal pure returns (address) {
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        if (v != 27 && v != 28) return address(0);
        return ecrecover(hash, v, r, s);
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
        // still says 0x0, which is how did:ethr resolvers recognise deactivation. The epoch
        // moves on, so no delegate appointed by the previous key acts any more.
        // Handing an identity to DEACTIVATED itself is a deactivation too, announced as 0x0.
        if (newOwner == DEACTIVATED) newOwner = address(0);
        IdentityRecord storage record = _identities[identity];
        record.owner = newOwner == address(0) ? DEACTIVATED : newOwner;
        unchecked {
            record.epoch += 1;
        }
        emit DIDOwnerChanged(identity, newOwner, changed[identity]);
        changed[identity] = block.number;
    }

    function _addDelegate(address identity, address actor, bytes32 delegateType, address delegate, uint256 validity)
        private
    {
        _onlyOwner(identity, actor);
        uint256 validTo = block.timestamp + validity;
        uint256 stored = validTo > type(uint192).max ? type(uint192).max : validTo;
        _delegates[identity][keccak256(abi.encode(delegateType))][delegate] =
            stored | (uint256(_identities[identity].epoch) << 192);
        emit DIDDelegateChanged(identity, delegateType, delegate, validTo, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeDelegate(address identity, address actor, bytes32 delegateType, address delegate) private {
        _onlyOwner(identity, actor);
        _delegates[identity][keccak256(abi.encode(delegateType))][delegate] =
            block.timestamp | (uint256(_identities[identity].epoch) << 192);
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
