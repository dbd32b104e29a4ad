"""Pre-signed workloads the benchmarks send: direct consent grants, and the set-up that lets
a chain take them (funded, admitted subjects; a published policy).

Every transaction is signed here, offline, with explicit nonces, so a benchmark times only
what the chain does with them.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

from eth_abi.abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from collective.ledger.signing import code

FAR_FUTURE = 2**40  # an expiry no benchmark reaches (Unix seconds)
GRANT_GAS = 120_000
GRANT = keccak(text="grant(address,address,bytes32,bytes32,uint64,uint32)")[:4]
RESEARCH = "dpv:ResearchAndDevelopment"


def sign_tx(
    account: LocalAccount,
    chain_id: int,
    nonce: int,
    to: str,
    data: bytes = b"",
    *,
    gas: int = GRANT_GAS,
    value: int = 0,
) -> bytes:
    """One EIP-1559 transaction signed by ``account`` (fees: 50 gwei cap, 1 gwei tip).

    Returns: its raw bytes."""
    tx: dict[str, Any] = {
        "chainId": chain_id, "nonce": nonce, "to": to, "data": data, "gas": gas,
        "maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 10**9, "value": value,
    }  # fmt: skip
    return bytes(account.sign_transaction(tx).raw_transaction)


def sign_grants(
    subjects: Sequence[LocalAccount],
    ledger: str,
    organization: str,
    count: int,
    chain_id: int,
    nonces: MutableMapping[str, int],
    salt: str,
) -> list[bytes]:
    """``count`` direct ``ConsentLedger.grant`` calls, round robin over ``subjects``, each for
    a category of its own (``<salt>-<i>``), purpose ``dpv:ResearchAndDevelopment``, policy
    version 1 of ``organization``, no expiry.

    Args: ``ledger``/``organization``, 0x addresses; ``nonces``, each subject's next nonce
    by address (advanced here). Returns: the raw transactions, in sending order."""
    research = code(RESEARCH)
    raws = []
    for i in range(count):
        subject = subjects[i % len(subjects)]
        data = GRANT + encode(
            ["address", "address", "bytes32", "bytes32", "uint64", "uint32"],
            [subject.address, organization, research, code(f"{salt}-{i}"), FAR_FUTURE, 1],
        )
        raws.append(sign_tx(subject, chain_id, nonces[subject.address], ledger, data))
        nonces[subject.address] += 1
    return raws


__all__ = ["FAR_FUTURE", "GRANT_GAS", "RESEARCH", "sign_grants", "sign_tx"]
