"""``collective consent``: grant, withdraw, sign offline and relay; the group of every
consent command.

The reads (status, list, timeline, covered) live in :mod:`collective.cli.consent_read_cmd`,
the receipts in :mod:`collective.cli.receipt_cmd`; both are registered on this group.
"""

from __future__ import annotations

from pathlib import Path

import click

from collective.cli.connect import open_client
from collective.cli.consent_read_cmd import READ_COMMANDS
from collective.cli.files import read_text, write_text
from collective.cli.options import (
    CliState,
    category_option,
    custom_term_option,
    identity_option,
    out_option,
    purpose_option,
    sending_command,
    valid_for_option,
)
from collective.cli.output import expires, report, show, tx_line, when
from collective.cli.params import EXPIRY, POLICY_VERSION
from collective.cli.receipt_cmd import RECEIPT_COMMANDS
from collective.client.consent import BatchResult, Granted, Withdrawn
from collective.client.signing import relay_deadline
from collective.ledger.signing import SignedRequest

subject_option = identity_option("The subject's identity (default: the sending account's own).")


@click.group("consent")
def consent_group() -> None:
    """Consents: grant, withdraw, read them; sign offline and relay; consent receipts.

    A consent is keyed by (identity, organization, purpose, category). Identities are
    did:ethr DIDs or their addresses; purposes and categories are W3C DPV terms
    (dpv:ResearchAndDevelopment, dpv-pd:MedicalHealth) or 0x codes. A subject who pays no
    gas signs with `consent sign` and an organization sends it with `consent relay`.

    \b
    Examples:
      collective --network anvil --account 3 consent grant 0x7099...79C8 \\
          --purpose dpv:ResearchAndDevelopment --category dpv-pd:MedicalHealth
      collective --network anvil consent list --subject did:ethr:0x7a69:0x90F7...b906
      collective --network anvil --account 3 consent sign 0x7099...79C8 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth --out grant.json
      collective --network anvil --account 1 consent relay grant.json
    """


# --- writes ---------------------------------------------------------------------------------------


def _granted_line(granted: Granted) -> str:
    expiry = expires(granted.expiry)
    return (
        f"granted: {granted.identity} lets {granted.organization} use {granted.category} for "
        f"{granted.purpose} (policy v{granted.policy_version}, expires {expiry}; "
        f"authorized by {granted.agent})"
    )


def _withdrawn_line(withdrawn: Withdrawn) -> str:
    if not withdrawn.was_active:
        return (
            f"cancelled: nothing was active, so {withdrawn.identity}'s withdrawal voided every "
            f"request signed before it for {withdrawn.organization}, {withdrawn.category}, "
            f"{withdrawn.purpose} (authorized by {withdrawn.agent})"
        )
    return (
        f"withdrawn: {withdrawn.identity} no longer lets {withdrawn.organization} use "
        f"{withdrawn.category} for {withdrawn.purpose} (authorized by {withdrawn.agent}); "
        "requests signed before it are void"
    )


def _line(result: Granted | Withdrawn) -> str:
    return _granted_line(result) if isinstance(result, Granted) else _withdrawn_line(result)


@consent_group.command("grant")
@click.argument("organization", metavar="ORG")
@purpose_option
@category_option
@subject_option
@click.option(
    "--expiry",
    type=EXPIRY,
    metavar="WHEN",
    help="When the consent ends: a Unix time, an ISO date, or a duration from now (30d, "
    "1y). Default: never (until withdrawn).",
)
@click.option(
    "--policy-version",
    type=POLICY_VERSION,
    metavar="N",
    help="The policy version consented to (default: ORG's current one).",
)
@custom_term_option
@sending_command
def grant_command(
    state: CliState,
    organization: str,
    purpose: str,
    category: str,
    identity: str | None,
    expiry: int | None,
    policy_version: int | None,
    custom_term: bool,
) -> None:
    """Grant (or renew) consent for ORG to use a category of data for a purpose.

    Sent by the identity's owner (the sending account); it pays the gas. To consent without
    gas, use `consent sign` and let the organization relay it.

    \b
    Examples:
      collective --network anvil --account 3 consent grant 0x7099...79C8 \\
          --purpose dpv:ResearchAndDevelopment --category dpv-pd:MedicalHealth
      collective --account patient consent grant 0x7099...79C8 -p dpv:ScientificResearch \\
          -c dpv-pd:Genetic --expiry 1y
    """
    client = open_client(state, custom_terms=custom_term)
    granted = client.consent.grant(
        organization,
        purpose,
        category,
        identity=identity,
        expiry=expiry,
        policy_version=policy_version,
    )
    report(state, granted, _granted_line(granted))


@consent_group.command("withdraw")
@click.argument("organization", metavar="ORG")
@purpose_option
@category_option
@subject_option
@custom_term_option
@sending_command
def withdraw_command(
    state: CliState,
    organization: str,
    purpose: str,
    category: str,
    identity: str | None,
    custom_term: bool,
) -> None:
    """Withdraw consent for ORG to use a category of data for a purpose.

    Sent by the identity's owner. Withdrawal is as easy as granting: `consent sign
    --withdraw` signs one for an organization to relay.

    \b
    Examples:
      collective --network anvil --account 3 consent withdraw 0x7099...79C8 \\
          --purpose dpv:ResearchAndDevelopment --category dpv-pd:MedicalHealth
    """
    client = open_client(state, custom_terms=custom_term)
    withdrawn = client.consent.withdraw(organization, purpose, category, identity=identity)
    report(state, withdrawn, _withdrawn_line(withdrawn))


# --- signing and relaying -------------------------------------------------------------------------


@consent_group.command("sign")
@click.argument("organization", metavar="ORG")
@purpose_option
@category_option
@click.option("--withdraw", is_flag=True, help="Sign a withdrawal instead of a grant.")
@identity_option(
    "Sign for this identity as its guardian (a sigAuth delegate); default: the "
    "signer's own identity."
)
@click.option("--expiry", type=EXPIRY, metavar="WHEN", help="Grant only: when it ends.")
@click.option(
    "--policy-version",
    type=POLICY_VERSION,
    metavar="N",
    help="Grant only: the version consented to (default: ORG's current one).",
)
@click.option(
    "--policy-hash",
    metavar="HASH",
    help="Grant only: the content hash (0x + 64 hex) of the policy text you read; signing is "
    "refused if the version's published text differs. Default: the published one, shown "
    "before signing.",
)
@valid_for_option()
@out_option("the signed request")
@custom_term_option
@sending_command
def sign_command(
    state: CliState,
    organization: str,
    purpose: str,
    category: str,
    withdraw: bool,
    identity: str | None,
    expiry: int | None,
    policy_version: int | None,
    policy_hash: str | None,
    valid_for: int,
    out: Path | None,
    custom_term: bool,
) -> None:
    """Sign a grant (or with --withdraw a withdrawal) for ORG to relay; costs the signer no gas.

    The sending account (--account) signs EIP-712 typed data bound to this chain and this
    ledger, so the signature works once and only here. A grant names the policy version and
    the hash of its published text (shown on stderr before signing, with where to read it):
    the signature agrees to that text, and no other text published under the same number
    can use it. A withdrawal also cancels every grant signed before it, even one not yet
    relayed. The signed request is JSON: give it to any admitted organization, which sends it
    with `collective consent relay FILE`.

    \b
    Examples:
      collective --network anvil --account 3 consent sign 0x7099...79C8 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth --out grant.json
      collective --network anvil --account 3 consent sign 0x7099...79C8 --withdraw \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth > withdrawal.json
      collective --account guardian consent sign 0x7099...79C8 \\
          --identity did:ethr:0x7a69:0x90F7...b906 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth --valid-for 1d -o ward.json
    """
    if withdraw and (expiry is not None or policy_version is not None or policy_hash):
        raise click.UsageError(
            "--expiry, --policy-version and --policy-hash apply to grants, not --withdraw"
        )
    client = open_client(state, custom_terms=custom_term)
    deadline = relay_deadline(client.chain, valid_for)
    if withdraw:
        signed = client.signing.sign_withdrawal(
            organization, purpose, category, identity=identity, deadline=deadline
        )
    else:
        agreed = client.signing.sign_policy_grant(
            organization,
            purpose,
            category,
            identity=identity,
            expiry=expiry,
            policy_version=policy_version,
            read_hash=policy_hash,
            deadline=deadline,
        )
        signed, published = agreed.signed, agreed.policy
        # Shown with every signed grant (on stderr, so stdout stays the JSON): the text agreed to.
        click.echo(
            f"consenting to {published.organization}'s policy v{published.version}: text "
            f"{published.content_hash}, published at {published.uri}",
            err=True,
        )
    text = signed.to_json()
    if out is None:  # the signed request is the output, JSON with or without --json
        click.echo(text)
        return
    write_text(out, text, "the signed request")
    show(
        state,
        {"file": str(out), "kind": signed.kind, "signer": signed.signer},
        f"signed a {signed.kind} for {signed.request.identity} as {signed.signer}; relayable "
        f"until {when(signed.request.deadline)}: {out}",
    )


@consent_group.command("relay")
@click.argument(
    "files",
    metavar="FILE...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
)
@sending_command
def relay_command(state: CliState, files: tuple[Path, ...]) -> None:
    """Send signed requests written by `consent sign`; the sender pays the gas.

    The sender must be an admitted, active organization. Several files go in one batch
    transaction (all grants or all withdrawals); an item already used, superseded by a later
    request of its subject, expired or badly signed is skipped and reported, the rest apply.
    `-` reads stdin.

    \b
    Examples:
      collective --network anvil --account 1 consent relay grant.json
      collective --network anvil --account 1 consent relay alice.json bob.json carol.json
      collective --account 3 consent sign 0x7099..79C8 -p dpv:Marketing -c dpv-pd:Contact \\
          | collective --account 1 consent relay -
    """
    signed = [SignedRequest.from_json(read_text(f, "the signed request")) for f in files]
    client = open_client(state)
    result: Granted | Withdrawn | BatchResult
    if len(signed) == 1:
        result = client.signing.relay(signed[0])
        report(state, result, _line(result))
        return
    result = client.signing.relay_batch(signed)
    show(
        state,
        result,
        f"relayed {len(result.items)} signed requests in one transaction",
        *(f"  {_line(item)}" for item in result.items),
        *(
            f"  skipped: {files[skip.index]} ({skip.reason}, consent {skip.consent_id})"
            for skip in result.skipped
        ),
        f"  {tx_line(result)}",
    )


for _command in (*READ_COMMANDS, *RECEIPT_COMMANDS):
    consent_group.add_command(_command)

__all__ = ["consent_group"]
