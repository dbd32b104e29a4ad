"""Account permissioning, as Besu does it: ask AccountRules before accepting a transaction.

With an AccountRules address configured (``--account-rules`` or the genesis file's
``config.collective.accountRules``), every transaction is checked with
``transactionAllowed(sender, target, value, gasPrice, gasLimit, payload)`` against the head
state before it enters the pool; a refused one never enters a block. While no contract is
deployed at that address yet, only the genesis ``bootstrapAdmins`` may transact, so they can
deploy it (at the address their deployment will create). Without an address, everyone may.

One shortcut keeps the check cheap at high rates: when the code at the address is exactly the
AccountRules this package ships (whose ``transactionAllowed`` reads only ``sender`` and
storage), answers are remembered per sender for the contract's current storage. Any other
contract is asked for every transaction. The answers stay valid as long as the contract's
storage does (same storage root), so most blocks reuse the previous block's answers.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth.abc import StateAPI
from eth_typing import Address
from eth_utils.crypto import keccak

from collective.node.evm import Evm

SELECTOR = keccak(text="transactionAllowed(address,address,uint256,uint256,uint256,bytes)")[:4]
CHECK_GAS = 1_000_000


def encode_check(
    sender: bytes, target: bytes | None, value: int, gas_price: int, gas_limit: int, payload: bytes
) -> bytes:
    """ABI-encode the ``transactionAllowed`` call by hand (static head, then the bytes)."""
    padded = payload + b"\x00" * (-len(payload) % 32)
    return b"".join(
        (
            SELECTOR,
            sender.rjust(32, b"\x00"),
            (target or b"").rjust(32, b"\x00"),
            value.to_bytes(32, "big"),
            gas_price.to_bytes(32, "big"),
            gas_limit.to_bytes(32, "big"),
            (6 * 32).to_bytes(32, "big"),
            len(payload).to_bytes(32, "big"),
            padded,
        )
    )


class Permissioning:
    """Who may send transactions."""

    def __init__(self, rules: bytes | None, bootstrap_admins: Iterable[bytes] = ()) -> None:
        self.rules = Address(rules) if rules is not None else None
        self.bootstrap_admins = frozenset(bootstrap_admins)
        self._cache: dict[bytes, bool] = {}
        self._cache_key: object = None
        self._sender_only: dict[bytes, bool] = {}  # code hash -> answers depend on sender only

    def _depends_on_sender_only(self, code: bytes) -> bool:
        digest = bytes(keccak(code))
        known = self._sender_only.get(digest)
        if known is None:
            try:
                from collective.artifacts import load_artifact

                known = load_artifact("AccountRules").code_hash == digest
            except Exception:  # no artifacts: ask every time
                known = False
            self._sender_only[digest] = known
        return known

    @property
    def enabled(self) -> bool:
        return self.rules is not None

    def allowed(
        self,
        evm: Evm,
        state: StateAPI,
        *,
        sender: Address,
        target: Address | None,
        value: int,
        gas_price: int,
        gas_limit: int,
        payload: bytes,
    ) -> bool:
        if self.rules is None:
            return True
        code = state.get_code(self.rules)
        if not code:
            return sender in self.bootstrap_admins
        cacheable = self._depends_on_sender_only(code)
        if cacheable:
            # answers hold while the contract's storage does; without its storage root, for
            # this state object only
            root = _storage_root(state, self.rules)
            key: object = (len(code), root) if root is not None else state
            if key != self._cache_key:
                self._cache, self._cache_key = {}, key
            cached = self._cache.get(sender)
            if cached is not None:
                return cached
        result = evm.message_call(
            state,
            sender=Address(b"\x00" * 20),
            to=self.rules,
            data=encode_check(sender, target, value, gas_price, gas_limit, payload),
            gas=CHECK_GAS,
        )
        allowed = result.error is None and len(result.output) >= 32 and any(result.output[:32])
        if cacheable:
            self._cache[sender] = allowed
        return allowed


def _storage_root(state: StateAPI, address: Address) -> bytes | None:
    """The storage root of ``address`` in ``state`` (None if py-evm does not say)."""
    account_db = getattr(state, "_account_db", None)
    getter = getattr(account_db, "_get_storage_root", None)
    if getter is None:
        return None
    try:
        return bytes(getter(address))
    except Exception:
        return None


__all__ = ["Permissioning", "encode_check"]
