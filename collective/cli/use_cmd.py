"""``collective use``: organizations record data uses; anyone reads the data-use history."""

from __future__ import annotations

from pathlib import Path

import click

from collective.cli.connect import open_client
from collective.cli.datarefs_cmd import data_refs_option
from collective.cli.files import exists
from collective.cli.options import (
    CliState,
    category_option,
    client_command,
    custom_term_option,
    purpose_option,
    sending_command,
)
from collective.cli.output import Note, Table, report, show, when
from collective.client.datarefs import DataRefStore


@click.group("use")
def use_group() -> None:
    """Data uses: record one (as an organization) and read the history.

    The ledger refuses a use that no valid consent covers (never granted, withdrawn,
    expired, or granted under an older policy version), and any use by a suspended
    organization. Only a hash of the data reference goes on chain: with --data-refs a
    keyed one (recommended: nobody who guesses the record locator can confirm it), else
    its keccak256.

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
    "or a 0x 32-byte reference (recorded as given).",
)
@data_refs_option(
    required=False,
    help="The organization's data-reference store (created, mode 0600, on first use): "
    "--ref is keyed with the subject's secret in it (HMAC-SHA256) instead of hashed with "
    "keccak256, which anyone who guesses the locator can confirm.",
)
@custom_term_option
@sending_command
def record_command(
    state: CliState,
    identity: str,
    purpose: str,
    category: str,
    data: str,
    data_refs: Path | None,
    custom_term: bool,
) -> None:
    """Record that the sender's organization used IDENTITY's data; refused without consent.

    IDENTITY is the subject's did:ethr DID or address. Exits 1 with the reason when no
    valid consent covers the use. With --data-refs (or COLLECTIVE_DATA_REFS) the on-chain
    data reference is keyed with IDENTITY's secret in that file: keep it private and
    backed up (`collective data-refs`).

    \b
    Examples:
      collective --network anvil --account 1 use record did:ethr:0x7a69:0x90F7...b906 \\
          --purpose dpv:ResearchAndDevelopment --category dpv-pd:MedicalHealth --ref lab/2026/42
      collective --json --account lab use record 0x90F7...b906 -p dpv:ResearchAndDevelopment \\
          -c dpv-pd:Genetic --ref 0x5f1e...99ab
      collective --account lab use record 0x90F7...b906 -p dpv:ResearchAndDevelopment \\
          -c dpv-pd:MedicalHealth --ref lab/2026/42 --data-refs lab-refs.db
    """
    created = data_refs is not None and not exists(data_refs, "the data-reference store")
    if data_refs is None:
        client = open_client(state, custom_terms=custom_term)
        recorded = client.usage.record(identity, purpose, category, data)
    else:
        with DataRefStore(data_refs) as store:
            client = open_client(state, custom_terms=custom_term)
            client.usage.data_refs = store
            recorded = client.usage.record(identity, purpose, category, data)
    lines = [
        f"recorded use by {r.organization} of {r.identity}'s {r.category} for {r.purpose} "
        f"(policy v{r.policy_version}, data ref {r.data_ref}, log {r.where.log_index})"
        for r in recorded.records
    ]
    report(state, recorded, "\n".join(lines) or "recorded no use")
    if created and not state.as_json:
        show(state, None, Note(f"created the data-reference store {data_refs}: keep it private"))


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
