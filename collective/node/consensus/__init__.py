"""The node as a CometBFT validator's application (``collective node start --consensus
cometbft``): :mod:`~collective.node.consensus.app` answers ABCI 2.0,
:mod:`~collective.node.consensus.sealer` connects the node to CometBFT, and
:mod:`~collective.node.consensus.validators` turns AccountRules' validator events into
CometBFT validator updates."""

from __future__ import annotations

from collective.node.consensus.app import CODE_NOT_A_TX, CODE_REFUSED, CollectiveApplication
from collective.node.consensus.sealer import CometSealer
from collective.node.consensus.validators import ValidatorSet, power_changes

__all__ = [
    "CODE_NOT_A_TX",
    "CODE_REFUSED",
    "CollectiveApplication",
    "CometSealer",
    "ValidatorSet",
    "power_changes",
]
