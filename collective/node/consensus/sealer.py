"""The sealer of a validator: blocks come from CometBFT, transactions go to its mempool.

With ``collective node start --consensus cometbft`` this node decides nothing on its own
(:mod:`collective.node.sealer` says where a sealer sits). :class:`CometSealer`:

- serves the node to CometBFT over ABCI (:class:`~collective.node.abci.AbciServer` at the
  ``--abci`` address: CometBFT's ``proxy_app``) from :meth:`start` until :meth:`close`;
- hands every ``eth_sendRawTransaction`` to CometBFT's ``broadcast_tx_async`` (its RPC at
  ``--cometbft-rpc``), which runs CheckTx (this node's own admission) and gossips the
  transaction to the other validators, and waits for CheckTx's verdict; the answer is the
  transaction's hash or why CheckTx refused it; its receipt appears once a block holding
  it commits (finality is immediate: no reorgs);
- seals nothing before reads or after requests.
"""

from __future__ import annotations

import base64
import http.client
from typing import TYPE_CHECKING, Any

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

BROADCAST_TIMEOUT = 30.0  # seconds to wait for CometBFT, and for CheckTx's verdicts
COMETBFT_MAX_BATCH = 10  # CometBFT's default [rpc] max_request_batch_size


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
        self.forward_many = self.broadcast_many
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
        outcome = self.broadcast_many([raw])[0]
        if isinstance(outcome, RpcError):
            raise outcome
        return outcome

    def broadcast_many(self, raws: list[bytes]) -> list[bytes | RpcError]:
        """:meth:`broadcast` for many transactions: handed to CometBFT in JSON-RPC batches
        of ``broadcast_tx_async`` (:data:`COMETBFT_MAX_BATCH` a batch, CometBFT's default
        limit), which CheckTx judges in order; then CheckTx's verdicts are awaited from this
        node's own application (:class:`~collective.node.consensus.checks.CheckAnswers`).
        ``broadcast_tx_sync`` would give the same verdicts but handles a batch one
        transaction at a time, each its own round trip to the application.

        Returns: per transaction, its 32-byte hash or the :class:`RpcError` refusing it (all
        of them the same error when CometBFT cannot be reached)."""
        calls = [("broadcast_tx_async", [base64.b64encode(raw).decode()]) for raw in raws]
        answers: list[Any] = []
        expected = self.application.checks.expect(raws)
        try:
            for start in range(0, len(calls), COMETBFT_MAX_BATCH):
                chunk = calls[start : start + COMETBFT_MAX_BATCH]
                if len(chunk) > 1:
                    answers.extend(self._rpc.batch(chunk))
                    continue
                try:  # CometBFT answers a batch of one with a bare object
                    answers.append(self._rpc.call(*chunk[0]))
                except RpcFailure as exc:
                    answers.append(exc)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            expected.wait((), 0)
            error = RpcError(-32000, f"cannot reach CometBFT at {self.cometbft_rpc}: {reason(exc)}")
            return [error for _ in raws]
        taken = [raw for raw, answer in zip(raws, answers, strict=True) if _taken(answer)]
        verdicts = expected.wait(taken, BROADCAST_TIMEOUT)
        return [
            _outcome(raw, verdicts.get(raw) if _taken(answer) else answer)
            for raw, answer in zip(raws, answers, strict=True)
        ]


def _taken(answer: Any) -> bool:
    """Did CometBFT take the transaction for CheckTx (``broadcast_tx_async``'s answer
    ``code`` 0, not an error such as ``tx already exists in cache``)?"""
    return isinstance(answer, dict) and int(answer.get("code", 0)) == 0


def _outcome(raw: bytes, answer: Any) -> bytes | RpcError:
    """A transaction's hash, or why it was refused: ``answer`` is CheckTx's verdict
    (``(code, log)``), None when CheckTx never answered, or CometBFT's refusal of the
    broadcast."""
    if answer is None:
        return rejected(
            f"CometBFT took the transaction but its CheckTx gave no answer within "
            f"{BROADCAST_TIMEOUT:g} s (is CometBFT still connected to this node?)"
        )
    if isinstance(answer, tuple):
        code, log = answer
        return bytes(keccak(raw)) if code == 0 else rejected(log or "refused by CheckTx")
    if isinstance(answer, RpcFailure):
        text = f"{answer.message} {answer.data or ''}".strip()
        if "already exists in cache" in text:
            return rejected("already known")
        return rejected(f"CometBFT refused the transaction: {text}")
    return rejected(f"CometBFT answered the broadcast with {answer!r}")


__all__ = ["BROADCAST_TIMEOUT", "COMETBFT_MAX_BATCH", "CometSealer"]
