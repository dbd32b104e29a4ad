"""``collective disclosure``: onward disclosure under the subject's disclosure consent
(:mod:`collective.client.disclosure`): the subject grants, withdraws or signs; an admitted
organization relays; the discloser records. The reads (status, to-stop, watch) live in
:mod:`collective.cli.disclosure_read_cmd`."""

from __future__ import annotations

from pathlib import Path

import click

from collective.cli.connect import open_client
from collective.cli.datarefs_cmd import data_refs_option
from collective.cli.disclosure_read_cmd import READ_COMMANDS, parties_args
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
from collective.cli.output import (
    expires,
    report,
    show,
    when,
)
from collective.cli.params import EXPIRY, POLICY_VERSION
from collective.client.datarefs import DataRefStore
from collective.client.disclosure import (
    DisclosureGranted,
    DisclosuresRecorded,
    DisclosureWithdrawn,
)
from collective.client.signing import relay_deadline
from collective.ledger.disclosure_request import SignedDisclosureGrant, load_signed_disclosure


@click.group("disclosure")
def disclosure_group() -> None:
    """Onward disclosure: an organization passes a subject's data to another only under the
    subject's disclosure consent naming both, the purpose and the data category.

    The subject grants (or signs) that consent to the recipient's current policy version;
    the discloser records each disclosure, refused once the consent is withdrawn or the
    subject asked either organization to erase. The recipient lists (`to-stop`) or follows
    (`watch`) the withdrawals and erasure requests that concern it. The recipient still
    needs its own use consent to use the data.

    \b
    Examples:
      collective --account 3 disclosure grant 0x7099...79C8 0x3C44...93BC \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth
      collective --account 1 disclosure record 0x90F7...b906 0x3C44...93BC \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth --ref ward/7/scan-3
      collective --account 2 disclosure to-stop
      collective disclosure watch --recipient 0x3C44...93BC
    """


def _granted(done: DisclosureGranted) -> str:
    return (
        f"{done.identity} consented that {done.discloser} disclose its {done.category} to "
        f"{done.recipient} for {done.purpose} (recipient's policy v{done.policy_version}, "
        f"expires {expires(done.expiry)}; by {done.agent})"
    )


def _withdrawn(done: DisclosureWithdrawn) -> str:
    what = "withdrew" if done.was_active else "found nothing active; cancelled signed requests of"
    return (
        f"{done.identity} {what} the disclosure of its {done.category} by {done.discloser} to "
        f"{done.recipient} for {done.purpose} (by {done.agent})"
    )


@disclosure_group.command("grant")
@parties_args
@purpose_option
@category_option
@identity_option("Whose consent (as its owner); default: the sender's own identity.")
@click.option("--expiry", type=EXPIRY, metavar="WHEN", help="When it ends (default: never).")
@click.option(
    "--policy-version",
    type=POLICY_VERSION,
    metavar="N",
    help="RECIPIENT's policy version agreed to (default: its current one).",
)
@custom_term_option
@sending_command
def grant_command(
    state: CliState,
    discloser: str,
    recipient: str,
    purpose: str,
    category: str,
    identity: str | None,
    expiry: int | None,
    policy_version: int | None,
    custom_term: bool,
) -> None:
    """Consent that DISCLOSER pass the identity's data of a category to RECIPIENT for a
    purpose; sent by the identity's owner (use `disclosure sign` to consent without gas).

    \b
    Examples:
      collective --account 3 disclosure grant 0x7099...79C8 0x3C44...93BC \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth --expiry 1y
    """
    client = open_client(state, custom_terms=custom_term)
    done = client.disclosure.grant(
        discloser,
        recipient,
        purpose,
        category,
        identity=identity,
        expiry=expiry,
        policy_version=policy_version,
    )
    report(state, done, _granted(done))


@disclosure_group.command("withdraw")
@parties_args
@purpose_option
@category_option
@identity_option("Whose consent (as its owner); default: the sender's own identity.")
@custom_term_option
@sending_command
def withdraw_command(
    state: CliState,
    discloser: str,
    recipient: str,
    purpose: str,
    category: str,
    identity: str | None,
    custom_term: bool,
) -> None:
    """Withdraw a disclosure consent: DISCLOSER can record no further disclosure to
    RECIPIENT under it. Also cancels every signed request for it made before.

    \b
    Examples:
      collective --account 3 disclosure withdraw 0x7099...79C8 0x3C44...93BC \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth
    """
    client = open_client(state, custom_terms=custom_term)
    done = client.disclosure.withdraw(discloser, recipient, purpose, category, identity=identity)
    report(state, done, _withdrawn(done))


@disclosure_group.command("sign")
@parties_args
@purpose_option
@category_option
@click.option("--withdraw", is_flag=True, help="Sign a withdrawal instead of a grant.")
@identity_option("Whose consent (as its guardian or delegate); default: the signer's own.")
@click.option("--expiry", type=EXPIRY, metavar="WHEN", help="Grant only: when it ends.")
@click.option(
    "--policy-version",
    type=POLICY_VERSION,
    metavar="N",
    help="Grant only: RECIPIENT's policy version (default: its current one).",
)
@valid_for_option(
    "How long the signature can be relayed, from now (or the latest block's time if later)."
)
@out_option("the signed request")
@custom_term_option
@sending_command
def sign_command(
    state: CliState,
    discloser: str,
    recipient: str,
    purpose: str,
    category: str,
    withdraw: bool,
    identity: str | None,
    expiry: int | None,
    policy_version: int | None,
    valid_for: int,
    out: Path | None,
    custom_term: bool,
) -> None:
    """Sign (EIP-712) a disclosure grant, or with --withdraw a withdrawal, as JSON for any
    admitted organization to relay with `disclosure relay`; nothing is sent, no gas.

    \b
    Examples:
      collective --account 3 disclosure sign 0x7099...79C8 0x3C44...93BC \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:Genetic -o grant.json
      collective --account 3 disclosure sign 0x7099...79C8 0x3C44...93BC \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:Genetic --withdraw --valid-for 1d
    """
    if withdraw and (expiry is not None or policy_version is not None):
        raise click.UsageError("--expiry and --policy-version apply to grants, not --withdraw")
    client = open_client(state, custom_terms=custom_term)
    deadline = relay_deadline(client.chain, valid_for)
    terms = (discloser, recipient, purpose, category)
    signed = (
        client.disclosure.sign_withdrawal(*terms, identity=identity, deadline=deadline)
        if withdraw
        else client.disclosure.sign_grant(
            *terms,
            identity=identity,
            expiry=expiry,
            policy_version=policy_version,
            deadline=deadline,
        )
    )
    text = signed.to_json()
    if out is None:
        click.echo(text)
        return
    write_text(out, text, "the signed request")
    show(
        state,
        {"file": str(out), "signer": signed.signer, "kind": signed.KIND},
        f"signed a {signed.WHAT} for {signed.request.identity} as {signed.signer}; "
        f"relayable until {when(signed.request.deadline)}: {out}",
    )


@disclosure_group.command("relay")
@click.argument(
    "file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True)
)
@sending_command
def relay_command(state: CliState, file: Path) -> None:
    """Send a grant or withdrawal signed with `disclosure sign`; the sender (an admitted,
    active organization) pays the gas. `-` reads stdin.

    \b
    Examples:
      collective --account 1 disclosure relay grant.json
    """
    signed = load_signed_disclosure(read_text(file, "the signed request"))
    client = open_client(state)
    done = client.disclosure.relay(signed)
    if isinstance(signed, SignedDisclosureGrant):
        assert isinstance(done, DisclosureGranted)
        report(state, done, _granted(done))
    else:
        assert isinstance(done, DisclosureWithdrawn)
        report(state, done, _withdrawn(done))


@disclosure_group.command("record")
@click.argument("identity", metavar="IDENTITY")
@click.argument("recipient", metavar="RECIPIENT")
@purpose_option
@category_option
@click.option(
    "--ref",
    "data",
    required=True,
    metavar="REF",
    help="The record disclosed, e.g. ward/7/scan-3 (only its hash goes on chain), or a 0x "
    "32-byte reference (recorded as given).",
)
@data_refs_option(
    required=False,
    help="The discloser's data-reference store (created, mode 0600, on first use): --ref is "
    "keyed with IDENTITY's secret in it (HMAC-SHA256) instead of hashed with keccak256.",
)
@custom_term_option
@sending_command
def record_command(
    state: CliState,
    identity: str,
    recipient: str,
    purpose: str,
    category: str,
    data: str,
    data_refs: Path | None,
    custom_term: bool,
) -> None:
    """Record that the sender's organization passed IDENTITY's data to RECIPIENT; refused
    (exit 1, with the reason) without an active disclosure consent.

    \b
    Examples:
      collective --account 1 disclosure record 0x90F7...b906 0x3C44...93BC \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth --ref ward/7/scan-3 \\
          --data-refs hospital-refs.db
    """
    client = open_client(state, custom_terms=custom_term)
    done: DisclosuresRecorded
    if data_refs is None:
        done = client.disclosure.record(identity, recipient, purpose, category, data)
    else:
        with DataRefStore(data_refs) as store:
            client.usage.data_refs = store
            done = client.disclosure.record(identity, recipient, purpose, category, data)
    lines = [
        f"recorded disclosure by {r.discloser} of {r.identity}'s {r.category} to "
        f"{r.recipient} for {r.purpose} (recipient's policy v{r.policy_version}, data ref "
        f"{r.data_ref})"
        for r in done.records
    ]
    report(state, done, "\n".join(lines))


for _command in READ_COMMANDS:
    disclosure_group.add_command(_command)

__all__ = ["disclosure_group"]
