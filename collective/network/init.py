"""``collective network init``: write everything a local N-validator network needs.

For each validator a CometBFT home made by ``cometbft init`` (its own consensus and node keys),
edited for 127.0.0.1 (:mod:`~collective.network.cometbft_files`); one CometBFT genesis listing
every validator with the Ethereum genesis as ``app_state``; the Ethereum genesis with the
contract suite predeployed (:mod:`~collective.network.genesis`); the suite's manifest; and
``network.json`` (:mod:`~collective.network.layout`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from collective.errors import ConfigurationError, InvalidInputError
from collective.network.cometbft import cometbft_binary, node_id, run_cometbft
from collective.network.cometbft_files import (
    EmptyBlocks,
    cometbft_genesis,
    default_consensus_params,
    read_keys,
    write_config,
)
from collective.network.genesis import Member, admin_key, network_genesis, organization_keys
from collective.network.layout import (
    DEFAULT_BASE_PORT,
    ENGINE_NAMES,
    GENESIS_FILE,
    MANIFEST_FILE,
    NETWORK_FILE,
    PORT_STRIDE,
    NetworkLayout,
    Ports,
    ValidatorLayout,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

MAX_VALIDATORS = 64
VALIDATOR_POWER = 10
DEFAULT_CHAIN_ID = 131277


def init_network(
    root: Path,
    validators: int,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    base_port: int = DEFAULT_BASE_PORT,
    ports: Sequence[Ports] | None = None,
    empty_blocks: str = "never",
    force: bool = False,
    engine: str = "py-evm",
) -> NetworkLayout:
    """Write a local network of ``validators`` validators into ``root``.

    Args:
        root: the network's folder (created; must be empty or absent unless ``force``).
        validators: how many validators, 1 to :data:`MAX_VALIDATORS`.
        chain_id: the Ethereum chain id; CometBFT's is ``collective-<chain_id>``.
        base_port: validator i's ports are ``base_port + 10 (i - 1)`` and the next three
            (:meth:`Ports.from_base`); ignored when ``ports`` is given.
        ports: each validator's ports, explicitly (tests pass free ones).
        empty_blocks: ``never``, ``always`` or a duration (:meth:`EmptyBlocks.parse`).
        force: replace a network already in ``root`` (its ``validator-*`` folders,
            ``genesis.json``, ``manifest.json`` and ``network.json``; nothing else is removed).
        engine: what executes blocks on every validator: ``py-evm`` or ``revm``
            (:data:`collective.node.execution.ENGINES`).

    Returns:
        The :class:`NetworkLayout`, also saved as ``root/network.json``.

    Raises:
        InvalidInputError: a count, chain id, port or empty-block mode out of range, or
            ``root`` is a file, or not empty without ``force``.
        ConfigurationError: cometbft is missing or of another version, or one of its
            commands failed; or a network in ``root`` is running (stop it first).
        CompilationError: the contract artifacts are stale.
    """
    root = root.resolve()
    empty = EmptyBlocks.parse(empty_blocks)
    if not 1 <= validators <= MAX_VALIDATORS:
        raise InvalidInputError(
            f"--validators {validators} is out of range",
            hint=f"give 1 to {MAX_VALIDATORS}; 4 validators tolerate one faulty",
        )
    if chain_id < 1:
        raise InvalidInputError(f"chain id {chain_id} must be positive")
    if engine not in ENGINE_NAMES:
        raise InvalidInputError(
            f"unknown execution engine {engine!r}", hint=f"one of {', '.join(ENGINE_NAMES)}"
        )
    chosen = list(ports) if ports is not None else _ports_from(base_port, validators)
    if len(chosen) != validators:
        raise InvalidInputError(f"{len(chosen)} port sets given for {validators} validators")
    numbers = [n for p in chosen for n in p.as_list()]
    if len(set(numbers)) != len(numbers):
        raise InvalidInputError("the validators' ports are not all distinct")
    binary = cometbft_binary()
    _prepare(root, force)
    try:
        return _write(root, binary, validators, chain_id, chosen, empty_blocks, empty, engine)
    except BaseException:
        _remove_network(root)  # no half-written network is left behind
        raise


def _write(
    root: Path,
    binary: Path,
    validators: int,
    chain_id: int,
    chosen: list[Ports],
    empty_blocks: str,
    empty: EmptyBlocks,
    engine: str,
) -> NetworkLayout:
    """Write the network into the prepared ``root`` (see :func:`init_network`)."""
    orgs = [_address_of(key) for key in organization_keys(validators)]
    layouts: list[ValidatorLayout] = []
    for index in range(1, validators + 1):
        folder = root / f"validator-{index}"
        home = folder / "cometbft"
        run_cometbft(binary, "init", "--home", str(home))
        (folder / "node").mkdir(parents=True)
        address, pub_key = read_keys(home)
        layouts.append(
            ValidatorLayout(
                index=index,
                organization=orgs[index - 1],
                node_id=node_id(binary, home),
                address=address,
                pub_key=pub_key,
                power=VALIDATOR_POWER,
                ports=chosen[index - 1],
                root=root,
            )
        )
    layout = NetworkLayout(
        root=root,
        chain_id=chain_id,
        cometbft_chain_id=f"collective-{chain_id}",
        admin=_address_of(admin_key()),
        empty_blocks=empty_blocks,
        validators=tuple(layouts),
        engine=engine,
    )
    timestamp = int(time.time())
    members = [Member(v.name, v.organization, v.pub_key, v.power) for v in layouts]
    genesis, manifest = network_genesis(
        chain_id=chain_id,
        timestamp=timestamp,
        admin=_account(admin_key()),
        members=members,
        dev=True,
    )
    manifest["network"] = layout.cometbft_chain_id
    manifest["rpc"] = layouts[0].url
    layout.genesis_path.write_text(genesis.dumps())
    layout.manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    document = cometbft_genesis(
        chain_id=layout.cometbft_chain_id,
        genesis_time=timestamp + 1,  # block 1's time: later than block 0's, as Ethereum needs
        validators=members,
        app_state=json.loads(genesis.dumps()),
        consensus_params=default_consensus_params(layouts[0].home),
    )
    text = json.dumps(document, indent=2) + "\n"
    for validator in layouts:
        (validator.home / "config" / "genesis.json").write_text(text)
        write_config(validator, [p for p in layouts if p is not validator], empty)
    layout.save()
    return layout


def _ports_from(base: int, count: int) -> list[Ports]:
    last = base + PORT_STRIDE * count
    hint = f"choose a base port from 1024 to {65535 - PORT_STRIDE * count}"
    if base < 1024:
        raise InvalidInputError(
            f"--base-port {base} is below 1024 (ports only root may listen on)", hint=hint
        )
    if last > 65535:
        raise InvalidInputError(
            f"--base-port {base} leaves no room for {count} validators "
            f"({PORT_STRIDE} ports each, up to 65535)",
            hint=hint,
        )
    return [Ports.from_base(base, i) for i in range(1, count + 1)]


def _prepare(root: Path, force: bool) -> None:
    """Make sure ``root`` is a folder we may write a new network into."""
    if root.exists() and not root.is_dir():
        raise InvalidInputError(f"{root} is a file, not a folder", hint="choose another --dir")
    if root.is_dir() and any(root.iterdir()):
        if not force:
            raise InvalidInputError(
                f"{root} is not empty",
                hint="choose an empty or new --dir, or pass --force to replace the network in it",
            )
        if (root / NETWORK_FILE).is_file():
            from collective.network.control import running_validators

            running = running_validators(NetworkLayout.load(root))
            if running:
                raise ConfigurationError(
                    f"the network in {root} is running (validators "
                    f"{', '.join(str(v) for v in running)})",
                    hint=f"stop it first: collective network stop {root}",
                )
        _remove_network(root)
    root.mkdir(parents=True, exist_ok=True)


def _remove_network(root: Path) -> None:
    """Remove what :func:`init_network` writes in ``root`` (nothing else)."""
    for old in root.glob("validator-*"):
        if old.is_dir():
            shutil.rmtree(old)
    for name in (GENESIS_FILE, MANIFEST_FILE, NETWORK_FILE):
        (root / name).unlink(missing_ok=True)


def _account(key: bytes) -> LocalAccount:
    from eth_account import Account

    account: LocalAccount = Account.from_key(key)
    return account


def _address_of(key: bytes) -> str:
    return str(_account(key).address)


__all__ = ["MAX_VALIDATORS", "VALIDATOR_POWER", "init_network"]
