"""The node as CometBFT's ABCI 2.0 application: blocks decided by the validators' consensus.

CometBFT (v0.38, the consensus engine) orders transactions and decides blocks; this
application judges and executes them with the node's own chain (:class:`NodeChain
<collective.node.core.NodeChain>`, py-evm under :mod:`collective.node.execution`), so every
validator computes the same Ethereum blocks. The ABCI calls (spec/abci/abci++_methods.md of
CometBFT's source, one section each):

- **Info**: the last committed height (= the Ethereum head's number: CometBFT height ``h``
  is Ethereum block ``h``; block 0 is the genesis) and app hash, from which CometBFT's
  handshake replays whatever blocks the node's store missed after a crash.
- **InitChain**: the genesis must be this node's (``app_state`` is the Ethereum genesis
  object); the answer is block 0's state root; the genesis validators are remembered.
- **CheckTx**: admission into CometBFT's mempool, with the pool's rules
  (:func:`collective.node.admission.admit`: signature, chain id, fees, funds, gas, AccountRules
  ``transactionAllowed``) against the latest committed state and the transactions already
  admitted; a sender's nonces must follow each other with no gap (the mempool is first come,
  first served). The node's pool mirrors the mempool: it is emptied at each Commit and refilled
  by CometBFT's re-check of what the mempool still holds.
- **PrepareProposal**: the proposer keeps, of its mempool's transactions, those sure to apply
  to the block's starting state, within ``max_tx_bytes``, chosen without executing them
  (:mod:`collective.node.consensus.proposing`), so a block is executed once per validator
  (but for a choice holding a set-code transaction or a sender with code: executed first).
- **ProcessProposal**: every validator re-executes a proposed block against its starting
  state and rejects it unless every transaction applies -- permissioning included (a
  proposer that includes an unpermitted transaction cannot get its block committed), nonce
  order, funds and the block gas limit.
- **FinalizeBlock**: executes the decided block (the one ProcessProposal already executed
  is reused), deterministically: the Ethereum timestamp is CometBFT's header time in
  seconds (never before the parent's: blocks within one second share it, as on Ethermint,
  rather than run ahead of the clock), the coinbase is the proposer's address. The
  answer's ``app_hash`` is the Ethereum state root after the block, and each transaction's
  result carries the keccak256 of its Ethereum receipt as ``data``, so CometBFT's header
  commits to both (``AppHash``, ``LastResultsHash``); the rest of the Ethereum header follows
  from them and the block. (Not the Ethereum block hash: it changes with every block, even
  an empty one, and CometBFT makes a block to commit every new app hash, so blocks would
  never stop.) ``validator_updates`` come from AccountRules
  (:mod:`collective.node.consensus.validators`).
- **Commit**: the block, its receipts and logs are written in one store transaction
  (nothing is persisted before: a crash between FinalizeBlock and Commit is replayed by
  CometBFT, never executed twice).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth.abc import BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth_typing import Address
from eth_utils.crypto import keccak

from collective import __version__
from collective.errors import ConfigurationError, NodeError
from collective.node import admission
from collective.node.abci import CODE_TYPE_OK, Application, types_pb2
from collective.node.abci.proto.tendermint.crypto import keys_pb2
from collective.node.building import Built, build_block
from collective.node.consensus.checks import CheckAnswers
from collective.node.consensus.proposing import choose, confirm
from collective.node.consensus.validators import META_KEY, ValidatorSet, power_changes
from collective.node.errors import RpcError
from collective.node.execution.trie import encode_receipt
from collective.node.genesis import Genesis

if TYPE_CHECKING:
    from collective.node.node import Node

log = logging.getLogger("collective.node")

CODE_REFUSED = 1  # CheckTx / ExecTxResult: the transaction does not apply (log says why)
CODE_NOT_A_TX = 2  # the bytes are not a signed Ethereum transaction
CODESPACE = "collective"
MAX_CACHED_BLOCKS = 8  # blocks executed for proposals, kept until the next Commit
MAX_DECODED = 100_000  # admitted transactions kept decoded (sender recovered) for re-use


@dataclass(frozen=True)
class _Candidates:
    """A proposed block's transactions, decoded: the bytes that are transactions with their
    positions in the proposal, and the positions of those that are not."""

    txs: list[SignedTransactionAPI]
    raws: list[bytes]
    positions: list[int]
    garbage: dict[int, str]


class CollectiveApplication(Application):
    """The Collective node as an ABCI application (see the module docstring).

    Args:
        node: the :class:`~collective.node.node.Node` whose chain executes and stores the
            blocks; every call takes its lock (JSON-RPC reads go on between calls).
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self.chain = node.chain
        self.rules_address = node.config.account_rules or self.chain.genesis.account_rules
        self.validators = ValidatorSet.loads(self.chain.store.get_meta(META_KEY))
        # the set as the store holds it: InitChain's is written with the first block
        self._stored_validators = self.validators
        self._executed: dict[tuple[int, int, bytes, bytes], Built] = {}
        # raw bytes -> the transaction decoded, sender recovered, by CheckTx: the re-check
        # after each Commit and the proposals of blocks holding it skip decoding and
        # signature recovery
        self._decoded: dict[bytes, SignedTransactionAPI] = {}
        self._finalized: tuple[Built, ValidatorSet] | None = None
        self.checks = CheckAnswers()  # first CheckTx verdicts, for the sealer's broadcasts

    # --- Info / InitChain ---------------------------------------------------------------------

    def info(self, request: types_pb2.RequestInfo) -> types_pb2.ResponseInfo:
        """Info: ``last_block_height`` = the head's number, ``last_block_app_hash`` = its
        state root."""
        with self.node.lock:
            head = self.chain.head
            return types_pb2.ResponseInfo(
                data="collective",
                version=__version__,
                app_version=1,
                last_block_height=head.block_number,
                last_block_app_hash=bytes(head.state_root),
            )

    def init_chain(self, request: types_pb2.RequestInitChain) -> types_pb2.ResponseInitChain:
        """InitChain: check that CometBFT's genesis ``app_state`` is this node's genesis;
        answer block 0's state root as the app hash; remember the genesis validators.

        Raises: :class:`~collective.errors.ConfigurationError` (CometBFT stops: the two
        geneses must be made to agree) when ``app_state`` is missing or another genesis, or
        ``initial_height`` is not 1 (CometBFT height h is Ethereum block h)."""
        try:
            theirs = Genesis.from_json(json.loads(request.app_state_bytes or b"null"), "app_state")
        except (ValueError, ConfigurationError) as exc:
            raise ConfigurationError(
                f"CometBFT's genesis.json has no valid app_state ({exc})",
                hint="its app_state must be the Ethereum genesis the node runs "
                "(collective network init writes both)",
            ) from None
        if request.initial_height > 1:
            raise ConfigurationError(
                f"CometBFT's genesis initial_height is {request.initial_height}, but the "
                "node's chain has its first block at height 1",
                hint="set initial_height to 1 in CometBFT's genesis.json "
                "(collective network init writes it)",
            )
        if theirs != self.chain.genesis:
            raise ConfigurationError(
                "CometBFT's genesis app_state is not the genesis this node runs",
                hint="start the node with --genesis naming the same file as CometBFT's app_state",
            )
        with self.node.lock:
            if not self.validators.powers:
                self.validators = ValidatorSet(
                    {bytes(v.pub_key.ed25519): int(v.power) for v in request.validators}
                )
            return types_pb2.ResponseInitChain(app_hash=bytes(self.chain.head.state_root))

    # --- CheckTx ------------------------------------------------------------------------------

    def check_tx(self, request: types_pb2.RequestCheckTx) -> types_pb2.ResponseCheckTx:
        """CheckTx: admit the transaction into the pool (the mempool's mirror) by the latest
        committed state and the transactions already admitted; nonces without gaps.

        Returns: ``code`` 0 with ``gas_wanted``, or :data:`CODE_REFUSED` /
        :data:`CODE_NOT_A_TX` with the reason in ``log``; a first check's verdict also goes
        to :attr:`checks` (the validator's JSON-RPC waits there for its broadcasts')."""
        raw = bytes(request.tx)
        response = self._check(raw)
        if request.type == types_pb2.CheckTxType.NEW:
            self.checks.answer(raw, response.code, response.log)
        return response

    def _check(self, raw: bytes) -> types_pb2.ResponseCheckTx:
        with self.node.lock:
            try:
                tx = self._decoded.get(raw) or admission.decode(self.chain, raw)
            except RpcError as exc:
                return _refused_check(CODE_NOT_A_TX, exc.message)
            try:
                admission.admit(self.chain, tx, tx.sender, raw, gapless=True)
            except RpcError as exc:
                self._decoded.pop(raw, None)
                return _refused_check(CODE_REFUSED, exc.message)
            if len(self._decoded) >= MAX_DECODED:
                self._decoded.clear()
            self._decoded[raw] = tx
            return types_pb2.ResponseCheckTx(code=CODE_TYPE_OK, gas_wanted=tx.gas)

    # --- proposals ----------------------------------------------------------------------------

    def prepare_proposal(
        self, request: types_pb2.RequestPrepareProposal
    ) -> types_pb2.ResponsePrepareProposal:
        """PrepareProposal: of the mempool's transactions (in order, within
        ``max_tx_bytes``), those sure to apply to the block's starting state, chosen without
        executing them (:func:`collective.node.consensus.proposing.choose`): every validator,
        this one included, executes the block once, in ProcessProposal."""
        with self.node.lock:
            chain = self.chain
            if request.height != chain.head.block_number + 1:
                log.error("asked to propose block %d on head %d", request.height,
                          chain.head.block_number)  # fmt: skip
                return types_pb2.ResponsePrepareProposal()
            room = request.max_tx_bytes
            fitting: list[bytes] = []
            for raw in request.txs:
                if len(raw) > room:
                    break
                room -= len(raw)
                fitting.append(bytes(raw))
            found = self._decode(fitting)
            header = self._header(request)
            rules = chain.head_rules if chain.permissioning.enabled else None
            chosen = choose(header, chain.head_state, found.txs, rules)
            chosen = confirm(chain.evm, header, chain.head_state, found.txs, found.raws,
                             chosen, rules)  # fmt: skip
            return types_pb2.ResponsePrepareProposal(txs=[found.raws[i] for i in chosen])

    def process_proposal(
        self, request: types_pb2.RequestProcessProposal
    ) -> types_pb2.ResponseProcessProposal:
        """ProcessProposal: ACCEPT only a block whose every transaction is a signed Ethereum
        transaction that applies, in order, to the block's starting state (AccountRules'
        ``transactionAllowed`` there, nonce order, funds, the block gas limit); else REJECT."""
        status = types_pb2.ResponseProcessProposal
        with self.node.lock:
            head = self.chain.head.block_number
            if request.height != head + 1:
                log.warning("rejected proposal %d: the head is %d", request.height, head)
                return status(status=status.REJECT)
            found = self._decode([bytes(raw) for raw in request.txs])
            if found.garbage:
                position, why = next(iter(found.garbage.items()))
                log.warning("rejected proposal %d: transaction %d %s", request.height,
                            position, why)  # fmt: skip
                return status(status=status.REJECT)
            built = self._execute(request, found)
            for position, outcome in enumerate(built.outcomes):
                if outcome is not None:
                    log.warning("rejected proposal %d from %s: transaction %d: %s",
                                request.height, bytes(request.proposer_address).hex(),
                                position, outcome.reason)  # fmt: skip
                    return status(status=status.REJECT)
            return status(status=status.ACCEPT)

    # --- FinalizeBlock / Commit ---------------------------------------------------------------

    def finalize_block(
        self, request: types_pb2.RequestFinalizeBlock
    ) -> types_pb2.ResponseFinalizeBlock:
        """FinalizeBlock: execute the decided block; one ``tx_results`` entry per transaction
        (code 0 for those in the Ethereum block, their receipt's keccak256 as ``data`` and
        the Ethereum hash as an indexed ``ethereum_tx.hash`` event), the validator updates
        AccountRules' events make, and the state root as ``app_hash``. Nothing is stored
        until Commit.

        Raises: :class:`~collective.errors.NodeError` when the height is not the head's
        next (the store and CometBFT disagree: the handshake should have prevented it)."""
        with self.node.lock:
            head = self.chain.head.block_number
            if request.height != head + 1:
                raise NodeError(
                    f"CometBFT finalizes block {request.height} but this node's head is {head}"
                )
            found = self._decode([bytes(raw) for raw in request.txs])
            built = self._execute(request, found)
            results = [types_pb2.ExecTxResult() for _ in request.txs]
            for position, why in found.garbage.items():
                results[position] = _refused_result(CODE_NOT_A_TX, why)
            applied = iter(zip(built.applied, built.receipts, strict=True))
            previous = 0
            for position, outcome in zip(found.positions, built.outcomes, strict=True):
                if outcome is not None:
                    results[position] = _refused_result(CODE_REFUSED, outcome.reason)
                    continue
                tx, receipt = next(applied)
                results[position] = _applied_result(tx, receipt, receipt.gas_used - previous)
                previous = receipt.gas_used
            updates, after = self.validators.updates(
                power_changes(built.receipts, self.rules_address)
            )
            self._finalized = (built, after)
            return types_pb2.ResponseFinalizeBlock(
                tx_results=results,
                validator_updates=[
                    types_pb2.ValidatorUpdate(pub_key=keys_pb2.PublicKey(ed25519=key), power=power)
                    for key, power in updates
                ],
                app_hash=bytes(built.header.state_root),
            )

    def commit(self, request: types_pb2.RequestCommit) -> types_pb2.ResponseCommit:
        """Commit: store the finalized block atomically (with the validator set when it
        differs from the stored one: InitChain's goes with the first block, since CometBFT
        sends no InitChain to a node restarted after it); empty the pool (CometBFT re-checks
        what its mempool still holds).

        Raises: :class:`~collective.errors.NodeError` when no block was finalized; the
        store's errors when it cannot be written (CometBFT stops; its handshake replays the
        block at the next start)."""
        with self.node.lock:
            if self._finalized is None:
                raise NodeError("CometBFT commits, but no block was finalized")
            built, after = self._finalized
            meta = None if after == self._stored_validators else {META_KEY: after.dumps()}
            self.chain.commit_built(built, meta)
            for raw in built.raws:
                self._decoded.pop(raw, None)
            self.validators = self._stored_validators = after
            self.chain.pending.clear()
            self._executed.clear()
            self._finalized = None
            return types_pb2.ResponseCommit()

    # --- helpers ------------------------------------------------------------------------------

    def _header(
        self,
        request: (
            types_pb2.RequestPrepareProposal
            | types_pb2.RequestProcessProposal
            | types_pb2.RequestFinalizeBlock
        ),
    ) -> BlockHeaderAPI:
        """The Ethereum header the block at ``request.height`` starts with: CometBFT's time
        in seconds (never before the parent's; blocks in the same second share it, so block
        time never runs ahead of consensus time) and the proposer's address as coinbase."""
        proposer = bytes(request.proposer_address)
        coinbase = Address(proposer if len(proposer) == 20 else b"\x00" * 20)
        return self.chain.evm.child_header(
            self.chain.head,
            coinbase=coinbase,
            timestamp=request.time.seconds,
            strictly_later=False,  # blocks may come faster than one a second: no drift
        )

    def _decode(self, raws: list[bytes]) -> _Candidates:
        txs: list[SignedTransactionAPI] = []
        kept: list[bytes] = []
        positions: list[int] = []
        garbage: dict[int, str] = {}
        for position, raw in enumerate(raws):
            tx = self._decoded.get(raw)
            try:
                if tx is None:
                    tx = admission.decode(self.chain, raw)
                    if len(self._decoded) >= MAX_DECODED:
                        self._decoded.clear()
                    self._decoded[raw] = tx
            except RpcError as exc:
                garbage[position] = exc.message
                continue
            txs.append(tx)
            kept.append(raw)
            positions.append(position)
        return _Candidates(txs, kept, positions, garbage)

    def _execute(
        self,
        request: (
            types_pb2.RequestPrepareProposal
            | types_pb2.RequestProcessProposal
            | types_pb2.RequestFinalizeBlock
        ),
        found: _Candidates,
    ) -> Built:
        """The block at ``request.height`` with ``found``'s transactions, executed on the head
        (or the same block executed earlier for a proposal: same height, time, proposer and
        transactions)."""
        proposer = bytes(request.proposer_address)
        digest = hashlib.sha256(b"".join(hashlib.sha256(r).digest() for r in found.raws))
        key = (request.height, request.time.seconds, proposer, digest.digest())
        built = self._executed.get(key)
        if built is not None:
            return built
        header = self._header(request)
        rules = self.chain.head_rules if self.chain.permissioning.enabled else None
        built = build_block(self.chain.evm, header, found.txs, found.raws, rules)
        if len(self._executed) >= MAX_CACHED_BLOCKS:
            self._executed.clear()
        self._executed[key] = built
        return built


def _refused_check(code: int, why: str) -> types_pb2.ResponseCheckTx:
    return types_pb2.ResponseCheckTx(code=code, log=why, codespace=CODESPACE)


def _refused_result(code: int, why: str) -> types_pb2.ExecTxResult:
    return types_pb2.ExecTxResult(code=code, log=why, codespace=CODESPACE)


def _applied_result(
    tx: SignedTransactionAPI, receipt: ReceiptAPI, gas_used: int
) -> types_pb2.ExecTxResult:
    tx_hash = "0x" + bytes(tx.hash).hex()
    event = types_pb2.Event(
        type="ethereum_tx",
        attributes=[types_pb2.EventAttribute(key="hash", value=tx_hash, index=True)],
    )
    return types_pb2.ExecTxResult(
        code=CODE_TYPE_OK, data=keccak(encode_receipt(receipt)), gas_wanted=tx.gas,
        gas_used=gas_used,
        events=[event],
    )  # fmt: skip


__all__ = ["CODE_NOT_A_TX", "CODE_REFUSED", "CollectiveApplication"]
