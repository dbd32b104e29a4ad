// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DisclosureLog} from "../../../contracts/DisclosureLog.sol";
import {LedgerSigning} from "./LedgerFixture.sol";

/// @notice EIP-712 digests of DisclosureLog's signed requests, built from the type strings as a
///         client builds them (not from the ledger's constants), in the ledger's domain
///         ("Collective" / "2", chain id, verifying contract). Usable from tests and handlers.
abstract contract DisclosureSigning is LedgerSigning {
    bytes32 internal constant DISCLOSURE_GRANT_TYPEHASH = keccak256(
        "DisclosureGrant(address identity,address discloser,address recipient,bytes32 purpose,bytes32 category,uint64 expiry,uint32 policyVersion,bytes32 policyHash,uint64 nonce,uint64 deadline)"
    );
    bytes32 internal constant DISCLOSURE_WITHDRAWAL_TYPEHASH = keccak256(
        "DisclosureWithdrawal(address identity,address discloser,address recipient,bytes32 purpose,bytes32 category,uint64 nonce,uint64 deadline)"
    );

    /// @dev The digest a subject signs for `g` on the ledger at `ledger` (EIP-712 hashStruct of
    ///      the eleven static fields, in two abi.encode halves that concatenate to one encoding).
    function _disclosureGrantDigest(address ledger, DisclosureLog.DisclosureGrant memory g)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(DISCLOSURE_GRANT_TYPEHASH, g.identity, g.discloser, g.recipient, g.purpose, g.category),
                abi.encode(g.expiry, g.policyVersion, g.policyHash, g.nonce, g.deadline)
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(ledger), structHash));
    }

    /// @dev The digest a subject signs for `w` on the ledger at `ledger`.
    function _disclosureWithdrawalDigest(address ledger, DisclosureLog.DisclosureWithdrawal memory w)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                DISCLOSURE_WITHDRAWAL_TYPEHASH,
                w.identity,
                w.discloser,
                w.recipient,
                w.purpose,
                w.category,
                w.nonce,
                w.deadline
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(ledger), structHash));
    }
}
