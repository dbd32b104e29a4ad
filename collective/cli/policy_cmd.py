"""``collective policy``: organizations publish numbered, hash-pinned policy versions."""

from __future__ import annotations

from pathlib import Path

import click

from collective.cli.connect import open_client
from collective.cli.options import (
    CliState,
    client_command,
    custom_term_option,
    sending_command,
)
from collective.cli.output import Fields, Table, report, show
from collective.cli.params import POLICY_VERSION
from collective.client.policies import Policy


@click.group("policy")
def policy_group() -> None:
    """Policies: publish a version (the sender's organization), read the current one and
    the history.

    Only the document's SHA-256 and the URI where people read it go on chain, with the DPV
    purposes it covers. Publishing version N+1 makes consents under version N stale for new
    uses: subjects must consent again.

    \b
    Examples:
      collective --network anvil --account 1 policy publish policy.md \\
          --uri https://lab.example/policy/v1 --purpose dpv:ResearchAndDevelopment
      collective --network anvil policy current 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
      collective --network anvil policy history 0x7099...79C8
    """


def _fields(policy: Policy) -> list[tuple[str, object]]:
    return [
        ("organization", policy.organization),
        ("version", policy.version),
        ("URI", policy.uri),
        ("content hash", policy.content_hash),
        ("purposes", ", ".join(policy.purposes)),
        ("published", f"block {policy.block_number}, tx {policy.tx_hash}"),
    ]


def _show(state: CliState, policy: Policy) -> None:
    show(state, policy, Fields(_fields(policy)))


@policy_group.command("publish")
@click.argument("document", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--uri", required=True, help="Where people read the policy (https://...).")
@click.option(
    "--purpose",
    "-p",
    "purposes",
    multiple=True,
    required=True,
    metavar="DPV",
    help="A purpose the policy covers: a DPV term or a 0x code (repeatable).",
)
@custom_term_option
@sending_command
def publish_command(
    state: CliState, document: Path, uri: str, purposes: tuple[str, ...], custom_term: bool
) -> None:
    """Publish FILE as the sender's next policy version.

    The sender must be an admitted, active organization. FILE is hashed with SHA-256
    (`sha256sum FILE` gives the same); it is not uploaded anywhere.

    \b
    Examples:
      collective --network anvil --account 1 policy publish policy.md \\
          --uri https://lab.example/policy/v1 \\
          --purpose dpv:ResearchAndDevelopment --purpose dpv:ScientificResearch
      collective --json --account lab policy publish v2.md --uri https://lab.example/v2 \\
          -p dpv:Marketing
    """
    client = open_client(state, custom_terms=custom_term)
    published = client.policies.publish(document, uri, list(purposes))
    policy = published.policy
    report(
        state,
        published,
        f"published policy version {policy.version} of {policy.organization}: {policy.uri} "
        f"(sha256 {policy.content_hash[2:]}; purposes {', '.join(policy.purposes)})",
    )


@policy_group.command("current")
@click.argument("organization", metavar="ORG")
@client_command
def current_command(state: CliState, organization: str) -> None:
    """Show ORG's current policy version.

    \b
    Examples:
      collective --network anvil policy current 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
      collective --network anvil --json policy current 0x7099...79C8
    """
    client = open_client(state, read_only=True)
    _show(state, client.policies.current(organization))


@policy_group.command("history")
@click.argument("organization", metavar="ORG")
@client_command
def history_command(state: CliState, organization: str) -> None:
    """List every policy version ORG published, oldest first.

    \b
    Examples:
      collective --network anvil policy history 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
      collective --network anvil --json policy history 0x7099...79C8
    """
    client = open_client(state, read_only=True)
    policies = client.policies.history(organization)
    show(
        state,
        policies,
        Table(
            f"policies of {organization}",
            ["version", "URI", "content hash", "purposes", "block"],
            [
                (p.version, p.uri, p.content_hash, ", ".join(p.purposes), p.block_number)
                for p in policies
            ],
            empty="no policy published yet",
        ),
    )


@policy_group.command("show")
@click.argument("organization", metavar="ORG")
@click.argument("version", type=POLICY_VERSION)
@client_command
def show_command(state: CliState, organization: str, version: int) -> None:
    """Show policy VERSION of ORG.

    \b
    Examples:
      collective --network anvil policy show 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 1
      collective --network anvil --json policy show 0x7099...79C8 2
    """
    client = open_client(state, read_only=True)
    _show(state, client.policies.get(organization, version))


__all__ = ["policy_group"]
