"""``collective org``: the consortium admin admits, suspends, reinstates and removes
organizations; anyone lists them."""

from __future__ import annotations

import click

from collective.cli.connect import open_client
from collective.cli.options import CliState, client_command, sending_command
from collective.cli.output import Fields, Table, report, show


@click.group("org")
def org_group() -> None:
    """Organizations: admit, suspend, reinstate, remove (consortium admin), list and show.

    Only an admitted, active organization may publish policies, relay signed consents and
    record data uses. The oversight board can also suspend and reinstate (`collective board`).

    \b
    Examples:
      collective --network anvil org admit 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
      collective --network anvil org list
      collective --network anvil --json org show 0x7099...79C8
    """


def _change_command(verb: str, help: str) -> click.Command:
    """The command ``org <verb> ORG``: send ``client.orgs.<verb>(ORG)`` and report it."""

    @org_group.command(verb, help=help)
    @click.argument("organization", metavar="ORG")
    @sending_command
    def command(state: CliState, organization: str) -> None:
        client = open_client(state)
        change = getattr(client.orgs, verb)(organization)
        report(state, change, f"{change.action} organization {change.organization}")

    return command


admit_command = _change_command(
    "admit",
    """Admit ORG (an address) to the consortium; the sender must be a consortium admin.

    \b
    Examples:
      collective --network anvil --account 0 org admit 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
      collective --rpc http://10.0.0.5:8545 --account admin org admit 0xAb..
    """,
)
suspend_command = _change_command(
    "suspend",
    """Suspend ORG: it can no longer publish policies or record uses (admin).

    \b
    Examples:
      collective --network anvil org suspend 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """,
)
reinstate_command = _change_command(
    "reinstate",
    """Reinstate a suspended ORG (admin).

    \b
    Examples:
      collective --network anvil org reinstate 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """,
)
remove_command = _change_command(
    "remove",
    """Remove ORG from the consortium (admin).

    \b
    Examples:
      collective --network anvil org remove 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """,
)


@org_group.command("list")
@client_command
def list_command(state: CliState) -> None:
    """List the admitted organizations (active or suspended), in admission order.

    \b
    Examples:
      collective --network anvil org list
      collective --network anvil --json org list
    """
    client = open_client(state, read_only=True)
    organizations = client.orgs.list()
    show(
        state,
        organizations,
        Table(
            "organizations",
            ["address", "status", "policy version"],
            [(o.address, o.status, o.policy_version or "-") for o in organizations],
            empty="none admitted yet (admit one with `collective org admit`)",
        ),
    )


@org_group.command("show")
@click.argument("organization", metavar="ORG")
@client_command
def show_command(state: CliState, organization: str) -> None:
    """Show ORG's status, whether it is an admin, and its current policy.

    \b
    Examples:
      collective --network anvil org show 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
      collective --network anvil --json org show 0x7099...79C8
    """
    client = open_client(state, read_only=True)
    profile = client.orgs.profile(organization)
    admin = client.orgs.is_admin(profile.address)
    policy = client.policies.current(profile.address) if profile.policy_version else None
    data = {
        "address": profile.address,
        "status": profile.status,
        "policy_version": profile.policy_version,
        "admin": admin,
        "policy": policy,
    }
    fields: list[tuple[str, object]] = [
        ("organization", profile.address),
        ("status", profile.status if profile.status != "unknown" else "not admitted"),
        ("consortium admin", "yes" if admin else "no"),
        ("policy version", profile.policy_version or "none published"),
    ]
    if policy is not None:
        fields += [
            ("policy URI", policy.uri),
            ("policy hash", policy.content_hash),
            ("purposes", ", ".join(policy.purposes)),
        ]
    show(state, data, Fields(fields))


__all__ = ["org_group"]
