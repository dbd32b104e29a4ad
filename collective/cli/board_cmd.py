"""``collective board``: the oversight board's M-of-N votes (propose, approve, object,
execute); the reads (proposals, flags, members) live in :mod:`collective.cli.board_read_cmd`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from collective.cli.board_read_cmd import READ_COMMANDS, action_name
from collective.cli.connect import open_client
from collective.cli.options import CliState, sending_command
from collective.cli.output import report
from collective.client.oversight import Action, Vote
from collective.client.validators import MAX_POWER

if TYPE_CHECKING:
    from collective.client import Collective

reason_option = click.option(
    "--reason",
    "-r",
    default="",
    metavar="TEXT",
    help="A short code of at most 32 bytes, e.g. GDPR-Art5-breach (stored on chain: keep "
    "personal data out of it).",
)


@click.group("board")
def board_group() -> None:
    """The oversight board: propose, approve and execute M-of-N decisions.

    Members vote to suspend or reinstate an organization, flag a recorded use, set an
    organization's consensus validator, or change the board itself. A proposal counts its
    proposer's approval and executes once approvals by current members reach the threshold.

    \b
    Examples:
      collective --network anvil --account 7 board propose suspend 0x7099...79C8 -r GDPR-Art5
      collective --network anvil --account 8 board approve 0
      collective --network anvil board proposals
    """


def _report_vote(state: CliState, client: Collective, verb: str, vote: Vote) -> None:
    """Print ``vote`` (JSON, or "<verb> proposal N: executed | A of T approvals")."""
    threshold = client.oversight.threshold()
    standing = "executed" if vote.executed else f"{vote.approvals} of {threshold} approvals"
    report(state, vote, f"{verb} proposal {vote.proposal_id}: {standing}")


def _propose(state: CliState, action: Action, target: str, *, reason: str = "") -> None:
    client = open_client(state)
    vote = client.oversight.propose(action, target, reason=reason)
    _report_vote(state, client, "created", vote)


@board_group.group("propose")
def propose_group() -> None:
    """Create a proposal (a board member only); your approval counts at once.

    \b
    Examples:
      collective --network anvil --account 7 board propose suspend 0x7099...79C8 -r GDPR-Art5
      collective --network anvil --account 7 board propose flag-use 0x5c50...e1d2 -r unusual
      collective --network anvil --account 7 board propose set-threshold 3
    """


def _proposal_command(name: str, action: Action, metavar: str, help: str) -> click.Command:
    """The command ``board propose <name> TARGET``: propose ``action`` on the address."""

    @propose_group.command(name, help=help)
    @click.argument("target", metavar=metavar)
    @reason_option
    @sending_command
    def command(state: CliState, target: str, reason: str) -> None:
        _propose(state, action, target, reason=reason)

    return command


propose_suspend = _proposal_command(
    "suspend",
    Action.SUSPEND,
    "ORG",
    """Propose to suspend ORG.

    \b
    Examples:
      collective --network anvil --account 7 board propose suspend 0x7099...79C8 -r GDPR-Art5
    """,
)
propose_reinstate = _proposal_command(
    "reinstate",
    Action.REINSTATE,
    "ORG",
    """Propose to reinstate a suspended ORG.

    \b
    Examples:
      collective --network anvil --account 7 board propose reinstate 0x7099...79C8
    """,
)
propose_add_member = _proposal_command(
    "add-member",
    Action.ADD_MEMBER,
    "ADDRESS",
    """Propose to add ADDRESS to the board.

    \b
    Examples:
      collective --network anvil --account 7 board propose add-member 0xa0Ee...9720
    """,
)
propose_replace_board = _proposal_command(
    "replace-board",
    Action.REPLACE_BOARD,
    "ADDRESS",
    """Propose to hand the board's authority (AccountRules' board) to the contract at ADDRESS.

    Once a board is set, only the board itself can replace it; admins cannot.

    \b
    Examples:
      collective --network anvil --account 7 board propose replace-board 0x5FbD...0aa3
    """,
)


@propose_group.command("flag-use")
@click.argument("tx_hash", metavar="TX_HASH")
@click.option(
    "--log-index",
    type=click.IntRange(min=0),
    metavar="N",
    help="The use's log index, when the transaction recorded several (see `use history`).",
)
@reason_option
@sending_command
def propose_flag_use(state: CliState, tx_hash: str, log_index: int | None, reason: str) -> None:
    """Propose to flag the data use recorded in TX_HASH (the tx of `use history`'s tx:log).

    \b
    Examples:
      collective --network anvil --account 7 board propose flag-use 0x5c50...e1d2 -r unusual
      collective --account 7 board propose flag-use 0x9a1b...77f0 --log-index 4
    """
    client = open_client(state)
    use = client.usage.find(tx_hash, log_index)
    vote = client.oversight.flag_use(use.organization, tx_hash, use.where.log_index, reason)
    _report_vote(state, client, "created", vote)


@propose_group.command("remove-member")
@click.argument("member", metavar="ADDRESS")
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    metavar="N",
    help="Set the threshold to N in the same step (N at most the members left). Needed when "
    "the threshold equals the board's size, e.g. to drop a member whose key is lost: such a "
    "removal needs the approval of every other member.",
)
@reason_option
@sending_command
def propose_remove_member(state: CliState, member: str, threshold: int | None, reason: str) -> None:
    """Propose to remove ADDRESS from the board (the threshold must stay reachable).

    \b
    Examples:
      collective --network anvil --account 7 board propose remove-member 0xa0Ee...9720
      collective --account 7 board propose remove-member 0xa0Ee...9720 --threshold 2
    """
    client = open_client(state)
    vote = client.oversight.remove_member(member, reason, threshold=threshold)
    _report_vote(state, client, "created", vote)


@propose_group.command("set-threshold")
@click.argument("threshold", type=click.IntRange(min=1))
@reason_option
@sending_command
def propose_set_threshold(state: CliState, threshold: int, reason: str) -> None:
    """Propose THRESHOLD approvals (at most the number of members) for future proposals.

    \b
    Examples:
      collective --network anvil --account 7 board propose set-threshold 3
    """
    client = open_client(state)
    vote = client.oversight.set_threshold(threshold, reason)
    _report_vote(state, client, "created", vote)


@propose_group.command("set-validator")
@click.argument("organization", metavar="ORG")
@click.option(
    "--pubkey",
    required=True,
    metavar="KEY",
    help="The validator's ed25519 public key: the base64 pub_key.value of CometBFT's "
    "priv_validator_key.json (or `cometbft show-validator`), or 0x + 64 hex.",
)
@click.option(
    "--power",
    required=True,
    type=click.IntRange(min=0, max=MAX_POWER),
    metavar="N",
    help="Voting power; 0 removes ORG's validator (KEY is then its current key).",
)
@sending_command
def propose_set_validator(state: CliState, organization: str, pubkey: str, power: int) -> None:
    """Propose that ORG's CometBFT validator be KEY at voting power N (0 removes it).

    A new key replaces ORG's old one; a key another organization holds is refused. The power
    counts while ORG is active: a suspension takes it to 0, a reinstatement restores it.

    \b
    Examples:
      collective --account 7 board propose set-validator 0x7099...79C8 --pubkey 0x8f1c... --power 10
      collective --account 7 board propose set-validator 0x7099...79C8 --pubkey 8Kz3...= --power 0
    """
    client = open_client(state)
    vote = client.oversight.set_validator(organization, pubkey, power)
    _report_vote(state, client, "created", vote)


@board_group.command("approve")
@click.argument("proposal_id", metavar="ID", type=click.IntRange(min=0))
@sending_command
def approve_command(state: CliState, proposal_id: int) -> None:
    """Approve proposal ID (a board member only); it executes when the threshold is reached.

    \b
    Examples:
      collective --network anvil --account 8 board approve 0
    """
    client = open_client(state)
    vote = client.oversight.approve(proposal_id)
    _report_vote(state, client, "approved", vote)


@board_group.command("object")
@click.argument("proposal_id", metavar="ID", type=click.IntRange(min=0))
@sending_command
def object_command(state: CliState, proposal_id: int) -> None:
    """Object, as the member proposal ID would remove: it then needs the full threshold.

    A removal that lowers the threshold can otherwise execute with every other member's
    approval once half the proposal's lifetime passed (for a member whose key is lost).

    \b
    Examples:
      collective --network anvil --account 9 board object 4
    """
    client = open_client(state)
    result = client.oversight.object(proposal_id)
    report(state, result, f"objected to board proposal {proposal_id}")


@board_group.command("execute")
@click.argument("proposal_id", metavar="ID", type=click.IntRange(min=0))
@sending_command
def execute_command(state: CliState, proposal_id: int) -> None:
    """Execute proposal ID when it has enough approvals (e.g. after the threshold dropped).

    \b
    Examples:
      collective --network anvil --account 7 board execute 3
    """
    client = open_client(state)
    vote = client.oversight.execute(proposal_id)
    _report_vote(state, client, "executed", vote)


for _command in READ_COMMANDS:
    board_group.add_command(_command)

__all__ = ["action_name", "board_group"]
