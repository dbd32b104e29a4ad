// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "./AccountRules.sol";
import {DisclosureLog} from "./DisclosureLog.sol";
import {ErasureRegistry} from "./ErasureRegistry.sol";
import {RulesConsumer} from "./RulesConsumer.sol";

/// @title ConsentLedger
/// @notice The deployed ledger: DIDRegistry (ERC-1056), PolicyRegistry, ConsentRegistry,
///         DataUsageLog, DisclosureLog and ErasureRegistry at one address, so the hot paths
///         (grant, withdraw, recordUse, recordDisclosure) read identity, policy, consent and
///         erasure state from local storage instead of paying for cold cross-contract calls.
///         Each module keeps its own functions, events and errors.
contract ConsentLedger is DisclosureLog, ErasureRegistry {
    /// @param rules The consortium's AccountRules.
    constructor(AccountRules rules) RulesConsumer(rules) {}
}
