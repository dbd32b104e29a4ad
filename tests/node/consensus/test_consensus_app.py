"""The node's ABCI 2.0 application driven call by call, as CometBFT drives it (crafted
requests, no cometbft process): admission, the proposal rules every validator enforces,
deterministic execution, atomic commit, validator updates from AccountRules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Address
from google.protobuf.timestamp_pb2 import Timestamp

from collective.chain import Chain
from collective.deploy import Deployment, deploy_suite
from collective.node import Node, NodeConfig
from collective.node.abci import types_pb2 as abci
from collective.node.consensus import CODE_NOT_A_TX, CODE_REFUSED, CollectiveApplication
from collective.node.dev import DevAccounts
from collective.node.genesis import Genesis, build_genesis
from collective.node.predeploy import predeploy

ADMIN, ORG, STRANGER, NEWCOMER = (
    Account.from_key(k) for k in list(DevAccounts.create().keys.values())[:4]
)
PROPOSER = bytes.fromhex("11" * 20)
T0 = 1_900_000_000
ACCEPT = abci.ResponseProcessProposal.ACCEPT
REJECT = abci.ResponseProcessProposal.REJECT
VALIDATOR_KEY = bytes(range(1, 33))
SET_VALIDATOR = 7  # OversightBoard.Action.SetValidator


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Genesis, Deployment]:
    funded = [bytes.fromhex(a.address[2:]) for a in (ADMIN, ORG, STRANGER, NEWCOMER)]
    base = build_genesis(
        bootstrap_admins=funded[:1], allocs={a: 10**22 for a in funded}
    )  # fmt: skip
    manifest = tmp_path_factory.mktemp("suite") / "manifest.json"

    def deploy(chain: Chain) -> Deployment:
        deployment = deploy_suite(chain, ADMIN, manifest_path=manifest)
        chain.transact(deployment.contract("AccountRules").functions.admit(ORG.address), ADMIN)
        return deployment

    return predeploy(base, deploy)


@pytest.fixture
def node(suite: tuple[Genesis, Deployment], tmp_path: Path) -> Iterator[Node]:
    node = Node(NodeConfig(genesis=suite[0], data_dir=tmp_path / "node", consensus="cometbft"))
    try:
        yield node
    finally:
        node.close()


@pytest.fixture
def app(node: Node, suite: tuple[Genesis, Deployment]) -> CollectiveApplication:
    app = CollectiveApplication(node)
    app.init_chain(
        abci.RequestInitChain(
            app_state_bytes=suite[0].dumps().encode(),
            validators=[abci.ValidatorUpdate(power=10, pub_key=_key(bytes(32 * [9])))],
        )
    )
    return app


def _key(raw: bytes) -> Any:
    from collective.node.abci.proto.tendermint.crypto import keys_pb2

    return keys_pb2.PublicKey(ed25519=raw)


def _sign(
    account: LocalAccount, nonce: int, to: str, data: bytes = b"", gas: int = 200_000
) -> bytes:
    tx = {
        "type": 2, "chainId": 131277, "nonce": nonce, "to": to, "value": 0, "data": data,
        "gas": gas, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    return bytes(Account.sign_transaction(tx, account.key).raw_transaction)


def _calldata(deployment: Deployment, contract: str, fn: str, *args: Any) -> bytes:
    found = deployment.contract(contract)
    return bytes.fromhex(found.encode_abi(fn, args=list(args))[2:])


def _request(kind: type, height: int, txs: list[bytes], seconds: int = T0) -> Any:
    return kind(txs=txs, height=height, time=Timestamp(seconds=seconds), proposer_address=PROPOSER)


def _decide(app: CollectiveApplication, height: int, txs: list[bytes]) -> Any:
    assert app.process_proposal(_request(abci.RequestProcessProposal, height, txs)).status == ACCEPT
    answer = app.finalize_block(_request(abci.RequestFinalizeBlock, height, txs, T0 + height))
    app.commit(abci.RequestCommit())
    return answer


def _admit(deployment: Deployment, nonce: int, account: LocalAccount) -> bytes:
    rules = deployment.contract("AccountRules")
    return _sign(ADMIN, nonce, rules.address, _calldata(deployment, "AccountRules", "admit",
                                                          account.address))  # fmt: skip


def _org_tx(deployment: Deployment, account: LocalAccount, nonce: int) -> bytes:
    """A plain transfer of 0 by ``account`` (permitted if AccountRules admits it)."""
    return _sign(account, nonce, ADMIN.address, gas=21_000)


def test_info_reports_the_head_and_init_chain_checks_the_genesis(
    app: CollectiveApplication, node: Node, suite: tuple[Genesis, Deployment]
) -> None:
    info = app.info(abci.RequestInfo())
    assert info.last_block_height == 0
    assert info.last_block_app_hash == bytes(node.chain.head.state_root)
    other = build_genesis(chain_id=7)
    with pytest.raises(Exception, match="not the genesis this node runs"):
        app.init_chain(abci.RequestInitChain(app_state_bytes=other.dumps().encode()))
    with pytest.raises(Exception, match="no valid app_state"):
        app.init_chain(abci.RequestInitChain(app_state_bytes=b"{not json"))


def test_check_tx_admits_by_the_committed_state(
    app: CollectiveApplication, suite: tuple[Genesis, Deployment]
) -> None:
    deployment = suite[1]
    first = _admit(deployment, 0 + _nonce(app, ADMIN), NEWCOMER)
    assert app.check_tx(abci.RequestCheckTx(tx=first)).code == 0
    again = app.check_tx(abci.RequestCheckTx(tx=first))
    assert again.code == CODE_REFUSED and "already known" in again.log
    gap = _admit(deployment, _nonce(app, ADMIN) + 5, STRANGER)
    refused = app.check_tx(abci.RequestCheckTx(tx=gap))
    assert refused.code == CODE_REFUSED and "nonce too high" in refused.log
    stranger = app.check_tx(abci.RequestCheckTx(tx=_org_tx(deployment, STRANGER, 0)))
    assert stranger.code == CODE_REFUSED and "not permitted" in stranger.log
    garbage = app.check_tx(abci.RequestCheckTx(tx=b"\xc0garbage"))
    assert garbage.code == CODE_NOT_A_TX
    huge = app.check_tx(abci.RequestCheckTx(tx=b"\x02" + b"\x00" * 200_000))
    assert huge.code != 0 and "oversized" in huge.log


def _nonce(app: CollectiveApplication, account: LocalAccount) -> int:
    return app.chain.nonce(Address(bytes.fromhex(account.address[2:])), pending=True)


def test_a_proposal_with_an_unpermitted_transaction_is_rejected(
    app: CollectiveApplication, suite: tuple[Genesis, Deployment]
) -> None:
    deployment = suite[1]
    good = _org_tx(deployment, ORG, 0)
    unpermitted = _org_tx(deployment, STRANGER, 0)
    process = abci.RequestProcessProposal
    assert app.process_proposal(_request(process, 1, [good, unpermitted])).status == REJECT
    # admitting the stranger in the same block does not permit it there: the rule is the
    # block's starting state
    admit = _admit(deployment, _nonce(app, ADMIN), STRANGER)
    assert app.process_proposal(_request(process, 1, [admit, unpermitted])).status == REJECT
    assert app.process_proposal(_request(process, 1, [good])).status == ACCEPT
    # the proposer itself leaves it out
    prepared = app.prepare_proposal(
        abci.RequestPrepareProposal(txs=[good, unpermitted], max_tx_bytes=10**6, height=1,
                                    time=Timestamp(seconds=T0), proposer_address=PROPOSER)
    )  # fmt: skip
    assert list(prepared.txs) == [good]


def test_a_proposal_out_of_nonce_order_garbage_or_at_another_height_is_rejected(
    app: CollectiveApplication, suite: tuple[Genesis, Deployment]
) -> None:
    deployment = suite[1]
    first, second = _org_tx(deployment, ORG, 0), _org_tx(deployment, ORG, 1)
    process = abci.RequestProcessProposal
    assert app.process_proposal(_request(process, 1, [second, first])).status == REJECT
    assert app.process_proposal(_request(process, 1, [first, b"\x01junk"])).status == REJECT
    assert app.process_proposal(_request(process, 2, [first, second])).status == REJECT
    assert app.process_proposal(_request(process, 1, [first, second])).status == ACCEPT


def test_prepare_proposal_keeps_within_max_tx_bytes(
    app: CollectiveApplication, suite: tuple[Genesis, Deployment]
) -> None:
    txs = [_org_tx(suite[1], ORG, n) for n in range(3)]
    limit = len(txs[0]) + len(txs[1])
    prepared = app.prepare_proposal(
        abci.RequestPrepareProposal(txs=txs, max_tx_bytes=limit, height=1,
                                    time=Timestamp(seconds=T0), proposer_address=PROPOSER)
    )  # fmt: skip
    assert list(prepared.txs) == txs[:2]


def test_finalize_executes_deterministically_and_commit_persists(
    app: CollectiveApplication, node: Node, suite: tuple[Genesis, Deployment], tmp_path: Path
) -> None:
    txs = [_org_tx(suite[1], ORG, 0), _org_tx(suite[1], ORG, 1)]
    answer = app.finalize_block(_request(abci.RequestFinalizeBlock, 1, txs, T0 + 1))
    assert [r.code for r in answer.tx_results] == [0, 0]
    assert node.chain.head.block_number == 0  # nothing persisted before Commit
    app.commit(abci.RequestCommit())
    head = node.chain.head
    assert head.block_number == 1 and answer.app_hash == bytes(head.state_root)
    assert head.timestamp == T0 + 1 and bytes(head.coinbase) == PROPOSER
    attribute = answer.tx_results[0].events[0].attributes[0]
    assert (
        attribute.key == "hash"
        and attribute.value == "0x" + bytes(node.chain.store.block_raw_txs(1)[0][0]).hex()
    )
    info = app.info(abci.RequestInfo())
    assert (info.last_block_height, info.last_block_app_hash) == (1, answer.app_hash)
    # another validator (a fresh node on the same genesis) computes the same block
    other = Node(NodeConfig(genesis=suite[0], data_dir=tmp_path / "other", consensus="cometbft"))
    try:
        twin = CollectiveApplication(other)
        again = twin.finalize_block(_request(abci.RequestFinalizeBlock, 1, txs, T0 + 1))
        twin.commit(abci.RequestCommit())
        assert again.app_hash == answer.app_hash
        assert [r.data for r in again.tx_results] == [r.data for r in answer.tx_results]
        assert other.chain.head.hash == head.hash  # the same Ethereum block, byte for byte
    finally:
        other.close()


def test_an_empty_block_leaves_the_app_hash_as_it_was(app: CollectiveApplication) -> None:
    """CometBFT makes a block to commit each new app hash: an empty block must not make one,
    or blocks would never stop."""
    before = app.info(abci.RequestInfo()).last_block_app_hash
    answer = _decide(app, 1, [])
    assert answer.app_hash == before
    assert app.info(abci.RequestInfo()).last_block_height == 1


def test_a_crash_between_finalize_and_commit_loses_nothing_and_executes_once(
    suite: tuple[Genesis, Deployment], tmp_path: Path
) -> None:
    txs = [_org_tx(suite[1], ORG, 0)]
    config = NodeConfig(genesis=suite[0], data_dir=tmp_path / "node", consensus="cometbft")
    node = Node(config)
    first = CollectiveApplication(node).finalize_block(
        _request(abci.RequestFinalizeBlock, 1, txs, T0 + 1)
    )
    node.close()  # the process dies before Commit
    node = Node(config)
    try:
        app = CollectiveApplication(node)
        assert app.info(abci.RequestInfo()).last_block_height == 0  # CometBFT replays block 1
        replayed = app.finalize_block(_request(abci.RequestFinalizeBlock, 1, txs, T0 + 1))
        app.commit(abci.RequestCommit())
        assert replayed.app_hash == first.app_hash
        assert len(node.chain.store.block_raw_txs(1)) == 1
    finally:
        node.close()


def test_a_board_vote_and_a_suspension_become_validator_updates(
    app: CollectiveApplication, suite: tuple[Genesis, Deployment]
) -> None:
    deployment = suite[1]
    board = deployment.contract("OversightBoard")
    power = (25).to_bytes(32, "big")
    propose = _calldata(deployment, "OversightBoard", "propose", SET_VALIDATOR, ORG.address,
                        VALIDATOR_KEY, power)  # fmt: skip
    nonce = _nonce(app, ADMIN)
    answer = _decide(app, 1, [_sign(ADMIN, nonce, board.address, propose, 400_000)])
    assert answer.tx_results[0].code == 0
    updates = [(bytes(u.pub_key.ed25519), u.power) for u in answer.validator_updates]
    assert updates == [(VALIDATOR_KEY, 25)]
    suspend = _calldata(deployment, "OversightBoard", "propose", 0, ORG.address, bytes(32),
                        bytes(32))  # fmt: skip
    answer = _decide(app, 2, [_sign(ADMIN, nonce + 1, board.address, suspend, 400_000)])
    updates = [(bytes(u.pub_key.ed25519), u.power) for u in answer.validator_updates]
    assert updates == [(VALIDATOR_KEY, 0)]
    # the set the node keeps survives a restart (it is committed with the block)
    assert app.validators.powers == {bytes(32 * [9]): 10}


def test_what_prepare_proposal_chooses_is_what_every_validator_accepts(
    app: CollectiveApplication, suite: tuple[Genesis, Deployment]
) -> None:
    """PrepareProposal does not execute: its checks are conservative, so a proposal of its
    choice always passes ProcessProposal; a sender who cannot pay for a later transaction
    out of its balance less what its earlier ones may cost has that one left out."""
    deployment = suite[1]
    poor = Account.create()
    fund_tx = Account.sign_transaction(
        {"type": 2, "chainId": 131277, "nonce": _nonce(app, ADMIN), "to": poor.address,
         "value": 21_000 * 10**11 + 5, "gas": 21_000, "maxFeePerGas": 10**11,
         "maxPriorityFeePerGas": 10**9},
        ADMIN.key,
    )  # fmt: skip
    admit_poor = _admit(deployment, _nonce(app, ADMIN) + 1, poor)
    _decide(app, 1, [bytes(fund_tx.raw_transaction), admit_poor])
    first = _sign(poor, 0, ADMIN.address, gas=21_000)  # costs at most 21,000 * 1e11
    second = _sign(poor, 1, ADMIN.address, gas=21_000)  # no funds left for it
    third = _org_tx(deployment, ORG, 0)
    wrong_nonce = _org_tx(deployment, NEWCOMER, 3)
    prepared = app.prepare_proposal(
        abci.RequestPrepareProposal(txs=[first, second, wrong_nonce, third],
                                    max_tx_bytes=10**6, height=2,
                                    time=Timestamp(seconds=T0 + 2), proposer_address=PROPOSER)
    )  # fmt: skip
    assert list(prepared.txs) == [first, third]
    decided = _decide(app, 2, list(prepared.txs))
    assert [r.code for r in decided.tx_results] == [0, 0]


def test_blocks_in_the_same_second_share_its_timestamp(app: CollectiveApplication) -> None:
    """Ethereum time follows CometBFT's: blocks faster than one a second do not push it ahead
    of the clock (never before the parent's, never invented)."""
    for height in (1, 2, 3):
        app.finalize_block(_request(abci.RequestFinalizeBlock, height, [], T0))
        app.commit(abci.RequestCommit())
    assert app.chain.head.timestamp == T0
    app.finalize_block(_request(abci.RequestFinalizeBlock, 4, [], T0 - 5))  # a skewed clock
    app.commit(abci.RequestCommit())
    assert app.chain.head.timestamp == T0
