"""The consent receipt record: one on-chain grant as the ISO/IEC TS 27560:2023 consent record
and the Kantara Initiative Consent Receipt v1.1, with the on-chain proof.

The JSON is one document: the Kantara Initiative Consent Receipt v1.1 fields at the top
level, the ISO/IEC TS 27560:2023 consent-record fields that Kantara has no name for in an
``iso27560`` object, and the on-chain proof in ``evidence``::

    Kantara CR v1.1        ISO/IEC TS 27560      value
    ---------------------  --------------------  ----------------------------------------------
    version                schema_version        "KI-CR-v1.1.0" / "ISO/IEC TS 27560:2023"
    consentReceiptID       record_id             UUID 5 of chain id, tx hash and log index
                                                 (27560: "urn:uuid:<same>")
    consentTimestamp       event.event_time      block timestamp (epoch seconds / ISO-8601 UTC)
    collectionMethod       collection_method     "direct transaction by the identity owner" or
                                                 "EIP-712 signature relayed"
    jurisdiction           jurisdiction          as given (not on chain; null when not given)
    language               language              as given ("en")
    piiPrincipalId         pii_principal_id      did:ethr:<chain id>:<identity>
    piiControllers[0]      pii_controllers       {piiController: name or org address,
                                                 organization: org address, contact?,
                                                 piiControllerUrl?, email?, phone?, address?}
    policyUrl              privacy_notice.uri    URI from the PolicyPublished event
    -                      privacy_notice.hash   the policy version's content hash
    -                      privacy_notice.version, .published_at
    services[0].service    service               as given, default "<controller> policy vN"
    .purposes[0].purpose   purpose               DPV purpose term (0x hex when unknown)
      .purposeCategory     purpose_type          [the same DPV term]
      .consentType         consent_type          "EXPLICIT"
      .piiCategory         pii_information       [DPV personal-data category]
      .primaryPurpose                            true
      .termination         retention_period      expiry as ISO-8601, or "until withdrawn"
      .thirdPartyDisclosure recipient_third_parties  false / []
    sensitive, spiCat                            special category (GDPR Art. 9) or not
    -                      lawful_basis          "dpv:Consent"
    -                      withdrawal_method     how to withdraw on chain

``evidence``: chainId, contract (the ConsentLedger address), transactionHash, blockNumber,
blockHash, logIndex, consentId (``consentId(identity, org, purpose, category)``, i.e.
keccak256(abi.encode(...))), identity, organization, purpose and category (bytes32 codes),
policyVersion, policyHash, expiry (epoch seconds), agent (owner or delegate who authorized the
grant) and sender (who sent the transaction: the owner, or the relaying organization).

Several fields say the same thing twice (record_id and consentReceiptID, the two principal
ids, the policy in ``privacy_notice`` and ``evidence``...). :meth:`ConsentReceipt.from_json`
refuses a receipt whose copies disagree, naming the field.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from collective.chain import jsonints
from collective.chain.jsonints import jsonable
from collective.errors import InvalidInputError
from collective.receipts.json_reader import Reader, bad
from collective.types import Address, Code, ConsentId, TxHash, expiry_from_chain

KANTARA_VERSION: Final = "KI-CR-v1.1.0"
ISO_SCHEMA: Final = "ISO/IEC TS 27560:2023"
DIRECT: Final = "direct transaction by the identity owner"
RELAYED: Final = "EIP-712 signature relayed"
UNTIL_WITHDRAWN: Final = "until withdrawn"
LAWFUL_BASIS: Final = "dpv:Consent"
WITHDRAWAL_METHOD: Final = (
    "withdraw, withdrawBatch, withdrawSigned or withdrawSignedBatch on the ConsentLedger"
)
# RFC 4122 name-based UUIDs of "collective:consent-receipt:<chainId>:<txHash>:<logIndex>".
RECEIPT_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/dpv/schema/iso-27560")


@dataclass(frozen=True)
class PiiController:
    """The organization a consent was granted to, and what a person needs to reach it.

    ``organization`` is its on-chain address; the rest is not on chain and comes from the
    ``controller`` argument of :func:`build_receipt`. ``address`` is a postal address.
    """

    organization: str
    name: str | None = None
    contact: str | None = None
    url: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Kantara ``piiControllers[0]`` object (ISO/IEC TS 27560 ``pii_controllers``)."""
        out: dict[str, Any] = {
            "piiController": self.name or self.organization,
            "organization": self.organization,
        }
        for key, value in (
            ("contact", self.contact),
            ("piiControllerUrl", self.url),
            ("email", self.email),
            ("phone", self.phone),
            ("address", self.address),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Evidence:
    """Where the grant is on chain: enough to find its log and recompute its consent id.

    Addresses are EIP-55 checksummed; hashes, codes and the consent id ``0x`` + 64 hex;
    ``expiry`` is epoch seconds as logged (2^64 - 1 for a consent until withdrawn).
    """

    chain_id: int
    contract: Address
    transaction_hash: TxHash
    block_number: int
    block_hash: str
    log_index: int
    consent_id: ConsentId
    identity: Address
    organization: Address
    purpose: Code
    category: Code
    policy_version: int
    policy_hash: str
    expiry: int
    agent: Address
    sender: Address

    def to_dict(self) -> dict[str, Any]:
        """The receipt's ``evidence`` object (camelCase keys, integers as ints)."""
        return {
            "chainId": self.chain_id,
            "contract": self.contract,
            "transactionHash": self.transaction_hash,
            "blockNumber": self.block_number,
            "blockHash": self.block_hash,
            "logIndex": self.log_index,
            "consentId": self.consent_id,
            "identity": self.identity,
            "organization": self.organization,
            "purpose": self.purpose,
            "category": self.category,
            "policyVersion": self.policy_version,
            "policyHash": self.policy_hash,
            "expiry": self.expiry,
            "agent": self.agent,
            "sender": self.sender,
        }


@dataclass(frozen=True)
class ConsentReceipt:
    """A consent receipt for one grant (see the module docstring for the JSON fields).

    ``purpose`` and ``category`` are DPV names (or the 0x code when no name was known);
    the codes are in ``evidence``.
    """

    receipt_id: str
    consent_timestamp: int
    collection_method: str
    language: str
    jurisdiction: str | None
    pii_principal_id: str
    controller: PiiController
    policy_url: str
    policy_published_at: int
    service: str
    purpose: str
    category: str
    termination: str
    sensitive: bool
    spi_categories: tuple[str, ...]
    evidence: Evidence

    # --- shortcuts ---

    @property
    def consent_id(self) -> ConsentId:
        """The consent id, ``keccak256(abi.encode(identity, org, purpose, category))``."""
        return self.evidence.consent_id

    @property
    def chain_id(self) -> int:
        """The chain the grant is on."""
        return self.evidence.chain_id

    @property
    def tx_hash(self) -> TxHash:
        """The grant transaction's hash."""
        return self.evidence.transaction_hash

    @property
    def log_index(self) -> int:
        """The ConsentGranted log's index in its block."""
        return self.evidence.log_index

    @property
    def identity(self) -> Address:
        """The data subject's address."""
        return self.evidence.identity

    @property
    def organization(self) -> Address:
        """The organization's address."""
        return self.evidence.organization

    @property
    def expiry(self) -> int | None:
        """The expiry in epoch seconds; None for a consent until withdrawn (logged as
        2^64 - 1, which ``evidence.expiry`` keeps)."""
        return expiry_from_chain(self.evidence.expiry)

    @property
    def policy_version(self) -> int:
        """The policy version the grant names."""
        return self.evidence.policy_version

    @property
    def policy_hash(self) -> str:
        """That version's content hash."""
        return self.evidence.policy_hash

    # --- JSON ---

    def to_dict(self) -> dict[str, Any]:
        """The receipt's JSON document; an integer JavaScript cannot hold exactly (the expiry
        2^64 - 1 of a consent until withdrawn) is a decimal string
        (:mod:`collective.chain.jsonints`)."""
        ev = self.evidence
        controllers = [self.controller.to_dict()]
        purpose = {
            "purpose": self.purpose,
            "purposeCategory": [self.purpose],
            "consentType": "EXPLICIT",
            "piiCategory": [self.category],
            "primaryPurpose": True,
            "termination": self.termination,
            "thirdPartyDisclosure": False,
        }
        document = {
            "version": KANTARA_VERSION,
            "jurisdiction": self.jurisdiction,
            "consentTimestamp": self.consent_timestamp,
            "collectionMethod": self.collection_method,
            "consentReceiptID": self.receipt_id,
            "language": self.language,
            "piiPrincipalId": self.pii_principal_id,
            "piiControllers": controllers,
            "policyUrl": self.policy_url,
            "services": [{"service": self.service, "purposes": [purpose]}],
            "sensitive": self.sensitive,
            "spiCat": list(self.spi_categories),
            "iso27560": {
                "schema_version": ISO_SCHEMA,
                "record_id": "urn:uuid:" + self.receipt_id,
                "pii_principal_id": self.pii_principal_id,
                "privacy_notice": {
                    "uri": self.policy_url,
                    "version": ev.policy_version,
                    "hash": ev.policy_hash,
                    "published_at": iso_time(self.policy_published_at),
                },
                "lawful_basis": LAWFUL_BASIS,
                "withdrawal_method": WITHDRAWAL_METHOD,
                "event": {
                    "event_type": "consent given",
                    "event_time": iso_time(self.consent_timestamp),
                },
            },
            "evidence": ev.to_dict(),
        }
        return jsonable(document)  # type: ignore[no-any-return]

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text with a final newline."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> ConsentReceipt:
        """Parse :meth:`to_json` output, strictly (see :meth:`from_dict`).

        Args:
            text: the receipt's JSON (str or UTF-8 bytes).

        Raises:
            InvalidInputError: it is not JSON, or not a receipt; the message names the field.
        """
        try:
            data = jsonints.loads(text)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"the consent receipt is not JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> ConsentReceipt:
        """Build a receipt from its parsed JSON, strictly.

        Every field must be present with its type; the fields that say the same thing twice
        (``record_id`` and ``consentReceiptID``, the two principal ids, the policy in
        ``privacy_notice`` and ``evidence``, ...) must agree.

        Raises:
            InvalidInputError: a field is missing, malformed, or contradicts its copy; the
                message names it.
        """
        r = Reader(data, "")
        if r.text("version") != KANTARA_VERSION:
            raise bad("version", f"expected {KANTARA_VERSION!r}")
        controllers = r.array("piiControllers")
        if len(controllers) != 1:
            raise bad("piiControllers", "expected exactly one controller")
        c = Reader(controllers[0], "piiControllers[0]")
        organization = c.address("organization")
        controller = PiiController(
            organization=organization,
            name=c.opt_text("piiController"),
            contact=c.opt_text("contact"),
            url=c.opt_text("piiControllerUrl"),
            email=c.opt_text("email"),
            phone=c.opt_text("phone"),
            address=c.opt_text("address"),
        )
        if controller.name == organization:
            controller = replace(controller, name=None)
        services = r.array("services")
        if len(services) != 1:
            raise bad("services", "expected exactly one service")
        s = Reader(services[0], "services[0]")
        purposes = s.array("purposes")
        if len(purposes) != 1:
            raise bad("services[0].purposes", "expected exactly one purpose")
        p = Reader(purposes[0], "services[0].purposes[0]")
        purpose = p.text("purpose")
        p.same("purposeCategory", [purpose], "purpose")
        p.same("consentType", "EXPLICIT")
        categories = p.array("piiCategory")
        if len(categories) != 1 or not isinstance(categories[0], str) or not categories[0]:
            raise bad(p.path("piiCategory"), "expected one category name")
        p.same("primaryPurpose", True)
        p.same("thirdPartyDisclosure", False)
        spi = r.array("spiCat")
        if not all(isinstance(item, str) for item in spi):
            raise bad("spiCat", "expected a list of category names")

        e = Reader(r.obj("evidence"), "evidence")
        evidence = Evidence(
            chain_id=e.integer("chainId"),
            contract=e.address("contract"),
            transaction_hash=TxHash(e.hex32("transactionHash")),
            block_number=e.integer("blockNumber"),
            block_hash=e.hex32("blockHash"),
            log_index=e.integer("logIndex"),
            consent_id=ConsentId(e.hex32("consentId")),
            identity=e.address("identity"),
            organization=e.address("organization"),
            purpose=Code(e.hex32("purpose")),
            category=Code(e.hex32("category")),
            policy_version=e.integer("policyVersion"),
            policy_hash=e.hex32("policyHash"),
            expiry=e.integer("expiry"),
            agent=e.address("agent"),
            sender=e.address("sender"),
        )
        receipt = cls(
            receipt_id=r.uuid("consentReceiptID"),
            consent_timestamp=r.integer("consentTimestamp"),
            collection_method=r.text("collectionMethod"),
            language=r.text("language"),
            jurisdiction=r.opt_text("jurisdiction"),
            pii_principal_id=r.text("piiPrincipalId"),
            controller=controller,
            policy_url=r.text("policyUrl"),
            policy_published_at=0,
            service=s.text("service"),
            purpose=purpose,
            category=categories[0],
            termination=p.text("termination"),
            sensitive=r.boolean("sensitive"),
            spi_categories=tuple(spi),
            evidence=evidence,
        )
        i = Reader(r.obj("iso27560"), "iso27560")
        i.same("schema_version", ISO_SCHEMA)
        i.same("record_id", "urn:uuid:" + receipt.receipt_id, "consentReceiptID")
        i.same("pii_principal_id", receipt.pii_principal_id, "piiPrincipalId")
        n = Reader(i.obj("privacy_notice"), "iso27560.privacy_notice")
        n.same("uri", receipt.policy_url, "policyUrl")
        n.same("version", evidence.policy_version, "evidence.policyVersion")
        n.same("hash", evidence.policy_hash, "evidence.policyHash")
        published_at = n.timestamp("published_at")
        i.same("lawful_basis", LAWFUL_BASIS)
        i.same("withdrawal_method", WITHDRAWAL_METHOD)
        v = Reader(i.obj("event"), "iso27560.event")
        v.same("event_type", "consent given")
        v.same("event_time", iso_time(receipt.consent_timestamp), "consentTimestamp")
        return replace(receipt, policy_published_at=published_at)


def iso_time(timestamp: int) -> str:
    """Epoch seconds as ISO-8601 UTC (``2026-01-31T12:00:00Z``)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def termination_of(expiry: int) -> str:
    """The Kantara ``termination`` text of an expiry (epoch seconds): its ISO time, or
    "until withdrawn" past year 9999 (the on-chain "no expiry", 2^64 - 1)."""
    try:
        return iso_time(expiry)
    except (OverflowError, OSError, ValueError):  # beyond year 9999: no end in practice
        return UNTIL_WITHDRAWN


def receipt_id_of(chain_id: int, tx_hash: str, log_index: int) -> str:
    """The deterministic consentReceiptID of a grant log: an RFC 4122 UUID 5 of
    ``collective:consent-receipt:<chainId>:<txHash>:<logIndex>`` in :data:`RECEIPT_NAMESPACE`.

    Args:
        chain_id: the chain's id; tx_hash: ``0x`` + 64 hex (any case); log_index: the log's
            index in its block.
    """
    name = f"collective:consent-receipt:{chain_id}:{tx_hash.lower()}:{log_index}"
    return str(uuid.uuid5(RECEIPT_NAMESPACE, name))


__all__ = [
    "DIRECT",
    "ISO_SCHEMA",
    "KANTARA_VERSION",
    "LAWFUL_BASIS",
    "RECEIPT_NAMESPACE",
    "RELAYED",
    "UNTIL_WITHDRAWN",
    "WITHDRAWAL_METHOD",
    "ConsentReceipt",
    "Evidence",
    "PiiController",
    "iso_time",
    "receipt_id_of",
    "termination_of",
]
