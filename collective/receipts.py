"""Consent receipts: a JSON record of one on-chain grant that anyone can check against the chain.

:func:`build_receipt` reads a grant transaction and writes a :class:`ConsentReceipt`;
:func:`verify_receipt` checks one against the chain and reports the consent's state now, in
the one vocabulary the client, the CLI and the audit use too
(:class:`~collective.consent_state.ConsentState`: active, withdrawn, expired, superseded,
deactivated), and whether the receipt's grant was since renewed.

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
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_typing import HexStr
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from collective import jsonints, vocab
from collective.chain import Chain
from collective.codec import consent_id
from collective.consent_state import ConsentState, ConsentStatus, read_status
from collective.deploy import LEDGER, Deployment
from collective.did import DidNetworks, format_did, network_id
from collective.errors import ChainError, ConfigurationError
from collective.jsonints import jsonable, read_uint

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

GRANTED_TOPIC: Final = keccak(
    text="ConsentGranted(address,address,bytes32,bytes32,uint64,uint32,address)"
)
POLICY_TOPIC: Final = keccak(text="PolicyPublished(address,uint32,bytes32,string,bytes32[])")
_CONTROLLER_KEYS: Final = ("name", "contact", "url", "email", "phone", "address")


# --- the receipt ---------------------------------------------------------------------------------


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
    """Where the grant is on chain: enough to find its log and recompute its consent id."""

    chain_id: int
    contract: str
    transaction_hash: str
    block_number: int
    block_hash: str
    log_index: int
    consent_id: str
    identity: str
    organization: str
    purpose: str
    category: str
    policy_version: int
    policy_hash: str
    expiry: int
    agent: str
    sender: str

    def to_dict(self) -> dict[str, Any]:
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
    def consent_id(self) -> str:
        return self.evidence.consent_id

    @property
    def chain_id(self) -> int:
        return self.evidence.chain_id

    @property
    def tx_hash(self) -> str:
        return self.evidence.transaction_hash

    @property
    def log_index(self) -> int:
        return self.evidence.log_index

    @property
    def identity(self) -> str:
        return self.evidence.identity

    @property
    def organization(self) -> str:
        return self.evidence.organization

    @property
    def expiry(self) -> int:
        return self.evidence.expiry

    @property
    def policy_version(self) -> int:
        return self.evidence.policy_version

    @property
    def policy_hash(self) -> str:
        return self.evidence.policy_hash

    # --- JSON ---

    def to_dict(self) -> dict[str, Any]:
        """The receipt's JSON document; an integer JavaScript cannot hold exactly (the expiry
        2^64 - 1 of a consent until withdrawn) is a decimal string
        (:mod:`collective.jsonints`)."""
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
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> ConsentReceipt:
        """Parse :meth:`to_json` output; ConfigurationError names a missing or bad field."""
        try:
            data = jsonints.loads(text)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"the consent receipt is not JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> ConsentReceipt:
        """Build a receipt from its parsed JSON, strictly (see :meth:`from_json`)."""
        r = _Reader(data, "")
        if r.text("version") != KANTARA_VERSION:
            raise _bad("version", f"expected {KANTARA_VERSION!r}")
        controllers = r.array("piiControllers")
        if len(controllers) != 1:
            raise _bad("piiControllers", "expected exactly one controller")
        c = _Reader(controllers[0], "piiControllers[0]")
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
            raise _bad("services", "expected exactly one service")
        s = _Reader(services[0], "services[0]")
        purposes = s.array("purposes")
        if len(purposes) != 1:
            raise _bad("services[0].purposes", "expected exactly one purpose")
        p = _Reader(purposes[0], "services[0].purposes[0]")
        purpose = p.text("purpose")
        p.same("purposeCategory", [purpose], "purpose")
        p.same("consentType", "EXPLICIT")
        categories = p.array("piiCategory")
        if len(categories) != 1 or not isinstance(categories[0], str) or not categories[0]:
            raise _bad(p.path("piiCategory"), "expected one category name")
        p.same("primaryPurpose", True)
        p.same("thirdPartyDisclosure", False)
        spi = r.array("spiCat")
        if not all(isinstance(item, str) for item in spi):
            raise _bad("spiCat", "expected a list of category names")

        e = _Reader(r.obj("evidence"), "evidence")
        evidence = Evidence(
            chain_id=e.integer("chainId"),
            contract=e.address("contract"),
            transaction_hash=e.hex32("transactionHash"),
            block_number=e.integer("blockNumber"),
            block_hash=e.hex32("blockHash"),
            log_index=e.integer("logIndex"),
            consent_id=e.hex32("consentId"),
            identity=e.address("identity"),
            organization=e.address("organization"),
            purpose=e.hex32("purpose"),
            category=e.hex32("category"),
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
        i = _Reader(r.obj("iso27560"), "iso27560")
        i.same("schema_version", ISO_SCHEMA)
        i.same("record_id", "urn:uuid:" + receipt.receipt_id, "consentReceiptID")
        i.same("pii_principal_id", receipt.pii_principal_id, "piiPrincipalId")
        n = _Reader(i.obj("privacy_notice"), "iso27560.privacy_notice")
        n.same("uri", receipt.policy_url, "policyUrl")
        n.same("version", evidence.policy_version, "evidence.policyVersion")
        n.same("hash", evidence.policy_hash, "evidence.policyHash")
        published_at = n.timestamp("published_at")
        i.same("lawful_basis", LAWFUL_BASIS)
        i.same("withdrawal_method", WITHDRAWAL_METHOD)
        v = _Reader(i.obj("event"), "iso27560.event")
        v.same("event_type", "consent given")
        v.same("event_time", iso_time(receipt.consent_timestamp), "consentTimestamp")
        return replace(receipt, policy_published_at=published_at)


def iso_time(timestamp: int) -> str:
    """Epoch seconds as ISO-8601 UTC (``2026-01-31T12:00:00Z``)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def termination_of(expiry: int) -> str:
    """The Kantara ``termination`` text of an expiry: its ISO time, or "until withdrawn"."""
    try:
        return iso_time(expiry)
    except (OverflowError, OSError, ValueError):  # beyond year 9999: no end in practice
        return UNTIL_WITHDRAWN


def receipt_id_of(chain_id: int, tx_hash: str, log_index: int) -> str:
    """The deterministic consentReceiptID of a grant log."""
    name = f"collective:consent-receipt:{chain_id}:{tx_hash.lower()}:{log_index}"
    return str(uuid.uuid5(RECEIPT_NAMESPACE, name))


# --- strict JSON reading --------------------------------------------------------------------------


def _bad(path: str, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"the consent receipt's field {path} is {why}",
        hint="a receipt must be the JSON that build_receipt wrote, unchanged",
    )


class _Reader:
    """Typed access to one JSON object of a receipt, with the field path in every error."""

    def __init__(self, data: Any, prefix: str) -> None:
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"the consent receipt's {prefix or 'document'} is not a JSON object"
            )
        self.data: dict[str, Any] = data
        self.prefix = prefix

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def get(self, key: str) -> Any:
        if key not in self.data:
            raise ConfigurationError(
                f"the consent receipt has no field {self.path(key)}",
                hint="a receipt must be the JSON that build_receipt wrote",
            )
        return self.data[key]

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value:
            raise _bad(self.path(key), "not a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        if self.data.get(key) is None:
            return None
        return self.text(key)

    def integer(self, key: str) -> int:
        """A non-negative integer: a JSON integer or a decimal string, never a float."""
        value = self.get(key)
        try:
            return read_uint(value, self.path(key))
        except ValueError as exc:
            why = str(exc).removeprefix(self.path(key) + " ")
            raise _bad(self.path(key), f"not a non-negative integer ({why})") from None

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise _bad(self.path(key), "not true or false")
        return value

    def array(self, key: str) -> list[Any]:
        value = self.get(key)
        if not isinstance(value, list):
            raise _bad(self.path(key), "not a list")
        return value

    def obj(self, key: str) -> dict[str, Any]:
        value = self.get(key)
        if not isinstance(value, dict):
            raise _bad(self.path(key), "not an object")
        return value

    def address(self, key: str) -> str:
        value = self.text(key)
        if not is_address(value):
            raise _bad(self.path(key), "not an address")
        return to_checksum_address(value)

    def hex32(self, key: str) -> str:
        value = self.text(key)
        try:
            raw = bytes.fromhex(value.removeprefix("0x")) if value.startswith("0x") else b""
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise _bad(self.path(key), "not 0x and 64 hex digits")
        return "0x" + raw.hex()

    def uuid(self, key: str) -> str:
        value = self.text(key)
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise _bad(self.path(key), "not a UUID") from None

    def timestamp(self, key: str) -> int:
        value = self.text(key)
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _bad(self.path(key), "not an ISO-8601 UTC time (YYYY-MM-DDTHH:MM:SSZ)") from None
        return int(moment.timestamp())

    def same(self, key: str, expected: Any, other: str | None = None) -> None:
        value = self.get(key)
        if value != expected or type(value) is not type(expected):
            what = f"{expected!r}" if other is None else f"{other} ({expected!r})"
            raise ConfigurationError(
                f"the consent receipt's field {self.path(key)} is {value!r}, which contradicts "
                f"{what}",
                hint="the receipt was altered: ask for the original, or build it again",
            )


# --- building -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GrantLog:
    """One ConsentGranted log of the ledger, decoded."""

    log_index: int
    identity: str
    organization: str
    purpose: bytes
    category: bytes
    expiry: int
    policy_version: int
    agent: str


def _ledger(chain: Chain, deployment: Deployment) -> Contract:
    return deployment.bind(chain).contract(LEDGER)


def _normalize_tx_hash(tx_hash: str | bytes) -> str:
    raw: bytes
    if isinstance(tx_hash, bytes | bytearray):
        raw = bytes(tx_hash)
    elif isinstance(tx_hash, str) and tx_hash.startswith("0x"):
        try:
            raw = bytes.fromhex(tx_hash[2:])
        except ValueError:
            raw = b""
    else:
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError(
            f"{tx_hash!r} is not a transaction hash", hint="expected 0x and 64 hex digits"
        )
    return "0x" + raw.hex()


def _tx_receipt(chain: Chain, tx_hash: str) -> TxReceipt | None:
    """The transaction's receipt, or None when the node does not know the transaction."""
    with chain.reading(f"reading transaction {tx_hash}"):
        try:
            return chain.w3.eth.get_transaction_receipt(HexStr(tx_hash))
        except TransactionNotFound:
            return None


def _decode_grant(log: Any) -> _GrantLog | None:
    topics = [bytes(t) for t in log["topics"]]
    if len(topics) != 4 or topics[0] != GRANTED_TOPIC:
        return None
    try:
        category, expiry, version, agent = abi.decode(
            ["bytes32", "uint64", "uint32", "address"], bytes(log["data"])
        )
    except (DecodingError, ValueError, OverflowError):
        return None
    return _GrantLog(
        log_index=int(log["logIndex"]),
        identity=to_checksum_address(topics[1][-20:]),
        organization=to_checksum_address(topics[2][-20:]),
        purpose=topics[3],
        category=bytes(category),
        expiry=int(expiry),
        policy_version=int(version),
        agent=to_checksum_address(agent),
    )


def _grant_logs(tx_receipt: Any, ledger_address: str) -> list[_GrantLog]:
    """The ConsentGranted logs the ledger emitted in a transaction (other addresses ignored)."""
    grants = []
    for log in tx_receipt["logs"]:
        if to_checksum_address(log["address"]) != ledger_address:
            continue
        grant = _decode_grant(log)
        if grant is not None:
            grants.append(grant)
    return grants


def _signed_selectors(ledger: Contract) -> set[bytes]:
    return {
        function_abi_to_4byte_selector(entry)
        for entry in ledger.abi
        if entry.get("type") == "function"
        and entry.get("name") in ("grantSigned", "grantSignedBatch")
    }


def _policy(
    chain: Chain, ledger: Contract, organization: str, version: int, from_block: int, to_block: int
) -> tuple[str, int, str]:
    """(content hash, publishedAt, uri) of a policy version: the view, then its event's URI."""
    with chain.reading(f"reading policy {version} of {organization}"):
        content_hash, published_at, _ = chain.call(ledger.functions.policy(organization, version))
    org_topic = "0x" + bytes.fromhex(organization[2:]).rjust(32, b"\0").hex()
    version_topic = "0x" + version.to_bytes(32, "big").hex()
    with chain.reading(f"reading the PolicyPublished event of {organization} v{version}"):
        logs = chain.w3.eth.get_logs(
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


def _controller(organization: str, controller: Mapping[str, str] | None) -> PiiController:
    if controller is None:
        return PiiController(organization)
    unknown = sorted(set(controller) - set(_CONTROLLER_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown controller field(s): {', '.join(unknown)}",
            hint=f"known: {', '.join(_CONTROLLER_KEYS)}",
        )
    for key, value in controller.items():
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"controller field {key!r} must be a non-empty string")
    return PiiController(organization, **dict(controller))


def _name(code: bytes, names: Mapping[bytes, str] | None, what: str) -> str:
    if names is not None and code in names:
        name = names[code]
        if vocab.code_of(name) != code:
            raise ConfigurationError(
                f"names maps {what} 0x{code.hex()} to {name!r}, whose code is "
                f"0x{vocab.code_of(name).hex()}"
            )
        return name
    return vocab.name_of(code)


def _receipt(
    chain: Chain,
    ledger: Contract,
    tx_receipt: Any,
    grant: _GrantLog,
    *,
    controller: PiiController,
    language: str,
    jurisdiction: str | None,
    service: str | None,
    names: Mapping[bytes, str] | None,
    from_block: int,
) -> ConsentReceipt:
    block_number = int(tx_receipt["blockNumber"])
    with chain.reading(f"reading block {block_number}"):
        block = chain.w3.eth.get_block(block_number)
        tx = chain.w3.eth.get_transaction(tx_receipt["transactionHash"])
    tx_hash = "0x" + bytes(tx_receipt["transactionHash"]).hex()
    sender = to_checksum_address(tx["from"])
    calldata = bytes(tx.get("input", b""))
    relayed = calldata[:4] in _signed_selectors(ledger) or grant.agent != sender
    policy_hash, published_at, uri = _policy(
        chain, ledger, grant.organization, grant.policy_version, from_block, block_number
    )
    purpose = _name(grant.purpose, names, "purpose")
    category = _name(grant.category, names, "category")
    sensitive = vocab.is_special_category(category)
    evidence = Evidence(
        chain_id=chain.chain_id,
        contract=to_checksum_address(ledger.address),
        transaction_hash=tx_hash,
        block_number=block_number,
        block_hash="0x" + bytes(tx_receipt["blockHash"]).hex(),
        log_index=grant.log_index,
        consent_id=consent_id(grant.identity, grant.organization, grant.purpose, grant.category),
        identity=grant.identity,
        organization=grant.organization,
        purpose="0x" + grant.purpose.hex(),
        category="0x" + grant.category.hex(),
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
    """A receipt for every consent the transaction granted on the deployment's ConsentLedger.

    ``controller`` holds what the chain does not know about the organization: ``name``,
    ``contact``, ``url``, ``email``, ``phone``, ``address`` (postal). ``names`` maps purpose
    and category codes to their names when they are not in :mod:`collective.vocab`.
    Raises ConfigurationError when the transaction does not exist, failed, or granted nothing
    there (logs of any other contract are ignored).
    """
    tx_hash = _normalize_tx_hash(tx_hash)
    ledger = _ledger(chain, deployment)
    ledger_address = to_checksum_address(ledger.address)
    tx_receipt = _tx_receipt(chain, tx_hash)
    if tx_receipt is None:
        raise ConfigurationError(f"there is no transaction {tx_hash} on {chain.where}")
    if tx_receipt["status"] != 1:
        raise ConfigurationError(f"transaction {tx_hash} reverted: it granted nothing")
    grants = _grant_logs(tx_receipt, ledger_address)
    if not grants:
        raise ConfigurationError(
            f"transaction {tx_hash} granted no consent on the ConsentLedger at {ledger_address}",
            hint="give the hash of a grant, grantBatch, grantSigned or grantSignedBatch "
            "transaction to this deployment",
        )
    language = language.strip() if isinstance(language, str) else ""
    if not language:
        raise ConfigurationError("the receipt's language must be a language tag such as 'en'")
    receipts = []
    for grant in grants:
        receipts.append(
            _receipt(
                chain,
                ledger,
                tx_receipt,
                grant,
                controller=_controller(grant.organization, controller),
                language=language,
                jurisdiction=jurisdiction,
                service=service,
                names=names,
                from_block=deployment.blocks.get(LEDGER, 0),
            )
        )
    return receipts


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
    """The receipt of the consent granted by ``tx_hash`` (see :func:`build_receipts`).

    A transaction that granted several consents (a batch) needs ``log_index`` to choose one;
    :func:`build_receipts` returns them all.
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
        raise ConfigurationError(
            f"log {log_index} of transaction {receipts[0].tx_hash} is not a ConsentGranted "
            f"event of the ledger",
            hint=f"its grants are at log index {indexes}",
        )
    if len(receipts) > 1:
        indexes = ", ".join(str(r.log_index) for r in receipts)
        raise ConfigurationError(
            f"transaction {receipts[0].tx_hash} granted {len(receipts)} consents",
            hint=f"choose one with log_index ({indexes}), or use build_receipts for all",
        )
    return receipts[0]


# --- verifying ------------------------------------------------------------------------------------

Check = tuple[str, bool, str]


@dataclass(frozen=True)
class ReceiptVerification:
    """The outcome of :func:`verify_receipt`.

    ``ok`` is True when every check passed: the receipt is a true record of a grant on this
    chain. ``consent`` is the consent's :class:`~collective.consent_state.ConsentStatus` now
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
    The consent's state now comes from :func:`~collective.consent_state.read_status`, as
    for ``consent status``.
    Raises ConfigurationError when the JSON is not a receipt.
    """
    if not isinstance(receipt, ConsentReceipt):
        receipt = ConsentReceipt.from_json(receipt)
    ledger = _ledger(chain, deployment)
    ledger_address = to_checksum_address(ledger.address)
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
    tx_receipt = _tx_receipt(chain, ev.transaction_hash)
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
    with chain.reading(f"reading block {block_number}"):
        canonical = "0x" + bytes(chain.w3.eth.get_block(block_number)["hash"]).hex()
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
    if log is not None and to_checksum_address(log["address"]) == ledger_address:
        grant = _decode_grant(log)
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
        with suppress(ConfigurationError):
            names[vocab.code_of(name)] = name
    expected = _receipt(
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
            with suppress(ConfigurationError):
                network = network_id(receipt.pii_principal_id)
                if network is not None and not networks.accepts(receipt.pii_principal_id):
                    detail = str(networks.refusal(receipt.pii_principal_id, network, ev.identity))
        check(name, ok, detail)
    ok = all(passed for _, passed, _ in checks)
    consent, renewed = _status(chain, deployment, receipt)
    return ReceiptVerification(ok=ok, checks=checks, consent=consent, renewed=renewed)


__all__ = [
    "ConsentReceipt",
    "Evidence",
    "PiiController",
    "ReceiptVerification",
    "build_receipt",
    "build_receipts",
    "verify_receipt",
]
