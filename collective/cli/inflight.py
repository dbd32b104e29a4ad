"""The transactions a command sent and has not yet seen mined, shown so none is lost.

When a receipt does not come at once (a node that seals every few seconds, a busy one), the
hash is printed to stderr while waiting, so an interrupted or killed command has shown what
it sent; Ctrl-C prints every hash still in flight. An automining node's writes print nothing
extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from collective.cli.output import command_meta

if TYPE_CHECKING:
    from collective.chain import Chain

IN_FLIGHT = "collective.in-flight"  # ctx.meta: the command's InFlight


class InFlight:
    """The transactions this command signed and has not yet seen mined (hash -> what), kept
    from the moment the hash is known; a listener of :attr:`Chain.tx_listeners`."""

    def __init__(self) -> None:
        self.pending: dict[str, str] = {}

    def __call__(self, stage: str, tx_hash: str, what: str) -> None:
        """Follow one transaction.

        Args:
            stage: ``signed`` (hash known), ``waiting`` (the receipt did not come at once:
                the hash is printed to stderr) or anything else (mined or failed: forgotten).
            tx_hash: the 0x hash.
            what: a few words naming the transaction, e.g. ``grantConsent``.
        """
        if stage == "signed":
            self.pending[tx_hash] = what
        elif stage == "waiting":
            self.pending[tx_hash] = what
            click.echo(f"sent {what}: tx {tx_hash}, waiting for it to be mined", err=True)
        else:
            self.pending.pop(tx_hash, None)

    def interrupted(self) -> str:
        """The error line for Ctrl-C: the hashes that may still be mined, or ``interrupted``."""
        if not self.pending:
            return "interrupted"
        sent = ", ".join(f"{tx_hash} ({what})" for tx_hash, what in self.pending.items())
        return (
            f"interrupted while waiting for transaction {sent}: it was sent and may still be "
            "mined; look it up (eth_getTransactionReceipt, `cast receipt HASH`) before sending "
            "it again"
        )


def in_flight() -> InFlight:
    """This command's :class:`InFlight`: one per command line, kept in click's context."""
    meta = command_meta()
    tracker = meta.get(IN_FLIGHT)
    if not isinstance(tracker, InFlight):
        tracker = meta[IN_FLIGHT] = InFlight()
    return tracker


def watch(chain: Chain) -> Chain:
    """Have ``chain`` report the transactions it sends to this command's :class:`InFlight`.

    Args:
        chain: the command's connection.

    Returns:
        ``chain`` itself, listened to (once, however often it is watched).
    """
    tracker = in_flight()
    if tracker not in chain.tx_listeners:
        chain.tx_listeners.append(tracker)
    return chain


__all__ = ["InFlight", "in_flight", "watch"]
