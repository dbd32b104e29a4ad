"""The DID document: a resolved did:ethr identity as W3C DID Core describes it.

:class:`DidDocument` holds the JSON-LD document and its metadata exactly as ethr-did-resolver
returns them (W3C DID Core §5 "Core properties", §7.1 "DID resolution" metadata), with typed
accessors for what Collective asks of it: the controller, the accounts that may authenticate
or sign, the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class DidDocument:
    """A resolved DID: the W3C DID Core document (JSON-LD) and its document metadata.

    Both dicts are exactly what ethr-did-resolver returns as ``didDocument`` and
    ``didDocumentMetadata`` (``versionId`` is the block number as a string, ``updated`` an
    ISO 8601 UTC time without fractions, ``deactivated`` present only when true).
    """

    document: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def id(self) -> str:
        """The DID the document describes."""
        return str(self.document["id"])

    @property
    def deactivated(self) -> bool:
        """True once the owner was changed to the zero address."""
        return bool(self.metadata.get("deactivated", False))

    @property
    def version_id(self) -> int | None:
        """Block of the latest change included, None for an identity never changed."""
        version = self.metadata.get("versionId")
        return int(version) if version is not None else None

    @property
    def updated(self) -> datetime | None:
        """Time of the latest change included."""
        updated = self.metadata.get("updated")
        return datetime.fromisoformat(updated) if updated else None

    @property
    def controller(self) -> str | None:
        """The address controlling the identity (its owner); None when deactivated."""
        for method in self.verification_methods:
            if method["id"] == f"{self.id}#controller":
                return account_address(method)
        return None

    @property
    def verification_methods(self) -> list[dict[str, Any]]:
        """Every key: controller, delegates and ``did/pub`` keys."""
        return list(self.document.get("verificationMethod", []))

    @property
    def authentication(self) -> list[str]:
        """Ids of the keys that may authenticate as the identity."""
        return list(self.document.get("authentication", []))

    @property
    def assertion_methods(self) -> list[str]:
        """Ids of the keys that may sign on the identity's behalf."""
        return list(self.document.get("assertionMethod", []))

    @property
    def services(self) -> list[dict[str, Any]]:
        """The ``did/svc`` services."""
        return list(self.document.get("service", []))

    def accounts(
        self, relationship: Literal["authentication", "assertionMethod"] = "authentication"
    ) -> list[str]:
        """Addresses (blockchain accounts) of the keys listed under ``relationship``.

        Args:
            relationship: the verification relationship (W3C DID Core §5.3).

        Returns:
            Checksummed addresses in the document's order; keys without an account (a
            ``did/pub`` key) are left out.
        """
        wanted = set(self.document.get(relationship, []))
        found = (account_address(m) for m in self.verification_methods if m["id"] in wanted)
        return [address for address in found if address is not None]

    def resolution_result(self) -> dict[str, Any]:
        """The DID resolution result in did-resolver's JSON shape (W3C DID Core §7.1):
        ``didDocument``, ``didDocumentMetadata`` and ``didResolutionMetadata``."""
        return {
            "didDocument": self.document,
            "didDocumentMetadata": self.metadata,
            "didResolutionMetadata": {"contentType": "application/did+ld+json"},
        }


def account_address(method: dict[str, Any]) -> str | None:
    """The address of a verification method's ``blockchainAccountId`` (CAIP-10
    ``eip155:<chain id>:<address>``), or None when it has none (a ``did/pub`` key)."""
    account = method.get("blockchainAccountId")
    return str(account).rsplit(":", 1)[1] if account else None


__all__ = ["DidDocument"]
