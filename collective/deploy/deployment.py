"""Where the suite lives on one chain: :class:`Deployment`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from web3.contract import Contract

from collective.build.artifacts import load_artifact
from collective.chain import Chain
from collective.config import ProjectConfig
from collective.deploy.contracts import CONTRACTS, LEDGER, MODULES
from collective.errors import ChainError, ConfigurationError, NotFoundError
from collective.types import Address


@dataclass(frozen=True)
class Deployment:
    """Where the suite lives on one chain. ``reused`` is True when nothing was deployed.

    ``addresses``, ``tx_hashes`` and ``blocks`` hold, per contract name, its checksummed
    address, the hash of the transaction that created it and that transaction's block.
    ``contract(name)`` returns a web3 contract bound to the chain this deployment was made or
    loaded with; use :meth:`bind` to attach it to another connection to the same chain.
    Module names (``"ConsentRegistry"`` etc.) give the ConsentLedger contract.
    """

    chain_id: int
    network: str
    deployer: str
    addresses: dict[str, str]
    tx_hashes: dict[str, str]
    blocks: dict[str, int]
    reused: bool = False
    board_members: tuple[str, ...] = ()
    threshold: int = 1
    deployed_at: str = ""
    manifest_path: Path | None = None
    notes: tuple[str, ...] = ()
    chain: Chain | None = field(default=None, compare=False, repr=False)
    config: ProjectConfig | None = field(default=None, compare=False, repr=False)

    def address(self, name: str) -> Address:
        """The checksummed address of a contract or module of the suite.

        Raises:
            NotFoundError: the suite has no contract or module ``name`` (the hint lists them).
        """
        key = LEDGER if name in MODULES else name
        try:
            return Address(self.addresses[key])
        except KeyError:
            known = ", ".join((*self.addresses, *MODULES))
            raise NotFoundError(
                f"the deployment has no contract {name!r}", hint=f"known: {known}"
            ) from None

    def contract(self, name: str) -> Contract:
        """A web3 contract for ``name`` at its deployed address, on the bound chain
        (:meth:`Chain.contract <collective.chain.Chain.contract>`), for :meth:`Chain.call`.

        Raises:
            NotFoundError: the suite has no contract ``name``.
            ConfigurationError: the deployment is not bound to a chain.
            CompilationError: there is no artifact for it.
        """
        address = self.address(name)
        if self.chain is None:
            raise ConfigurationError(
                "this deployment is not bound to a chain", hint="call deployment.bind(chain)"
            )
        artifact = load_artifact(LEDGER if name in MODULES else name, self.config)
        contract: Contract = self.chain.contract(artifact.abi, address)
        return contract

    def bind(self, chain: Chain) -> Deployment:
        """The same deployment, with contracts bound to ``chain``.

        Raises:
            ChainError: ``chain`` has another chain id than the deployment's.
        """
        if chain.chain_id != self.chain_id:
            raise ChainError(
                f"the deployment is on chain {self.chain_id}, but {chain.where} is chain "
                f"{chain.chain_id}"
            )
        return replace(self, chain=chain)

    def to_dict(self) -> dict[str, Any]:
        """The deployment as a JSON-ready dict (what ``collective deploy --json`` prints).

        Returns:
            ``network``, ``chainId``, ``deployer``, ``reused``, ``deployedAt``, ``manifest``
            (the manifest file's path, or None), ``contracts`` (per contract: ``address``,
            ``transactionHash`` and ``blockNumber``, None when reused from a manifest
            without them), ``modules`` (each module's address, the ConsentLedger's),
            ``board`` (``address``, ``members``, ``threshold``) and ``notes``.

        Raises:
            NotFoundError: a contract's address is missing from ``addresses``.
        """
        return {
            "network": self.network,
            "chainId": self.chain_id,
            "deployer": self.deployer,
            "reused": self.reused,
            "deployedAt": self.deployed_at,
            "manifest": str(self.manifest_path) if self.manifest_path else None,
            "contracts": {
                name: {
                    "address": self.address(name),
                    "transactionHash": self.tx_hashes.get(name),
                    "blockNumber": self.blocks.get(name),
                }
                for name in CONTRACTS
            },
            "modules": {module: self.address(module) for module in MODULES},
            "board": {
                "address": self.address("OversightBoard"),
                "members": list(self.board_members),
                "threshold": self.threshold,
            },
            "notes": list(self.notes),
        }


__all__ = ["Deployment"]
