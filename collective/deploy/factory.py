"""The ChainBoundDeployer: the ConsentLedger at an address unique to the chain.

The ledger is created with CREATE2 (EIP-1014) under a salt the factory mixes with
``block.chainid``, so its address differs on every chain even for the same deployer and
nonces: ERC-1056's signed DID changes hash the registry address but no chain id, and an
address unique to the chain is what keeps them from replaying on another chain (see
``contracts/ChainBoundDeployer.sol``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from eth_abi import abi
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from web3.types import TxReceipt

from collective.build.artifacts import Artifact, load_artifact
from collective.chain import Chain
from collective.chain.codec import Codec
from collective.config import ProjectConfig
from collective.deploy.contracts import FACTORY, FRESH_HINT, LEDGER, creation_code
from collective.errors import ChainError, ConfigurationError
from collective.types import Address

LEDGER_SALT: Final = keccak(text="Collective ConsentLedger")
"""The ledger's CREATE2 salt before the factory mixes in the chain id."""


def ledger_address_for(
    chain_id: int, factory: str, rules: str, config: ProjectConfig | None = None
) -> Address:
    """The address ``ChainBoundDeployer`` at ``factory`` gives the ConsentLedger for
    AccountRules ``rules`` on chain ``chain_id``: EIP-1014 CREATE2 with salt
    ``keccak256(abi.encode(chainId, LEDGER_SALT))``.

    Args:
        chain_id: the chain's id; factory, rules: addresses (``0x`` + 40 hex).
        config: where the ConsentLedger artifact is; default hardhat.config.json.

    Returns:
        The checksummed address.

    Raises:
        CompilationError: there is no ConsentLedger artifact.
    """
    init = creation_code(load_artifact(LEDGER, config), [rules])
    salt = keccak(abi.encode(["uint256", "bytes32"], [chain_id, LEDGER_SALT]))
    factory_bytes = bytes.fromhex(to_checksum_address(factory)[2:])
    digest = keccak(b"\xff" + factory_bytes + salt + keccak(init))
    return Address(to_checksum_address(digest[12:]))


def deploy_ledger(
    chain: Chain,
    deployer: LocalAccount,
    factory_address: str,
    artifacts: dict[str, Artifact],
    rules_address: str,
) -> tuple[Address, TxReceipt]:
    """Create the ConsentLedger for AccountRules ``rules_address`` through the factory.

    Args:
        chain: the chain; deployer: who sends (and pays).
        factory_address: the deployed ChainBoundDeployer.
        artifacts: the suite's artifacts by name (ConsentLedger and ChainBoundDeployer).
        rules_address: the AccountRules the ledger is wired to.

    Returns:
        (the ledger's address, the transaction receipt of the factory call).

    Raises:
        TransactionError: the factory call reverted.
        ChainError: the factory reported no ledger, or one elsewhere than CREATE2 gives.
    """
    factory_abi = Codec(artifacts[FACTORY].abi)
    init = creation_code(artifacts[LEDGER], [rules_address])
    data = factory_abi.encode("deploy", [init, LEDGER_SALT])
    factory = to_checksum_address(factory_address)
    tx_receipt = chain.wait(chain.send_data(factory, data, deployer, what="deploy"))
    deployed = [
        event.args["deployed"]
        for event in (factory_abi.decode_log(log) for log in tx_receipt["logs"])
        if event is not None and event.event == "Deployed" and event.address == factory
    ]
    if len(deployed) != 1:
        raise ChainError("the ChainBoundDeployer created no ConsentLedger")
    address = Address(to_checksum_address(deployed[0]))
    expected = ledger_address_for(chain.chain_id, factory_address, rules_address)
    if address != expected:
        raise ChainError(f"the ledger landed at {address}, not at {expected} as CREATE2 gives")
    return address, tx_receipt


def check_chain_bound(
    data: dict[str, Any],
    path: Path,
    chain: Chain,
    config: ProjectConfig,
    rules_address: str,
    ledger_address: str,
) -> None:
    """Check that a manifest's ledger sits where its ChainBoundDeployer puts it on ``chain``.

    Args:
        data: the parsed manifest at ``path``; chain: the connected chain.
        config: where the artifacts are; rules_address, ledger_address: the manifest's.

    Raises:
        ConfigurationError: the manifest records no factory (a ledger address that may not
            be unique to the chain).
        ChainError: the ledger is not at the chain-bound address.
    """
    factory = (data.get("factory") or {}).get("address")
    if not isinstance(factory, str) or not is_address(factory):
        raise ConfigurationError(
            f"{path} records no ChainBoundDeployer: its ledger address may not be unique to this "
            "chain, so signed DID changes could replay from another chain",
            hint=FRESH_HINT,
        )
    expected = ledger_address_for(chain.chain_id, factory, rules_address, config)
    if Address(to_checksum_address(ledger_address)) != expected:
        raise ChainError(
            f"the manifest's ConsentLedger {ledger_address} is not the chain-bound address "
            f"{expected} for chain {chain.chain_id}",
            hint=FRESH_HINT,
        )


__all__ = ["LEDGER_SALT", "check_chain_bound", "deploy_ledger", "ledger_address_for"]
