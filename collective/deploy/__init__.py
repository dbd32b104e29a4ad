"""Deploy the contract suite in dependency order and keep a manifest of what is where.

==============  ===========================================================================
``contracts``   the suite's names and modules; creation code, and runtime code verified
                against the chain (immutables masked)
``deployment``  :class:`Deployment`: where the suite lives on one chain
``manifest``    ``deployments/<network>.json``: reading, writing, :func:`load_deployment`
``factory``     the ChainBoundDeployer: the ledger's CREATE2 address unique to the chain
``suite``       :func:`deploy_suite`: deploy, or verify and reuse
==============  ===========================================================================

Every name importable from ``collective.deploy`` in 0.1 still is.
"""

from __future__ import annotations

from collective.deploy.contracts import (
    CONTRACTS,
    DEFAULT_PROPOSAL_LIFETIME,
    FACTORY,
    LEDGER,
    MODULES,
    immutable_ranges,
    mask,
    verify_code,
)
from collective.deploy.deployment import Deployment
from collective.deploy.factory import LEDGER_SALT, ledger_address_for
from collective.deploy.manifest import (
    MANIFEST_FORMAT,
    default_manifest_path,
    load_deployment,
    read_manifest,
)
from collective.deploy.suite import deploy_suite

__all__ = [
    "CONTRACTS",
    "DEFAULT_PROPOSAL_LIFETIME",
    "FACTORY",
    "LEDGER",
    "LEDGER_SALT",
    "MANIFEST_FORMAT",
    "MODULES",
    "Deployment",
    "default_manifest_path",
    "deploy_suite",
    "immutable_ranges",
    "ledger_address_for",
    "load_deployment",
    "mask",
    "read_manifest",
    "verify_code",
]
