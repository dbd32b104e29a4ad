"""The CometBFT files of a local network: each validator's ``config.toml`` and the shared
``genesis.json``.

``config.toml`` is the one ``cometbft init`` wrote, edited with tomlkit so its comments stay:
the ABCI address of the node (``proxy_app``), listeners on 127.0.0.1, every other validator as
a persistent peer, consensus timeouts short enough for one machine, and the empty-block mode.
The genesis lists every validator's ed25519 key with equal power and carries the Ethereum
genesis as ``app_state`` (the node checks it at ``InitChain``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit

from collective.errors import InvalidInputError
from collective.network.genesis import Member
from collective.network.layout import ValidatorLayout

CONSENSUS_TIMEOUTS = {
    # one machine, no network latency: rounds only need to outlast the app's own work
    "timeout_propose": "2s",
    "timeout_propose_delta": "200ms",
    "timeout_prevote": "300ms",
    "timeout_prevote_delta": "100ms",
    "timeout_precommit": "300ms",
    "timeout_precommit_delta": "100ms",
    "timeout_commit": "100ms",
    # gossip votes and block parts every 10 ms, not 100: with no wire latency the sleeps
    # were most of a round (benchmarks/network.py, 600 grants: median send-to-receipt
    # 1.9-3.0 s -> 0.9-2.4 s in paired runs on a loaded 2-core machine, rate unchanged)
    "peer_gossip_sleep_duration": "10ms",
}
_DURATION = re.compile(r"^(\d+(\.\d+)?)(ms|s|m|h)$")


@dataclass(frozen=True)
class EmptyBlocks:
    """When CometBFT makes a block with no transactions (``[consensus]`` settings).

    ``create``: ``create_empty_blocks``; ``interval``: ``create_empty_blocks_interval``
    (a Go duration): with ``create`` and a non-zero interval, an empty block comes after that
    long without transactions; without ``create``, only when transactions arrive (and the one
    block after each that proves the new app hash).
    """

    create: bool
    interval: str

    @classmethod
    def parse(cls, text: str) -> EmptyBlocks:
        """``never`` (blocks only for transactions), ``always`` (one every round, ~0.3 s), or
        a duration such as ``5s`` or ``500ms`` (an empty block after that long idle).

        Raises:
            InvalidInputError: anything else.
        """
        value = text.strip().lower()
        if value == "never":
            return cls(create=False, interval="0s")
        if value == "always":
            return cls(create=True, interval="0s")
        match = _DURATION.match(value)
        if not match or float(match.group(1)) <= 0:
            raise InvalidInputError(
                f"--empty-blocks {text!r} is not 'never', 'always' or a positive duration",
                hint="e.g. --empty-blocks never, --empty-blocks always or --empty-blocks 5s",
            )
        return cls(create=True, interval=value)


def write_config(
    validator: ValidatorLayout, peers: Sequence[ValidatorLayout], empty: EmptyBlocks
) -> None:
    """Edit ``<home>/config/config.toml`` of ``validator`` for a local network.

    Args:
        validator: whose file (``cometbft init`` has written it).
        peers: every other validator of the network (its ``persistent_peers``).
        empty: the empty-block mode.

    Raises:
        OSError: the file cannot be read or written.
    """
    path = validator.home / "config" / "config.toml"
    doc = tomlkit.parse(path.read_text())
    doc["moniker"] = validator.name
    doc["proxy_app"] = validator.abci_address
    doc["log_level"] = "main:info,state:info,*:error"  # a line per block, not per message
    rpc: Any = doc["rpc"]
    rpc["laddr"] = f"tcp://127.0.0.1:{validator.ports.cometbft_rpc}"
    p2p: Any = doc["p2p"]
    p2p["laddr"] = f"tcp://127.0.0.1:{validator.ports.p2p}"
    p2p["persistent_peers"] = ",".join(p.peer_address for p in peers)
    p2p["addr_book_strict"] = False  # peers on 127.0.0.1 are not routable addresses
    p2p["allow_duplicate_ip"] = True  # every peer has the same IP
    p2p["flush_throttle_timeout"] = "10ms"  # send votes at once: no wire latency to batch for
    consensus: Any = doc["consensus"]
    for key, value in CONSENSUS_TIMEOUTS.items():
        consensus[key] = value
    consensus["create_empty_blocks"] = empty.create
    consensus["create_empty_blocks_interval"] = empty.interval
    tx_index: Any = doc["tx_index"]
    tx_index["indexer"] = "null"  # the node indexes transactions and receipts itself
    path.write_text(tomlkit.dumps(doc))


def rfc3339(timestamp: int) -> str:
    """Unix seconds as the RFC 3339 UTC time CometBFT's genesis expects."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cometbft_genesis(
    *,
    chain_id: str,
    genesis_time: int,
    validators: Sequence[Member],
    app_state: dict[str, Any],
    consensus_params: dict[str, Any],
) -> dict[str, Any]:
    """CometBFT's ``genesis.json`` for the network.

    Args:
        chain_id: CometBFT's chain id (``collective-<Ethereum chain id>``).
        genesis_time: Unix seconds (the Ethereum genesis' timestamp).
        validators: every genesis validator (its name, ed25519 key and power).
        app_state: the Ethereum genesis object, handed to the app at ``InitChain``.
        consensus_params: CometBFT's defaults, as ``cometbft init`` wrote them.

    Returns:
        The genesis document (JSON object).
    """
    return {
        "genesis_time": rfc3339(genesis_time),
        "chain_id": chain_id,
        "initial_height": "1",
        "consensus_params": consensus_params,
        "validators": [
            {
                "address": v.validator_address,
                "pub_key": {"type": "tendermint/PubKeyEd25519", "value": v.pub_key},
                "power": str(v.power),
                "name": v.name,
            }
            for v in validators
        ],
        "app_hash": "",
        "app_state": app_state,
    }


def read_keys(home: Path) -> tuple[str, str]:
    """The consensus key of the CometBFT ``home``: (hex address, base64 ed25519 public key).

    Raises:
        OSError, KeyError, ValueError: ``config/priv_validator_key.json`` is missing or
            malformed (``cometbft init`` writes it).
    """
    key = json.loads((home / "config" / "priv_validator_key.json").read_text())
    return str(key["address"]), str(key["pub_key"]["value"])


def default_consensus_params(home: Path) -> dict[str, Any]:
    """The consensus parameters ``cometbft init`` put in ``home``'s own genesis."""
    params: dict[str, Any] = json.loads((home / "config" / "genesis.json").read_text())[
        "consensus_params"
    ]
    return params


__all__ = [
    "CONSENSUS_TIMEOUTS",
    "EmptyBlocks",
    "cometbft_genesis",
    "default_consensus_params",
    "read_keys",
    "rfc3339",
    "write_config",
]
