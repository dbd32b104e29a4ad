"""``collective use``: organizations record data uses; anyone reads the data-use history."""

from __future__ import annotations

import click

from collective.cli.connect import open_client
from collective.cli.options import (
    CliState,
    category_option,
    client_command,
    custom_term_option,
    purpose_option,
    sending_command,
)
from collective.cli.output import Table, report, show, when


@click.group("use")
def use_group() -> None:
    """Data uses: record one (as an organization) and read the history.

    The ledger refuses a use that no valid consent covers (never granted, withdrawn,
    expired, or granted under an older policy version), and any use by a suspended
    organization. Only a hash of the data reference goes on chain.

    \b
    Examples:
      collective --network anvil --account 1 use record did:ethr:0x7a69:0x90F7...b906 \\
          --purpose dpv:ResearchAndDevelopment --category dpv-pd:MedicalHealth --ref lab/2026/42
      collective --network anvil use history --subject did:ethr:0x7a69:0x90F7...b906
    """


@use_group.command("record")
@click.argument("identity", metavar="IDENTITY")
@purpose_option
@category_option
@click.option(
    "--ref",
    "data",
    required=True,
    metavar="REF",
    help="The record used, e.g. lab-report/2026/0042 (hashed; the text stays off chain), "
    "or a 0x 32-byte reference.",
)
@custom_term_option
@sending_command
def record_command(
    state: CliState, identity: str, purpose: str, category: str, data: str, custom_term: bool
) -> None:
    """Record that the sender's organization used IDENTITY's data; refused without consent.

    IDENTITY is the subject's did:ethr DID or address. Exits 1 with the reason when no
    valid consent covers the use.

    \b
    Examples:
      collective --network anvil --account 1 use record did:ethr:0x7a69:0x90F7...b906 \\
          --purpose dpv:ResearchAndDevelopment --category dpv-pd:MedicalHealth --ref lab/2026/42
      collective --json --account lab use record 0x90F7...b906 -p dpv:ResearchAndDevelopment \\
          -c dpv-pd:Genetic --ref 0x5f1e...99ab
    """
    client = open_client(state, custom_terms=custom_term)
    recorded = client.usage.record(identity, purpose, category, data)
    lines = [
        f"recorded use by {r.organization} of {r.identity}'s {r.category} for {r.purpose} "
        f"(policy v{r.policy_version}, data ref {r.data_ref}, log {r.where.log_index})"
        for r in recorded.records
    ]
    report(state, recorded, "\n".join(lines) or "recorded no use")


@use_group.command("history")
@click.option("--subject", metavar="DID|ADDRESS", help="Uses of this identity's data.")
@click.option("--org", "organization", metavar="ORG", help="Uses by this organization.")
@client_command
def history_command(state: CliState, subject: str | None, organization: str | None) -> None:
    """The data-use history, oldest first: of one subject, by one organization, or both.

    The `tx:log` column names each use for `collective board propose flag-use`.

    \b
    Examples:
      collective --network anvil use history --subject did:ethr:0x7a69:0x90F7...b906
      collective --network anvil use history --org 0x7099...79C8
      collective --network anvil --json use history --subject 0x90F7...b906 --org 0x7099...79C8
    """
    client = open_client(state, read_only=True)
    records = client.usage.history(identity=subject, organization=organization)
    title = "data uses"
    if subject is not None:
        title += f" of {subject}"
    if organization is not None:
        title += f" by {organization}"
    show(
        state,
        records,
        Table(
            title,
            [
                "time",
                "identity",
                "organization",
                "purpose",
                "category",
                "policy",
                "data ref",
                "tx:log",
            ],
            [
                (
                    when(r.timestamp),
                    r.identity,
                    r.organization,
                    r.purpose,
                    r.category,
                    f"v{r.policy_version}",
                    r.data_ref,
                    f"{r.where.tx_hash}:{r.where.log_index}",
                )
                for r in records
            ],
            empty="no uses recorded",
        ),
    )


__all__ = ["use_group"]
