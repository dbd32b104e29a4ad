"""Deploying the suite in dependency order, or verifying and reusing the one a manifest
records.

Order: ``AccountRules([deployer])`` -> ``ChainBoundDeployer`` -> ``ConsentLedger(rules)``
created through it -> ``OversightBoard(rules, members, threshold, lifetime)`` ->
``rules.setBoard(board)``. Every transaction is encoded here (creation code plus ABI-encoded
constructor arguments, or calldata by the chain codec) and sent with :meth:`Chain.send_data
<collective.chain.Chain.send_data>`.

Running again against a node that already has the suite verifies that the code at every
address is the artifact's runtime code (immutables masked) and deploys nothing; ``fresh=True``
redeploys and overwrites the manifest. The embedded chain is new in every process, so there
an old manifest means nothing and the suite is always deployed fresh.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3.types import TxReceipt

from collective.build.artifacts import load_artifact
from collective.build.compiler import check_artifacts_current
from collective.chain import Chain
from collective.chain.addresses import parse_address
from collective.chain.codec import Codec
from collective.config import ProjectConfig, load_config
from collective.deploy.contracts import (
    CONTRACTS,
    DEFAULT_PROPOSAL_LIFETIME,
    FACTORY,
    FRESH_HINT,
    LEDGER,
    MODULES,
    creation_code,
    verify_code,
)
from collective.deploy.deployment import Deployment
from collective.deploy.factory import LEDGER_SALT, check_chain_bound, deploy_ledger
from collective.deploy.manifest import (
    MANIFEST_FORMAT,
    check_chain,
    compiler_info,
    default_manifest_path,
    entry,
    from_manifest,
    hex_of,
    read_manifest,
    write_atomically,
)
from collective.errors import ChainError, ConfigurationError, InvalidInputError
from collective.types import Address

log = logging.getLogger(__name__)


def _board(
    deployer: LocalAccount, members: Sequence[str] | None, threshold: int
) -> tuple[list[str], int]:
    """The board's checksummed members (default: the deployer) and its threshold, checked."""
    chosen = list(members) if members else [deployer.address]
    checked: list[str] = []
    for member in chosen:
        checked.append(parse_address(member, "board member"))
    if len(set(checked)) != len(checked):
        raise InvalidInputError("a board member is listed twice")
    if not 1 <= threshold <= len(checked):
        raise InvalidInputError(
            f"threshold {threshold} is invalid for a board of {len(checked)} member(s)",
            hint=f"choose a threshold from 1 to {len(checked)}",
        )
    return checked, threshold


def _reuse(
    chain: Chain,
    path: Path,
    config: ProjectConfig,
    members: Sequence[str] | None,
    threshold: int | None,
) -> Deployment:
    """Verify the suite the manifest at ``path`` records on ``chain`` and return it."""
    data = read_manifest(path)
    check_chain(data, path, chain)
    addresses = {name: data["contracts"][name]["address"] for name in CONTRACTS}
    for name in CONTRACTS:
        verify_code(chain, name, addresses[name], config)
    deployment = from_manifest(data, path, chain, config)
    rules, ledger, board = (deployment.contract(name) for name in CONTRACTS)
    rules_address = to_checksum_address(addresses["AccountRules"])
    check_chain_bound(data, path, chain, config, rules_address, addresses[LEDGER])
    for name, contract in (("ConsentLedger", ledger), ("OversightBoard", board)):
        if chain.call(contract.functions.accountRules()) != rules_address:
            raise ChainError(
                f"{name} at {addresses[name]} is not wired to the manifest's AccountRules",
                hint=FRESH_HINT,
            )
    if chain.call(rules.functions.board()) != to_checksum_address(addresses["OversightBoard"]):
        raise ChainError(
            "AccountRules' board is not the manifest's OversightBoard", hint=FRESH_HINT
        )
    if members is not None and sorted(map(to_checksum_address, members)) != sorted(
        deployment.board_members
    ):
        raise ConfigurationError(
            "the existing deployment has other board members than requested",
            hint="change membership through board proposals, or deploy with --fresh",
        )
    if threshold is not None and threshold != deployment.threshold:
        raise ConfigurationError(
            f"the existing deployment's board threshold is {deployment.threshold}, not {threshold}",
            hint="change it through a board proposal, or deploy with --fresh",
        )
    log.info("verified the suite on %s against %s; nothing deployed", chain.where, path)
    return deployment


def deploy_suite(
    chain: Chain,
    deployer: LocalAccount,
    *,
    board_members: Sequence[str] | None = None,
    threshold: int | None = None,
    proposal_lifetime: int = DEFAULT_PROPOSAL_LIFETIME,
    manifest_path: Path | None = None,
    fresh: bool = False,
    config: ProjectConfig | None = None,
) -> Deployment:
    """Deploy (or verify and reuse) the suite on ``chain`` and write its manifest.

    ``deployer`` becomes the AccountRules admin (and so can never be an organization account:
    the contract keeps the roles apart). ``board_members`` default to the deployer,
    ``threshold`` to 1; a board proposal stays open ``proposal_lifetime`` seconds (default 30
    days). When an existing deployment is reused, board members and a threshold other than
    None must match it; members given must match too, and the ledger must sit at the address
    the chain-bound factory gives on this chain.

    Args:
        chain: the chain to deploy on; deployer: who sends every transaction (and pays).
        board_members: OversightBoard members' addresses; threshold: approvals needed.
        proposal_lifetime: seconds a board proposal stays open (≥ 1).
        manifest_path: default ``deployments/<chain.name>.json``.
        fresh: deploy anew even when the manifest's suite is on the chain.
        config: default hardhat.config.json.

    Returns:
        The :class:`Deployment` (``reused`` when nothing was deployed).

    Raises:
        CompilationError: the artifacts are stale.
        InvalidInputError: bad board members, threshold or proposal lifetime.
        ConfigurationError: the manifest is another chain's, or the existing deployment's
            board differs from the one asked for.
        ChainError: the recorded code is missing or differs (use ``fresh=True``).
        TransactionError: a deployment transaction reverted.
    """
    config = config or load_config()
    check_artifacts_current(config)
    path = manifest_path or default_manifest_path(chain, config)
    notes: list[str] = []
    if path.exists() and not fresh:
        if chain.embedded:
            notes.append(
                f"the embedded chain starts empty in every process: deployed the suite fresh "
                f"and replaced {path}"
            )
        else:
            return _reuse(chain, path, config, board_members, threshold)
    members, threshold = _board(deployer, board_members, 1 if threshold is None else threshold)
    artifacts = {name: load_artifact(name, config) for name in (*CONTRACTS, FACTORY)}

    def deploy(name: str, *args: Any) -> tuple[Address, TxReceipt]:
        data = creation_code(artifacts[name], args)
        pending = chain.send_data(None, data, deployer, what=f"deploying {name}")
        tx_receipt = chain.wait(pending)
        address = tx_receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploying {name} returned no contract address")
        return Address(to_checksum_address(address)), tx_receipt

    if proposal_lifetime < 1:
        raise InvalidInputError(
            f"a board proposal lifetime of {proposal_lifetime} s is invalid",
            hint="give a number of seconds, e.g. 2592000 for 30 days",
        )
    rules_address, rules_tx = deploy("AccountRules", [deployer.address])
    factory_address, factory_tx = deploy(FACTORY)
    ledger_address, ledger_tx = deploy_ledger(
        chain, deployer, factory_address, artifacts, rules_address
    )
    board_address, board_tx = deploy(
        "OversightBoard", rules_address, members, threshold, proposal_lifetime
    )
    set_board = Codec(artifacts["AccountRules"].abi).encode("setBoard", [board_address])
    wiring_tx = chain.wait(chain.send_data(rules_address, set_board, deployer, what="setBoard"))

    created: dict[str, tuple[Address, TxReceipt, list[Any]]] = {
        "AccountRules": (rules_address, rules_tx, [[deployer.address]]),
        "ConsentLedger": (ledger_address, ledger_tx, [rules_address]),
        "OversightBoard": (
            board_address,
            board_tx,
            [rules_address, members, threshold, proposal_lifetime],
        ),
    }
    deployed_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    manifest = {
        "format": MANIFEST_FORMAT,
        "network": chain.name,
        "chainId": chain.chain_id,
        "rpc": chain.url,
        "deployer": deployer.address,
        "deployedAt": deployed_at,
        "compiler": compiler_info(config),
        "contracts": {
            name: entry(artifacts[name], address, tx_receipt, args)
            for name, (address, tx_receipt, args) in created.items()
        },
        "modules": {module: {"contract": LEDGER, "address": ledger_address} for module in MODULES},
        "factory": {
            **entry(artifacts[FACTORY], factory_address, factory_tx, []),
            "ledgerSalt": "0x" + LEDGER_SALT.hex(),
        },
        "board": {"address": board_address, "members": members, "threshold": threshold},
        "wiring": [
            {
                "call": "AccountRules.setBoard",
                "args": [board_address],
                "transactionHash": hex_of(wiring_tx["transactionHash"]),
                "blockNumber": int(wiring_tx["blockNumber"]),
            }
        ],
    }
    write_atomically(path, manifest)
    log.info("deployed the suite on %s; manifest %s", chain.where, path)
    return Deployment(
        chain_id=chain.chain_id,
        network=chain.name,
        deployer=deployer.address,
        addresses={name: address for name, (address, _, _) in created.items()},
        tx_hashes={name: hex_of(r["transactionHash"]) for name, (_, r, _) in created.items()},
        blocks={name: int(r["blockNumber"]) for name, (_, r, _) in created.items()},
        reused=False,
        board_members=tuple(members),
        threshold=threshold,
        deployed_at=deployed_at,
        manifest_path=path,
        notes=tuple(notes),
        chain=chain,
        config=config,
    )


__all__ = ["deploy_suite"]
