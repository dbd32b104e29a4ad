// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRules} from "./AccountRules.sol";

/// @title RulesConsumer
/// @notice Shared base of the ledger modules: the consortium's AccountRules and the
///         organization checks every module applies.
abstract contract RulesConsumer {
    /// @notice The consortium membership contract consulted for organization status.
    AccountRules public immutable accountRules;

    /// @notice `organization` was never admitted (or was removed) by the consortium.
    error OrganizationNotAdmitted(address organization);
    /// @notice `organization` is suspended by the consortium or the oversight board.
    error OrganizationSuspended(address organization);

    constructor(AccountRules rules) {
        accountRules = rules;
    }

    /// @dev Revert unless `account` is admitted and not suspended.
    function _requireActive(address account) internal view {
        AccountRules.Status status = accountRules.statusOf(account);
        if (status != AccountRules.Status.Active) _revertInactive(account, status);
    }

    /// @dev Revert unless both accounts are admitted and not suspended (`a` is checked first).
    function _requireBothActive(address a, address b) internal view {
        (AccountRules.Status statusA, AccountRules.Status statusB) = accountRules.statusesOf(a, b);
        if (statusA != AccountRules.Status.Active) _revertInactive(a, statusA);
        if (statusB != AccountRules.Status.Active) _revertInactive(b, statusB);
    }

    function _revertInactive(address account, AccountRules.Status status) private pure {
        if (status == AccountRules.Status.Suspended) revert OrganizationSuspended(account);
        revert OrganizationNotAdmitted(account);
    }
}
