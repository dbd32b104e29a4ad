"""The ABCI 2.0 application base class: one method per request CometBFT sends.

Subclass :class:`Application` and override what the application does; every method not
overridden answers as CometBFT's Go ``BaseApplication`` does (abci/types/application.go,
v0.38.26): accept every transaction, proposal and vote extension, keep no state, offer no
snapshots. :class:`~collective.node.abci.server.AbciServer` calls these methods one at a time
(see its docstring), so an application needs no locking of its own against the server.

Each method takes the ``Request*`` message of its call and returns the ``Response*`` message
(the generated types in :mod:`collective.node.abci.proto.tendermint.abci.types_pb2`). An
exception raised by a method is logged by the server and answered with ``ResponseException``,
on which CometBFT shuts down: raise only for a fault the node cannot go on after.

Method semantics are CometBFT's specification, spec/abci/abci++_methods.md in the CometBFT
source (the section named in each docstring); which connection calls what is in
spec/abci/abci++_app_requirements.md ("Connection State"): consensus (InitChain,
PrepareProposal, ProcessProposal, ExtendVote, VerifyVoteExtension, FinalizeBlock, Commit),
mempool (CheckTx), info (Info, Query), snapshot (the four state-sync calls).
"""

from __future__ import annotations

from collective.node.abci.proto.tendermint.abci import types_pb2 as abci

CODE_TYPE_OK = 0
"""The ``code`` of a successful CheckTx / ExecTxResult / Query (abci/types ``CodeTypeOK``)."""


class Application:
    """An ABCI 2.0 application with CometBFT's ``BaseApplication`` defaults (see the module
    docstring); subclass it and override the calls the application implements."""

    # Info/Query connection

    def info(self, request: abci.RequestInfo) -> abci.ResponseInfo:
        """Info (abci++_methods.md "Info"): the application's name, versions and its last
        committed ``last_block_height`` and ``last_block_app_hash``, which CometBFT's handshake
        uses to replay the blocks the application missed. Default: an empty response (height 0,
        as a new application)."""
        return abci.ResponseInfo()

    def query(self, request: abci.RequestQuery) -> abci.ResponseQuery:
        """Query (abci++_methods.md "Query"): answer a read of the application state at
        ``request.path`` / ``request.data`` / ``request.height``. Default: ``code`` OK with no
        value."""
        return abci.ResponseQuery(code=CODE_TYPE_OK)

    # Mempool connection

    def check_tx(self, request: abci.RequestCheckTx) -> abci.ResponseCheckTx:
        """CheckTx (abci++_methods.md "CheckTx"): may ``request.tx`` enter the mempool?
        ``request.type`` is NEW for a fresh transaction, RECHECK after a block was committed.
        A non-zero ``code`` refuses it. Default: accept (``code`` 0)."""
        return abci.ResponseCheckTx(code=CODE_TYPE_OK)

    # Consensus connection

    def init_chain(self, request: abci.RequestInitChain) -> abci.ResponseInitChain:
        """InitChain (abci++_methods.md "InitChain"): called once, at genesis, with the genesis
        time, chain id, consensus params, validators and ``app_state_bytes``. The response may
        replace the validators and params and give the genesis ``app_hash``. Default: an empty
        response (keep CometBFT's genesis values, empty app hash)."""
        return abci.ResponseInitChain()

    def prepare_proposal(
        self, request: abci.RequestPrepareProposal
    ) -> abci.ResponsePrepareProposal:
        """PrepareProposal (abci++_methods.md "PrepareProposal"): this validator proposes the
        block at ``request.height``; return the transactions to put in it, whose total size
        must not exceed ``request.max_tx_bytes``. Default: ``request.txs`` in order, stopping
        before the first one that would take the total past ``max_tx_bytes``."""
        txs: list[bytes] = []
        total = 0
        for tx in request.txs:
            total += len(tx)
            if total > request.max_tx_bytes:
                break
            txs.append(tx)
        return abci.ResponsePrepareProposal(txs=txs)

    def process_proposal(
        self, request: abci.RequestProcessProposal
    ) -> abci.ResponseProcessProposal:
        """ProcessProposal (abci++_methods.md "ProcessProposal"): does the proposed block at
        ``request.height`` (its ``txs``, ``time``, ``proposer_address``) satisfy the
        application's rules? REJECT makes this validator prevote nil. Must be deterministic.
        Default: ACCEPT."""
        return abci.ResponseProcessProposal(status=abci.ResponseProcessProposal.ACCEPT)

    def extend_vote(self, request: abci.RequestExtendVote) -> abci.ResponseExtendVote:
        """ExtendVote (abci++_methods.md "ExtendVote"): application data to attach to this
        validator's precommit (only called when vote extensions are enabled in the consensus
        params). Default: no extension."""
        return abci.ResponseExtendVote()

    def verify_vote_extension(
        self, request: abci.RequestVerifyVoteExtension
    ) -> abci.ResponseVerifyVoteExtension:
        """VerifyVoteExtension (abci++_methods.md "VerifyVoteExtension"): is another
        validator's ``request.vote_extension`` acceptable? Default: ACCEPT."""
        return abci.ResponseVerifyVoteExtension(status=abci.ResponseVerifyVoteExtension.ACCEPT)

    def finalize_block(self, request: abci.RequestFinalizeBlock) -> abci.ResponseFinalizeBlock:
        """FinalizeBlock (abci++_methods.md "FinalizeBlock"): execute the decided block at
        ``request.height``; return one ``ExecTxResult`` per transaction, in order, the
        validator and consensus-param updates and the new ``app_hash`` (which CometBFT puts in
        the header of the next block). State changes are persisted only on Commit. Default:
        every transaction ``code`` 0, empty app hash."""
        return abci.ResponseFinalizeBlock(
            tx_results=[abci.ExecTxResult(code=CODE_TYPE_OK) for _ in request.txs]
        )

    def commit(self, request: abci.RequestCommit) -> abci.ResponseCommit:
        """Commit (abci++_methods.md "Commit"): persist the state FinalizeBlock computed;
        ``retain_height`` lets CometBFT prune blocks below it (0 keeps all). Default: keep
        all."""
        return abci.ResponseCommit()

    # State-sync (snapshot) connection

    def list_snapshots(self, request: abci.RequestListSnapshots) -> abci.ResponseListSnapshots:
        """ListSnapshots (abci++_methods.md "ListSnapshots"): the snapshots this node can
        serve to peers that state-sync. Default: none."""
        return abci.ResponseListSnapshots()

    def offer_snapshot(self, request: abci.RequestOfferSnapshot) -> abci.ResponseOfferSnapshot:
        """OfferSnapshot (abci++_methods.md "OfferSnapshot"): a peer's snapshot is offered for
        restoring from. Default: ``result`` UNKNOWN (0), which aborts the restoration (as the
        Go BaseApplication's empty response)."""
        return abci.ResponseOfferSnapshot()

    def load_snapshot_chunk(
        self, request: abci.RequestLoadSnapshotChunk
    ) -> abci.ResponseLoadSnapshotChunk:
        """LoadSnapshotChunk (abci++_methods.md "LoadSnapshotChunk"): the bytes of chunk
        ``request.chunk`` of the snapshot at ``request.height`` / ``request.format``.
        Default: empty."""
        return abci.ResponseLoadSnapshotChunk()

    def apply_snapshot_chunk(
        self, request: abci.RequestApplySnapshotChunk
    ) -> abci.ResponseApplySnapshotChunk:
        """ApplySnapshotChunk (abci++_methods.md "ApplySnapshotChunk"): apply chunk
        ``request.index`` of the accepted snapshot. Default: ``result`` UNKNOWN (0), which
        aborts the restoration (as the Go BaseApplication's empty response)."""
        return abci.ResponseApplySnapshotChunk()


__all__ = ["CODE_TYPE_OK", "Application"]
