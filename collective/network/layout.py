"""A local network's folder and its description, ``DIR/network.json``.

::

    DIR/
      network.json          this description (format ``collective-network-1``)
      genesis.json          the Ethereum genesis every node starts from (suite predeployed)
      manifest.json         the deployment manifest of that suite (every contract at block 0)
      validator-1/
        cometbft/           CometBFT home: config/ (config.toml, genesis.json, keys), data/
        node/               the collective node's data directory
        node.log  cometbft.log  node.pid  cometbft.pid

Validators are numbered from 1. Paths in ``network.json`` are relative to ``DIR``, so the
folder can be moved as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collective.errors import ConfigurationError, NotFoundError

NETWORK_FORMAT = "collective-network-1"
NETWORK_FILE = "network.json"
GENESIS_FILE = "genesis.json"
MANIFEST_FILE = "manifest.json"
HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 26600
#: the node's execution engines (the keys of collective.node.execution.ENGINES, named here
#: without importing py-evm)
ENGINE_NAMES = ("py-evm", "revm")
PORT_STRIDE = 10  # validator i uses base + PORT_STRIDE * (i - 1) + an offset per service


@dataclass(frozen=True)
class Ports:
    """The TCP ports of one validator on :data:`HOST`.

    ``rpc``: the node's Ethereum JSON-RPC; ``abci``: where the node listens for CometBFT's
    ABCI connections; ``p2p``: CometBFT's peer-to-peer listener; ``cometbft_rpc``:
    CometBFT's own RPC (status, net_info, the mempool the node forwards to).
    """

    rpc: int
    abci: int
    p2p: int
    cometbft_rpc: int

    @classmethod
    def from_base(cls, base: int, index: int) -> Ports:
        """Validator ``index`` (from 1)'s ports in the block of :data:`PORT_STRIDE` ports that
        starts at ``base + PORT_STRIDE * (index - 1)``: p2p +0, CometBFT RPC +1, ABCI +2,
        JSON-RPC +3."""
        first = base + PORT_STRIDE * (index - 1)
        return cls(rpc=first + 3, abci=first + 2, p2p=first, cometbft_rpc=first + 1)

    def as_list(self) -> list[int]:
        """The four ports (JSON-RPC, ABCI, p2p, CometBFT RPC)."""
        return [self.rpc, self.abci, self.p2p, self.cometbft_rpc]


@dataclass(frozen=True)
class ValidatorLayout:
    """One validator of a local network: its keys' public parts, its ports and its folder.

    ``index`` counts from 1; ``organization`` is the checksummed address of the member
    organization it belongs to (admitted in AccountRules at genesis); ``node_id`` is CometBFT's
    P2P id (hex of the node key's address); ``address`` and ``pub_key`` are its consensus
    key's (hex address, base64 ed25519 public key); ``power`` its voting power.
    """

    index: int
    organization: str
    node_id: str
    address: str
    pub_key: str
    power: int
    ports: Ports
    root: Path

    @property
    def name(self) -> str:
        """``validator-<index>``: its folder and CometBFT moniker."""
        return f"validator-{self.index}"

    @property
    def folder(self) -> Path:
        """``DIR/validator-<index>``."""
        return self.root / self.name

    @property
    def home(self) -> Path:
        """Its CometBFT home (``--home``)."""
        return self.folder / "cometbft"

    @property
    def data_dir(self) -> Path:
        """The collective node's ``--data-dir``."""
        return self.folder / "node"

    @property
    def url(self) -> str:
        """The node's Ethereum JSON-RPC URL."""
        return f"http://{HOST}:{self.ports.rpc}"

    @property
    def cometbft_url(self) -> str:
        """CometBFT's RPC URL."""
        return f"http://{HOST}:{self.ports.cometbft_rpc}"

    @property
    def abci_address(self) -> str:
        """Where the node listens for ABCI (CometBFT's ``proxy_app``)."""
        return f"tcp://{HOST}:{self.ports.abci}"

    @property
    def peer_address(self) -> str:
        """``node_id@host:p2p``, as other validators list it in ``persistent_peers``."""
        return f"{self.node_id}@{HOST}:{self.ports.p2p}"

    def to_json(self) -> dict[str, Any]:
        """Its entry in ``network.json``."""
        return {
            "index": self.index,
            "name": self.name,
            "organization": self.organization,
            "nodeId": self.node_id,
            "address": self.address,
            "pubKey": self.pub_key,
            "power": self.power,
            "ports": {
                "rpc": self.ports.rpc,
                "abci": self.ports.abci,
                "p2p": self.ports.p2p,
                "cometbftRpc": self.ports.cometbft_rpc,
            },
            "url": self.url,
            "cometbftUrl": self.cometbft_url,
            "home": str(self.home.relative_to(self.root)),
            "dataDir": str(self.data_dir.relative_to(self.root)),
        }


@dataclass(frozen=True)
class NetworkLayout:
    """A local network as ``network.json`` describes it.

    ``root``: its folder; ``chain_id``: the Ethereum chain id (EIP-155);
    ``cometbft_chain_id``: ``collective-<chain_id>``; ``admin``: the bootstrap admin (AccountRules
    admin, sole board member, threshold 1); ``empty_blocks``: what ``--empty-blocks`` said;
    ``engine``: what executes blocks on every validator (``collective node start --engine``).
    """

    root: Path
    chain_id: int
    cometbft_chain_id: str
    admin: str
    empty_blocks: str
    validators: tuple[ValidatorLayout, ...]
    engine: str = "py-evm"

    @property
    def genesis_path(self) -> Path:
        """``DIR/genesis.json``: the Ethereum genesis (also CometBFT's ``app_state``)."""
        return self.root / GENESIS_FILE

    @property
    def manifest_path(self) -> Path:
        """``DIR/manifest.json``: where the contract suite lives (pass it as ``--manifest``)."""
        return self.root / MANIFEST_FILE

    @property
    def urls(self) -> list[str]:
        """Every validator's JSON-RPC URL, in validator order."""
        return [v.url for v in self.validators]

    def validator(self, index: int) -> ValidatorLayout:
        """Validator ``index`` (from 1).

        Raises:
            NotFoundError: the network has no such validator.
        """
        if not 1 <= index <= len(self.validators):
            raise NotFoundError(
                f"{self.root} has no validator {index}",
                hint=f"validators are numbered 1 to {len(self.validators)}",
            )
        return self.validators[index - 1]

    def select(self, indexes: tuple[int, ...] | list[int] = ()) -> list[ValidatorLayout]:
        """The validators numbered ``indexes`` (all of them when empty), in order.

        Raises:
            NotFoundError: an index is not a validator of the network.
        """
        if not indexes:
            return list(self.validators)
        return [self.validator(i) for i in sorted(set(indexes))]

    def to_json(self) -> dict[str, Any]:
        """``network.json``'s content."""
        return {
            "format": NETWORK_FORMAT,
            "chainId": self.chain_id,
            "cometbftChainId": self.cometbft_chain_id,
            "admin": self.admin,
            "emptyBlocks": self.empty_blocks,
            "engine": self.engine,
            "genesis": GENESIS_FILE,
            "manifest": MANIFEST_FILE,
            "validators": [v.to_json() for v in self.validators],
        }

    def save(self) -> None:
        """Write ``DIR/network.json``. Raises: ``OSError`` when it cannot be written."""
        (self.root / NETWORK_FILE).write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, root: Path) -> NetworkLayout:
        """The network that ``collective network init`` wrote into ``root``.

        Raises:
            NotFoundError: ``root`` is not a folder, or has no ``network.json``.
            ConfigurationError: ``network.json`` is unreadable or malformed.
        """
        root = root.resolve()
        path = root / NETWORK_FILE
        if not root.is_dir():
            raise NotFoundError(
                f"no network folder at {root}",
                hint="create one with `collective network init --validators 4 --dir DIR`",
            )
        if not path.is_file():
            raise NotFoundError(
                f"{root} holds no {NETWORK_FILE}: it is not a network folder",
                hint="create one with `collective network init --validators 4 --dir DIR`",
            )
        try:
            raw = json.loads(path.read_text())
            if raw.get("format") != NETWORK_FORMAT:
                raise ValueError(f"format is {raw.get('format')!r}, not {NETWORK_FORMAT!r}")
            validators = tuple(
                ValidatorLayout(
                    index=int(v["index"]),
                    organization=str(v["organization"]),
                    node_id=str(v["nodeId"]),
                    address=str(v["address"]),
                    pub_key=str(v["pubKey"]),
                    power=int(v["power"]),
                    ports=Ports(
                        rpc=int(v["ports"]["rpc"]),
                        abci=int(v["ports"]["abci"]),
                        p2p=int(v["ports"]["p2p"]),
                        cometbft_rpc=int(v["ports"]["cometbftRpc"]),
                    ),
                    root=root,
                )
                for v in raw["validators"]
            )
            return cls(
                root=root,
                chain_id=int(raw["chainId"]),
                cometbft_chain_id=str(raw["cometbftChainId"]),
                admin=str(raw["admin"]),
                empty_blocks=str(raw["emptyBlocks"]),
                validators=validators,
                engine=str(raw.get("engine", "py-evm")),  # networks written before engines
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(
                f"{path} is not a readable network description ({exc})",
                hint="re-create the network with `collective network init --force`",
            ) from None


__all__ = [
    "DEFAULT_BASE_PORT",
    "GENESIS_FILE",
    "HOST",
    "MANIFEST_FILE",
    "NETWORK_FILE",
    "NETWORK_FORMAT",
    "NetworkLayout",
    "Ports",
    "ValidatorLayout",
]
