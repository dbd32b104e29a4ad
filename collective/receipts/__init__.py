"""Consent receipts: a JSON record of one on-chain grant that anyone can check against the chain.

:func:`build_receipt` reads a grant transaction and writes a :class:`ConsentReceipt`, the
ISO/IEC TS 27560:2023 consent record with the Kantara Initiative Consent Receipt v1.1 fields
and the on-chain proof (see :mod:`collective.receipts.model` for every field);
:func:`verify_receipt` checks one against the chain and reports the consent's state now.

==============  ===========================================================================
``model``       the record: :class:`ConsentReceipt`, :class:`Evidence`, :class:`PiiController`,
                and its JSON both ways
``json_reader`` strict, field-by-field reading of a receipt's JSON
``json_writer`` :func:`receipts_json`: one transaction's receipts as one JSON file
``grants``      what the ledger recorded: ConsentGranted logs, the policy's PolicyPublished
``build``       :func:`build_receipts`, :func:`build_receipt`
``verify``      :func:`verify_receipt`, :class:`ReceiptVerification`
==============  ===========================================================================

"Receipt" alone always means this consent receipt; what a node returns for a mined
transaction is a transaction receipt (``tx_receipt``). Every name importable from
``collective.receipts`` in 0.1 still is.
"""

from __future__ import annotations

from collective.receipts.build import build_receipt, build_receipts
from collective.receipts.grants import GRANTED_TOPIC, POLICY_TOPIC
from collective.receipts.json_writer import receipts_json
from collective.receipts.model import (
    DIRECT,
    ISO_SCHEMA,
    KANTARA_VERSION,
    LAWFUL_BASIS,
    RECEIPT_NAMESPACE,
    RELAYED,
    UNTIL_WITHDRAWN,
    WITHDRAWAL_METHOD,
    ConsentReceipt,
    Evidence,
    PiiController,
    iso_time,
    receipt_id_of,
    termination_of,
)
from collective.receipts.verify import Check, ReceiptVerification, verify_receipt

__all__ = [
    "DIRECT",
    "GRANTED_TOPIC",
    "ISO_SCHEMA",
    "KANTARA_VERSION",
    "LAWFUL_BASIS",
    "POLICY_TOPIC",
    "RECEIPT_NAMESPACE",
    "RELAYED",
    "UNTIL_WITHDRAWN",
    "WITHDRAWAL_METHOD",
    "Check",
    "ConsentReceipt",
    "Evidence",
    "PiiController",
    "ReceiptVerification",
    "build_receipt",
    "build_receipts",
    "iso_time",
    "receipt_id_of",
    "receipts_json",
    "termination_of",
    "verify_receipt",
]
