// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ChainBoundDeployer
/// @notice Deploys contracts with CREATE2 under a salt bound to the chain id, so the same
///         deployer, salt and code give a different address on every chain.
/// @dev Why: ERC-1056's signed meta transactions (`changeOwnerSigned`, ...) hash the registry's
///      address but no chain id. With plain CREATE, a ledger deployed at the same deployer nonce
///      on two chains has the same address on both, and a signature made for one replays on the
///      other. Standard did:ethr tooling signs that digest, so the digest cannot change; the
///      address can. The effective salt is keccak256(abi.encode(block.chainid, salt)), computed
///      here and never taken from the caller, so no caller can reproduce another chain's address.
contract ChainBoundDeployer {
    /// @notice `deployed` was created from code with hash `initCodeHash` under `salt` on this chain.
    event Deployed(address indexed deployed, bytes32 indexed salt, bytes32 initCodeHash);

    /// @notice CREATE2 failed (the address is taken, or the constructor reverted).
    error DeploymentFailed(bytes32 salt);

    /// @notice Deploy `initCode` (creation code with constructor arguments appended).
    /// @param salt The caller's salt; the chain id is mixed in.
    /// @return deployed The new contract's address, equal to `addressOf(salt, keccak256(initCode))`.
    function deploy(bytes calldata initCode, bytes32 salt) external returns (address deployed) {
        bytes memory code = initCode;
        bytes32 chainSalt = _chainSalt(salt);
        assembly ("memory-safe") {
            deployed := create2(0, add(code, 0x20), mload(code), chainSalt)
        }
        if (deployed == address(0)) revert DeploymentFailed(salt);
        emit Deployed(deployed, salt, keccak256(code));
    }

    /// @notice The address `deploy(initCode, salt)` gives on this chain (EIP-1014).
    function addressOf(bytes32 salt, bytes32 initCodeHash) external view returns (address) {
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), _chainSalt(salt), initCodeHash))))
        );
    }

    function _chainSalt(bytes32 salt) private view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, salt));
    }
}
