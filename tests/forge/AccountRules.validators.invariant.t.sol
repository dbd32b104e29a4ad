// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {Test} from "./base/Test.sol";
import {Vm} from "./base/Vm.sol";

/// @notice Drives AccountRules' membership and validator functions over a few organizations and
///         keys (so keys collide), and replays every ValidatorPowerChanged into the validator set
///         CometBFT would hold, as the consortium's ABCI application does.
contract ValidatorsHandler is Test {
    bytes32 internal constant POWER_CHANGED = keccak256("ValidatorPowerChanged(address,bytes32,uint64)");
    address internal constant BOARD = address(0xB0A2D);
    uint256 internal constant ORGS = 4;
    uint256 public constant KEYS = 5;

    AccountRules public immutable rules;
    /// @notice The set CometBFT holds after applying every event: key => power (0: not in it).
    mapping(bytes32 => uint64) public cometPower;
    /// @notice Events that would make CometBFT fail or do nothing: a power 0 for a key not in
    ///         its set, or the power a key already has.
    uint256 public removalsOfUnknownKeys;
    uint256 public noOpUpdates;
    uint256 public changes;

    constructor() {
        address[] memory admins = new address[](1);
        admins[0] = address(this);
        rules = new AccountRules(admins);
        rules.setBoard(BOARD);
        vm.recordLogs();
    }

    function org(uint256 i) public pure returns (address) {
        return address(uint160(0x1000 + (i % ORGS)));
    }

    function key(uint256 i) public pure returns (bytes32) {
        return bytes32(0x1100 + (i % KEYS));
    }

    function admit(uint256 o) external {
        try rules.admit(org(o)) {} catch {}
        _replay();
    }

    function remove(uint256 o) external {
        try rules.remove(org(o)) {} catch {}
        _replay();
    }

    function suspend(uint256 o, bool byBoard) external {
        if (byBoard) vm.prank(BOARD);
        try rules.suspend(org(o)) {} catch {}
        _replay();
    }

    function reinstate(uint256 o, bool byBoard) external {
        if (byBoard) vm.prank(BOARD);
        try rules.reinstate(org(o)) {} catch {}
        _replay();
    }

    function setValidator(uint256 o, uint256 k, uint64 power) external {
        power = uint64(bound(power, 0, 3)); // 0 removes; small powers so that repeats happen
        bytes32 pubKey = key(k);
        if (power == 0) (pubKey,,) = rules.validatorOf(org(o)); // its own key, or 0 (refused)
        vm.prank(BOARD);
        try rules.setValidator(org(o), pubKey, power) {} catch {}
        _replay();
    }

    function _replay() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(rules) || logs[i].topics[0] != POWER_CHANGED) continue;
            bytes32 pubKey = logs[i].topics[2];
            uint64 power = abi.decode(logs[i].data, (uint64));
            if (power == 0 && cometPower[pubKey] == 0) removalsOfUnknownKeys++;
            if (power == cometPower[pubKey]) noOpUpdates++;
            cometPower[pubKey] = power;
            changes++;
        }
    }
}

/// @notice What the ABCI application relies on: replaying the events gives exactly the effective
///         powers AccountRules reports; no event removes a key CometBFT does not have or repeats a
///         power; one key per organization and one organization per key.
contract AccountRulesValidatorsInvariantTest is Test {
    ValidatorsHandler internal handler;
    AccountRules internal rules;

    function setUp() public {
        handler = new ValidatorsHandler();
        rules = handler.rules();
        targetContract(address(handler));
    }

    /// @dev The handler sees the events it replays (else the invariants below would hold vacuously).
    function test_theHandlerReplaysEvents() public {
        handler.admit(0);
        handler.setValidator(0, 0, 2);
        handler.suspend(0, false);
        vm.assertEq(handler.changes(), 2, "set, then suspended");
        vm.assertEq(uint256(handler.cometPower(handler.key(0))), 0, "out while suspended");
        handler.reinstate(0, false);
        vm.assertEq(uint256(handler.cometPower(handler.key(0))), 2, "back");
    }

    function invariant_eventsReplayToTheEffectivePowers() public view {
        (address[] memory orgs, bytes32[] memory keys, uint64[] memory powers) = rules.validators();
        uint256 inSet = 0;
        for (uint256 i = 0; i < orgs.length; i++) {
            vm.assertEq(uint256(handler.cometPower(keys[i])), uint256(powers[i]), "replayed power");
            (bytes32 k,, uint64 effective) = rules.validatorOf(orgs[i]);
            vm.assertEq(k, keys[i], "validatorOf agrees with validators");
            vm.assertEq(uint256(effective), uint256(powers[i]), "effective power agrees");
            if (powers[i] != 0) inSet++;
        }
        uint256 replayed = 0;
        for (uint256 k = 0; k < handler.KEYS(); k++) {
            if (handler.cometPower(handler.key(k)) != 0) replayed++;
        }
        vm.assertEq(replayed, inSet, "no key left in CometBFT's set that AccountRules dropped");
    }

    function invariant_noUpdateCometBftWouldRefuse() public view {
        vm.assertEq(handler.removalsOfUnknownKeys(), 0, "power 0 only for a key in the set");
        vm.assertEq(handler.noOpUpdates(), 0, "an event only when the effective power changes");
    }

    function invariant_oneKeyPerOrganizationAndOneOrganizationPerKey() public view {
        (address[] memory orgs, bytes32[] memory keys,) = rules.validators();
        for (uint256 i = 0; i < orgs.length; i++) {
            vm.assertTrue(keys[i] != bytes32(0), "no zero key");
            vm.assertTrue(rules.statusOf(orgs[i]) != AccountRules.Status.None, "only admitted organizations");
            for (uint256 j = i + 1; j < orgs.length; j++) {
                vm.assertTrue(orgs[i] != orgs[j], "an organization listed once");
                vm.assertTrue(keys[i] != keys[j], "a key held once");
            }
        }
    }
}
