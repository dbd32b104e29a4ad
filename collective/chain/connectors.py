"""Building a :class:`~collective.chain.Chain`: from a named network, a URL or in process.

:func:`connect` reads the project's networks (``hardhat.config.json``); :func:`connect_rpc`
probes a node (its chain id within :data:`PROBE_TIMEOUT` s) and recognizes dev nodes (anvil,
hardhat, ``collective node --dev``), whose well-known accounts it lends the Chain;
:func:`connect_embedded` starts a new py-evm chain in this process.
"""

from __future__ import annotations

import time

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount

from collective.chain.backend import Backend, RpcFailure, TransportError
from collective.chain.connection import Chain
from collective.chain.embedded import EmbeddedBackend
from collective.chain.http import HttpBackend
from collective.config import EMBEDDED_CHAIN_ID, NetworkConfig, ProjectConfig, load_config
from collective.errors import ChainError, ConfigurationError, InvalidInputError

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_CHAIN_ID = 31337  # anvil's and hardhat's default
DEV_ACCOUNT_COUNT = 10
PROBE_TIMEOUT = 4.5
"""The first request (eth_chainId) gets at most PROBE_TIMEOUT s to connect and as long to
answer, so an unreachable or hung node is reported within 10 s; later replies get the
network's timeout."""
DEV_CLIENTS = ("anvil", "hardhat", "collective-dev")  # web3_clientVersion prefixes


def dev_keys_from_mnemonic(count: int = DEV_ACCOUNT_COUNT) -> list[LocalAccount]:
    """The first ``count`` accounts anvil and hardhat prefund, from their well-known mnemonic
    (BIP-44 path ``m/44'/60'/0'/0/i``)."""
    seed = seed_from_mnemonic(DEV_MNEMONIC, "")
    return [Account.from_key(key_from_seed(seed, f"m/44'/60'/0'/0/{i}")) for i in range(count)]


def account_from_key(key: str, source: str = "the private key") -> LocalAccount:
    """The account for a hex private key.

    Args:
        key: 32 bytes as 64 hex digits, optionally 0x-prefixed (surrounding blanks ignored).
        source: where the key came from, for the message ("COLLECTIVE_PRIVATE_KEY").

    Raises:
        InvalidInputError: ``key`` is not a private key (the message never shows it).
    """
    try:
        account: LocalAccount = Account.from_key(key.strip())
    except (ValueError, TypeError):
        raise InvalidInputError(
            f"{source} is not a valid private key",
            hint="it must be 32 bytes as 64 hex digits, optionally prefixed with 0x",
        ) from None
    return account


def connect_embedded(name: str = "embedded", chain_id: int = EMBEDDED_CHAIN_ID) -> Chain:
    """A new in-process chain with ten prefunded dev accounts.

    Args:
        name: the network's name.
        chain_id: the chain id it reports and executes with.
    """
    backend = EmbeddedBackend(chain_id)
    return Chain(backend, name=name, chain_id=chain_id, dev_accounts=backend.accounts)


def connect_rpc(
    url: str,
    *,
    name: str | None = None,
    timeout: float = 10.0,
    expected_chain_id: int | None = None,
) -> Chain:
    """Connect to the JSON-RPC node at ``url``.

    Args:
        url: the node's ``http(s)://`` URL.
        name: the network's name (default ``chain-<id>``).
        timeout: seconds for each later request.
        expected_chain_id: refuse a node that reports another chain id.

    Raises:
        ChainError: the node does not answer ``eth_chainId`` within ``timeout`` s (at most
            :data:`PROBE_TIMEOUT` to connect and as long to answer), or reports another chain id.
    """
    probe = HttpBackend(url, min(PROBE_TIMEOUT, timeout))
    started = time.monotonic()
    try:
        chain_id = int(probe.request("eth_chainId", []), 16)
    except (TransportError, RpcFailure, TypeError, ValueError) as exc:
        cause = exc.reason if isinstance(exc, TransportError) else type(exc).__name__
        raise ChainError(
            f"cannot reach a JSON-RPC node at {url} ({cause} after "
            f"{time.monotonic() - started:.1f} s)",
            hint="is the node running? check --rpc, or the network's url in hardhat.config.json",
        ) from None
    finally:
        probe.close()
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainError(
            f"the node at {url} reports chain id {chain_id}, but network {name!r} is "
            f"configured with chain id {expected_chain_id}",
            hint="point the network at the right node, or fix its chainId in hardhat.config.json",
        )
    backend = HttpBackend(url, timeout)
    dev_accounts = dev_keys_from_mnemonic() if is_dev_node(backend, chain_id) else []
    return Chain(
        backend,
        name=name or f"chain-{chain_id}",
        chain_id=chain_id,
        url=url,
        dev_accounts=dev_accounts,
    )


def is_dev_node(backend: Backend, chain_id: int) -> bool:
    """Is this a dev node whose accounts are the well-known mnemonic's? Chain id 31337, or a
    ``web3_clientVersion`` of anvil, hardhat or ``collective node --dev``."""
    if chain_id == DEV_CHAIN_ID:
        return True
    try:
        version = str(backend.request("web3_clientVersion", [])).lower()
    except (TransportError, RpcFailure):
        return False
    return version.startswith(DEV_CLIENTS)


def connect(
    network: str | None = None,
    rpc: str | None = None,
    config: ProjectConfig | None = None,
) -> Chain:
    """Connect to a named network from the configuration, or to the node at ``rpc``.

    ``rpc`` wins over the network's own URL; with both, the network lends its name and
    expected chain id. Neither: the configuration's default network (the embedded chain).

    Raises:
        ConfigurationError: ``rpc`` is not an http(s) URL, or ``network`` is not configured.
        ChainError: the node cannot be reached or reports another chain id.
    """
    config = config or load_config()
    if rpc is not None:
        if not rpc.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"--rpc {rpc!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8545"
            )
        known = config.networks.get(network) if network else None
        return connect_rpc(
            rpc,
            name=network,
            timeout=known.timeout if known else 10.0,
            expected_chain_id=known.chain_id if known and not known.embedded else None,
        )
    net: NetworkConfig = config.network(network or config.default_network)
    if net.url is None:
        return connect_embedded(net.name, net.chain_id or EMBEDDED_CHAIN_ID)
    return connect_rpc(net.url, name=net.name, timeout=net.timeout, expected_chain_id=net.chain_id)


__all__ = [
    "DEV_CHAIN_ID",
    "DEV_MNEMONIC",
    "PROBE_TIMEOUT",
    "account_from_key",
    "connect",
    "connect_embedded",
    "connect_rpc",
    "dev_keys_from_mnemonic",
    "is_dev_node",
]
