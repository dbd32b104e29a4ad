"""The oversight board: M-of-N votes to suspend or reinstate an organization, flag a recorded
use, set an organization's consensus validator, or change the board itself.

A proposal counts its proposer's approval and executes itself once approvals by current members
reach the threshold. Reasons are short texts stored as 32 bytes (e.g. ``"GDPR-Art5-breach"``):
keep personal data out of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

from eth_utils.crypto import keccak
from web3.types import TxReceipt

from collective.client.base import Session
from collective.client.consent import Who
from collective.client.records import Flag, TxResult, log_position, tx_fields
from collective.client.validators import Validator, power_value, read_validators, validator_key
from collective.errors import InvalidInputError
from collective.types import Address, TxHash


class Action(IntEnum):
    """What a proposal does when executed (the contract's ``Action`` enum)."""

    SUSPEND = 0
    REINSTATE = 1
    FLAG_USE = 2
    ADD_MEMBER = 3
    REMOVE_MEMBER = 4
    SET_THRESHOLD = 5
    REPLACE_BOARD = 6
    SET_VALIDATOR = 7


ProposalState = Literal["open", "expired", "executed"]
"""A proposal's standing at a time (see :meth:`Proposal.state`)."""


@dataclass(frozen=True)
class Proposal:
    """A proposal's state: what it does to ``target``, ``ref`` (a flagged use's reference or a
    SET_VALIDATOR's ed25519 key, ``0x`` + 64 hex), its reason text (empty for a SET_VALIDATOR,
    whose reason word is the :attr:`power` it sets), who proposed it, whether it executed, its
    approvals, when it expires (unix seconds) and how many approvals it needs."""

    id: int
    action: Action
    target: Address
    ref: str
    reason: str
    proposer: Address
    executed: bool
    approvals: int
    expires_at: int  # unix seconds; no approval or execution after it
    needed: int  # approvals it needs (the threshold; at most every other member for a removal)
    power: int | None = None  # the voting power a SET_VALIDATOR sets (its ref is the key)

    def state(self, now: int) -> ProposalState:
        """Where the proposal stands at time ``now`` (unix seconds, e.g. the latest block's
        ``timestamp``): ``"executed"``; ``"expired"`` once ``now`` is past
        :attr:`expires_at` (the contract takes no approval or execution then); else
        ``"open"``."""
        if self.executed:
            return "executed"
        return "expired" if now > self.expires_at else "open"

    @property
    def threshold(self) -> int | None:
        """The board threshold the proposal sets, decoded from :attr:`ref` (a ``uint256``):
        the new threshold of a SET_THRESHOLD, the one a REMOVE_MEMBER sets with the removal
        (None when it keeps the threshold, ref 0); None for every other action."""
        if self.action is Action.SET_THRESHOLD:
            return int(self.ref, 16)
        if self.action is Action.REMOVE_MEMBER:
            return int(self.ref, 16) or None
        return None


@dataclass(frozen=True)
class Vote(TxResult):
    """A proposal created or approved: its id, its approvals after this transaction, and
    ``executed`` when this transaction executed it."""

    proposal_id: int
    approvals: int
    executed: bool


NULL_TARGET: Final = Address("0x" + "00" * 20)
"""The target of a proposal about the board itself (SET_THRESHOLD)."""


def threshold_ref(threshold: int | None) -> bytes:
    """The ``ref`` of a SET_THRESHOLD or REMOVE_MEMBER proposal: the threshold as a
    ``uint256`` (32 bytes, big-endian), 0 for "keep it" (a removal's None); the inverse of
    :attr:`Proposal.threshold`.

    Raises:
        InvalidInputError: a negative threshold or one over 2**256 - 1.
    """
    try:
        return (threshold or 0).to_bytes(32, "big")
    except OverflowError:
        raise InvalidInputError(f"threshold {threshold} is not a uint256") from None


def use_ref(tx_hash: TxHash | str | bytes, log_index: int) -> bytes:
    """The board's reference to a recorded use: keccak256(abi.encode(txHash, logIndex)).

    One rule for the client (flagging a use) and the audit (matching flags to uses).

    Args:
        tx_hash: the use's transaction hash: 32 bytes, or ``0x`` + 64 hex.
        log_index: the ``DataUsed`` log's index in its block.

    Returns:
        32 bytes.
    """
    raw = bytes.fromhex(tx_hash[2:]) if isinstance(tx_hash, str) else bytes(tx_hash)
    return keccak(raw + log_index.to_bytes(32, "big"))


def reason_bytes(reason: str) -> bytes:
    """A proposal's reason as the contract's 32 bytes (UTF-8, zero-padded).

    Raises:
        InvalidInputError: longer than 32 bytes.
    """
    raw = reason.encode()
    if len(raw) > 32:
        raise InvalidInputError(
            f"the reason {reason!r} is longer than 32 bytes",
            hint="use a short code such as 'GDPR-Art5-breach' and keep the details off chain",
        )
    return raw.ljust(32, b"\0")


class OversightClient:
    """Propose, approve, execute; list proposals and flags."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def propose(
        self, action: Action, target: Who, *, ref: bytes = b"\0" * 32, reason: str = ""
    ) -> Vote:
        """Create a proposal (the sender's approval counts); executes at once if the threshold
        is 1.

        Args:
            action: what it does (:class:`Action`).
            target: the organization or member it is about (address, account or DID).
            ref: for :attr:`Action.FLAG_USE`, the use's reference (:func:`use_ref`).
            reason: a short code (at most 32 bytes; keep personal data out).

        Returns:
            The :class:`Vote`.

        Raises:
            InvalidInputError: an address or DID that is not one, a DID of another network, or
                a reason over 32 bytes.
            ConfigurationError: a read-only client.
            NotPermittedError: the sender is not a board member (or the proposal is closed).
            ChainError: the node could not be reached.
        """
        fn = self._s.board.functions.propose(
            int(action), self._s.address(target, "target"), ref, reason_bytes(reason)
        )
        return self._vote(self._s.transact(fn))

    def suspend(self, organization: Who, reason: str = "") -> Vote:
        """Propose to suspend ``organization`` (raises as :meth:`propose`)."""
        return self.propose(Action.SUSPEND, organization, reason=reason)

    def reinstate(self, organization: Who, reason: str = "") -> Vote:
        """Propose to reinstate ``organization`` (raises as :meth:`propose`)."""
        return self.propose(Action.REINSTATE, organization, reason=reason)

    def flag_use(
        self, organization: Who, tx_hash: TxHash | str, log_index: int, reason: str = ""
    ) -> Vote:
        """Propose to flag the use recorded in ``tx_hash`` (``0x`` + 64 hex) at ``log_index``
        (raises as :meth:`propose`)."""
        return self.propose(
            Action.FLAG_USE, organization, ref=use_ref(tx_hash, log_index), reason=reason
        )

    def remove_member(self, member: Who, reason: str = "", *, threshold: int | None = None) -> Vote:
        """Propose to remove ``member`` from the board, optionally setting the threshold to
        ``threshold`` in the same step (needed when the threshold equals the board's size;
        such a removal needs every other member's approval). Raises as :meth:`propose`."""
        return self.propose(
            Action.REMOVE_MEMBER, member, ref=threshold_ref(threshold), reason=reason
        )

    def set_threshold(self, threshold: int, reason: str = "") -> Vote:
        """Propose ``threshold`` approvals (at most the number of members) for future
        proposals. Raises as :meth:`propose`."""
        return self.propose(
            Action.SET_THRESHOLD, NULL_TARGET, ref=threshold_ref(threshold), reason=reason
        )

    def set_validator(self, organization: Who, pub_key: str | bytes, power: int) -> Vote:
        """Propose that ``organization``'s CometBFT validator be the ed25519 key ``pub_key`` at
        voting power ``power`` (0 removes it: ``pub_key`` is then its current key). Replacing
        a key takes the old one out first. The power takes effect while the organization is
        active (0 while suspended).

        Args:
            organization: an admitted organization (address, account or DID).
            pub_key: 32 bytes, CometBFT's base64 ``pub_key.value`` or ``0x`` + 64 hex.
            power: 0 to :data:`~collective.client.validators.MAX_POWER`.

        Raises:
            InvalidInputError: a key or power out of range (and as :meth:`propose`).
            NotPermittedError: as :meth:`propose`; or, when the proposal executes at once, an
                organization not admitted or a key another organization holds.
        """
        fn = self._s.board.functions.propose(
            int(Action.SET_VALIDATOR),
            self._s.address(organization, "organization"),
            validator_key(pub_key),
            power_value(power).to_bytes(32, "big"),
        )
        return self._vote(self._s.transact(fn))

    def validators(self) -> list[Validator]:
        """The consortium's validator set (AccountRules), suspended organizations' validators
        included at effective power 0, sorted by organization.

        Raises:
            ChainError: the node could not be reached.
        """
        return read_validators(self._s)

    def approve(self, proposal_id: int) -> Vote:
        """Approve; the proposal executes in this transaction if it reaches the threshold.

        Args:
            proposal_id: the proposal's id (0, 1, ...).

        Raises:
            As :meth:`propose`.
        """
        return self._vote(self._s.transact(self._s.board.functions.approve(proposal_id)))

    def execute(self, proposal_id: int) -> Vote:
        """Execute a proposal that has enough approvals (e.g. after the threshold dropped).

        Args:
            proposal_id: the proposal's id.

        Raises:
            As :meth:`propose`.
        """
        return self._vote(self._s.transact(self._s.board.functions.execute(proposal_id)))

    def object(self, proposal_id: int) -> TxResult:
        """As the member a RemoveMember proposal would remove, object to it: the removal then
        needs the full threshold instead of every other member after a waiting time.

        Args:
            proposal_id: the RemoveMember proposal's id.

        Raises:
            As :meth:`propose`.
        """
        return TxResult(**tx_fields(self._s.transact(self._s.board.functions.object(proposal_id))))

    def proposal(self, proposal_id: int) -> Proposal:
        """The state of proposal ``proposal_id``.

        Raises:
            ChainError: the node could not be reached.
        """
        fns = self._s.board.functions
        action, target, ref, reason, proposer, executed, expires_at = self._s.call(
            fns.proposal(proposal_id)
        )
        power = int.from_bytes(reason, "big") if action == Action.SET_VALIDATOR else None
        return Proposal(
            id=proposal_id,
            action=Action(action),
            target=target,
            ref="0x" + bytes(ref).hex(),
            reason=""
            if power is not None
            else bytes(reason).rstrip(b"\0").decode(errors="replace"),
            proposer=proposer,
            executed=bool(executed),
            approvals=int(self._s.call(fns.approvals(proposal_id))),
            expires_at=int(expires_at),
            needed=int(self._s.call(fns.approvalsNeeded(proposal_id))),
            power=power,
        )

    def proposals(self) -> list[Proposal]:
        """Every proposal, oldest first.

        Raises:
            ChainError: the node could not be reached.
        """
        count = int(self._s.call(self._s.board.functions.proposalCount()))
        return [self.proposal(i) for i in range(count)]

    def members(self) -> list[Address]:
        """The board's current members.

        Raises:
            ChainError: the node could not be reached.
        """
        return list(self._s.call(self._s.board.functions.members()))

    def threshold(self) -> int:
        """How many approvals a proposal needs.

        Raises:
            ChainError: the node could not be reached.
        """
        return int(self._s.call(self._s.board.functions.threshold()))

    def flags(self) -> list[Flag]:
        """Every use the board flagged (``UseFlagged``), in chain order, each with its block's
        time; ``use`` is left None (the audit resolves it from its index).

        Raises:
            ChainError: the node could not be asked.
        """
        events = self._s.events(self._s.board.events.UseFlagged())
        times = self._s.block_times(e.block_number for e in events)
        out = []
        for e in events:
            where = log_position(e)
            out.append(
                Flag(
                    block=where.block,
                    tx_hash=TxHash(where.tx_hash),
                    log_index=where.log_index,
                    timestamp=times[where.block],
                    use_ref="0x" + bytes(e.args["useRef"]).hex(),
                    organization=e.args["organization"],
                    reason_hash="0x" + bytes(e.args["reasonHash"]).hex(),
                    proposal_id=int(e.args["proposalId"]),
                )
            )
        return out

    def _vote(self, receipt: TxReceipt) -> Vote:
        board = self._s.board.events
        created = self._s.decoded(board.ProposalCreated(), receipt)
        approved = self._s.decoded(board.ProposalApproved(), receipt)
        executed = self._s.decoded(board.ProposalExecuted(), receipt)
        if created:
            proposal_id = int(created[0]["args"]["id"])
        elif approved:
            proposal_id = int(approved[0]["args"]["id"])
        else:
            proposal_id = int(executed[0]["args"]["id"])
        approvals = int(self._s.call(self._s.board.functions.approvals(proposal_id)))
        return Vote(
            **tx_fields(receipt),
            proposal_id=proposal_id,
            approvals=approvals,
            executed=bool(executed),
        )


__all__ = [
    "NULL_TARGET",
    "Action",
    "Flag",
    "OversightClient",
    "Proposal",
    "ProposalState",
    "Validator",
    "Vote",
    "threshold_ref",
    "use_ref",
]
