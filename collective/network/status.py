"""``collective network status``: per validator, whether it runs, its URLs, CometBFT's height,
the node's Ethereum head, peers and voting power."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collective.network.layout import NetworkLayout
from collective.network.processes import Service
from collective.network.rpc import cometbft_peers, cometbft_status, eth_block_number


@dataclass(frozen=True)
class ValidatorStatus:
    """One validator's state, read now.

    ``node_pid`` / ``cometbft_pid``: its processes (None: not running); ``height``: CometBFT's
    last committed height; ``head``: the node's Ethereum block number; ``peers``: CometBFT's
    connected peers; ``voting_power``: its power in CometBFT's current set; ``app_hash``: the
    app hash after ``height`` (hex); ``catching_up``: still block-syncing. Each read is None
    when that process does not answer.
    """

    index: int
    organization: str
    url: str
    cometbft_url: str
    node_pid: int | None
    cometbft_pid: int | None
    height: int | None
    head: int | None
    peers: int | None
    voting_power: int | None
    app_hash: str | None
    catching_up: bool | None

    @property
    def state(self) -> str:
        """``running`` (both processes), ``stopped`` (neither), or which one runs."""
        if self.node_pid is not None and self.cometbft_pid is not None:
            return "running"
        if self.node_pid is None and self.cometbft_pid is None:
            return "stopped"
        return "node only" if self.node_pid is not None else "cometbft only"

    def to_json(self) -> dict[str, Any]:
        """The JSON ``status --json`` prints for it."""
        return {
            "validator": self.index,
            "organization": self.organization,
            "state": self.state,
            "url": self.url,
            "cometbftUrl": self.cometbft_url,
            "nodePid": self.node_pid,
            "cometbftPid": self.cometbft_pid,
            "height": self.height,
            "head": self.head,
            "peers": self.peers,
            "votingPower": self.voting_power,
            "appHash": self.app_hash,
            "catchingUp": self.catching_up,
        }


def network_status(layout: NetworkLayout) -> list[ValidatorStatus]:
    """Every validator's :class:`ValidatorStatus`, in order. Only the processes running from
    this network's folder (by their pid files) are asked: a stopped validator is a row of
    blanks even when another program (another network on the same ports) answers there."""
    rows = []
    for v in layout.validators:
        node_pid = Service(v, "node").pid()
        cometbft_pid = Service(v, "cometbft").pid()
        comet = cometbft_status(v.cometbft_url) if cometbft_pid is not None else None
        rows.append(
            ValidatorStatus(
                index=v.index,
                organization=v.organization,
                url=v.url,
                cometbft_url=v.cometbft_url,
                node_pid=node_pid,
                cometbft_pid=cometbft_pid,
                height=comet.height if comet else None,
                head=eth_block_number(v.url) if node_pid is not None else None,
                peers=cometbft_peers(v.cometbft_url) if comet else None,
                voting_power=comet.voting_power if comet else None,
                app_hash=comet.app_hash if comet else None,
                catching_up=comet.catching_up if comet else None,
            )
        )
    return rows


__all__ = ["ValidatorStatus", "network_status"]
