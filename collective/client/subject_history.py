"""A subject's own "who used my data" report over all of their pairwise identities.

Each identity's grants, withdrawals (:meth:`ConsentClient.timeline`) and recorded uses
(:meth:`UsageClient.history`) are read with the client's ordinary reads, filtered on the
identity alone (so a use by any organization shows, not only by the one the identity was made
for), and merged in chain order. Only the subject, who holds the mnemonic, can gather them: on
chain the identities are unrelated addresses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from collective.types import Address

if TYPE_CHECKING:
    from collective.client import Collective
    from collective.client.subject_records import Identity


@dataclass(frozen=True)
class HistoryRow:
    """One event of the report, in chain order.

    ``timestamp``: its block's time (unix seconds); ``block``, ``log_index``, ``tx_hash``: where
    it sits; ``action``: ``"grant"``, ``"withdraw"`` or ``"use"``; ``organization``: the
    organization the event names (the one that used the data, or was granted consent);
    ``identity``: the pairwise identity's address; ``identity_for``: the organization that
    identity was made for (differs from ``organization`` only if another organization acted on
    it); ``purpose``, ``category``: DPV names; ``expiry``: a grant's (unix seconds, None for
    never or not a grant); ``data_ref``: a use's 32-byte reference (``0x`` + 64 hex).
    """

    timestamp: int
    block: int
    log_index: int
    tx_hash: str
    action: str
    organization: Address
    identity: Address
    identity_for: Address
    purpose: str
    category: str
    expiry: int | None = None
    data_ref: str | None = None


def history(client: Collective, identities: Sequence[Identity]) -> list[HistoryRow]:
    """Every grant, withdrawal and use of the given identities, merged in chain order.

    Args:
        client: any client of the deployment (read-only is enough).
        identities: the subject's pairwise identities.

    Returns:
        The :class:`HistoryRow` s, ordered by (block, log index).

    Raises:
        ChainError: the node could not be reached.
    """
    rows: list[HistoryRow] = []
    for me in identities:
        for event in client.consent.timeline(identity=me.address):
            rows.append(
                HistoryRow(
                    timestamp=event.timestamp,
                    block=event.block,
                    log_index=event.log_index,
                    tx_hash=str(event.tx_hash),
                    action=event.action,
                    organization=Address(event.organization),
                    identity=me.address,
                    identity_for=me.organization,
                    purpose=event.purpose,
                    category=event.category,
                    expiry=event.expiry,
                )
            )
        for use in client.usage.history(identity=me.address):
            rows.append(
                HistoryRow(
                    timestamp=use.timestamp,
                    block=use.where.block,
                    log_index=use.where.log_index,
                    tx_hash=str(use.where.tx_hash),
                    action="use",
                    organization=Address(use.organization),
                    identity=me.address,
                    identity_for=me.organization,
                    purpose=use.purpose,
                    category=use.category,
                    data_ref=use.data_ref,
                )
            )
    rows.sort(key=lambda row: (row.block, row.log_index))
    return rows


__all__ = ["HistoryRow", "history"]
