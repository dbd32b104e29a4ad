"""A local consortium network: N validators, each a ``cometbft`` process and a ``collective
node`` (its ABCI 2.0 application), on one machine for development and tests.

==================  =======================================================================
``cometbft``        the pinned CometBFT version, finding its binary, its one-shot commands
``layout``          the network folder and ``network.json``: validators, ports, paths
``cometbft_files``  each validator's ``config.toml`` and the shared CometBFT ``genesis.json``
``genesis``         the Ethereum genesis with the contract suite in block 0, its manifest
``init``            :func:`init_network` (``collective network init``)
``members``         a consortium of real members' genesis (``collective network genesis``)
``processes``       a validator's processes: detached, pid files, logs, stopping
``control``         :func:`start_network`, :func:`stop_network`
``rpc``             the reads of CometBFT's and the node's RPC that status needs
``status``          :func:`network_status`
==================  =======================================================================
"""

from __future__ import annotations

from collective.network.cometbft import COMETBFT_VERSION, cometbft_binary
from collective.network.control import running_validators, start_network, stop_network
from collective.network.init import init_network
from collective.network.layout import NetworkLayout, Ports, ValidatorLayout
from collective.network.status import ValidatorStatus, network_status

__all__ = [
    "COMETBFT_VERSION",
    "NetworkLayout",
    "Ports",
    "ValidatorLayout",
    "ValidatorStatus",
    "cometbft_binary",
    "init_network",
    "network_status",
    "running_validators",
    "start_network",
    "stop_network",
]
