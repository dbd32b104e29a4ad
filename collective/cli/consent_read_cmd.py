"""``collective consent status|list|timeline|covered``: read consents and their state.

Registered on the ``consent`` group by :mod:`collective.cli.consent_cmd`.
"""

from __future__ import annotations

from typing import Any

import click

from collective.cli.connect import open_client
from collective.cli.options import (
    CliState,
    category_option,
    client_command,
    custom_term_option,
    purpose_option,
)
from collective.cli.output import Fields, Table, expires, show, to_jsonable, when
from collective.cli.params import BLOCK_NUMBER
from collective.client.consent import Consent
from collective.ledger.consent_state import ConsentStatus

block_option = click.option(
    "--block",
    type=BLOCK_NUMBER,
    metavar="N",
    help="Read the state as of block N (default: the latest block).",
)


def _consent_fields(consent: Consent, status: ConsentStatus) -> list[tuple[str, object]]:
    return [
        ("identity", consent.identity),
        ("organization", consent.organization),
        ("purpose", consent.purpose),
        ("category", consent.category),
        ("state", status.state),
        ("covers a use", "yes" if status.covered else f"no: {status.reason}"),
        ("organization status", status.organization_status),
        ("policy version", _policy_line(status)),
        ("granted", when(consent.granted_at)),
        ("expires", expires(consent.expiry) if consent.granted_at else "-"),
        ("nonce", consent.nonce),
        ("consent id", consent.consent_id),
        ("block", status.block),
    ]


def _policy_line(status: ConsentStatus) -> str:
    if not status.granted_at:
        return "-"
    if status.policy_version == status.current_version:
        return f"v{status.policy_version} (current)"
    return f"v{status.policy_version} (the organization's current one is v{status.current_version})"


def _status_json(consent: Consent, status: ConsentStatus) -> dict[str, Any]:
    """The consent's fields with its state: ``active`` is the stored flag (granted and not
    withdrawn), ``state`` what it amounts to at the block, ``covered`` the contract's
    isCovered (``reason`` says why not)."""
    return {
        **to_jsonable(consent),
        "state": status.state,
        "covered": status.covered,
        "reason": status.reason,
        "organization_status": status.organization_status,
        "current_policy_version": status.current_version,
        "block": status.block,
    }


@click.command("status")
@click.argument("identity", metavar="IDENTITY")
@click.argument("organization", metavar="ORG")
@purpose_option
@category_option
@block_option
@custom_term_option
@client_command
def status_command(
    state: CliState,
    identity: str,
    organization: str,
    purpose: str,
    category: str,
    block: int | None,
    custom_term: bool,
) -> None:
    """Show one consent of IDENTITY (a DID or address) for ORG: its state and whether it
    covers a use.

    The state is one of active, withdrawn, expired, superseded (the organization has published
    a newer policy version since), deactivated (the identity was) or none (never granted);
    an active consent still covers no use while the organization is suspended, which is
    said separately.

    \b
    Examples:
      collective --network anvil consent status did:ethr:0x7a69:0x90F7...b906 0x7099...79C8 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth
      collective --json consent status 0x90F7...b906 0x7099...79C8 -p dpv:Marketing \\
          -c dpv-pd:EmailAddress --block 120
    """
    client = open_client(state, read_only=True, custom_terms=custom_term)
    reading = client.consent.reading(
        identity, organization, purpose, category, block="latest" if block is None else block
    )
    consent, status = reading.consent, reading.status
    show(state, _status_json(consent, status), Fields(_consent_fields(consent, status)))


@click.command("list")
@click.option("--subject", metavar="DID|ADDRESS", help="Every consent this identity granted.")
@click.option("--org", "organization", metavar="ORG", help="Every consent granted to ORG.")
@click.option("--active", "only_active", is_flag=True, help="Only consents in the state active.")
@client_command
def list_command(
    state: CliState, subject: str | None, organization: str | None, only_active: bool
) -> None:
    """List consents by subject (--subject) or by organization (--org), in their current state.

    The state is the one `consent status`, receipts and the audit use: active, withdrawn,
    expired, superseded (the organization published a newer policy since), deactivated (the
    identity was); "covered" says whether a use would be covered now (not while the
    organization is suspended).

    \b
    Examples:
      collective --network anvil consent list --subject did:ethr:0x7a69:0x90F7...b906
      collective --network anvil consent list --org 0x7099...79C8 --active
      collective --network anvil --json consent list --org 0x7099...79C8
    """
    if (subject is None) == (organization is None):
        raise click.UsageError("give exactly one of --subject and --org")
    client = open_client(state, read_only=True)
    if subject is not None:
        consents = client.consent.by_subject(subject)
    else:
        assert organization is not None
        consents = client.consent.by_organization(organization)
    if only_active:
        consents = [c for c in consents if c.state == "active"]
    show(
        state,
        consents,
        Table(
            f"consents of {subject}"
            if subject is not None
            else f"consents given to {organization}",
            [
                "identity",
                "organization",
                "purpose",
                "category",
                "state",
                "covered",
                "policy",
                "expires",
            ],
            [
                (
                    c.identity,
                    c.organization,
                    c.purpose,
                    c.category,
                    c.state,
                    "yes" if c.covered else "no",
                    f"v{c.policy_version}" if c.policy_version else "-",
                    expires(c.expiry) if c.active else "-",
                )
                for c in consents
            ],
            empty="none",
        ),
    )


@click.command("timeline")
@click.option("--subject", metavar="DID|ADDRESS", help="Only this identity's consents.")
@click.option("--org", "organization", metavar="ORG", help="Only consents given to ORG.")
@client_command
def timeline_command(state: CliState, subject: str | None, organization: str | None) -> None:
    """Every grant and withdrawal, oldest first (optionally of one subject and/or organization).

    \b
    Examples:
      collective --network anvil consent timeline --subject did:ethr:0x7a69:0x90F7...b906
      collective --network anvil --json consent timeline --org 0x7099...79C8
    """
    client = open_client(state, read_only=True)
    events = client.consent.timeline(identity=subject, organization=organization)
    show(
        state,
        [e.to_dict() for e in events],  # with ``kind`` (0.1), which ``action`` succeeds
        Table(
            "consent timeline",
            ["block", "event", "identity", "organization", "purpose", "category", "by", "tx"],
            [
                (
                    e.where.block_number,
                    e.kind,
                    e.key.identity,
                    e.key.organization,
                    e.key.purpose,
                    e.key.category,
                    e.agent,
                    e.where.tx_hash,
                )
                for e in events
            ],
            empty="no grants or withdrawals yet",
        ),
    )


@click.command("covered")
@click.argument("identity", metavar="IDENTITY")
@click.argument("organization", metavar="ORG")
@purpose_option
@category_option
@block_option
@custom_term_option
@client_command
def covered_command(
    state: CliState,
    identity: str,
    organization: str,
    purpose: str,
    category: str,
    block: int | None,
    custom_term: bool,
) -> None:
    """Would ORG's use of IDENTITY's data be covered by a valid consent now (or at block N)?

    Prints yes or no; both exit 0.

    \b
    Examples:
      collective --network anvil consent covered did:ethr:0x7a69:0x90F7...b906 0x7099...79C8 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth
      collective --json consent covered 0x90F7...b906 0x7099...79C8 -p dpv:Marketing \\
          -c dpv-pd:EmailAddress --block 120
    """
    client = open_client(state, read_only=True, custom_terms=custom_term)
    covered = client.consent.is_covered(
        identity, organization, purpose, category, block="latest" if block is None else block
    )
    where = "now" if block is None else f"at block {block}"
    show(
        state,
        {"covered": covered, "block": "latest" if block is None else block},
        f"{'yes' if covered else 'no'}: a use is {'' if covered else 'not '}covered {where}",
    )


READ_COMMANDS = (status_command, list_command, timeline_command, covered_command)

__all__ = ["READ_COMMANDS", "block_option"]
