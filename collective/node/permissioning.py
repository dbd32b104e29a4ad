"""Account permissioning, as Besu does it: ask AccountRules before accepting a transaction, and
again before sealing it.

With an AccountRules address configured (``--account-rules`` or the genesis file's
``config.collective.accountRules``), every transaction is checked with
``transactionAllowed(sender, target, value, gasPrice, gasLimit, payload)`` twice: against the
head state when it is submitted (a refused one never enters the pool), and against the starting
state of the block that would carry it, when that block is sealed (a refused one is dropped from
the pool: see :meth:`collective.node.core.NodeChain.seal`). The second check is the consensus
rule: each transaction of a block is judged by the state the block starts from, never by what an
earlier transaction of the same block changed, as CometBFT's ProcessProposal will re-check a
proposed block. While no contract is deployed at that address yet, only the genesis
``bootstrapAdmins`` may transact, so they can deploy it (at the address their deployment will
create). Without an address, everyone may.

:meth:`Permissioning.at` resolves the rules at one state once (code, whether answers depend on
the sender alone, the contract's storage root); :class:`Rules` then answers for many
transactions. One shortcut keeps the check cheap at high rates: when the code at the address is
exactly the AccountRules this package ships (whose ``transactionAllowed`` reads only ``sender``
and storage), answers are remembered per sender for the contract's current storage, so a sender
is asked once, not once per transaction, and a block re-checks its transactions with one
dictionary look-up each. Any other contract is asked for every transaction. The answers stay
valid as long as the contract's storage does (same storage root), so most blocks reuse the
previous block's answers.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth.abc import SignedTransactionAPI, StateAPI
from eth_typing import Address
from eth_utils.crypto import keccak

from collective.node.execution.engine import ExecutionEngine

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
    """Who may send transactions: the configured AccountRules, asked through :meth:`at`."""

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
                from collective.build.artifacts import load_artifact

                known = load_artifact("AccountRules").code_hash == digest
            except Exception:  # no artifacts: ask every time
                known = False
            self._sender_only[digest] = known
        return known

    @property
    def enabled(self) -> bool:
        """Whether an AccountRules address is configured (else every sender may transact)."""
        return self.rules is not None

    def at(self, evm: ExecutionEngine, state: StateAPI) -> Rules:
        """The rules as they stand in ``state`` (resolve once, ask for many transactions)."""
        if self.rules is None:
            return Rules(evm, state, None, b"", None, self.bootstrap_admins)
        code = bytes(state.get_code(self.rules))
        answers: dict[bytes, bool] | None = None
        if code and self._depends_on_sender_only(code):
            # answers hold while the contract's storage does; without its storage root, for
            # this state object only
            root = _storage_root(state, self.rules)
            key: object = (len(code), root) if root is not None else state
            if key != self._cache_key:
                self._cache, self._cache_key = {}, key
            answers = self._cache
        return Rules(evm, state, self.rules, code, answers, self.bootstrap_admins)

    def allowed(
        self,
        evm: ExecutionEngine,
        state: StateAPI,
        *,
        sender: Address,
        target: Address | None,
        value: int,
        gas_price: int,
        gas_limit: int,
        payload: bytes,
    ) -> bool:
        """Whether ``state``'s rules permit this transaction (see :meth:`Rules.allows`)."""
        return self.at(evm, state).allows(
            sender=sender,
            target=target,
            value=value,
            gas_price=gas_price,
            gas_limit=gas_limit,
            payload=payload,
        )


class Rules:
    """The permissioning rules at one state: what the node asks before admitting a transaction
    (at the head) and again before sealing it (at the block's starting state).

    With the shipped AccountRules, whose answer depends on the sender alone, each sender is
    asked once per contract storage (``answers`` is shared by every state with the same
    storage root); any other contract is asked for every transaction."""

    __slots__ = ("_answers", "_bootstrap", "_code", "_evm", "_state", "address")

    def __init__(
        self,
        evm: ExecutionEngine,
        state: StateAPI,
        address: Address | None,
        code: bytes,
        answers: dict[bytes, bool] | None,
        bootstrap: frozenset[bytes],
    ) -> None:
        self._evm = evm
        self._state = state
        self.address = address
        self._code = code
        self._answers = answers
        self._bootstrap = bootstrap

    def allows_tx(self, tx: SignedTransactionAPI, sender: bytes) -> bool:
        """Whether ``tx`` (sent by ``sender``) is permitted: one dictionary look-up when the
        sender's answer is known."""
        answers = self._answers
        if answers is not None:
            known = answers.get(sender)
            if known is not None:
                return known
        return self.allows(
            sender=Address(sender),
            target=Address(bytes(tx.to)) if tx.to else None,
            value=int(tx.value),
            gas_price=int(tx.max_fee_per_gas),
            gas_limit=int(tx.gas),
            payload=bytes(tx.data),
        )

    def allows(
        self,
        *,
        sender: Address,
        target: Address | None,
        value: int,
        gas_price: int,
        gas_limit: int,
        payload: bytes,
    ) -> bool:
        """``transactionAllowed(sender, target, value, gasPrice, gasLimit, payload)``; only the
        bootstrap admins while no contract is at the address; everyone without an address."""
        if self.address is None:
            return True
        if not self._code:
            return sender in self._bootstrap
        answers = self._answers
        if answers is not None:
            cached = answers.get(sender)
            if cached is not None:
                return cached
        result = self._evm.message_call(
            self._state,
            sender=Address(b"\x00" * 20),
            to=self.address,
            data=encode_check(sender, target, value, gas_price, gas_limit, payload),
            gas=CHECK_GAS,
        )
        allowed = result.error is None and len(result.output) >= 32 and any(result.output[:32])
        if answers is not None:
            answers[sender] = allowed
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


__all__ = ["Permissioning", "Rules", "encode_check"]
