"""The suite's contracts: their names, the modules the ConsentLedger holds, and their code
(creation code to deploy, runtime code to verify against the chain).

Order of deployment: ``AccountRules([deployer])`` -> ``ChainBoundDeployer`` ->
``ConsentLedger(rules)`` created through it -> ``OversightBoard(rules, members, threshold,
lifetime)`` -> ``rules.setBoard(board)``. ConsentLedger holds the DIDRegistry, PolicyRegistry,
ConsentRegistry and DataUsageLog modules at one address.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from eth_abi import abi
from eth_abi.exceptions import EncodingError
from eth_utils.abi import collapse_if_tuple

from collective.build.artifacts import Artifact, load_artifact
from collective.chain import Chain
from collective.config import ProjectConfig
from collective.errors import ChainError, ConfigurationError, InvalidInputError

CONTRACTS: Final = ("AccountRules", "ConsentLedger", "OversightBoard")
"""The suite's contracts, as a manifest records them."""
FACTORY: Final = "ChainBoundDeployer"
LEDGER: Final = "ConsentLedger"
MODULES: Final = ("DIDRegistry", "PolicyRegistry", "ConsentRegistry", "DataUsageLog")
"""The modules compiled into ConsentLedger, all at its address."""
DEFAULT_PROPOSAL_LIFETIME: Final = 30 * 24 * 3600
"""Seconds a board proposal stays open unless the deployment says otherwise (30 days)."""
FRESH_HINT: Final = (
    "run `collective deploy --fresh` to deploy the suite anew and overwrite the manifest"
)


def creation_code(artifact: Artifact, args: Sequence[Any]) -> bytes:
    """``artifact``'s creation code followed by its ABI-encoded constructor arguments: the
    data of a contract-creating transaction, or the init code CREATE2 hashes (EIP-1014).

    Args:
        artifact: the compiled contract.
        args: the constructor's arguments in order (addresses as ``0x`` hex).

    Raises:
        InvalidInputError: the arguments do not fit the constructor's inputs.
    """
    constructor = next((e for e in artifact.abi if e.get("type") == "constructor"), {})
    types = [collapse_if_tuple(dict(i)) for i in constructor.get("inputs", [])]
    try:
        return artifact.bytecode + abi.encode(types, list(args))
    except (EncodingError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(f"bad constructor arguments for {artifact.name}: {exc}") from None


def immutable_ranges(name: str, config: ProjectConfig | None = None) -> list[tuple[int, int]]:
    """(start, length) in bytes of every immutable in ``name``'s runtime code, from its
    artifact (solc's ``immutableReferences``).

    Raises:
        CompilationError: there is no artifact for ``name``.
        ConfigurationError: the artifact records no immutable references.
    """
    return _immutable_ranges(load_artifact(name, config))


def _immutable_ranges(artifact: Artifact) -> list[tuple[int, int]]:
    if artifact.immutable_ranges is None:
        raise ConfigurationError(
            f"the artifact of {artifact.name} has no immutableReferences, so its on-chain code "
            "cannot be verified",
            hint="run `collective compile`",
        )
    return list(artifact.immutable_ranges)


def mask(code: bytes, ranges: Sequence[tuple[int, int]]) -> bytes:
    """``code`` with the given (start, length) byte ranges zeroed; ranges past its end are
    left alone."""
    out = bytearray(code)
    for start, length in ranges:
        if start + length <= len(out):
            out[start : start + length] = bytes(length)
    return bytes(out)


def verify_code(chain: Chain, name: str, address: str, config: ProjectConfig | None = None) -> None:
    """Check that the code at ``address`` is ``name``'s artifact.

    The byte ranges holding immutables (set by the constructor) are masked on both sides.

    Args:
        chain: the chain; name: the contract's name; address: where the manifest puts it.
        config: where the artifacts are; default hardhat.config.json.

    Raises:
        ChainError: there is no code at ``address``, or other code than the artifact's.
        CompilationError: there is no artifact for ``name``.
        ConfigurationError: the artifact records no immutable references.
    """
    artifact = load_artifact(name, config)
    on_chain = chain.code_at(address)
    if not on_chain:
        raise ChainError(
            f"there is no contract at {address}, where the manifest puts {name} (on {chain.where})",
            hint=FRESH_HINT,
        )
    ranges = _immutable_ranges(artifact)
    if mask(on_chain, ranges) != mask(artifact.deployed_bytecode, ranges):
        raise ChainError(
            f"the code at {address} is not {name} as compiled in the artifacts",
            hint=FRESH_HINT,
        )


__all__ = [
    "CONTRACTS",
    "DEFAULT_PROPOSAL_LIFETIME",
    "FACTORY",
    "FRESH_HINT",
    "LEDGER",
    "MODULES",
    "creation_code",
    "immutable_ranges",
    "mask",
    "verify_code",
]
