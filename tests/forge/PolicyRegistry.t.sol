// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {PolicyRegistry} from "../../contracts/PolicyRegistry.sol";
import {RulesConsumer} from "../../contracts/RulesConsumer.sol";
import {Test} from "./base/Test.sol";

/// @dev PolicyRegistry alone (it is abstract; the deployed ConsentLedger adds the other modules).
contract PolicyRegistryHarness is PolicyRegistry {
    constructor(AccountRules rules) RulesConsumer(rules) {}
}

/// @notice publishPolicy numbers versions, moves purpose coverage to the newest version, and
///         rejects empty policies; `policy` reads every published version and no other.
contract PolicyRegistryTest is Test {
    event PolicyPublished(
        address indexed organization, uint32 indexed version, bytes32 contentHash, string uri, bytes32[] purposes
    );

    bytes32 internal constant RESEARCH = keccak256("dpv:ScientificResearch");
    bytes32 internal constant SERVICE = keccak256("dpv:ServiceProvision");
    bytes32 internal constant MARKETING = keccak256("dpv:Marketing");

    AccountRules internal rules;
    PolicyRegistryHarness internal registry;
    address internal hospital = address(0xA11CE);
    address internal lab = address(0xB0B);

    function setUp() public {
        address[] memory admins = new address[](1);
        admins[0] = address(this);
        rules = new AccountRules(admins);
        rules.admit(hospital);
        rules.admit(lab);
        registry = new PolicyRegistryHarness(rules);
        vm.label(hospital, "hospital");
        vm.label(lab, "lab");
        vm.warp(1_750_000_000);
    }

    function _purposes(bytes32 a) internal pure returns (bytes32[] memory list) {
        list = new bytes32[](1);
        list[0] = a;
    }

    function _purposes(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory list) {
        list = new bytes32[](2);
        list[0] = a;
        list[1] = b;
    }

    function _publish(address organization, bytes32 contentHash, bytes32[] memory purposes)
        internal
        returns (uint32)
    {
        vm.prank(organization);
        return registry.publishPolicy(contentHash, "ipfs://policy", purposes);
    }

    function test_firstPolicyIsVersionOne() public {
        assertVersion(hospital, 0);
        uint32 version = _publish(hospital, keccak256("v1"), _purposes(RESEARCH, SERVICE));
        vm.assertEq(uint256(version), 1, "first version");
        assertVersion(hospital, 1);
        (bytes32 contentHash, uint64 publishedAt, bytes32[] memory purposes) = registry.policy(hospital, 1);
        vm.assertEq(contentHash, keccak256("v1"), "content hash");
        vm.assertEq(uint256(publishedAt), block.timestamp, "published at");
        vm.assertEq(purposes, _purposes(RESEARCH, SERVICE), "purposes");
    }

    function test_versionsCountUpAndOldVersionsStayReadable() public {
        for (uint32 i = 1; i <= 3; i++) {
            vm.warp(block.timestamp + 1 days);
            uint32 version = _publish(hospital, keccak256(abi.encode(i)), _purposes(RESEARCH));
            vm.assertEq(uint256(version), i, "next version");
        }
        assertVersion(hospital, 3);
        for (uint32 i = 1; i <= 3; i++) {
            (bytes32 contentHash,,) = registry.policy(hospital, i);
            vm.assertEq(contentHash, keccak256(abi.encode(i)), "old version kept");
        }
    }

    function test_publishEmitsPolicyPublished() public {
        vm.expectEmit(true, true, false, true, address(registry));
        emit PolicyPublished(hospital, 1, keccak256("v1"), "ipfs://policy", _purposes(RESEARCH));
        _publish(hospital, keccak256("v1"), _purposes(RESEARCH));
    }

    function test_coverageMovesToTheNewVersion() public {
        _publish(hospital, keccak256("v1"), _purposes(RESEARCH, SERVICE));
        vm.assertTrue(registry.currentPolicyCovers(hospital, RESEARCH), "v1 covers research");
        vm.assertFalse(registry.currentPolicyCovers(hospital, MARKETING), "v1 does not cover marketing");

        _publish(hospital, keccak256("v2"), _purposes(SERVICE, MARKETING));
        vm.assertFalse(registry.currentPolicyCovers(hospital, RESEARCH), "dropped purpose no longer covered");
        vm.assertTrue(registry.currentPolicyCovers(hospital, SERVICE), "kept purpose covered");
        vm.assertTrue(registry.currentPolicyCovers(hospital, MARKETING), "added purpose covered");
    }

    function test_organizationsHaveTheirOwnVersions() public {
        _publish(hospital, keccak256("h1"), _purposes(RESEARCH));
        _publish(hospital, keccak256("h2"), _purposes(SERVICE));
        uint32 version = _publish(lab, keccak256("l1"), _purposes(MARKETING));
        vm.assertEq(uint256(version), 1, "lab starts at 1");
        assertVersion(hospital, 2);
        vm.assertFalse(registry.currentPolicyCovers(lab, SERVICE), "hospital's purposes are not the lab's");
        vm.assertFalse(registry.currentPolicyCovers(hospital, MARKETING), "lab's purposes are not the hospital's");
    }

    function test_revertWhen_contentHashIsZero() public {
        vm.expectRevert(PolicyRegistry.InvalidPolicy.selector);
        _publish(hospital, bytes32(0), _purposes(RESEARCH));
    }

    function test_revertWhen_noPurposes() public {
        vm.expectRevert(PolicyRegistry.InvalidPolicy.selector);
        _publish(hospital, keccak256("v1"), new bytes32[](0));
    }

    function test_revertWhen_versionUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownPolicyVersion.selector, hospital, uint32(1)));
        registry.policy(hospital, 1);

        _publish(hospital, keccak256("v1"), _purposes(RESEARCH));
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownPolicyVersion.selector, hospital, uint32(0)));
        registry.policy(hospital, 0);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownPolicyVersion.selector, hospital, uint32(2)));
        registry.policy(hospital, 2);
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownPolicyVersion.selector, lab, uint32(1)));
        registry.policy(lab, 1);
    }

    function test_revertWhen_organizationNotActive() public {
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationNotAdmitted.selector, address(0xBAD)));
        _publish(address(0xBAD), keccak256("v1"), _purposes(RESEARCH));

        rules.suspend(lab);
        vm.expectRevert(abi.encodeWithSelector(RulesConsumer.OrganizationSuspended.selector, lab));
        _publish(lab, keccak256("v1"), _purposes(RESEARCH));
    }

    /// @dev After any two publications, exactly the second one's purposes are covered, and both
    ///      versions read back as published.
    function testFuzz_coverageFollowsTheCurrentVersion(
        bytes32 firstHash,
        bytes32 secondHash,
        bytes32[] memory first,
        bytes32[] memory second,
        bytes32 probe
    ) public {
        vm.assume(firstHash != 0 && secondHash != 0);
        first = _someOf(first, probe);
        second = _someOf(second, ~probe);

        vm.assertEq(uint256(_publish(hospital, firstHash, first)), 1, "first version");
        vm.assertEq(uint256(_publish(hospital, secondHash, second)), 2, "second version");

        for (uint256 i = 0; i < first.length; i++) {
            vm.assertEq(
                registry.currentPolicyCovers(hospital, first[i]), _contains(second, first[i]), "old purpose"
            );
        }
        for (uint256 i = 0; i < second.length; i++) {
            vm.assertTrue(registry.currentPolicyCovers(hospital, second[i]), "new purpose covered");
        }
        vm.assertEq(registry.currentPolicyCovers(hospital, probe), _contains(second, probe), "any purpose");

        (bytes32 h1,, bytes32[] memory p1) = registry.policy(hospital, 1);
        (bytes32 h2,, bytes32[] memory p2) = registry.policy(hospital, 2);
        vm.assertEq(h1, firstHash, "first hash");
        vm.assertEq(h2, secondHash, "second hash");
        vm.assertEq(p1, first, "first purposes");
        vm.assertEq(p2, second, "second purposes");
    }

    /// @dev Any number of publications gives versions 1..n; only n is current.
    function testFuzz_versionsAreConsecutive(uint8 count, bytes32 purpose) public {
        uint256 n = bound(count, 1, 20);
        for (uint256 i = 1; i <= n; i++) {
            vm.assertEq(uint256(_publish(lab, keccak256(abi.encode(i)), _purposes(purpose))), i, "version");
        }
        assertVersion(lab, n);
        vm.assertTrue(registry.currentPolicyCovers(lab, purpose), "purpose covered");
        vm.expectRevert(abi.encodeWithSelector(PolicyRegistry.UnknownPolicyVersion.selector, lab, uint32(n + 1)));
        registry.policy(lab, uint32(n + 1));
    }

    function assertVersion(address organization, uint256 expected) internal view {
        vm.assertEq(uint256(registry.currentPolicyVersion(organization)), expected, "current version");
    }

    /// @dev `list` cut to at most 16 purposes, or `[fallbackPurpose]` if empty (a policy needs one).
    function _someOf(bytes32[] memory list, bytes32 fallbackPurpose) internal pure returns (bytes32[] memory) {
        if (list.length == 0) return _purposes(fallbackPurpose);
        if (list.length > 16) {
            assembly ("memory-safe") {
                mstore(list, 16)
            }
        }
        return list;
    }

    function _contains(bytes32[] memory list, bytes32 item) internal pure returns (bool) {
        for (uint256 i = 0; i < list.length; i++) {
            if (list[i] == item) return true;
        }
        return false;
    }
}
