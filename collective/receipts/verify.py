"""Verifying a consent receipt against the chain, and the consent's state now.

:func:`verify_receipt` rebuilds the receipt from the chain with the same reading that built it
(:func:`~collective.receipts.build.receipt_from_chain`) and compares it field by field; the
consent's state comes from :func:`~collective.ledger.consent_state.read_status`, the one
vocabulary the client, the CLI and the audit use too (active, withdrawn, expired, superseded,
deactivated).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any

from eth_utils.address import to_checksum_address

from collective.chain import Chain
from collective.deploy import LEDGER, Deployment
from collective.did import DidNetworks, network_id
from collective.errors import InvalidInputError
from collective.ledger import vocab
from collective.ledger.consent_state import ConsentState, ConsentStatus, read_status
from collective.receipts.build import ledger_of, receipt_from_chain
from collective.receipts.grants import decode_grant, find_tx_receipt
from collective.receipts.model import ConsentReceipt
from collective.types import Address

Check = tuple[str, bool, str]
"""One check of :func:`verify_receipt`: (the receipt field it is about, passed, detail)."""


@dataclass(frozen=True)
class ReceiptVerification:
    """The outcome of :func:`verify_receipt`.

    ``ok`` is True when every check passed: the receipt is a true record of a grant on this
    chain. ``consent`` is the consent's :class:`~collective.ledger.consent_state.ConsentStatus` now
    (None when the receipt did not verify far enough to tell): its ``state`` is active,
    withdrawn, expired, superseded (the organization published a newer policy version) or
    deactivated (the identity was), and it says separately when an active consent covers no
    use because the organization is suspended. ``renewed`` is True when the consent was
    granted again after this receipt's grant (the state is then the later grant's).
    """

    ok: bool
    checks: list[Check] = field(default_factory=list)
    consent: ConsentStatus | None = None
    renewed: bool = False

    @property
    def status(self) -> ConsentState | None:
        """The consent's state now (a ``str``: ``"active"``, ``"superseded"``, ...)."""
        return self.consent.state if self.consent is not None else None

    @property
    def failures(self) -> list[Check]:
        """The checks that failed, as ``(field, False, detail)``."""
        return [check for check in self.checks if not check[1]]


def _fields(receipt: ConsentReceipt) -> dict[str, Any]:
    """The checkable fields of a receipt, by their JSON names."""
    ev = receipt.evidence
    return {
        "consentReceiptID": receipt.receipt_id,
        "piiPrincipalId": receipt.pii_principal_id,
        "evidence.identity": ev.identity,
        "evidence.organization": ev.organization,
        "piiControllers[0].organization": receipt.controller.organization,
        "services[0].purposes[0].purpose": receipt.purpose,
        "evidence.purpose": ev.purpose,
        "services[0].purposes[0].piiCategory": receipt.category,
        "evidence.category": ev.category,
        "evidence.expiry": ev.expiry,
        "services[0].purposes[0].termination": receipt.termination,
        "evidence.policyVersion": ev.policy_version,
        "evidence.agent": ev.agent,
        "evidence.sender": ev.sender,
        "collectionMethod": receipt.collection_method,
        "evidence.consentId": ev.consent_id,
        "evidence.policyHash": ev.policy_hash,
        "policyUrl": receipt.policy_url,
        "iso27560.privacy_notice.published_at": receipt.policy_published_at,
        "consentTimestamp": receipt.consent_timestamp,
        "sensitive": receipt.sensitive,
        "spiCat": receipt.spi_categories,
    }


def _status(
    chain: Chain, deployment: Deployment, receipt: ConsentReceipt
) -> tuple[ConsentStatus, bool]:
    """The consent's status now, and whether it was granted again after the receipt's grant."""
    ev = receipt.evidence
    status = read_status(
        chain,
        deployment,
        ev.identity,
        ev.organization,
        bytes.fromhex(ev.purpose[2:]),
        bytes.fromhex(ev.category[2:]),
    )
    renewed = status.granted_at != receipt.consent_timestamp or (
        status.expiry,
        status.policy_version,
    ) != (ev.expiry, ev.policy_version)
    return status, renewed


def verify_receipt(
    chain: Chain, deployment: Deployment, receipt: ConsentReceipt | str | bytes
) -> ReceiptVerification:
    """Check a receipt (or its JSON) against the chain; report every check and the status now.

    Checks, each named by the receipt field it is about: the chain id; the transaction exists,
    succeeded, and is in the stated block with the stated block hash (a reorg or a made-up
    transaction fails here); the log at ``logIndex`` is a ConsentGranted event of the
    deployment's ConsentLedger; then every field against what the chain says: identity and
    DID, organization, purpose and category (names must hash to the logged codes), expiry,
    policy version, agent and sender, collection method, consent id, policy hash, URI and
    publication time, the block timestamp, and the receipt id.
    The consent's state now comes from :func:`~collective.ledger.consent_state.read_status`, as
    for ``consent status``.

    Args:
        chain: the chain; deployment: the suite on it.
        receipt: a :class:`ConsentReceipt`, or its JSON (str or bytes).

    Returns:
        Every check as ``(field, passed, detail)``; the consent's status now when the
        receipt's grant was found on chain.

    Raises:
        InvalidInputError: the JSON is not a receipt (the message names the field).
        ChainError: the node failed.
    """
    if not isinstance(receipt, ConsentReceipt):
        receipt = ConsentReceipt.from_json(receipt)
    ledger = ledger_of(chain, deployment)
    ledger_address = Address(to_checksum_address(ledger.address))
    ev = receipt.evidence
    checks: list[Check] = []

    def check(name: str, passed: bool, detail: str) -> bool:
        checks.append((name, passed, detail))
        return passed

    def done() -> ReceiptVerification:
        return ReceiptVerification(ok=False, checks=checks)

    if not check(
        "evidence.chainId",
        ev.chain_id == chain.chain_id,
        f"chain {chain.chain_id}"
        if ev.chain_id == chain.chain_id
        else f"the receipt is for chain {ev.chain_id}, {chain.where} is chain {chain.chain_id}",
    ):
        return done()
    if not check(
        "evidence.contract",
        ev.contract == ledger_address,
        f"the ConsentLedger at {ledger_address}"
        if ev.contract == ledger_address
        else f"the receipt names {ev.contract}, not the deployment's ConsentLedger "
        f"{ledger_address}",
    ):
        return done()
    tx_receipt = find_tx_receipt(chain, ev.transaction_hash)
    if tx_receipt is None:
        check(
            "evidence.transactionHash",
            False,
            f"{chain.where} has no transaction {ev.transaction_hash}",
        )
        return done()
    if not check(
        "evidence.transactionHash",
        tx_receipt["status"] == 1,
        "the transaction succeeded" if tx_receipt["status"] == 1 else "the transaction reverted",
    ):
        return done()
    block_number = int(tx_receipt["blockNumber"])
    if not check(
        "evidence.blockNumber",
        block_number == ev.block_number,
        f"block {block_number}"
        if block_number == ev.block_number
        else f"the transaction is in block {block_number}, not {ev.block_number}",
    ):
        return done()
    block_hash = "0x" + bytes(tx_receipt["blockHash"]).hex()
    canonical = "0x" + bytes(chain.get_block(block_number)["hash"]).hex()
    hash_ok = block_hash == ev.block_hash == canonical
    if not check(
        "evidence.blockHash",
        hash_ok,
        f"block hash {block_hash}"
        if hash_ok
        else f"block {block_number} is {canonical} on {chain.where}, the receipt says "
        f"{ev.block_hash} (a reorg, or an altered receipt)",
    ):
        return done()
    logs = [log for log in tx_receipt["logs"] if int(log["logIndex"]) == ev.log_index]
    log = logs[0] if logs else None
    grant = None
    if log is not None and Address(to_checksum_address(log["address"])) == ledger_address:
        grant = decode_grant(log)
    found = check(
        "evidence.logIndex",
        grant is not None,
        f"log {ev.log_index} is a ConsentGranted event of the ConsentLedger"
        if grant is not None
        else f"log {ev.log_index} of the transaction is not a ConsentGranted event of the "
        f"ConsentLedger at {ledger_address}",
    )
    if not found or grant is None:
        return done()

    # Rebuild the receipt from the chain, keeping what the chain does not record (controller
    # details, language, jurisdiction, service) and the receipt's names where they hash to the
    # logged codes, then compare field by field.
    names: dict[bytes, str] = {}
    for name in (receipt.purpose, receipt.category):
        with suppress(InvalidInputError):
            names[vocab.code_of(name)] = name
    expected = receipt_from_chain(
        chain,
        ledger,
        tx_receipt,
        grant,
        controller=replace(receipt.controller, organization=grant.organization),
        language=receipt.language,
        jurisdiction=receipt.jurisdiction,
        service=receipt.service,
        names=names,
        from_block=deployment.blocks.get(LEDGER, 0),
    )
    want = _fields(expected)
    networks = DidNetworks.of(chain.chain_id, config=deployment.config, connected_as=chain.name)
    for name, value in _fields(receipt).items():
        ok = value == want[name]
        detail = (
            f"{value!r}" if ok else f"the receipt says {value!r}, the chain says {want[name]!r}"
        )
        if name == "piiPrincipalId" and not ok:
            with suppress(InvalidInputError):
                network = network_id(receipt.pii_principal_id)
                if network is not None and not networks.accepts(receipt.pii_principal_id):
                    detail = str(networks.refusal(receipt.pii_principal_id, network, ev.identity))
        check(name, ok, detail)
    ok = all(passed for _, passed, _ in checks)
    consent, renewed = _status(chain, deployment, receipt)
    return ReceiptVerification(ok=ok, checks=checks, consent=consent, renewed=renewed)


__all__ = ["Check", "ReceiptVerification", "verify_receipt"]
