"""Four real validators and the transactions the ABCI application once judged wrongly: an
EIP-7702 authorization sent with its signer's own transaction, then the delegated signer
sending again (proposals holding either are executed before they are proposed), and a
replayable pre-EIP-155 transaction. (That a proposal of the authorization followed by its
signer's transaction in one block halted the chain is pinned, deterministically, by
tests/node/consensus/test_consensus_breaker.py: here the two may fall in two blocks.)"""

from __future__ import annotations

import pytest
from eth_account import Account

from collective.chain.backend import RpcFailure
from collective.chain.http import JsonRpc
from collective.testing.consortium import Consortium
from tests.network.fault_tools import (
    GAS_PRICE,
    batched,
    dev_account,
    transfer,
    wait_receipt,
)

DELEGATE = "0x" + "22" * 20


def _call(url: str, method: str, *params: str) -> str:
    rpc = JsonRpc(url, timeout=30)
    try:
        answer: str = rpc.call(method, list(params))
        return answer
    finally:
        rpc.close()


def _nonce(url: str, address: str) -> int:
    return int(_call(url, "eth_getTransactionCount", address, "latest"), 16)


def test_an_authorization_sent_with_its_signers_own_transaction_does_not_halt_the_network(
    net: Consortium,
) -> None:
    url, chain_id = net.urls[0], net.layout.chain_id
    sponsor, authority = dev_account(3), dev_account(4)
    first = _nonce(url, authority.address)
    authorization = Account.sign_authorization(
        {"chainId": chain_id, "address": DELEGATE, "nonce": first}, authority.key
    )
    set_code = sponsor.sign_transaction(
        {"type": 4, "chainId": chain_id, "nonce": _nonce(url, sponsor.address),
         "to": sponsor.address, "value": 0, "gas": 100_000, "maxFeePerGas": GAS_PRICE,
         "maxPriorityFeePerGas": 1, "authorizationList": [authorization]}
    )  # fmt: skip
    own = transfer(authority, first, chain_id)  # the nonce the authorization takes
    answers = batched(
        url,
        [
            ("eth_sendRawTransaction", ["0x" + bytes(set_code.raw_transaction).hex()]),
            ("eth_sendRawTransaction", [own]),
        ],
    )
    assert all(isinstance(a, str) for a in answers), answers  # both pass CheckTx
    wait_receipt(net, answers[0])
    assert _call(url, "eth_getCode", authority.address, "latest") == "0xef0100" + "22" * 20
    # the delegated authority's own transaction lost its nonce; the next one commits
    assert _nonce(url, authority.address) == first + 1
    wait_receipt(net, send := _call(url, "eth_sendRawTransaction",
                                    transfer(authority, first + 1, chain_id)))  # fmt: skip
    assert send.startswith("0x")


def test_a_replayable_pre_eip155_transaction_is_refused(net: Consortium) -> None:
    sender = dev_account(3)
    replayable = sender.sign_transaction(
        {"to": sender.address, "value": 0, "gas": 21_000, "gasPrice": GAS_PRICE,
         "nonce": _nonce(net.urls[1], sender.address)}
    )  # fmt: skip
    with pytest.raises(RpcFailure, match="replay-protected"):
        _call(net.urls[1], "eth_sendRawTransaction", "0x" + bytes(replayable.raw_transaction).hex())


def test_a_batch_sent_to_a_validator_gets_each_transactions_checktx_verdict(
    net: Consortium,
) -> None:
    # the validator broadcasts asynchronously and answers with its own CheckTx's verdicts
    url, chain_id = net.urls[1], net.layout.chain_id
    sender = dev_account(3)
    nonce = _nonce(url, sender.address)
    good = transfer(sender, nonce, chain_id)
    answers = batched(
        url,
        [
            ("eth_sendRawTransaction", [good]),
            ("eth_sendRawTransaction", [transfer(sender, nonce + 5, chain_id)]),
            ("eth_sendRawTransaction", [transfer(Account.create(), 0, chain_id)]),
        ],
    )
    assert isinstance(answers[0], str) and answers[0].startswith("0x"), answers
    assert isinstance(answers[1], RpcFailure) and "nonce too high" in answers[1].message
    assert isinstance(answers[2], RpcFailure) and "insufficient funds" in answers[2].message
    with pytest.raises(RpcFailure, match="already known"):
        _call(url, "eth_sendRawTransaction", good)
    assert wait_receipt(net, answers[0])["status"] == "0x1"
