"""Attacks on the node's ABCI application, driven call by call (crafted requests, no
cometbft): transactions of another chain, replayable ones, blob and set-code (EIP-7702)
transactions in proposals, the validator set across a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak
from google.protobuf.timestamp_pb2 import Timestamp

from collective.deploy import Deployment
from collective.errors import ConfigurationError
from collective.node import Node, NodeConfig
from collective.node.abci import types_pb2 as abci
from collective.node.consensus import CODE_REFUSED, CollectiveApplication
from collective.node.consensus.validators import ValidatorSet
from collective.node.genesis import Genesis
from tests.node.consensus import test_consensus_app as base
from tests.node.consensus.test_consensus_app import (
    ACCEPT,
    ADMIN,
    ORG,
    PROPOSER,
    REJECT,
    SET_VALIDATOR,
    STRANGER,
    T0,
    VALIDATOR_KEY,
    _calldata,
    _decide,
    _key,
    _nonce,
    _request,
    _sign,
)

suite, node, app = base.suite, base.node, base.app  # the fixtures, shared

CHAIN_ID = 131277


def _transfer(account: LocalAccount, nonce: int, **fields: Any) -> bytes:
    tx = {"nonce": nonce, "to": ADMIN.address, "value": 0, "gas": 21_000, **fields}
    return bytes(Account.sign_transaction(tx, account.key).raw_transaction)


def _process(app: CollectiveApplication, txs: list[bytes], height: int = 1) -> int:
    answer = app.process_proposal(_request(abci.RequestProcessProposal, height, txs))
    return int(answer.status)


def test_a_transaction_of_another_chain_is_in_no_block(app: CollectiveApplication) -> None:
    """A transaction signed for another chain id (another network of the consortium, a
    public chain) is refused by CheckTx, and a proposer that includes it anyway has its
    block rejected: the chain id is a rule of the block, not only of admission."""
    others = [
        _transfer(ORG, 0, chainId=7, gasPrice=10**11),  # legacy, EIP-155
        _transfer(ORG, 0, type=1, chainId=7, gasPrice=10**11, accessList=[]),
        _transfer(ORG, 0, type=2, chainId=7, maxFeePerGas=10**11, maxPriorityFeePerGas=1),
    ]
    for raw in others:
        checked = app.check_tx(abci.RequestCheckTx(tx=raw))
        assert checked.code == CODE_REFUSED and "chain id" in checked.log
        assert _process(app, [raw]) == REJECT
        finalized = app.finalize_block(_request(abci.RequestFinalizeBlock, 1, [raw]))
        assert finalized.tx_results[0].code == CODE_REFUSED
        assert "chain id" in finalized.tx_results[0].log
    ours = _transfer(ORG, 0, chainId=CHAIN_ID, gasPrice=10**11)
    assert _process(app, [ours]) == ACCEPT


def test_a_replayable_pre_eip155_transaction_is_refused(app: CollectiveApplication) -> None:
    """A legacy transaction signed without a chain id (before EIP-155) is valid on every
    chain, so anyone can replay it here from elsewhere: CheckTx refuses it (geth's words)
    and so does every validator in a proposal."""
    replayable = _transfer(ORG, 0, gasPrice=10**11)
    checked = app.check_tx(abci.RequestCheckTx(tx=replayable))
    assert checked.code == CODE_REFUSED and "replay-protected" in checked.log
    assert _process(app, [replayable]) == REJECT


def test_a_blob_transaction_in_a_proposal_is_rejected(app: CollectiveApplication) -> None:
    """CheckTx refuses blob transactions (EIP-4844 needs a beacon chain to carry blobs);
    a proposer that includes one has its block rejected."""
    blob = _transfer(
        ORG, 0, type=3, chainId=CHAIN_ID, maxFeePerGas=10**11, maxPriorityFeePerGas=1,
        maxFeePerBlobGas=10**9, blobVersionedHashes=[b"\x01" + bytes(31)],
    )  # fmt: skip
    assert app.check_tx(abci.RequestCheckTx(tx=blob)).code == CODE_REFUSED
    assert _process(app, [blob]) == REJECT


def test_a_set_code_authorization_does_not_make_the_proposers_own_block_fail(
    app: CollectiveApplication,
) -> None:
    """An EIP-7702 authorization changes its signer's nonce (and delegates its account to
    code anyone may call): the signer's own transaction in the same block no longer
    applies. Both pass CheckTx, so a proposer that chose without executing would propose a
    block every validator rejects, round after round, and the chain would halt."""
    admin_nonce = _nonce(app, ADMIN)
    authorization = Account.sign_authorization(
        {"chainId": CHAIN_ID, "address": STRANGER.address, "nonce": admin_nonce}, ADMIN.key
    )
    set_code = _transfer(
        ORG, 0, type=4, chainId=CHAIN_ID, maxFeePerGas=10**11, maxPriorityFeePerGas=1,
        gas=100_000, authorizationList=[authorization], to=ORG.address,
    )  # fmt: skip
    own = _sign(ADMIN, admin_nonce, ORG.address, gas=21_000)
    for raw in (set_code, own):
        assert app.check_tx(abci.RequestCheckTx(tx=raw)).code == 0
    prepared = app.prepare_proposal(
        abci.RequestPrepareProposal(txs=[set_code, own], max_tx_bytes=10**6, height=1,
                                    time=Timestamp(seconds=T0), proposer_address=PROPOSER)
    )  # fmt: skip
    assert list(prepared.txs) == [set_code]
    assert _process(app, list(prepared.txs)) == ACCEPT
    decided = _decide(app, 1, list(prepared.txs))
    assert [r.code for r in decided.tx_results] == [0]


def test_the_genesis_validators_survive_a_restart(
    suite: tuple[Genesis, Deployment], tmp_path: Path
) -> None:
    """InitChain's validators are the set CometBFT has; a validator restarted after block 1
    (CometBFT sends no InitChain then) must still know them, or it judges the validator
    updates of later blocks against another set than the validators that did not restart
    (here: it would withhold the removal of the only validator it knows of)."""
    genesis_key = bytes(32 * [9])
    config = NodeConfig(genesis=suite[0], data_dir=tmp_path / "node", consensus="cometbft")
    node = Node(config)
    try:
        app = CollectiveApplication(node)
        app.init_chain(
            abci.RequestInitChain(
                app_state_bytes=suite[0].dumps().encode(),
                validators=[abci.ValidatorUpdate(power=10, pub_key=_key(genesis_key))],
            )
        )
        _decide(app, 1, [])
    finally:
        node.close()
    node = Node(config)
    try:
        app = CollectiveApplication(node)
        assert app.validators.powers == {genesis_key: 10}
        board = suite[1].contract("OversightBoard")
        power = (25).to_bytes(32, "big")
        nonce = _nonce(app, ADMIN)
        propose = _calldata(suite[1], "OversightBoard", "propose", SET_VALIDATOR, ORG.address,
                            VALIDATOR_KEY, power)  # fmt: skip
        _decide(app, 2, [_sign(ADMIN, nonce, board.address, propose, 400_000)])
        suspend = _calldata(suite[1], "OversightBoard", "propose", 0, ORG.address, bytes(32),
                            bytes(32))  # fmt: skip
        answer = _decide(app, 3, [_sign(ADMIN, nonce + 1, board.address, suspend, 400_000)])
        updates = [(bytes(u.pub_key.ed25519), u.power) for u in answer.validator_updates]
        assert updates == [(VALIDATOR_KEY, 0)]
        assert app.validators.powers == {genesis_key: 10}
    finally:
        node.close()


def test_a_malformed_transaction_is_refused_and_no_proposal_of_it_crashes_a_validator(
    app: CollectiveApplication,
) -> None:
    """A contract creation with init code over EIP-3860's limit made py-evm raise out of the
    block's execution: admitted by CheckTx, any permitted sender could crash every
    validator's ProcessProposal and halt the chain. A priority fee above the fee cap
    (EIP-1559) was refused by CheckTx only. Both are now refused by CheckTx and rejected in
    a proposal; the rest of the block goes on."""
    fees = {"type": 2, "chainId": CHAIN_ID, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1}
    too_big = _transfer(ORG, 0, **{**fees, "to": None, "data": bytes(50_000), "gas": 10**7})
    checked = app.check_tx(abci.RequestCheckTx(tx=too_big))
    assert checked.code == CODE_REFUSED and "max initcode size exceeded" in checked.log
    assert _process(app, [too_big]) == REJECT
    tipping = _transfer(ORG, 0, **{**fees, "maxPriorityFeePerGas": 10**12})
    assert _process(app, [tipping]) == REJECT
    other = _sign(ADMIN, _nonce(app, ADMIN), ORG.address, gas=21_000)
    finalized = app.finalize_block(
        _request(abci.RequestFinalizeBlock, 1, [too_big, tipping, other])
    )
    assert [r.code for r in finalized.tx_results] == [CODE_REFUSED, CODE_REFUSED, 0]


def _set_code(authorizations: list[list[Any]], to: bytes) -> bytes:
    """A type-4 transaction of ORG's nonce 0, crafted field by field (eth_account refuses
    the malformed ones)."""
    payload = [CHAIN_ID, 0, 1, 10**11, 200_000, to, 0, b"", [], authorizations]
    key = PrivateKey(bytes(ORG.key))
    signature = key.sign_msg_hash(keccak(b"\x04" + rlp.encode(payload)))
    return b"\x04" + bytes(rlp.encode([*payload, signature.v, signature.r, signature.s]))


def test_a_set_code_transaction_that_can_never_apply_is_refused_by_check_tx(
    app: CollectiveApplication,
) -> None:
    """EIP-7702 makes a set-code transaction invalid without a recipient, without
    authorizations, or with an authorization's nonce of 2**64 or more: CheckTx admitted
    them, so they sat in every validator's mempool (re-checked after every block), never in
    a block."""
    key = PrivateKey(bytes(ORG.key))
    delegate = bytes(20 * [0x22])

    def authorization(nonce: int) -> list[Any]:
        signed = key.sign_msg_hash(keccak(b"\x05" + rlp.encode([CHAIN_ID, delegate, nonce])))
        return [CHAIN_ID, delegate, nonce, signed.v, signed.r, signed.s]

    recipient = bytes.fromhex(ADMIN.address[2:])
    never = [
        _set_code([authorization(2**64)], recipient),
        _set_code([], recipient),
        _set_code([authorization(1)], b""),
    ]
    for raw in never:
        checked = app.check_tx(abci.RequestCheckTx(tx=raw))
        assert checked.code == CODE_REFUSED and "invalid set-code transaction" in checked.log
        assert _process(app, [raw]) == REJECT
    assert app.check_tx(abci.RequestCheckTx(tx=_set_code([authorization(1)], recipient))).code == 0


def test_a_lone_validator_replacing_its_key_is_one_update_cometbft_applies() -> None:
    """A block's validator updates are applied together: the only validator's old key going
    out while its new key comes in leaves a validator, so the removal is passed on (it was
    withheld when the old key sorted first, leaving CometBFT's set and AccountRules' apart)."""
    old, new = bytes(32 * [1]), bytes(32 * [2])
    updates, after = ValidatorSet({old: 10}).updates({old: 0, new: 10})
    assert updates == [(old, 0), (new, 10)] and after.powers == {new: 10}
    updates, after = ValidatorSet({new: 10}).updates({new: 0, old: 10})
    assert updates == [(old, 10), (new, 0)] and after.powers == {old: 10}
    updates, after = ValidatorSet({old: 10}).updates({old: 0})
    assert updates == [] and after.powers == {old: 10}  # the last one stays


def test_init_chain_refuses_a_genesis_starting_at_another_height(
    app: CollectiveApplication, suite: tuple[Genesis, Deployment]
) -> None:
    """CometBFT height h is Ethereum block h: a genesis with initial_height 5 would have the
    first FinalizeBlock fail deep in the node; InitChain says what to change."""
    with pytest.raises(ConfigurationError, match="initial_height is 5"):
        app.init_chain(
            abci.RequestInitChain(app_state_bytes=suite[0].dumps().encode(), initial_height=5)
        )


def test_a_block_decided_in_a_later_round_is_executed_with_its_own_time_and_proposer(
    app: CollectiveApplication, suite: tuple[Genesis, Deployment], tmp_path: Path
) -> None:
    """Round 0's proposal (processed, then not decided) and round 1's, with the same
    transactions but another proposer and time: FinalizeBlock must not reuse round 0's
    execution, or this validator's app hash would differ from one that saw round 1 only."""
    txs = [_sign(ORG, 0, ADMIN.address, gas=21_000)]
    round0 = abci.RequestProcessProposal(
        txs=txs, height=1, time=Timestamp(seconds=T0), proposer_address=PROPOSER
    )
    assert app.process_proposal(round0).status == ACCEPT
    other = bytes.fromhex("22" * 20)
    decided = abci.RequestFinalizeBlock(
        txs=txs, height=1, time=Timestamp(seconds=T0 + 7), proposer_address=other
    )
    answer = app.finalize_block(decided)
    app.commit(abci.RequestCommit())
    assert app.chain.head.timestamp == T0 + 7 and bytes(app.chain.head.coinbase) == other
    fresh = Node(NodeConfig(genesis=suite[0], data_dir=tmp_path / "fresh", consensus="cometbft"))
    try:
        twin = CollectiveApplication(fresh)
        assert twin.finalize_block(decided).app_hash == answer.app_hash
        twin.commit(abci.RequestCommit())
        assert fresh.chain.head.hash == app.chain.head.hash
    finally:
        fresh.close()
