"""What the ledger recorded about a grant, read from the chain: the transaction receipt's
ConsentGranted logs and the policy version's PolicyPublished event.

Both consent-receipt building and verifying start here, so a receipt is always checked
against the chain by the same reading that wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.types import TxReceipt

from collective.chain import Chain
from collective.errors import ChainError, NotFoundError
from collective.types import Address

GRANTED_TOPIC: Final = keccak(
    text="ConsentGranted(address,address,bytes32,bytes32,uint64,uint32,address)"
)
POLICY_TOPIC: Final = keccak(text="PolicyPublished(address,uint32,bytes32,string,bytes32[])")
SIGNED_GRANTS: Final = ("grantSigned", "grantSignedBatch")
"""The ledger functions that relay a grant an identity signed (EIP-712)."""


@dataclass(frozen=True)
class GrantLog:
    """One ConsentGranted log of the ledger, decoded.

    ``purpose`` and ``category`` are the 32-byte codes; ``expiry`` is epoch seconds as logged
    (2^64 - 1 for "until withdrawn"); ``agent`` is the owner or delegate who authorized it.
    """

    log_index: int
    identity: Address
    organization: Address
    purpose: bytes
    category: bytes
    expiry: int
    policy_version: int
    agent: Address


def find_tx_receipt(chain: Chain, tx_hash: str) -> TxReceipt | None:
    """The transaction receipt of ``tx_hash`` (``0x`` + 64 hex), or None when the chain does
    not know the transaction (or has not mined it).

    Raises:
        ChainError: the node could not be asked.
    """
    try:
        return chain.get_transaction_receipt(tx_hash)
    except NotFoundError:
        return None


def decode_grant(log: Mapping[str, Any]) -> GrantLog | None:
    """Decode a log (web3's shape) as ConsentGranted; None when it is another event or does
    not decode. The log's address is not checked (see :func:`grant_logs`)."""
    topics = [bytes(t) for t in log["topics"]]
    if len(topics) != 4 or topics[0] != GRANTED_TOPIC:
        return None
    try:
        category, expiry, version, agent = abi.decode(
            ["bytes32", "uint64", "uint32", "address"], bytes(log["data"])
        )
    except (DecodingError, ValueError, OverflowError):
        return None
    return GrantLog(
        log_index=int(log["logIndex"]),
        identity=Address(to_checksum_address(topics[1][-20:])),
        organization=Address(to_checksum_address(topics[2][-20:])),
        purpose=topics[3],
        category=bytes(category),
        expiry=int(expiry),
        policy_version=int(version),
        agent=Address(to_checksum_address(agent)),
    )


def grant_logs(tx_receipt: Mapping[str, Any], ledger_address: str) -> list[GrantLog]:
    """The ConsentGranted logs the ledger at ``ledger_address`` (checksummed) emitted in a
    transaction, in log order; logs of other addresses are ignored."""
    grants = []
    for log in tx_receipt["logs"]:
        if to_checksum_address(log["address"]) != ledger_address:
            continue
        grant = decode_grant(log)
        if grant is not None:
            grants.append(grant)
    return grants


def signed_selectors(ledger_abi: Sequence[Mapping[str, Any]]) -> set[bytes]:
    """The 4-byte selectors of :data:`SIGNED_GRANTS` in the ledger's ABI: calldata starting
    with one of them is a relayed, EIP-712-signed grant."""
    return {
        function_abi_to_4byte_selector(cast(Any, entry))
        for entry in ledger_abi
        if entry.get("type") == "function" and entry.get("name") in SIGNED_GRANTS
    }


def read_policy(
    chain: Chain, ledger: Contract, organization: str, version: int, from_block: int, to_block: int
) -> tuple[str, int, str]:
    """A policy version as the ledger holds it: the ``policy(org, version)`` view, then the
    URI from its PolicyPublished event.

    Args:
        chain: the chain; ledger: the ConsentLedger contract on it.
        organization: the organization's address; version: the policy version.
        from_block, to_block: the block range to look for the event in (the ledger's
            deployment block to the grant's).

    Returns:
        (content hash as ``0x`` + 64 hex, publication time in epoch seconds, URI).

    Raises:
        TransactionError: the view reverted (no such version).
        ChainError: the node failed, or has no PolicyPublished event for it (pruned logs).
    """
    content_hash, published_at, _ = chain.call(ledger.functions.policy(organization, version))
    org_topic = "0x" + bytes.fromhex(organization[2:]).rjust(32, b"\0").hex()
    version_topic = "0x" + version.to_bytes(32, "big").hex()
    logs = chain.get_logs(
        {
            "address": ledger.address,
            "topics": ["0x" + POLICY_TOPIC.hex(), org_topic, version_topic],
            "fromBlock": from_block,
            "toBlock": to_block,
        }
    )
    uri: str | None = None
    for log in logs:
        try:
            _, logged_uri, _ = abi.decode(["bytes32", "string", "bytes32[]"], bytes(log["data"]))
        except (DecodingError, ValueError, OverflowError):
            continue
        uri = str(logged_uri)
        break
    if uri is None:
        raise ChainError(
            f"{chain.where} has no PolicyPublished event for policy {version} of {organization}",
            hint="the node may have pruned old logs: use an archive node",
        )
    return "0x" + bytes(content_hash).hex(), int(published_at), uri


__all__ = [
    "GRANTED_TOPIC",
    "POLICY_TOPIC",
    "GrantLog",
    "decode_grant",
    "find_tx_receipt",
    "grant_logs",
    "read_policy",
    "signed_selectors",
]
