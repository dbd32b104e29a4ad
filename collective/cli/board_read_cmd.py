"""``collective board proposals|flags|members|validators``: read the oversight board's state
and the validator set it governs.

Registered on the ``board`` group by :mod:`collective.cli.board_cmd`.
"""

from __future__ import annotations

import click

from collective.cli.connect import open_client
from collective.cli.options import CliState, client_command
from collective.cli.output import Table, show
from collective.client.oversight import Action, Proposal
from collective.client.validators import key_base64


def action_name(action: Action) -> str:
    """``action`` as the CLI writes it: lower case, dashed (``flag-use``)."""
    return action.name.lower().replace("_", "-")


def _proposal_json(p: Proposal) -> dict[str, object]:
    return {
        "id": p.id,
        "action": action_name(p.action),
        "target": p.target,
        "ref": p.ref,
        "reason": p.reason,
        "proposer": p.proposer,
        "executed": p.executed,
        "approvals": p.approvals,
        "needed": p.needed,
        "expiresAt": p.expires_at,
        **({"power": p.power} if p.power is not None else {}),
    }


def _target(p: Proposal) -> str:
    if p.action is Action.SET_THRESHOLD:
        return f"threshold {p.threshold}"
    if p.action is Action.FLAG_USE:
        return f"{p.target} use {p.ref}"
    if p.action is Action.SET_VALIDATOR:
        return f"{p.target} key {key_base64(p.ref)} power {p.power}"
    if p.threshold is not None:
        return f"{p.target}, threshold {p.threshold}"
    return p.target


@click.command("proposals")
@click.option(
    "--open", "only_open", is_flag=True, help="Only proposals neither executed nor expired."
)
@client_command
def proposals_command(state: CliState, only_open: bool) -> None:
    """List the board's proposals.

    \b
    Examples:
      collective --network anvil board proposals
      collective --network anvil --json board proposals --open
    """
    client = open_client(state, read_only=True)
    proposals = client.oversight.proposals()
    now = client.chain.latest_timestamp()
    if only_open:
        proposals = [p for p in proposals if p.state(now) == "open"]
    show(
        state,
        [_proposal_json(p) for p in proposals],
        Table(
            "proposals",
            ["id", "action", "target", "reason", "proposer", "approvals", "state"],
            [
                (
                    p.id,
                    action_name(p.action),
                    _target(p),
                    p.reason,
                    p.proposer,
                    f"{p.approvals}/{p.needed}",
                    p.state(now),
                )
                for p in proposals
            ],
            empty="none",
        ),
    )


@click.command("flags")
@client_command
def flags_command(state: CliState) -> None:
    """List the data uses the board flagged.

    \b
    Examples:
      collective --network anvil board flags
      collective --network anvil --json board flags
    """
    client = open_client(state, read_only=True)
    flags = client.oversight.flags()
    show(
        state,
        [f.to_dict() for f in flags],  # the reason as text too
        Table(
            "flagged uses",
            ["proposal", "organization", "use ref", "reason", "block"],
            [
                (f.proposal_id, f.organization, f.use_ref, f.reason, f.where.block_number)
                for f in flags
            ],
            empty="none",
        ),
    )


@click.command("members")
@client_command
def members_command(state: CliState) -> None:
    """List the board's members and its threshold.

    \b
    Examples:
      collective --network anvil board members
      collective --network anvil --json board members
    """
    client = open_client(state, read_only=True)
    members = client.oversight.members()
    threshold = client.oversight.threshold()
    show(
        state,
        {"members": members, "threshold": threshold},
        f"{len(members)} members; {threshold} approvals execute a proposal",
        *(f"  {member}" for member in members),
    )


@click.command("validators")
@client_command
def validators_command(state: CliState) -> None:
    """List the consortium's validators (AccountRules): each organization's ed25519 key, its
    voting power, and the power in effect (0 while the organization is suspended).

    \b
    Examples:
      collective --network anvil board validators
      collective --network anvil --json board validators
    """
    client = open_client(state, read_only=True)
    validators = client.oversight.validators()
    show(
        state,
        [v.to_dict() for v in validators],
        Table(
            "validators",
            ["organization", "pub key (base64)", "power", "effective"],
            [(v.organization, v.pub_key_base64, v.power, v.effective_power) for v in validators],
            empty="none",
        ),
    )


READ_COMMANDS = (proposals_command, flags_command, members_command, validators_command)

__all__ = ["READ_COMMANDS", "action_name"]
