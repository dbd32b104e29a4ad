// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "../../contracts/AccountRules.sol";
import {ChainBoundDeployer} from "../../contracts/ChainBoundDeployer.sol";
import {ConsentLedger} from "../../contracts/ConsentLedger.sol";
import {DIDRegistry} from "../../contracts/DIDRegistry.sol";
import {LedgerSigning} from "./base/LedgerFixture.sol";

/// @notice Issue 10, item 3: the ledger is created through ChainBoundDeployer (CREATE2 salted with
///         keccak256(abi.encode(block.chainid, salt))), so the same deployer, salt and code give a
///         different ledger address on every chain, and an ERC-1056 signature (whose digest names
///         the registry's address but no chain id) made for one chain's ledger does not act on
///         another's.
contract ChainBoundDeployerTest is LedgerSigning {
    event Deployed(address indexed deployed, bytes32 indexed salt, bytes32 initCodeHash);

    bytes32 internal constant SALT = "collective/ledger";
    uint256 internal constant MAINNET = 1;
    uint256 internal constant PRIVATE_NET = 2018;
    uint256 internal constant PATIENT_KEY = 0xA11CE;

    ChainBoundDeployer internal deployer;
    AccountRules internal rules;
    bytes internal ledgerInitCode;

    function setUp() public {
        deployer = new ChainBoundDeployer();
        address[] memory admins = new address[](1);
        admins[0] = address(this);
        rules = new AccountRules(admins);
        ledgerInitCode = abi.encodePacked(type(ConsentLedger).creationCode, abi.encode(rules));
    }

    /// @dev The EIP-1014 address of a plain CREATE2 with `salt` (what a deployer without the chain
    ///      binding would give).
    function _plainCreate2(bytes32 salt, bytes32 initCodeHash) internal view returns (address) {
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(deployer), salt, initCodeHash))))
        );
    }

    function _chainBound(uint256 chainId, bytes32 salt, bytes32 initCodeHash) internal view returns (address) {
        return _plainCreate2(keccak256(abi.encode(chainId, salt)), initCodeHash);
    }

    function test_deployLandsAtAddressOfAndEmits() public {
        vm.chainId(PRIVATE_NET);
        bytes32 codeHash = keccak256(ledgerInitCode);
        address expected = deployer.addressOf(SALT, codeHash);
        vm.assertEq(expected, _chainBound(PRIVATE_NET, SALT, codeHash), "salt = keccak256(chainid, salt)");
        vm.assertNotEq(expected, _plainCreate2(SALT, codeHash), "not the unbound CREATE2 address");
        vm.expectEmit(true, true, false, true, address(deployer));
        emit Deployed(expected, SALT, codeHash);
        address deployed = deployer.deploy(ledgerInitCode, SALT);
        vm.assertEq(deployed, expected, "deploy == addressOf");
        vm.assertGt(deployed.code.length, 0, "code at the address");
        vm.assertEq(address(ConsentLedger(deployed).accountRules()), address(rules), "constructor argument");
    }

    function test_sameSaltTwiceOnOneChainFails() public {
        deployer.deploy(ledgerInitCode, SALT);
        vm.expectRevert(abi.encodeWithSelector(ChainBoundDeployer.DeploymentFailed.selector, SALT));
        deployer.deploy(ledgerInitCode, SALT);
    }

    function test_revertingConstructorFails() public {
        // AccountRules with no admins reverts in its constructor.
        bytes memory initCode = abi.encodePacked(type(AccountRules).creationCode, abi.encode(new address[](0)));
        vm.expectRevert(abi.encodeWithSelector(ChainBoundDeployer.DeploymentFailed.selector, SALT));
        deployer.deploy(initCode, SALT);
    }

    function test_sameDeployerSaltAndCodeGiveDifferentLedgersOnTwoChains() public {
        vm.chainId(MAINNET);
        address onMainnet = deployer.deploy(ledgerInitCode, SALT);
        vm.chainId(PRIVATE_NET);
        address onPrivate = deployer.deploy(ledgerInitCode, SALT);
        vm.assertNotEq(onMainnet, onPrivate, "a ledger address per chain");
        vm.assertEq(onPrivate, deployer.addressOf(SALT, keccak256(ledgerInitCode)), "addressOf on this chain");
    }

    /// @dev The replay of item 3: a `changeOwnerSigned` signed for the ledger on one chain does
    ///      not change the owner on another chain's ledger (made by the same deployer, salt and
    ///      code), because the two ledgers' addresses, and so the ERC-1056 digests, differ.
    function test_signedOwnerChangeDoesNotReplayOnAnotherChain() public {
        address patient = vm.addr(PATIENT_KEY);
        address newOwner = address(0xBEEF);
        vm.chainId(MAINNET);
        DIDRegistry ledgerA = DIDRegistry(deployer.deploy(ledgerInitCode, SALT));
        vm.chainId(PRIVATE_NET);
        DIDRegistry ledgerB = DIDRegistry(deployer.deploy(ledgerInitCode, SALT));

        bytes32 digestA = _changeOwnerDigest(address(ledgerA), 0, patient, newOwner);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PATIENT_KEY, digestA);

        // Replayed on chain B's ledger, the signature recovers to some unrelated address.
        address recoveredOnB = ecrecover(_changeOwnerDigest(address(ledgerB), 0, patient, newOwner), v, r, s);
        vm.assertNotEq(recoveredOnB, patient, "not the patient on B");
        vm.expectRevert(abi.encodeWithSelector(DIDRegistry.NotIdentityOwner.selector, patient, recoveredOnB));
        ledgerB.changeOwnerSigned(patient, v, r, s, newOwner);
        vm.assertEq(ledgerB.identityOwner(patient), patient, "B unchanged");

        // On chain A's own ledger it is accepted.
        vm.chainId(MAINNET);
        ledgerA.changeOwnerSigned(patient, v, r, s, newOwner);
        vm.assertEq(ledgerA.identityOwner(patient), newOwner, "A changed");
    }

    /// @dev The EIP-712 domain follows the chain too (a ledger's cached separator is recomputed
    ///      under another chain id).
    function test_domainSeparatorNamesChainAndLedger() public {
        vm.chainId(PRIVATE_NET);
        ConsentLedger ledger = ConsentLedger(deployer.deploy(ledgerInitCode, SALT));
        vm.assertEq(ledger.DOMAIN_SEPARATOR(), _domainSeparator(address(ledger)), "separator on its chain");
        vm.chainId(MAINNET);
        vm.assertEq(ledger.DOMAIN_SEPARATOR(), _domainSeparator(address(ledger)), "separator under another id");
    }

    /// @dev For any two distinct chain ids and any salt, the addresses differ, and each chain's
    ///      `addressOf` is where its `deploy` lands.
    function testFuzz_distinctChainsGiveDistinctAddresses(uint64 chainA, uint64 chainB, bytes32 salt) public {
        chainA = uint64(bound(chainA, 1, type(uint64).max - 1));
        chainB = uint64(bound(chainB, 1, type(uint64).max - 1));
        vm.assume(chainA != chainB);
        bytes memory initCode = type(Probe).creationCode;
        bytes32 codeHash = keccak256(initCode);

        vm.chainId(chainA);
        address predictedA = deployer.addressOf(salt, codeHash);
        address deployedA = deployer.deploy(initCode, salt);
        vm.chainId(chainB);
        address predictedB = deployer.addressOf(salt, codeHash);
        address deployedB = deployer.deploy(initCode, salt);

        vm.assertEq(deployedA, predictedA, "A: deploy == addressOf");
        vm.assertEq(deployedB, predictedB, "B: deploy == addressOf");
        vm.assertNotEq(deployedA, deployedB, "distinct chains, distinct addresses");
        vm.assertEq(Probe(deployedA).chainAtDeploy(), chainA, "A's code ran on A");
        vm.assertEq(Probe(deployedB).chainAtDeploy(), chainB, "B's code ran on B");
    }

    /// @dev No caller-chosen salt on one chain reproduces another chain's address: the salt a
    ///      caller would need is the other chain's keccak256(chainid, salt), which this chain
    ///      hashes again.
    function testFuzz_callerCannotPickAnotherChainsSalt(uint64 chainA, uint64 chainB, bytes32 salt) public {
        chainA = uint64(bound(chainA, 1, type(uint64).max - 1));
        chainB = uint64(bound(chainB, 1, type(uint64).max - 1));
        vm.assume(chainA != chainB);
        bytes32 codeHash = keccak256(ledgerInitCode);
        vm.chainId(chainA);
        address target = deployer.addressOf(salt, codeHash);
        vm.chainId(chainB);
        vm.assertNotEq(deployer.addressOf(salt, codeHash), target, "same salt");
        vm.assertNotEq(deployer.addressOf(keccak256(abi.encode(uint256(chainA), salt)), codeHash), target, "A's salt");
    }
}

/// @dev A tiny contract to deploy in fuzz runs (cheaper than a ledger): it remembers its chain id.
contract Probe {
    uint256 public immutable chainAtDeploy = block.chainid;
}
