"""ethr-did-resolver conformance: the DID document built exactly as the reference resolver
(npm ``ethr-did-resolver``, ``resolver.ts``) builds it from an identity's ERC-1056 history.

Everything here follows the reference implementation, quirks included, so that a document
resolved by Collective is byte-for-byte the one ethr-did-resolver returns (the interop tests
compare them): the ``@context`` list, verification-method types, ``#delegate-N`` numbering
that counts revoked and unparseable entries too, legacy key types of ``did/pub`` attributes,
JavaScript's ``||`` and ``JSON.parse`` for service endpoints, base58 as ethers writes it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from collective.did.document import DidDocument
from collective.did.registry import NULL_ADDRESS, RegistryEvent, utf8

DID_CONTEXT: Final = (
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
    "https://w3id.org/security/v3-unstable",
)
"""The ``@context`` of every document, as ethr-did-resolver writes it."""

RECOVERY_METHOD: Final = "EcdsaSecp256k1RecoveryMethod2020"
VERIFICATION_KEY: Final = "EcdsaSecp256k1VerificationKey2019"

# JavaScript's \w and $ (no flags): ASCII word characters, end of input only.
ATTRIBUTE: Final = re.compile(r"did/(pub|svc)/(\w+)(/(\w+))?(/(\w+))?\Z", re.ASCII)
BASE58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
LEGACY_ATTR_TYPES: Final = {
    "sigAuth": "SignatureAuthentication2018",
    "veriKey": "VerificationKey2018",
    "enc": "KeyAgreementKey2019",
}
LEGACY_ALGOS: Final = {
    "Secp256k1VerificationKey2018": VERIFICATION_KEY,
    "Ed25519SignatureAuthentication2018": "Ed25519VerificationKey2018",
    "Secp256k1SignatureAuthentication2018": VERIFICATION_KEY,
    "RSAVerificationKey2018": "RSAVerificationKey2018",
    "Ed25519VerificationKey2018": "Ed25519VerificationKey2018",
    "X25519KeyAgreementKey2019": "X25519KeyAgreementKey2019",
}


def wrap_did_document(
    did: str,
    address: str,
    controller_key: str | None,
    history: Sequence[RegistryEvent],
    chain_id: int,
    block: int | None,
    now: int,
    block_time: Callable[[int], int],
) -> DidDocument:
    """ethr-did-resolver's ``wrapDidDocument``, step for step.

    Args:
        did: the DID as given (the document's ``id``).
        address: the identity's address.
        controller_key: the hex of the public key of a public-key DID, as written; else None.
        history: the identity's registry events, oldest first (:func:`change_log`).
        chain_id: the chain's id, for ``blockchainAccountId`` (CAIP-10 ``eip155:<id>:<addr>``).
        block: resolve as of this block (``?versionId=``), or None for the latest.
        now: epoch seconds a delegate or attribute must not have expired by
            (``validTo >= now``).
        block_time: gives a block's timestamp, for ``updated`` and ``nextUpdate``.

    Returns:
        The W3C DID Core document and its metadata, as ethr-did-resolver builds them.
    """
    controller = address
    authentication = [f"{did}#controller"]
    assertion = [f"{did}#controller"]
    version_id = 0
    next_version_id: int | None = None
    deactivated = False
    delegate_count = 0
    service_count = 0
    auth: dict[str, str] = {}
    key_agreement: dict[str, str] = {}
    signing: dict[str, str] = {}
    keys_by_event: dict[str, dict[str, Any]] = {}
    services: dict[str, dict[str, Any]] = {}

    for event in history:
        if block is not None and event.block_number > block:
            if next_version_id is None or event.block_number < next_version_id:
                next_version_id = event.block_number
            continue
        version_id = max(version_id, event.block_number)
        subject = (
            event.delegate if event.delegate is not None else "0x" + (event.value or b"").hex()
        )
        index = f"{event.name}-{event.kind or js_or(event)}-{subject}"
        if event.valid_to and event.valid_to >= now:
            if event.name == "DIDDelegateChanged":
                delegate_count += 1
                ref = f"{did}#delegate-{delegate_count}"
                if event.kind in ("sigAuth", "veriKey"):
                    if event.kind == "sigAuth":
                        auth[index] = ref
                    keys_by_event[index] = {
                        "id": ref,
                        "type": RECOVERY_METHOD,
                        "controller": did,
                        "blockchainAccountId": f"eip155:{chain_id}:{event.delegate}",
                    }
                    signing[index] = ref
            elif event.name == "DIDAttributeChanged":
                match = ATTRIBUTE.match(event.kind or "")
                if not match:
                    continue
                section, algorithm, purpose, encoding = match[1], match[2], match[4], match[6]
                value = event.value or b""
                if section == "pub":
                    delegate_count += 1
                    ref = f"{did}#delegate-{delegate_count}"
                    kind = LEGACY_ATTR_TYPES.get(purpose, purpose) if purpose else "undefined"
                    key: dict[str, Any] = {
                        "id": ref,
                        "type": LEGACY_ALGOS.get(algorithm + kind, algorithm),
                        "controller": did,
                    }
                    if encoding in (None, "hex"):
                        key["publicKeyHex"] = value.hex()
                    elif encoding == "base64":
                        key["publicKeyBase64"] = base64.b64encode(value).decode()
                    elif encoding == "base58":
                        key["publicKeyBase58"] = base58(value)
                    elif encoding == "pem":
                        pem = utf8(value)
                        if pem is None:
                            continue  # not did:ethr data; the number is used up all the same
                        key["publicKeyPem"] = pem
                    else:
                        key["value"] = value.hex()
                    keys_by_event[index] = key
                    if purpose == "sigAuth":
                        auth[index] = ref
                        signing[index] = ref
                    elif purpose == "enc":
                        key_agreement[index] = ref
                    else:
                        signing[index] = ref
                else:
                    service_count += 1
                    endpoint = utf8(value)
                    if endpoint is None:
                        continue
                    services[index] = {
                        "id": f"{did}#service-{service_count}",
                        "type": algorithm,
                        "serviceEndpoint": json_like_javascript(endpoint),
                    }
        elif event.name == "DIDOwnerChanged":
            controller = event.owner or NULL_ADDRESS
            if controller == NULL_ADDRESS:
                deactivated = True
                break
        else:
            name = event.kind or ""
            if event.name == "DIDDelegateChanged" or name.startswith("did/pub/"):
                delegate_count += 1
            elif name.startswith("did/svc/"):
                service_count += 1
            # Not key_agreement: ethr-did-resolver leaves a revoked key's id there, and so must we.
            for table in (auth, signing, keys_by_event, services):
                table.pop(index, None)

    base: dict[str, Any] = {
        "id": did,
        "verificationMethod": [],
        "authentication": [],
        "assertionMethod": [],
    }
    if deactivated:
        document = base
    else:
        methods: list[dict[str, Any]] = [
            {
                "id": f"{did}#controller",
                "type": RECOVERY_METHOD,
                "controller": did,
                "blockchainAccountId": f"eip155:{chain_id}:{controller}",
            }
        ]
        if controller_key is not None and controller == address:
            methods.append(
                {
                    "id": f"{did}#controllerKey",
                    "type": VERIFICATION_KEY,
                    "controller": did,
                    "publicKeyHex": controller_key,
                }
            )
            authentication.append(f"{did}#controllerKey")
            assertion.append(f"{did}#controllerKey")
        document = {
            **base,
            "verificationMethod": methods + list(keys_by_event.values()),
            "authentication": authentication + list(auth.values()),
            "assertionMethod": assertion + list(signing.values()),
        }
        if services:
            document["service"] = list(services.values())
        if key_agreement:
            document["keyAgreement"] = list(key_agreement.values())
    document["@context"] = list(DID_CONTEXT)

    metadata: dict[str, Any] = {"deactivated": True} if deactivated else {}
    if version_id:
        metadata["versionId"] = str(version_id)
        metadata["updated"] = iso(block_time(version_id))
    if next_version_id is not None:
        metadata["nextVersionId"] = str(next_version_id)
        metadata["nextUpdate"] = iso(block_time(next_version_id))
    return DidDocument(document=document, metadata=metadata)


def js_or(event: RegistryEvent) -> str:
    """What ``delegateType || name`` gives in JavaScript when the first is empty."""
    return "undefined" if event.name == "DIDDelegateChanged" else ""


def base58(data: bytes) -> str:
    """Bitcoin base58, as ethers' encodeBase58 writes it (one '1' per leading zero byte)."""
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, rest = divmod(number, 58)
        digits = BASE58_ALPHABET[rest] + digits
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + digits


def json_like_javascript(text: str) -> Any:
    """``JSON.parse(text)``, falling back to the text itself, as ethr-did-resolver does.

    NaN and Infinity are not JSON; integers beyond 2^53 become floats, as in JavaScript.
    """

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def number(digits: str) -> int | float:
        value = int(digits)
        return value if abs(value) <= 2**53 else float(value)

    try:
        return json.loads(text, parse_constant=no_constants, parse_int=number)
    except (ValueError, RecursionError):
        return text


def iso(timestamp: int) -> str:
    """Epoch seconds as ISO 8601 UTC without fractions (``2026-01-31T12:00:00Z``)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["DID_CONTEXT", "RECOVERY_METHOD", "VERIFICATION_KEY", "wrap_did_document"]
