"""A small consent story on the embedded or anvil suite, shared by the audit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils.crypto import keccak

from collective.audit.report import use_ref
from collective.ledger.signing import code
from tests.helpers import LAB_RESULTS, RESEARCH, World

FLAG_USE = 2
SUSPEND = 0


@dataclass
class Story:
    world: World
    uses: list[tuple[str, int]] = field(default_factory=list)  # (tx hash, log index)
    flagged: tuple[str, int] | None = None


def tx_hash(receipt: Any) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def run_story(w: World, *, flag: bool = False) -> Story:
    """Patient grants the lab; two uses an hour apart; withdrawal; the hospital is granted,
    uses once, and is suspended by the board (2 of 3). With ``flag`` the board flags the
    lab's first use."""
    story = Story(w)
    w.grant(w.patient, w.lab)
    first = w.use(w.lab, w.patient.address, ref=keccak(b"record-1"))
    story.uses.append((tx_hash(first), 0))
    w.chain.increase_time(3600)
    second = w.use(w.lab, w.patient.address, ref=keccak(b"record-2"))
    story.uses.append((tx_hash(second), 0))
    w.tx(
        w.ledger.functions.withdraw(w.patient.address, w.lab.address, RESEARCH, LAB_RESULTS),
        w.patient,
    )
    w.grant(w.patient, w.hospital)
    third = w.use(w.hospital, w.patient.address, ref=keccak(b"record-3"))
    story.uses.append((tx_hash(third), 0))
    board = w.board.functions
    w.tx(
        board.propose(SUSPEND, w.hospital.address, b"\0" * 32, code("audit finding")), w.members[0]
    )
    w.tx(board.approve(0), w.members[1])
    if flag:
        ref = use_ref(bytes.fromhex(story.uses[0][0][2:]), 0)
        w.tx(board.propose(FLAG_USE, w.lab.address, ref, code("no lawful basis")), w.members[0])
        w.tx(board.approve(1), w.members[1])
        story.flagged = story.uses[0]
    return story
