"""A Besu (QBFT) genesis with the contract suite predeployed in ``alloc``, for Besu 25.5.0.

The suite is deployed on a scratch in-process node from the given genesis, and the code and
every storage slot written are copied into the alloc; ``AccountRules`` then already has the
admin, so Besu's on-chain account permissioning (``--permissions-accounts-contract-enabled``,
``--permissions-accounts-contract-address``) can point at it from block 0 -- on Besu up to
25.5.0: 25.6.0 removed those flags (besu-eth/besu PR #8597); a later Besu needs an
account-permissioning plugin that calls ``transactionAllowed`` (see the README's Besu section).

The fork schedule is Cancun from block 0, not Prague: before besu-eth/besu PR #9623 (2026) a
proof-of-authority network on Prague needs the EIP-2935/7002/7251 system contracts in its
genesis, which this one has not; the suite runs on Cancun (MCOPY and TSTORE are Cancun's).
"""

from __future__ import annotations

import json
from typing import Any

from eth_typing import Address

from collective.node.genesis import AllocAccount, Genesis


def predeployed_suite(
    genesis: Genesis, admin: bytes
) -> tuple[dict[bytes, AllocAccount], dict[str, bytes]]:
    """Deploy the suite with ``admin`` on a scratch chain; return its accounts and addresses."""
    from collective.node.deploy import deploy_in_process
    from collective.node.execution.account import NodeAccountDB

    # every storage write of the node's VM, by the interpreter's SSTORE or by py-evm's
    # state, ends in its account database's set_storage: record the slots there
    written: dict[bytes, set[int]] = {}
    original = NodeAccountDB.set_storage

    def recording(self: Any, address: Address, slot: int, value: int) -> None:
        written.setdefault(bytes(address), set()).add(slot)
        original(self, address, slot, value)

    NodeAccountDB.set_storage = recording  # type: ignore[method-assign]
    try:
        node, addresses = deploy_in_process(genesis, admin)
    finally:
        NodeAccountDB.set_storage = original  # type: ignore[method-assign]
    state = node.chain.head_state
    alloc: dict[bytes, AllocAccount] = {}
    for address in addresses.values():
        storage = {slot: int(state.get_storage(Address(address), slot)) for slot in
                   written.get(address, set())}  # fmt: skip
        alloc[address] = AllocAccount(
            balance=0,
            nonce=1,
            code=bytes(state.get_code(Address(address))),
            storage={k: v for k, v in storage.items() if v},
        )
    node.close()
    return alloc, addresses


def besu_genesis(genesis: Genesis, *, admin: bytes, validators: list[bytes]) -> str:
    """Besu's genesis JSON: QBFT with ``validators`` (20-byte addresses), Cancun from block 0,
    the suite in alloc (``admin``, a 20-byte address, its AccountRules admin). Returns: the
    file's text. Raises: what deploying the suite raises."""
    import rlp

    alloc, addresses = predeployed_suite(genesis, admin)
    merged = {**genesis.alloc, **alloc}
    body = Genesis(
        chain_id=genesis.chain_id,
        gas_limit=genesis.gas_limit,
        base_fee=genesis.base_fee,
        timestamp=genesis.timestamp,
        alloc=merged,
    ).to_json()
    extra = rlp.encode([b"\x00" * 32, list(validators), [], b"", []])
    body["config"] = {
        "chainId": genesis.chain_id,
        "berlinBlock": 0,
        "londonBlock": 0,
        "shanghaiTime": 0,
        "cancunTime": 0,
        "zeroBaseFee": False,
        "qbft": {"blockperiodseconds": 2, "epochlength": 30000, "requesttimeoutseconds": 4},
        "collective": {
            "accountRules": "0x" + addresses["AccountRules"].hex(),
            "contracts": {name: "0x" + address.hex() for name, address in addresses.items()},
        },
    }
    body["extraData"] = "0x" + bytes(extra).hex()
    body["mixHash"] = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
    body["nonce"] = "0x0"
    body["difficulty"] = "0x1"
    return json.dumps(body, indent=2) + "\n"


__all__ = ["besu_genesis", "predeployed_suite"]
