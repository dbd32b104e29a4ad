"""The few reads ``start`` and ``status`` make: CometBFT's ``status`` and ``net_info``, and the
node's ``eth_blockNumber``. Each returns None when the process does not answer (within a
second), so a stopped validator is a row of blanks, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collective.chain.backend import RpcFailure, TransportError
from collective.chain.http import JsonRpc

TIMEOUT = 1.0


@dataclass(frozen=True)
class CometStatus:
    """What CometBFT's ``status`` says: ``height`` (last committed block), ``app_hash`` (hex,
    the app hash after it), ``catching_up`` (still block-syncing), ``voting_power`` (this
    validator's, 0 when it is not in the set)."""

    height: int
    app_hash: str
    catching_up: bool
    voting_power: int


def _call(url: str, method: str) -> Any:
    client = JsonRpc(url, timeout=TIMEOUT)
    try:
        return client.call(method, [])
    except (TransportError, RpcFailure, OSError, ValueError):
        return None
    finally:
        client.close()


def cometbft_status(url: str) -> CometStatus | None:
    """CometBFT's ``status`` at ``url`` (its RPC), or None when it does not answer."""
    result = _call(url, "status")
    try:
        sync = result["sync_info"]
        return CometStatus(
            height=int(sync["latest_block_height"]),
            app_hash=str(sync["latest_app_hash"]),
            catching_up=bool(sync["catching_up"]),
            voting_power=int(result["validator_info"]["voting_power"]),
        )
    except (TypeError, KeyError, ValueError):
        return None


def cometbft_peers(url: str) -> int | None:
    """How many peers CometBFT at ``url`` is connected to (``net_info.n_peers``), or None."""
    result = _call(url, "net_info")
    try:
        return int(result["n_peers"])
    except (TypeError, KeyError, ValueError):
        return None


def eth_block_number(url: str) -> int | None:
    """The node's head block number (``eth_blockNumber``) at ``url``, or None."""
    result = _call(url, "eth_blockNumber")
    try:
        return int(result, 16)
    except (TypeError, ValueError):
        return None


__all__ = ["CometStatus", "cometbft_peers", "cometbft_status", "eth_block_number"]
