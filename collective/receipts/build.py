"""Building consent receipts from a grant transaction on the deployment's ConsentLedger.

:func:`build_receipts` reads the transaction's receipt, its ConsentGranted logs, the block,
the transaction's sender and calldata, and the policy version the grant names, and writes one
:class:`~collective.receipts.model.ConsentReceipt` (ISO/IEC TS 27560 consent record, Kantara
CR v1.1) per grant. What the chain does not know (the controller's name and contacts, the
language, the jurisdiction, the service) comes from the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils.address import to_checksum_address
from web3.contract import Contract

from collective.chain import Chain
from collective.chain.codec import consent_id
from collective.deploy import LEDGER, Deployment
from collective.did import format_did
from collective.errors import InvalidInputError, NotFoundError
from collective.ledger import vocab
from collective.receipts.grants import (
    GrantLog,
    find_tx_receipt,
    grant_logs,
    read_policy,
    signed_selectors,
)
from collective.receipts.model import (
    DIRECT,
    RELAYED,
    ConsentReceipt,
    Evidence,
    PiiController,
    receipt_id_of,
    termination_of,
)
from collective.types import Address, Code, ConsentId, TxHash

CONTROLLER_KEYS = ("name", "contact", "url", "email", "phone", "address")
"""What ``controller`` may say about the organization (``address`` is a postal address)."""


def ledger_of(chain: Chain, deployment: Deployment) -> Contract:
    """The deployment's ConsentLedger contract on ``chain``.

    Raises:
        ChainError: ``chain`` is not the deployment's chain.
    """
    return deployment.bind(chain).contract(LEDGER)


def normalize_tx_hash(value: str | bytes) -> TxHash:
    """A transaction hash given as 32 bytes or ``0x`` + 64 hex, as lowercase ``0x`` hex.

    Raises:
        InvalidInputError: it is neither.
    """
    raw: bytes
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str) and value.startswith("0x"):
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raw = b""
    else:
        raw = b""
    if len(raw) != 32:
        raise InvalidInputError(
            f"{value!r} is not a transaction hash", hint="expected 0x and 64 hex digits"
        )
    return TxHash("0x" + raw.hex())


def controller_of(organization: str, controller: Mapping[str, str] | None) -> PiiController:
    """The :class:`PiiController` of ``organization`` with the caller's details.

    Raises:
        InvalidInputError: an unknown key (see :data:`CONTROLLER_KEYS`) or an empty value.
    """
    if controller is None:
        return PiiController(organization)
    unknown = sorted(set(controller) - set(CONTROLLER_KEYS))
    if unknown:
        raise InvalidInputError(
            f"unknown controller field(s): {', '.join(unknown)}",
            hint=f"known: {', '.join(CONTROLLER_KEYS)}",
        )
    for key, value in controller.items():
        if not isinstance(value, str) or not value:
            raise InvalidInputError(f"controller field {key!r} must be a non-empty string")
    return PiiController(organization, **dict(controller))


def _name(code: bytes, names: Mapping[bytes, str] | None, what: str) -> str:
    """The DPV name of a purpose or category code: from ``names``, else the vocabulary."""
    if names is not None and code in names:
        name = names[code]
        if vocab.code_of(name) != code:
            raise InvalidInputError(
                f"names maps {what} 0x{code.hex()} to {name!r}, whose code is "
                f"0x{vocab.code_of(name).hex()}"
            )
        return name
    return vocab.name_of(code)


def receipt_from_chain(
    chain: Chain,
    ledger: Contract,
    tx_receipt: Mapping[str, Any],
    grant: GrantLog,
    *,
    controller: PiiController,
    language: str,
    jurisdiction: str | None,
    service: str | None,
    names: Mapping[bytes, str] | None,
    from_block: int,
) -> ConsentReceipt:
    """The consent receipt of one grant log of a mined transaction.

    Args:
        chain: the chain; ledger: the ConsentLedger on it.
        tx_receipt: the grant transaction's receipt (web3's shape).
        grant: one of its ConsentGranted logs (:func:`~collective.receipts.grants.grant_logs`).
        controller, language, jurisdiction, service: what the chain does not record.
        names: purpose and category names by code, for terms not in the vocabulary.
        from_block: the first block to look for the policy's PolicyPublished event in.

    Raises:
        InvalidInputError: ``names`` maps a code to a name of another code.
        NotFoundError: the transaction or its block is gone (a reorg since it was read).
        ChainError: the node failed, or has pruned the policy's event.
    """
    block_number = int(tx_receipt["blockNumber"])
    tx_hash = "0x" + bytes(tx_receipt["transactionHash"]).hex()
    block = chain.get_block(block_number)
    tx = chain.get_transaction(tx_hash)
    sender = Address(to_checksum_address(tx["from"]))
    calldata = bytes(tx.get("input", b""))
    relayed = calldata[:4] in signed_selectors(ledger.abi) or grant.agent != sender
    policy_hash, published_at, uri = read_policy(
        chain, ledger, grant.organization, grant.policy_version, from_block, block_number
    )
    purpose = _name(grant.purpose, names, "purpose")
    category = _name(grant.category, names, "category")
    sensitive = vocab.is_special_category(category)
    evidence = Evidence(
        chain_id=chain.chain_id,
        contract=Address(to_checksum_address(ledger.address)),
        transaction_hash=TxHash(tx_hash),
        block_number=block_number,
        block_hash="0x" + bytes(tx_receipt["blockHash"]).hex(),
        log_index=grant.log_index,
        consent_id=ConsentId(
            consent_id(grant.identity, grant.organization, grant.purpose, grant.category)
        ),
        identity=grant.identity,
        organization=grant.organization,
        purpose=Code("0x" + grant.purpose.hex()),
        category=Code("0x" + grant.category.hex()),
        policy_version=grant.policy_version,
        policy_hash=policy_hash,
        expiry=grant.expiry,
        agent=grant.agent,
        sender=sender,
    )
    return ConsentReceipt(
        receipt_id=receipt_id_of(chain.chain_id, tx_hash, grant.log_index),
        consent_timestamp=int(block["timestamp"]),
        collection_method=RELAYED if relayed else DIRECT,
        language=language,
        jurisdiction=jurisdiction,
        pii_principal_id=format_did(grant.identity, chain.chain_id),
        controller=controller,
        policy_url=uri,
        policy_published_at=published_at,
        service=service
        or f"{controller.name or grant.organization} policy v{grant.policy_version}",
        purpose=purpose,
        category=category,
        termination=termination_of(grant.expiry),
        sensitive=sensitive,
        spi_categories=(category,) if sensitive else (),
        evidence=evidence,
    )


def build_receipts(
    chain: Chain,
    deployment: Deployment,
    tx_hash: str | bytes,
    *,
    controller: Mapping[str, str] | None = None,
    language: str = "en",
    jurisdiction: str | None = None,
    service: str | None = None,
    names: Mapping[bytes, str] | None = None,
) -> list[ConsentReceipt]:
    """A consent receipt for every consent the transaction granted on the deployment's
    ConsentLedger (logs of any other contract are ignored).

    Args:
        chain: the chain; deployment: the suite on it.
        tx_hash: the grant transaction (``grant``, ``grantBatch``, ``grantSigned`` or
            ``grantSignedBatch``), as ``0x`` + 64 hex or 32 bytes.
        controller: what the chain does not know about the organization: ``name``,
            ``contact``, ``url``, ``email``, ``phone``, ``address`` (postal).
        language: the receipt's language tag (``"en"``).
        jurisdiction: the jurisdiction, if one is to be named.
        service: the service's name; default ``"<controller> policy v<N>"``.
        names: purpose and category names by code, when they are not in
            :mod:`collective.ledger.vocab`.

    Returns:
        The receipts, in log order.

    Raises:
        InvalidInputError: a malformed hash, controller, language or ``names``.
        NotFoundError: no such transaction; or it reverted, or granted nothing on this ledger.
        ChainError: the node failed.
    """
    tx_hash = normalize_tx_hash(tx_hash)
    ledger = ledger_of(chain, deployment)
    ledger_address = to_checksum_address(ledger.address)
    tx_receipt = find_tx_receipt(chain, tx_hash)
    if tx_receipt is None:
        raise NotFoundError(f"there is no transaction {tx_hash} on {chain.where}")
    if tx_receipt["status"] != 1:
        raise NotFoundError(f"transaction {tx_hash} reverted: it granted nothing")
    grants = grant_logs(tx_receipt, ledger_address)
    if not grants:
        raise NotFoundError(
            f"transaction {tx_hash} granted no consent on the ConsentLedger at {ledger_address}",
            hint="give the hash of a grant, grantBatch, grantSigned or grantSignedBatch "
            "transaction to this deployment",
        )
    language = language.strip() if isinstance(language, str) else ""
    if not language:
        raise InvalidInputError("the receipt's language must be a language tag such as 'en'")
    return [
        receipt_from_chain(
            chain,
            ledger,
            tx_receipt,
            grant,
            controller=controller_of(grant.organization, controller),
            language=language,
            jurisdiction=jurisdiction,
            service=service,
            names=names,
            from_block=deployment.blocks.get(LEDGER, 0),
        )
        for grant in grants
    ]


def build_receipt(
    chain: Chain,
    deployment: Deployment,
    tx_hash: str | bytes,
    *,
    log_index: int | None = None,
    controller: Mapping[str, str] | None = None,
    language: str = "en",
    jurisdiction: str | None = None,
    service: str | None = None,
    names: Mapping[bytes, str] | None = None,
) -> ConsentReceipt:
    """The consent receipt of the consent granted by ``tx_hash`` (see :func:`build_receipts`
    for the arguments).

    A transaction that granted several consents (a batch) needs ``log_index`` to choose one;
    :func:`build_receipts` returns them all.

    Raises:
        InvalidInputError: as for :func:`build_receipts`, and a batch without ``log_index``.
        NotFoundError: as for :func:`build_receipts`, and a ``log_index`` that is not one of
            the transaction's grants.
        ChainError: the node failed.
    """
    receipts = build_receipts(
        chain,
        deployment,
        tx_hash,
        controller=controller,
        language=language,
        jurisdiction=jurisdiction,
        service=service,
        names=names,
    )
    if log_index is not None:
        for receipt in receipts:
            if receipt.log_index == log_index:
                return receipt
        indexes = ", ".join(str(r.log_index) for r in receipts)
        raise NotFoundError(
            f"log {log_index} of transaction {receipts[0].tx_hash} is not a ConsentGranted "
            f"event of the ledger",
            hint=f"its grants are at log index {indexes}",
        )
    if len(receipts) > 1:
        indexes = ", ".join(str(r.log_index) for r in receipts)
        raise InvalidInputError(
            f"transaction {receipts[0].tx_hash} granted {len(receipts)} consents",
            hint=f"choose one with log_index ({indexes}), or use build_receipts for all",
        )
    return receipts[0]


__all__ = [
    "CONTROLLER_KEYS",
    "build_receipt",
    "build_receipts",
    "controller_of",
    "ledger_of",
    "normalize_tx_hash",
    "receipt_from_chain",
]
