// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @title Test
/// @notice A small stand-in for forge-std's `Test` (see Vm.sol for why): the cheatcode handle,
///         `bound` for fuzz inputs, and invariant targeting. Assertions are the cheatcodes'
///         own (`vm.assertEq(...)`), which revert with a message, so no `failed()` state.
abstract contract Test {
    /// @dev forge answers cheatcodes at address(uint160(uint256(keccak256("hevm cheat code")))).
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @dev forge recognizes test contracts by their functions; this marks them for readers.
    bool public constant IS_TEST = true;

    address[] private _targetedContracts;

    /// @dev Map `x` into [min, max] (inclusive), keeping small inputs as they are, so the fuzzer's
    ///      edge values still reach the edges of the range.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    /// @dev Restrict invariant fuzzing to `target` (a handler); called in `setUp`.
    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    /// @notice Contracts the invariant fuzzer calls (read by forge, as forge-std's StdInvariant).
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }
}
