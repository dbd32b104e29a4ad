"""Organizations: the consortium admin admits, suspends, reinstates and removes them.

An organization is an account in AccountRules. Only an *active* one may publish policies and
record data uses; the oversight board can also suspend and reinstate (see
:mod:`~collective.client.oversight`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from eth_account.signers.local import LocalAccount

from collective._moved import deprecated_names
from collective.client.base import Session
from collective.client.records import TxResult, tx_fields
from collective.types import Address

Status = Literal["unknown", "active", "suspended"]
_STATUS: dict[int, Status] = {0: "unknown", 1: "active", 2: "suspended"}
OrgAction = Literal["admitted", "suspended", "reinstated", "removed"]
"""What happened to an organization (:attr:`OrgChange.action`)."""


# ``Action`` (0.1) is now OrgAction: ``Action`` alone is the oversight board's proposal kind.
__getattr__ = deprecated_names(__name__, {"Action": ("OrgAction", OrgAction)})


@dataclass(frozen=True)
class OrgChange(TxResult):
    """An organization's status changed: its address and what happened to it."""

    organization: Address
    action: OrgAction


@dataclass(frozen=True)
class Organization:
    """An organization's standing: status and current policy version (0: none published)."""

    address: Address
    status: Status
    policy_version: int

    @property
    def active(self) -> bool:
        """Whether the organization may publish policies and record uses."""
        return self.status == "active"


class Orgs:
    """Admit, suspend, reinstate, remove and list organizations (admin role)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def admit(self, organization: str | LocalAccount) -> OrgChange:
        """Admit an organization (sender must be a consortium admin).

        Args:
            organization: the organization's address, account or DID.

        Returns:
            The :class:`OrgChange`.

        Raises:
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ConfigurationError: a read-only client.
            NotPermittedError: the sender is not a consortium admin (or the organization is
                not in the state the change needs).
            ChainError: the node could not be reached.
        """
        return self._change("admit", organization, "admitted")

    def suspend(self, organization: str | LocalAccount) -> OrgChange:
        """Suspend an active organization: it can no longer record uses or publish policies.

        Args:
            organization: the organization's address, account or DID.

        Returns:
            The :class:`OrgChange`.

        Raises:
            As :meth:`admit`.
        """
        return self._change("suspend", organization, "suspended")

    def reinstate(self, organization: str | LocalAccount) -> OrgChange:
        """Reinstate a suspended organization.

        Args:
            organization: the organization's address, account or DID.

        Returns:
            The :class:`OrgChange`.

        Raises:
            As :meth:`admit`.
        """
        return self._change("reinstate", organization, "reinstated")

    def remove(self, organization: str | LocalAccount) -> OrgChange:
        """Remove an organization from the consortium.

        Args:
            organization: the organization's address, account or DID.

        Returns:
            The :class:`OrgChange`.

        Raises:
            As :meth:`admit`.
        """
        return self._change("remove", organization, "removed")

    def profile(self, organization: str | LocalAccount) -> Organization:
        """The organization's status and current policy version.

        Raises:
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ChainError: the node could not be reached.
        """
        address = self._s.address(organization, "organization")
        status = int(self._s.call(self._s.rules.functions.statusOf(address)))
        version = int(self._s.call(self._s.ledger.functions.currentPolicyVersion(address)))
        return Organization(address, _STATUS.get(status, "unknown"), version)

    def list(self) -> list[Organization]:
        """Every admitted organization (active or suspended), in admission order.

        Raises:
            ChainError: the node could not be reached.
        """
        addresses = self._s.call(self._s.rules.functions.accounts())
        return [self.profile(address) for address in addresses]

    def is_admin(self, account: str | LocalAccount) -> bool:
        """Whether ``account`` (address, account or DID) is a consortium admin.

        Raises:
            InvalidInputError: an address or DID that is not one, or a DID of another network.
            ChainError: the node could not be reached.
        """
        return bool(
            self._s.call(self._s.rules.functions.isAdmin(self._s.address(account, "account")))
        )

    def _change(
        self, function: str, organization: str | LocalAccount, action: OrgAction
    ) -> OrgChange:
        address = self._s.address(organization, "organization")
        receipt = self._s.transact(getattr(self._s.rules.functions, function)(address))
        return OrgChange(**tx_fields(receipt), organization=address, action=action)


__all__ = ["OrgAction", "OrgChange", "Organization", "Orgs", "Status"]
