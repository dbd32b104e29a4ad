"""What the 4-validator fault tests share: the accounts, reads of CometBFT's RPC, raw
transactions with nonces of their own, and whole-chain comparisons across validators.

Accounts (anvil's dev mnemonic, as ``collective network init`` funds them): dev account 0 is the
admin and sole board member; validator ``i``'s organization is dev account ``i``. The tests keep
each account to one role so that no two of them race for a nonce: organization 1 tells the
consent story through the Python client, organization 2 sends the :class:`Sender` "pings" that
prove a network commits, organization 4 is the load of the SIGKILL test, and dev account 6 is
the organization that gets suspended.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from collective.chain.backend import RpcFailure
from collective.chain.http import JsonRpc
from collective.errors import ConfigurationError
from collective.network.cometbft import cometbft_binary
from collective.node.dev import dev_keys
from collective.testing.consortium import Consortium, run_consortium

BATCH = 50  # JSON-RPC calls per batch when reading a whole chain
GAS_PRICE = 10**9  # 1 gwei: over the node's base fee at any height these tests reach


def consortium_or_skip() -> Iterator[Consortium]:
    """A started 4-validator network for a module fixture (``yield from``); the test is
    skipped when no cometbft v0.38 is found (its message says where it looked)."""
    try:
        cometbft_binary()
    except ConfigurationError as exc:
        pytest.skip(str(exc))
    with run_consortium(validators=4) as network:
        yield network


def dev_account(index: int) -> LocalAccount:
    """Anvil's dev account ``index`` (0 the admin, 1..4 the validators' organizations)."""
    account: LocalAccount = Account.from_key(dev_keys(index + 1)[index])
    return account


def failure_logs(net: Consortium, validators: Iterable[int] = (1, 2, 3, 4)) -> str:
    """The end of each named validator's node and cometbft logs, for an assertion message."""
    parts = []
    for i in validators:
        for kind in ("node", "cometbft"):
            parts.append(f"--- validator {i} {kind}.log ---\n{net.log(i, kind, 2500)}")
    return "\n".join(parts)


def comet(net: Consortium, validator: int, method: str, **params: str) -> Any:
    """The ``result`` of CometBFT's RPC ``method`` (URI form, e.g. ``validators?height=5``)
    on ``validator``. Raises: ``OSError`` when it does not answer, ``RuntimeError`` when it
    answers with an error."""
    url = f"{net.layout.validator(validator).cometbft_url}/{method}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=5) as reply:
        answer = json.loads(reply.read())
    if "error" in answer:
        raise RuntimeError(f"CometBFT {method}: {answer['error']}")
    return answer["result"]


def validator_keys(net: Consortium, height: int, validator: int = 1) -> dict[str, int]:
    """CometBFT's validator set at ``height`` as ``validator`` reports it: base64 ed25519
    public key -> voting power."""
    found = comet(net, validator, "validators", height=str(height), per_page="100")
    return {v["pub_key"]["value"]: int(v["voting_power"]) for v in found["validators"]}


def priv_validator_key(net: Consortium, validator: int) -> str:
    """The base64 ed25519 public key in ``validator``'s CometBFT home
    (``config/priv_validator_key.json``)."""
    path = net.layout.validator(validator).home / "config" / "priv_validator_key.json"
    key: str = json.loads(path.read_text())["pub_key"]["value"]
    return key


def transfer(account: LocalAccount, nonce: int, chain_id: int, value: int = 0) -> str:
    """A signed legacy transfer of ``value`` wei from ``account`` to itself, ``0x`` hex: a
    transaction that applies whenever ``account`` may send and ``nonce`` is next."""
    signed = account.sign_transaction(
        {
            "to": account.address,
            "value": value,
            "gas": 21_000,
            "gasPrice": GAS_PRICE,
            "nonce": nonce,
            "chainId": chain_id,
        }
    )
    return "0x" + bytes(signed.raw_transaction).hex()


def send_raw(url: str, raw: str) -> str:
    """``eth_sendRawTransaction`` on ``url``; the hash. Raises: RpcFailure when refused."""
    rpc = JsonRpc(url, timeout=30)
    try:
        tx_hash: str = rpc.call("eth_sendRawTransaction", [raw])
        return tx_hash
    finally:
        rpc.close()


def receipt(url: str, tx_hash: str) -> dict[str, Any] | None:
    """The receipt of ``tx_hash`` on ``url`` (None: not in a block there, or no answer)."""
    rpc = JsonRpc(url, timeout=5)
    try:
        found: dict[str, Any] | None = rpc.call("eth_getTransactionReceipt", [tx_hash])
        return found
    except (RpcFailure, OSError, ValueError):
        return None
    finally:
        rpc.close()


def wait_receipt(
    net: Consortium, tx_hash: str, validators: Iterable[int] = (1, 2, 3, 4), timeout: float = 30.0
) -> dict[str, Any]:
    """Wait until each named validator has ``tx_hash`` in a block; the receipt (asserted the
    same on all). Raises: AssertionError with the validators' logs when it does not come."""
    chosen = list(validators)
    found: dict[int, dict[str, Any]] = {}

    def committed() -> bool:
        for i in chosen:
            if i not in found and (got := receipt(net.urls[i - 1], tx_hash)) is not None:
                found[i] = got
        return len(found) == len(chosen)

    try:
        net.wait_for(committed, timeout, f"receipt of {tx_hash} on validators {chosen}")
    except Exception as exc:
        raise AssertionError(f"{exc}\n{failure_logs(net)}") from None
    first = found[chosen[0]]
    assert all(r == first for r in found.values()), f"receipts differ: {found}"
    return first


class Sender:
    """Transfers from one account, numbered by a nonce counter of its own (the account must
    send nothing else). ``chain_id``: the network's; ``nonce``: the next nonce (0 for an
    account that never sent)."""

    def __init__(self, account: LocalAccount, chain_id: int, nonce: int = 0) -> None:
        self.account = account
        self.chain_id = chain_id
        self.nonce = nonce

    def sign(self) -> str:
        """The next transfer, signed (the counter moves on)."""
        raw = transfer(self.account, self.nonce, self.chain_id)
        self.nonce += 1
        return raw

    def send(self, url: str) -> str:
        """Sign and send the next transfer to ``url``; its hash. Raises: RpcFailure (the
        counter is moved back: the nonce stays free)."""
        raw = self.sign()
        try:
            return send_raw(url, raw)
        except BaseException:
            self.nonce -= 1
            raise

    def ping(
        self, net: Consortium, via: int = 1, validators: Iterable[int] = (1, 2, 3, 4)
    ) -> dict[str, Any]:
        """Send a transfer through validator ``via`` and wait until ``validators`` have it in
        a block: proof that the network commits. Returns the receipt."""
        return wait_receipt(net, self.send(net.urls[via - 1]), validators)


def batched(url: str, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
    """``calls`` (method, params) on ``url`` in JSON-RPC batches; each answer or RpcFailure."""
    rpc = JsonRpc(url, timeout=30)
    try:
        out: list[Any] = []
        for start in range(0, len(calls), BATCH):
            out.extend(rpc.batch(calls[start : start + BATCH]))
        return out
    finally:
        rpc.close()


def chain_record(url: str, first: int, last: int) -> dict[str, Any]:
    """Validator ``url``'s Ethereum chain from block ``first`` to ``last`` as JSON: every
    block with its transactions (``eth_getBlockByNumber``), its receipts
    (``eth_getBlockReceipts``) and every log of the range (``eth_getLogs``)."""
    heights = [hex(n) for n in range(first, last + 1)]
    blocks = batched(url, [("eth_getBlockByNumber", [h, True]) for h in heights])
    receipts = batched(url, [("eth_getBlockReceipts", [h]) for h in heights])
    logs = batched(url, [("eth_getLogs", [{"fromBlock": hex(first), "toBlock": hex(last)}])])
    return {"blocks": blocks, "receipts": receipts, "logs": logs[0]}


def assert_same_chain(
    net: Consortium, last: int, validators: Iterable[int] = (1, 2, 3, 4), first: int = 0
) -> dict[str, Any]:
    """Assert that ``validators`` hold the same blocks (hashes, state roots, transactions),
    receipts and logs from ``first`` to ``last`` (waiting for each to reach ``last``); returns
    the first validator's record."""
    chosen = list(validators)
    try:
        net.wait_for_head(last, chosen, timeout=60)
    except Exception as exc:
        raise AssertionError(f"{exc}\n{failure_logs(net)}") from None
    records = {i: chain_record(net.urls[i - 1], first, last) for i in chosen}
    base = records[chosen[0]]
    for i, record in records.items():
        for key in ("blocks", "receipts", "logs"):
            if record[key] != base[key]:
                where = _first_difference(base[key], record[key])
                raise AssertionError(
                    f"validator {i}'s {key} differ from validator {chosen[0]}'s at {where}\n"
                    f"{failure_logs(net, chosen)}"
                )
    for n, block in enumerate(base["blocks"], start=first):
        assert isinstance(block, dict) and int(block["number"], 16) == n, block
    return base


def _first_difference(left: list[Any], right: list[Any]) -> str:
    for n, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return f"item {n}: {json.dumps(a)[:600]} != {json.dumps(b)[:600]}"
    return f"lengths {len(left)} != {len(right)}"


def hashes(net: Consortium, validator: int, first: int, last: int) -> list[str]:
    """The Ethereum block hashes ``first``..``last`` on ``validator``."""
    blocks = batched(
        net.urls[validator - 1],
        [("eth_getBlockByNumber", [hex(n), False]) for n in range(first, last + 1)],
    )
    return [b["hash"] if isinstance(b, dict) else repr(b) for b in blocks]


def wait_settled(net: Consortium, validators: Sequence[int], quiet: float = 1.0) -> int:
    """Wait (up to 20 s) until ``validators`` report one CometBFT height that has not moved
    for ``quiet`` seconds: a halted network's last height. Returns it."""
    deadline = time.monotonic() + 20
    last: tuple[int | None, ...] = ()
    since = time.monotonic()
    while time.monotonic() < deadline:
        heights = net.heights()
        now = tuple(heights[i - 1] for i in validators)
        if now != last:
            last, since = now, time.monotonic()
        elif len(set(now)) == 1 and None not in now and time.monotonic() - since >= quiet:
            return int(now[0] or 0)
        time.sleep(0.1)
    raise AssertionError(f"heights of {list(validators)} did not settle: {last}")
