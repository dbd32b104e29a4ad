"""The revm engine against the py-evm engine, block by block: two chains from one genesis
(the suite deployed in block 0: both engines build it), the same candidate transactions built
into a block on each (:func:`collective.node.building.build_block`, as every sealer and
validator builds one), then compared: each candidate's outcome (applied, or refused and why
in kind), each receipt (status, cumulative gas, logs, bloom: their encodings), the state root
and the block hash.

The blocks: direct grants and signed grants (relayed by the lab), recorded uses and a use
batch, uses without consent (reverts), a grant out of gas, value transfers, contract
creations (one that stores and logs, one whose constructor reverts), EIP-2930 (type 1),
legacy (type 0) and EIP-1559 (type 2) transactions, and transactions that do not apply (a
nonce gap, funds short, the transactions behind them, an unpermitted sender). EIP-7702
(type 4) transactions are covered by ``tests/node/test_revm_node.py`` (the node's type-4
scenario on revm, replayed on stock py-evm).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from web3 import Web3

from collective.chain import Chain
from collective.config import load_config
from collective.deploy import Deployment, deploy_suite
from collective.errors import ConfigurationError
from collective.ledger.requests import GrantRequest
from collective.ledger.signing import code, sign
from collective.node.building import Built, build_block
from collective.node.core import NodeChain
from collective.node.dev import DevAccounts
from collective.node.execution import ENGINES, revert_data, revm
from collective.node.execution.trie import encode_receipt
from collective.node.genesis import DEFAULT_CHAIN_ID, Genesis, build_genesis
from collective.node.predeploy import predeploy
from collective.testing.workload import FAR_FUTURE, RESEARCH, sign_grants, sign_tx

pytestmark = pytest.mark.skipif(
    not revm.available(), reason="collective_revm is not built (scripts/setup.sh needs cargo)"
)

ADMIN, LAB, STRANGER = (Account.from_key(k) for k in list(DevAccounts.create().keys.values())[:3])
SUBJECTS = [Account.from_key(bytes([7] * 31 + [i + 1])) for i in range(8)]
POOR = Account.from_key(bytes([9] * 32))
T0 = 1_900_000_000
GWEI = 10**9
ARTIFACTS = Path(__file__).resolve().parents[2] / "collective" / "artifacts"
# init code: store 0x2a at slot 1, emit LOG1(topic 0x77) of 32 zero bytes, return 1 byte
STORE_AND_LOG = bytes.fromhex("602a6001556077 6020 6000 a1".replace(" ", "") + "60016000f3")
REVERTING = bytes.fromhex("60006000fd")  # init code: REVERT(0, 0)


@pytest.fixture(scope="module")
def genesis(tmp_path_factory: pytest.TempPathFactory) -> tuple[Genesis, Deployment]:
    funded = [bytes.fromhex(a.address[2:]) for a in (ADMIN, LAB, STRANGER, *SUBJECTS)]
    allocs = {a: 10**22 for a in funded} | {bytes.fromhex(POOR.address[2:]): 10**15}
    base = build_genesis(bootstrap_admins=funded[:1], allocs=allocs)
    manifest = tmp_path_factory.mktemp("suite") / "manifest.json"

    # the packaged artifacts as they are (an installed package's view: no sources to check
    # them against; the engines' agreement does not depend on which contracts they run)
    config = replace(load_config(), sources=None)

    def deploy(chain: Chain) -> Deployment:
        deployment = deploy_suite(chain, ADMIN, manifest_path=manifest, config=config)
        rules = deployment.contract("AccountRules")
        for account in (LAB, POOR, *SUBJECTS):
            chain.transact(rules.functions.admit(account.address), ADMIN)
        ledger = deployment.contract("ConsentLedger")
        purposes = [code(RESEARCH)]
        chain.transact(
            ledger.functions.publishPolicy(code("policy"), "ipfs://policy", purposes), LAB
        )
        return deployment

    return predeploy(base, deploy)


class Twins:
    """A py-evm chain and a revm chain from the same genesis (in memory, or under
    ``data_dir``: :meth:`open` then opens them again), fed the same blocks."""

    def __init__(self, genesis: Genesis, data_dir: Path | None = None) -> None:
        self.genesis, self.data_dir = genesis, data_dir
        self.chains: list[NodeChain] = []
        self.open()
        self.time = T0
        self.nonces: dict[str, int] = {}
        self.last: Built | None = None

    def open(self) -> None:
        """Open both chains (again, from ``data_dir`` when there is one)."""
        self.chains = [
            NodeChain(self.genesis, self.data_dir and self.data_dir / name, engine=name)
            for name in ("py-evm", "revm")
        ]

    def close(self) -> None:
        for chain in self.chains:
            chain.close()

    def nonce(self, account: LocalAccount) -> int:
        """``account``'s next nonce as the test hands them out (the chains' own at first)."""
        if account.address not in self.nonces:
            state = self.chains[0].head_state
            self.nonces[account.address] = state.get_nonce(bytes.fromhex(account.address[2:]))
        nonce = self.nonces[account.address]
        self.nonces[account.address] = nonce + 1
        return nonce

    def build(
        self, raws: Sequence[bytes], *, parent: int | None = None, commit: bool = True
    ) -> list[str | None]:
        """Build one block of ``raws`` on each chain (on block ``parent``, or the head),
        commit it unless told not to, and assert the chains agree: each candidate's outcome,
        each receipt's encoding, the state root and the block hash. Returns each candidate's
        outcome (None: applied, else its Refusal's kind)."""
        self.time += 12
        results: list[Built] = []
        for chain in self.chains:
            on = chain.head if parent is None else chain.header_at(parent)
            assert on is not None
            header = chain.evm.child_header(on, coinbase=LAB_COINBASE, timestamp=self.time)
            txs = [chain.evm.decode_transaction(raw) for raw in raws]
            rules = chain.head_rules if chain.permissioning.enabled else None
            built = build_block(chain.evm, header, txs, list(raws), rules)
            if commit:
                chain.commit_built(built)
            results.append(built)
        reference, fast = results
        self.last = fast
        kinds = [[None if o is None else o.kind for o in b.outcomes] for b in results]
        assert kinds[0] == kinds[1]
        assert [encode_receipt(r) for r in reference.receipts] == [
            encode_receipt(r) for r in fast.receipts
        ]
        assert fast.header.state_root == reference.header.state_root
        assert fast.header.hash == reference.header.hash
        return kinds[1]

    def statuses(self) -> list[int]:
        """The statuses of the last block's receipts (1 success, 0 failure)."""
        assert self.last is not None
        return [1 if receipt.state_root == b"\x01" else 0 for receipt in self.last.receipts]

    def block(self, raws: Sequence[bytes]) -> tuple[list[str | None], list[int]]:
        """:meth:`build` one block of ``raws`` on the heads; its outcomes and the applied
        transactions' statuses (1 success, 0 failure)."""
        return self.build(raws), self.statuses()


LAB_COINBASE = bytes.fromhex("c0" * 20)


@pytest.fixture
def twins(genesis: tuple[Genesis, Deployment]) -> Iterator[Twins]:
    pair = Twins(genesis[0])
    try:
        assert pair.chains[0].head.hash == pair.chains[1].head.hash  # block 0 built by each
        yield pair
    finally:
        pair.close()


def _abi(name: str) -> Any:
    artifact = json.loads((ARTIFACTS / f"{name}.json").read_text())
    return Web3().eth.contract(abi=artifact["abi"])


def _typed(account: LocalAccount, nonce: int, to: bytes, data: bytes, *, kind: int) -> bytes:
    """A legacy (0) or access-list (1) transaction, 20 gwei, listing ``to``'s slots 0-2."""
    key = PrivateKey(account.key)
    if kind == 0:
        unsigned = PragueTransactionBuilder.create_unsigned_transaction(
            nonce=nonce, gas_price=20 * GWEI, gas=300_000, to=to, value=0, data=data
        )
        return bytes(unsigned.as_signed_transaction(key, chain_id=CHAIN_ID).encode())
    typed = PragueTransactionBuilder.new_unsigned_access_list_transaction(
        CHAIN_ID, nonce, 20 * GWEI, 300_000, to, 0, data, [(to, [0, 1, 2])]
    )
    return bytes(typed.as_signed_transaction(key).encode())


CHAIN_ID = DEFAULT_CHAIN_ID


def test_the_engines_are_registered() -> None:
    assert set(ENGINES) >= {"py-evm", "revm"}
    with pytest.raises(ConfigurationError, match="unknown execution engine"):
        NodeChain(Genesis(), None, engine="evmone")


def test_ledger_blocks_agree(twins: Twins, genesis: tuple[Genesis, Deployment]) -> None:
    deployment = genesis[1]
    ledger = deployment.address("ConsentLedger")
    ledger_bytes = bytes.fromhex(ledger[2:])
    abi = _abi("ConsentLedger")
    research = code(RESEARCH)

    # direct grants (each subject its own identity), and signed grants relayed by the lab
    for subject in SUBJECTS:
        twins.nonces[subject.address] = 0
    grants = sign_grants(SUBJECTS, ledger, LAB.address, 16, CHAIN_ID, twins.nonces, "g")
    signed = []
    for index, subject in enumerate(SUBJECTS[:4]):
        request = GrantRequest(
            identity=subject.address, organization=LAB.address, purpose=research,
            category=code(f"signed-{index}"), expiry=FAR_FUTURE, policy_version=1,
            policy_hash=code("policy"), nonce=int(time.time() * 1000) + index,
            deadline=T0 + 10**6,
        )  # fmt: skip
        args = sign(subject, request, chain_id=CHAIN_ID, verifying_contract=ledger).call_args()
        data = bytes.fromhex(abi.encode_abi("grantSigned", args=list(args))[2:])
        signed.append(sign_tx(LAB, CHAIN_ID, twins.nonce(LAB), ledger, data, gas=200_000))
    assert twins.block(grants + signed) == ([None] * 20, [1] * 20)

    # uses (covered, then a batch), uses without consent (revert, in all three types),
    # a grant that runs out of gas
    def use(identity: str, category: str) -> bytes:
        args = [identity, research, code(category), code("data")]
        return bytes.fromhex(abi.encode_abi("recordUse", args=args)[2:])

    uses = [
        sign_tx(LAB, CHAIN_ID, twins.nonce(LAB), ledger, use(SUBJECTS[i].address, f"g-{i}"))
        for i in range(6)
    ]
    batch_items = [(SUBJECTS[i].address, research, code(f"g-{i}"), code("b")) for i in range(6)]
    batch = bytes.fromhex(abi.encode_abi("recordUseBatch", args=[batch_items])[2:])
    uses.append(sign_tx(LAB, CHAIN_ID, twins.nonce(LAB), ledger, batch, gas=600_000))
    refused = use(SUBJECTS[0].address, "never-granted")
    uses.append(sign_tx(LAB, CHAIN_ID, twins.nonce(LAB), ledger, refused))
    uses.append(_typed(LAB, twins.nonce(LAB), ledger_bytes, refused, kind=0))
    uses.append(_typed(LAB, twins.nonce(LAB), ledger_bytes, refused, kind=1))
    uses.append(
        _typed(LAB, twins.nonce(LAB), ledger_bytes, use(SUBJECTS[1].address, "g-1"), kind=1)
    )
    grant = bytes.fromhex(
        abi.encode_abi(
            "grant", args=[SUBJECTS[5].address, LAB.address, research, code("oog"), FAR_FUTURE, 1]
        )[2:]
    )
    uses.append(sign_tx(SUBJECTS[5], CHAIN_ID, twins.nonce(SUBJECTS[5]), ledger, grant, gas=30_000))
    # 6 uses, the batch, 3 refused uses (types 2, 0, 1), a covered use (type 1), the grant
    assert twins.block(uses) == ([None] * 12, [1] * 7 + [0] * 3 + [1, 0])

    # value transfers (to a new account, between subjects, to the ledger: refused by it),
    # creations (one stores and logs, one reverts), then what does not apply
    fresh = Web3.to_checksum_address("0x" + "5e" * 20)
    moves = [
        sign_tx(SUBJECTS[2], CHAIN_ID, twins.nonce(SUBJECTS[2]), fresh, gas=21_000, value=10**18),
        sign_tx(SUBJECTS[3], CHAIN_ID, twins.nonce(SUBJECTS[3]), SUBJECTS[4].address,
                gas=21_000, value=1),
        sign_tx(SUBJECTS[4], CHAIN_ID, twins.nonce(SUBJECTS[4]), ledger, gas=50_000, value=1),
        _create(SUBJECTS[6], twins.nonce(SUBJECTS[6]), STORE_AND_LOG),
        _create(SUBJECTS[6], twins.nonce(SUBJECTS[6]), REVERTING),
        sign_tx(SUBJECTS[7], CHAIN_ID, twins.nonce(SUBJECTS[7]) + 5, fresh, gas=21_000),
        sign_tx(POOR, CHAIN_ID, twins.nonce(POOR), fresh, gas=21_000, value=10**18),
        sign_tx(POOR, CHAIN_ID, twins.nonce(POOR), fresh, gas=21_000, value=1),
        sign_tx(STRANGER, CHAIN_ID, 0, fresh, gas=21_000, value=1),
    ]  # fmt: skip
    assert twins.block(moves) == (
        [None] * 5 + ["invalid", "invalid", "follows", "unpermitted"],
        [1, 1, 0, 1, 0],
    )
    # and one more block on the state all that left
    last = sign_tx(SUBJECTS[2], CHAIN_ID, twins.nonce(SUBJECTS[2]), fresh)
    assert twins.block([last]) == ([None], [1])


def test_edge_blocks_agree(twins: Twins) -> None:
    """Touched empty accounts (EIP-161), precompiles (with and without value, BLS12-381 of
    EIP-2537), a call to an account that does not exist, block context opcodes (BLOCKHASH,
    COINBASE, BASEFEE, PREVRANDAO, SELFBALANCE) and a contract that self-destructs in its
    constructor (EIP-6780: deleted)."""
    for subject in SUBJECTS:
        twins.nonces[subject.address] = 0
    s = SUBJECTS

    def to(address: int) -> str:
        return Web3.to_checksum_address(f"0x{address:040x}")

    context = "600143034060005241600155484600255445600355476004556000ff"
    block = [
        sign_tx(s[0], CHAIN_ID, twins.nonce(s[0]), to(0x6060), gas=21_000, value=0),
        sign_tx(s[1], CHAIN_ID, twins.nonce(s[1]), to(4), gas=30_000, value=0),
        sign_tx(s[1], CHAIN_ID, twins.nonce(s[1]), to(1), gas=30_000, value=5),
        sign_tx(s[2], CHAIN_ID, twins.nonce(s[2]), to(0x0B), b"\x00" * 256, gas=60_000),
        sign_tx(s[3], CHAIN_ID, twins.nonce(s[3]), to(0x100), gas=30_000, value=0),
        _create(s[4], twins.nonce(s[4]), bytes.fromhex(context)),
        _create(s[4], twins.nonce(s[4]), bytes.fromhex("4340600055")),
    ]
    assert twins.block(block) == ([None] * 7, [1] * 7)
    assert twins.block([_create(s[5], twins.nonce(s[5]), bytes.fromhex("6001430340600055"))]) == (
        [None],
        [1],
    )


def _create(account: LocalAccount, nonce: int, init: bytes) -> bytes:
    tx: dict[str, Any] = {
        "chainId": CHAIN_ID, "nonce": nonce, "data": init, "gas": 200_000,
        "maxFeePerGas": 50 * GWEI, "maxPriorityFeePerGas": GWEI, "value": 0,
    }  # fmt: skip
    return bytes(account.sign_transaction(tx).raw_transaction)


def test_calls_agree(
    twins: Twins, genesis: tuple[Genesis, Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``eth_call`` on the revm engine (run in revm) answers as on py-evm: outputs, revert
    data, and the calls revm hands back to py-evm for its words (out of gas, a sender with
    code, funds short)."""
    ledger = genesis[1].address("ConsentLedger")
    ledger_bytes = bytes.fromhex(ledger[2:])
    abi = _abi("ConsentLedger")
    research = code(RESEARCH)
    for subject in SUBJECTS:
        twins.nonces[subject.address] = 0
    grants = sign_grants(SUBJECTS, ledger, LAB.address, 8, CHAIN_ID, twins.nonces, "c")
    twins.block(grants)
    lab = bytes.fromhex(LAB.address[2:])

    def encoded(name: str, *args: Any) -> bytes:
        return bytes.fromhex(abi.encode_abi(name, args=list(args))[2:])

    covered = [
        encoded("isCovered", s.address, LAB.address, research, code(f"c-{i}"))
        for i, s in enumerate(SUBJECTS)
    ]
    asked = [
        # (sender, to, data, value, gas): the answer, and whether revm answers it itself
        *((b"\0" * 20, ledger_bytes, data, 0, 1_000_000, True) for data in covered),
        (b"\0" * 20, ledger_bytes, encoded("isCovered", SUBJECTS[0].address, LAB.address,
                                           research, code("never")), 0, 1_000_000, True),
        (lab, ledger_bytes, encoded("getConsent", SUBJECTS[1].address, LAB.address, research,
                                    code("c-1")), 0, 1_000_000, True),
        (lab, ledger_bytes, encoded("recordUse", SUBJECTS[0].address, research,
                                    code("never"), code("d")), 0, 1_000_000, True),  # reverts
        (lab, ledger_bytes, covered[0], 0, 22_000, False),  # out of gas: py-evm's words
        (ledger_bytes, ledger_bytes, covered[0], 0, 1_000_000, False),  # EIP-3607
        (bytes.fromhex(POOR.address[2:]), lab, b"", 10**20, 100_000, False),  # funds
    ]  # fmt: skip
    fallbacks: list[bytes] = []
    py_evm_call = revm.Evm.call

    def counted(self: Any, state: Any, **kwargs: Any) -> Any:
        if isinstance(self, revm.RevmEngine):
            fallbacks.append(kwargs["data"])
        return py_evm_call(self, state, **kwargs)

    monkeypatch.setattr(revm.Evm, "call", counted)
    reference, fast = (chain.evm for chain in twins.chains)
    for sender, to, data, value, gas, in_revm in asked:
        answers = []
        for chain, engine in zip(twins.chains, (reference, fast), strict=True):
            state = engine.state(chain.head.copy(base_fee_per_gas=0))
            try:
                result = engine.call(state, sender=sender, to=to, data=data, value=value, gas=gas)  # type: ignore[arg-type]
                answers.append((result.output, type(result.error), revert_data(result.error)))
            except Exception as exc:  # py-evm's validation of the call
                answers.append((b"", type(exc), str(exc).encode()))
        assert answers[0] == answers[1], data.hex()
        assert (data not in fallbacks) == in_revm, data.hex()
        fallbacks.clear()
    assert fast.call is not reference.call


def test_calls_read_the_state_they_run_on(
    twins: Twins, genesis: tuple[Genesis, Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    """revm keeps what a call read for the next call on the same state (per thread): the
    same call again costs no read of py-evm's state, and a call on the next block's state
    reads it afresh (a withdrawn consent is no longer covered)."""
    ledger = genesis[1].address("ConsentLedger")
    abi = _abi("ConsentLedger")
    research = code(RESEARCH)
    subject = SUBJECTS[0]
    twins.nonces[subject.address] = 0
    twins.block(sign_grants([subject], ledger, LAB.address, 1, CHAIN_ID, twins.nonces, "k"))
    asked = bytes.fromhex(
        abi.encode_abi("isCovered", args=[subject.address, LAB.address, research, code("k-0")])[2:]
    )
    chain = twins.chains[1]
    reads: list[bytes] = []
    storage = revm.StateSource.storage

    def counted(self: revm.StateSource, address: bytes, slot: bytes) -> bytes:
        reads.append(slot)
        return storage(self, address, slot)

    monkeypatch.setattr(revm.StateSource, "storage", counted)

    def covered() -> bool:
        state = chain.evm.state(chain.head.copy(base_fee_per_gas=0))
        result = chain.evm.call(
            state,
            sender=b"\0" * 20,
            to=bytes.fromhex(ledger[2:]),
            data=asked,
            value=0,
            gas=1_000_000,
        )  # type: ignore[arg-type]
        return bool(int.from_bytes(result.output, "big"))  # fmt: skip

    assert covered() and reads
    reads.clear()
    assert covered() and not reads  # the same state: all of it from revm's cache
    withdraw = abi.encode_abi("withdraw", args=[subject.address, LAB.address, research,
                                                code("k-0")])  # fmt: skip
    twins.block([sign_tx(subject, CHAIN_ID, twins.nonce(subject), ledger,
                         bytes.fromhex(withdraw[2:]))])  # fmt: skip
    assert not covered() and reads


def test_a_carried_engine_reads_the_system_updates(genesis: tuple[Genesis, Deployment]) -> None:
    """Each block's revm engine is its parent's (its state cache carried over), less what the
    block's system updates write behind it: EIP-4788's beacon roots and EIP-2935's block
    hashes, here with both system contracts in the genesis. A transaction of block N reads
    the slots block N + 1's updates will write (nothing there yet); in block N + 1 a
    transaction reads them again: both engines must see the updates (a stale cache would
    answer block N's values), and the revm chain's engine must indeed be carried."""
    from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS, BEACON_ROOTS_CONTRACT_CODE
    from eth.vm.forks.prague.constants import (
        HISTORY_STORAGE_ADDRESS,
        HISTORY_STORAGE_CONTRACT_CODE,
    )

    from collective.node.genesis import AllocAccount

    system = {
        bytes(BEACON_ROOTS_ADDRESS): AllocAccount(code=BEACON_ROOTS_CONTRACT_CODE),
        bytes(HISTORY_STORAGE_ADDRESS): AllocAccount(code=HISTORY_STORAGE_CONTRACT_CODE),
    }
    pair = Twins(replace(genesis[0], alloc={**genesis[0].alloc, **system}))
    try:
        for subject in SUBJECTS:
            pair.nonces[subject.address] = 0
        s = SUBJECTS
        beacon = Web3.to_checksum_address(bytes(BEACON_ROOTS_ADDRESS))
        history = Web3.to_checksum_address(bytes(HISTORY_STORAGE_ADDRESS))
        pair.block([])
        revm_chain = pair.chains[1]
        for _ in range(3):
            # block N reads what block N + 1's updates will write: the beacon root of
            # N + 1's timestamp, the hash of block N (nothing there yet: both revert)
            number = revm_chain.head.block_number + 1
            later = pair.time + 24
            asks = [(beacon, later.to_bytes(32, "big")), (history, number.to_bytes(32, "big"))]
            reads = [
                sign_tx(s[i], CHAIN_ID, pair.nonce(s[i]), to, data, gas=60_000, value=0)
                for i, (to, data) in enumerate(asks)
            ]
            assert pair.block(reads) == ([None, None], [0, 0])
            carried = revm_chain.evm._carried  # type: ignore[attr-defined]
            assert carried is not None and carried.block_hash == bytes(revm_chain.head.hash)
            # block N + 1 asks again: its updates wrote both behind the carried engine
            again = [
                sign_tx(s[i], CHAIN_ID, pair.nonce(s[i]), to, data, gas=60_000, value=0)
                for i, (to, data) in enumerate(asks)
            ]
            assert pair.block(again) == ([None, None], [1, 1])
    finally:
        pair.close()
