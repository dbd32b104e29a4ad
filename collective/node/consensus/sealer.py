"""The sealer of a validator: blocks come from CometBFT, transactions go to its mempool.

With ``collective node start --consensus cometbft`` this node decides nothing on its own
(:mod:`collective.node.sealer` says where a sealer sits). :class:`CometSealer`:

- serves the node to CometBFT over ABCI (:class:`~collective.node.abci.AbciServer` at the
  ``--abci`` address: CometBFT's ``proxy_app``) from :meth:`start` until :meth:`close`;
- hands every ``eth_sendRawTransaction`` to CometBFT's ``broadcast_tx_sync`` (its RPC at
  ``--cometbft-rpc``), which runs CheckTx (this node's own admission) and gossips the
  transaction to the other validators; the answer is the transaction's hash, its receipt
  appears once a block holding it commits (finality is immediate: no reorgs);
- seals nothing before reads or after requests.
"""

from __future__ import annotations

import base64
import http.client
from typing import TYPE_CHECKING

from eth_utils.crypto import keccak

from collective.chain.backend import RpcFailure
from collective.chain.http import JsonRpc, reason
from collective.node.abci import AbciServer
from collective.node.consensus.app import CollectiveApplication
from collective.node.core import Sealed
from collective.node.errors import RpcError, rejected
from collective.node.sealer import Sealer

if TYPE_CHECKING:
    from collective.node.node import Node

BROADCAST_TIMEOUT = 30.0  # seconds to wait for CometBFT's CheckTx answer


class CometSealer(Sealer):
    """A validator's sealer (see the module docstring).

    Args:
        node: the node CometBFT drives.
        abci: where to listen for CometBFT (``tcp://HOST:PORT`` or ``unix:///path``).
        cometbft_rpc: CometBFT's RPC URL (``http://127.0.0.1:26657``).
    """

    def __init__(self, node: Node, abci: str, cometbft_rpc: str) -> None:
        super().__init__(node.chain)
        self.application = CollectiveApplication(node)
        self.server = AbciServer(self.application, abci)
        self.cometbft_rpc = cometbft_rpc
        self._rpc = JsonRpc(cometbft_rpc, timeout=BROADCAST_TIMEOUT)
        self.forward = self.broadcast
        self._started = False

    @property
    def describe(self) -> str:
        """``CometBFT (ABCI at …, RPC …)``."""
        return f"CometBFT (ABCI at {self.server.address}, RPC {self.cometbft_rpc})"

    def start(self) -> None:
        """Listen for CometBFT's ABCI connections (idempotent)."""
        if not self._started:
            self._started = True
            self.server.start()

    def after_request(self) -> list[Sealed]:
        """Nothing: blocks come from consensus."""
        return []

    def close(self) -> None:
        """Stop serving ABCI (CometBFT sees its application go away; nothing is sealed)."""
        self.server.close()
        self._rpc.close()

    def broadcast(self, raw: bytes) -> bytes:
        """Hand ``raw`` (a signed transaction's bytes) to CometBFT's mempool.

        Returns: the 32-byte transaction hash (keccak of ``raw``). Raises:
        :class:`~collective.node.errors.RpcError` -32000 with CheckTx's reason when it is
        refused (``nonce too low``, ``not permitted``…), ``already known`` when CometBFT
        has it already, or when CometBFT cannot be reached."""
        try:
            result = self._rpc.call("broadcast_tx_sync", [base64.b64encode(raw).decode()])
        except RpcFailure as exc:
            text = f"{exc.message} {exc.data or ''}"
            if "already exists in cache" in text:
                raise rejected("already known") from None
            raise rejected(f"CometBFT refused the transaction: {text.strip()}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise RpcError(
                -32000, f"cannot reach CometBFT at {self.cometbft_rpc}: {reason(exc)}"
            ) from None
        if int(result.get("code", 0)) != 0:
            raise rejected(str(result.get("log") or "refused by CheckTx"))
        return bytes(keccak(raw))


__all__ = ["BROADCAST_TIMEOUT", "CometSealer"]
