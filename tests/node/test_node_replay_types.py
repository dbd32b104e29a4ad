"""Access-list (EIP-2930, type 1) and set-code (EIP-7702, type 4) transactions through the
node's VM (``collective.node.execution``) against stock py-evm: replaying every block the node
sealed on a chain of stock ``PragueVM`` gives the same block hashes (state roots, receipts,
gas).

py-evm 0.12.1b1's Prague ships both: ``AccessListTransaction`` (Berlin) and
``SetCodeTransaction`` with ``PragueState.process_set_code_authorizations`` and delegated code
resolution in ``PragueTransactionExecutor.get_code_at_address``. The blocks cover warm slots
and addresses from the access list (duplicates too), a create with an access list, a
delegation run in the authority's storage, a self-sponsored delegation (authorization nonce =
the sender's + 1; its call fails, the delegation stays), a chain-id-0 authorization, skipped
authorizations (wrong nonce, wrong chain), calls into a delegated account (a plain
transaction, and a CALL from a contract), and a delegation cleared by authorizing the zero
address."""

from __future__ import annotations

import json
from typing import Any

import rlp
from eth.vm.forks.prague.constants import MAGIC
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_keys.datatypes import PrivateKey

from collective.node import Node, NodeConfig
from collective.node.rpc import handle_body
from tests.node.test_node_fastvm import assert_stock_py_evm_seals_the_same
from tests.node.test_node_fastvm_state import (
    CALLER,
    WRITER,
    _deploy_code,
    _Dev,
    _forward,
    _hex,
    _pairs,
)

GWEI = 10**9
ZERO = b"\x00" * 20


class _Signer:
    """Signs raw type 1 and type 4 transactions with the dev keys. Senders' nonces count up
    within a batch (:meth:`sent` starts the next); authorizations name a nonce explicitly."""

    def __init__(self, dev: _Dev) -> None:
        assert dev.node.dev is not None
        self.dev = dev
        self.chain_id = dev.node.chain.chain_id
        self.keys = [PrivateKey(key) for key in dev.node.dev.keys.values()]
        self.pending: dict[int, int] = {}

    def address(self, index: int) -> bytes:
        return bytes(self.keys[index].public_key.to_canonical_address())

    def nonce(self, index: int) -> int:
        """Account ``index``'s nonce at the head."""
        return int(
            self.dev.rpc("eth_getTransactionCount", "0x" + self.address(index).hex(), "latest"), 16
        )

    def sent(self) -> None:
        self.pending.clear()

    def _next(self, index: int) -> int:
        nonce = self.pending.get(index)
        if nonce is None:
            nonce = self.nonce(index)
        self.pending[index] = nonce + 1
        return nonce

    def access_list_tx(
        self, index: int, to: bytes, data: bytes, access: list[Any], gas: int = 300_000
    ) -> str:
        unsigned = PragueTransactionBuilder.new_unsigned_access_list_transaction(
            self.chain_id, self._next(index), 10 * GWEI, gas, to, 0, data, access
        )
        return "0x" + unsigned.as_signed_transaction(self.keys[index]).encode().hex()

    def authorization(
        self, index: int, target: bytes, nonce: int, chain_id: int | None = None
    ) -> dict[str, Any]:
        chain = self.chain_id if chain_id is None else chain_id
        message = MAGIC + rlp.encode([chain, target, nonce])
        y_parity, r, s = self.keys[index].sign_msg(message).vrs
        return {"chain_id": chain, "address": target, "nonce": nonce,
                "y_parity": y_parity, "r": r, "s": s}  # fmt: skip

    def set_code_tx(
        self, index: int, to: bytes, data: bytes, authorizations: list[dict[str, Any]]
    ) -> str:
        unsigned = PragueTransactionBuilder.new_unsigned_set_code_transaction(
            self.chain_id, self._next(index), GWEI, 10 * GWEI, 400_000, to, 0, data, [],
            authorizations,
        )  # fmt: skip
        return "0x" + unsigned.as_signed_transaction(self.keys[index]).encode().hex()


def _send_raw(dev: _Dev, signer: _Signer, raws: list[str]) -> list[dict[str, Any]]:
    """Send ``raws`` in one JSON-RPC batch (one block); their receipts."""
    body = [
        {"jsonrpc": "2.0", "id": index, "method": "eth_sendRawTransaction", "params": [raw]}
        for index, raw in enumerate(raws)
    ]
    signer.sent()
    answer = handle_body(dev.node, json.dumps(body).encode())
    assert answer is not None
    replies = sorted(json.loads(answer), key=lambda reply: reply["id"])
    for reply in replies:
        assert "result" in reply, reply
    return [dev.rpc("eth_getTransactionReceipt", reply["result"]) for reply in replies]


def test_access_list_and_set_code_transactions_seal_what_stock_py_evm_seals() -> None:
    node = Node(NodeConfig(dev=True))
    try:
        dev = _Dev(node)
        signer = _Signer(dev)
        gas = "0x100000"
        created = dev.batch(
            [
                {"data": _hex(_deploy_code(WRITER)), "gas": gas},
                {"data": _hex(_deploy_code(CALLER)), "gas": gas},
            ]
        )
        writer_hex, caller_hex = (r["contractAddress"] for r in created)
        writer, caller = bytes.fromhex(writer_hex[2:]), bytes.fromhex(caller_hex[2:])
        precompile = b"\x00" * 19 + b"\x04"

        # type 1: slots warmed by the access list (and one not), duplicates, an unrelated
        # address, a create, a transfer with a precompile in the list
        typed1 = _send_raw(
            dev,
            signer,
            [
                signer.access_list_tx(0, writer, bytes.fromhex(_pairs((1, 10), (2, 20), (3, 30))),
                                      [(writer, [1, 2])]),
                signer.access_list_tx(0, writer, bytes.fromhex(_pairs((1, 0), (3, 31))),
                                      [(writer, [1, 1]), (writer, []), (b"\x42" * 20, [7])]),
                signer.access_list_tx(1, b"", _deploy_code(WRITER, "6007 6005 55"),
                                      [(b"\x43" * 20, [0, 1])], gas=400_000),
                signer.access_list_tx(1, b"\x5e" * 20, b"", [(precompile, [])], gas=30_000),
            ],
        )  # fmt: skip
        assert [r["status"] for r in typed1] == ["0x1"] * 4
        assert [r["type"] for r in typed1] == ["0x1"] * 4
        assert dev.storage(writer_hex, 3) == 31

        # type 4: account 2 delegates to the writer (sent by account 3) and is called in the
        # same transaction; account 4 delegates itself (nonce + 1) to the caller; account 5
        # authorizes for any chain (chain id 0); accounts 6 and 7 are skipped (wrong nonce,
        # wrong chain)
        authority, self_sponsor, any_chain = signer.address(2), signer.address(4), signer.address(5)
        typed4 = _send_raw(
            dev,
            signer,
            [
                signer.set_code_tx(
                    3, authority, bytes.fromhex(_pairs((1, 5), (2, 6))),
                    [signer.authorization(2, writer, signer.nonce(2))],
                ),
                signer.set_code_tx(
                    4, self_sponsor, b"",
                    [signer.authorization(4, caller, signer.nonce(4) + 1)],
                ),
                signer.set_code_tx(
                    3, writer, bytes.fromhex(_pairs((4, 4))),
                    [
                        signer.authorization(5, writer, signer.nonce(5), chain_id=0),
                        signer.authorization(6, writer, signer.nonce(6) + 5),
                        signer.authorization(7, writer, signer.nonce(7), chain_id=12345),
                    ],
                ),
            ],
        )  # fmt: skip
        # the self-sponsored call runs the caller's code with no calldata, which fails
        # (CALLDATACOPY of CALLDATASIZE - 64 bytes); the delegation stays (EIP-7702 sets it
        # before execution)
        assert [r["status"] for r in typed4] == ["0x1", "0x0", "0x1"]
        assert [r["type"] for r in typed4] == ["0x4"] * 3
        designation = "0xef0100" + writer_hex[2:].lower()
        assert dev.rpc("eth_getCode", "0x" + authority.hex(), "latest") == designation
        assert dev.rpc("eth_getCode", "0x" + any_chain.hex(), "latest") == designation
        assert dev.rpc("eth_getCode", "0x" + self_sponsor.hex(), "latest") == (
            "0xef0100" + caller_hex[2:].lower()
        )
        assert dev.rpc("eth_getCode", "0x" + signer.address(6).hex(), "latest") == "0x"
        assert [dev.storage("0x" + authority.hex(), slot) for slot in (1, 2)] == [5, 6]

        # calls into delegated accounts: a plain transaction, a CALL from a contract; then
        # account 2 clears its delegation (authorizing the zero address)
        calls = dev.batch(
            [
                {"to": "0x" + authority.hex(), "gas": gas, "data": _hex(_pairs((7, 7)))},
                {"to": caller_hex, "gas": gas,
                 "data": _hex(_forward("0x" + any_chain.hex(), False, _pairs((8, 8))))},
            ]
        )  # fmt: skip
        assert [r["status"] for r in calls] == ["0x1"] * 2
        assert dev.storage("0x" + any_chain.hex(), 8) == 8
        clear = signer.authorization(2, ZERO, signer.nonce(2))
        cleared = _send_raw(dev, signer, [signer.set_code_tx(3, b"\x5e" * 20, b"", [clear])])
        assert cleared[0]["status"] == "0x1"
        assert dev.rpc("eth_getCode", "0x" + authority.hex(), "latest") == "0x"

        assert_stock_py_evm_seals_the_same(node.chain)
    finally:
        node.close()
