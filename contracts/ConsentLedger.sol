// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "./AccountRules.sol";
import {DataUsageLog} from "./DataUsageLog.sol";
import {ErasureRegistry} from "./ErasureRegistry.sol";
import {RulesConsumer} from "./RulesConsumer.sol";

/// @title ConsentLedger
/// @notice The deployed ledger: DIDRegistry (ERC-1056), PolicyRegistry, ConsentRegistry,
///         DataUsageLog and ErasureRegistry at one address, so the hot paths (grant,
///         withdraw, recordUse) read identity, policy, consent and erasure state from local
///         storage instead of paying for cold cross-contract calls. Each module keeps its own functions, events and errors.
contract ConsentLedger is DataUsageLog, ErasureRegistry {
    /// @param rules The consortium's AccountRules.
    constructor(AccountRules rules) RulesConsumer(rules) {}
}
