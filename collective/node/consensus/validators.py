"""The validator set, governed on chain: AccountRules' ``ValidatorPowerChanged`` events become
CometBFT validator updates.

AccountRules (contracts/AccountRules.sol) records each organization's validator key and power;
only an executed OversightBoard ``SetValidator`` proposal changes them, and suspending an
organization takes its validator's power to 0 (reinstating gives it back). Every change of a
validator's *effective* power is an event::

    ValidatorPowerChanged(address indexed organization, bytes32 indexed pubKey, uint64 power)

FinalizeBlock returns the block's events of that contract as ``validator_updates`` (ed25519
keys; ABCI++ methods, "FinalizeBlock": they take effect at height + 2). The node keeps the set
CometBFT has (InitChain's validators, then each update), committed with every block that
changes it, because CometBFT halts on an update it cannot apply: power 0 for a key that is not
a validator, or one that would leave no validator. Such an update is left out (logged); the
contract's record is unaffected.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from eth.abc import ReceiptAPI
from eth_utils.crypto import keccak

from collective.node.render import topic

log = logging.getLogger("collective.node")

POWER_CHANGED = keccak(text="ValidatorPowerChanged(address,bytes32,uint64)")
META_KEY = "validators"  # the store's meta row holding the set (JSON: hex key -> power)


@dataclass
class ValidatorSet:
    """CometBFT's validator set as this node knows it: 32-byte ed25519 key -> voting power."""

    powers: dict[bytes, int] = field(default_factory=dict)

    @classmethod
    def loads(cls, stored: bytes | None) -> ValidatorSet:
        """The set kept in the store's :data:`META_KEY` row (empty when there is none)."""
        if not stored:
            return cls()
        return cls({bytes.fromhex(k): int(v) for k, v in json.loads(stored).items()})

    def dumps(self) -> bytes:
        """The set as the store keeps it (JSON, keys in hex, sorted)."""
        return json.dumps({k.hex(): v for k, v in sorted(self.powers.items())}).encode()

    def updates(self, changes: Mapping[bytes, int]) -> tuple[list[tuple[bytes, int]], ValidatorSet]:
        """The updates CometBFT can apply out of ``changes`` (key -> new power), in key order,
        and the set after them. Left out, with a log line: removing a key that is not a
        validator, setting the power it already has, and a removal that would leave no
        validator once the other changes are made (CometBFT applies a block's updates
        together)."""
        after = dict(self.powers)
        applied: list[tuple[bytes, int]] = []
        # removals last: one that empties the set only counts after the block's additions (a
        # lone validator replacing its key removes the old one and adds the new one)
        for key, power in sorted(changes.items(), key=lambda change: (change[1] == 0, change[0])):
            current = after.get(key)
            if power == 0 and current is None:
                continue  # not a validator (e.g. suspended before it was ever one)
            if current == power:
                continue
            if power == 0 and len(after) == 1:
                log.warning(
                    "validator 0x%s is the last one: its removal is not passed to CometBFT",
                    key.hex(),
                )
                continue
            if power == 0:
                del after[key]
            else:
                after[key] = power
            applied.append((key, power))
        return sorted(applied), ValidatorSet(after)


def power_changes(receipts: Iterable[ReceiptAPI], rules: bytes | None) -> dict[bytes, int]:
    """The last effective power of each validator key that AccountRules at ``rules`` (20-byte
    address; None: no permissioning contract, no changes) set in these receipts' logs."""
    changes: dict[bytes, int] = {}
    if rules is None:
        return changes
    for receipt in receipts:
        for entry in receipt.logs:
            topics = entry.topics
            if bytes(entry.address) != rules or len(topics) != 3:
                continue
            if topic(topics[0]) != POWER_CHANGED:
                continue
            key = topic(topics[2])
            changes[key] = int.from_bytes(bytes(entry.data)[:32], "big")
    return changes


__all__ = ["META_KEY", "POWER_CHANGED", "ValidatorSet", "power_changes"]
