"""``collective subject``: a data subject's pairwise identities, all from one mnemonic.

The mnemonic is read from $COLLECTIVE_MNEMONIC or asked for without echoing it, never taken
from the command line (where it would land in the shell history and the process list); only
``subject new`` prints one, once. $COLLECTIVE_MNEMONIC_PASSPHRASE gives an optional BIP-39
passphrase. The derivation is :mod:`collective.did.pairwise`'s; the library is
:mod:`collective.client.subjects`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from collective.accounts.keystore import scan_keystore
from collective.cli.connect import open_client, open_sender, own_address
from collective.cli.failure import fail
from collective.cli.files import write_text
from collective.cli.options import (
    CliState,
    category_option,
    client_command,
    custom_term_option,
    json_command,
    out_option,
    purpose_option,
    sending_command,
    valid_for_option,
)
from collective.cli.output import Fields, Note, Table, View, expires, report, show, when
from collective.cli.params import DURATION, EXPIRY
from collective.client import Collective
from collective.client.did import GUARDIAN_VALIDITY
from collective.client.signing import relay_deadline
from collective.client.subject_history import history, identity_history
from collective.client.subject_records import (
    DISCLOSURE_GRANT,
    ERASURE_REQUEST,
    GRANT,
    HistoryRow,
)
from collective.client.subjects import Identity, IdentityOutcome, Subject, admission_order
from collective.errors import ConfigurationError

MNEMONIC_ENV = "COLLECTIVE_MNEMONIC"
PASSPHRASE_ENV = "COLLECTIVE_MNEMONIC_PASSPHRASE"

organizations_option = click.option(
    "--organization",
    "-o",
    "organizations",
    multiple=True,
    metavar="ADDRESS",
    help="An organization (repeat for several; default: every organization ever admitted).",
)


def read_mnemonic() -> str:
    """The subject's mnemonic: $COLLECTIVE_MNEMONIC, else asked for without echoing it.

    Raises:
        ConfigurationError: none was given (end of input, or Ctrl-C at the prompt).
    """
    words = os.environ.get(MNEMONIC_ENV)
    if words:
        return words
    try:
        return str(click.prompt("Mnemonic (the 12 to 24 words)", hide_input=True, err=True))
    except (click.Abort, EOFError):
        raise ConfigurationError(
            "no mnemonic given", hint=f"set {MNEMONIC_ENV}, or type it when asked"
        ) from None


def _subject(client: Collective) -> Subject:
    subject = Subject.from_mnemonic(
        read_mnemonic(),
        chain_id=client.chain.chain_id,
        passphrase=os.environ.get(PASSPHRASE_ENV, ""),
    )
    return subject.in_consortium(client)


def _orgs(client: Collective, organizations: Sequence[str]) -> list[str]:
    if organizations:
        return [client.session.address(org, "organization") for org in organizations]
    return list(admission_order(client))


def _identity_doc(me: Identity) -> dict[str, Any]:
    return {
        "organization": me.organization,
        "address": me.address,
        "did": me.did,
        "path": me.path,
        "counter": me.counter,
        "generation": me.generation,
    }


@click.group("subject")
def subject_group() -> None:
    """A data subject's pairwise identities: one mnemonic, an unlinkable DID per organization.

    Each organization sees its own identity address; nothing on chain relates two of them.
    The mnemonic comes from COLLECTIVE_MNEMONIC or a prompt, never from the command line.
    Changes are signed by the identity's key and relayed (paid for) by --account.

    \b
    Examples:
      collective subject new
      COLLECTIVE_MNEMONIC="..." collective --network local subject identity -o 0x7099...79C8
      collective --network local subject sign 0x7099...79C8 -p dpv:ResearchAndDevelopment \\
          -c dpv-pd:MedicalHealth -o grant.json
      collective --network local subject history
      collective --network local --account hospital subject rotate-all
    """


@subject_group.command("new")
@click.option("--words", type=click.Choice(["12", "15", "18", "21", "24"]), default="24",
              show_default=True, help="Words in the mnemonic (24: 256 bits).")  # fmt: skip
@json_command
def new_command(state: CliState, words: str) -> None:
    """Make a new subject and print its mnemonic, this once.

    Write the words down and keep them secret: they regain every identity of the subject,
    and whoever has them acts for all of them. Nothing is stored and nothing is sent.

    \b
    Examples:
      collective subject new
      collective subject new --words 12 --json
    """
    _, mnemonic = Subject.new(chain_id=0, words=int(words))
    warning = (
        "warning: this is the only time the mnemonic is shown. Write it down and keep it "
        "secret: it regains every identity, and anyone who has it acts for all of them."
    )
    show(state, {"mnemonic": mnemonic, "words": int(words), "warning": warning},
         Note(warning), mnemonic)  # fmt: skip


@subject_group.command("identity")
@organizations_option
@click.option("--generation", type=click.IntRange(0), default=0, show_default=True,
              help="Which key generation's path to show (n: after n rotations).")  # fmt: skip
@client_command
def identity_command(state: CliState, organizations: tuple[str, ...], generation: int) -> None:
    """Show the subject's identity (address, DID, derivation path) for each organization.

    Give an organization's identity address to that organization only. The private key is
    never printed.

    \b
    Examples:
      collective --network local subject identity -o 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
      collective --network local --json subject identity
    """
    client = open_client(state, read_only=True)
    subject = _subject(client)
    mine = subject.identities(_orgs(client, organizations), generation=generation)
    docs = [_identity_doc(me) for me in mine]
    columns = ["organization", "address", "did", "path"]
    show(state, docs, Table("pairwise identities", columns,
                            [[d[c] for c in columns] for d in docs]))  # fmt: skip


@subject_group.command("sign")
@click.argument("organization", metavar="ORG")
@purpose_option
@category_option
@click.option("--withdraw", is_flag=True, help="Sign a withdrawal instead of a grant.")
@click.option("--expiry", type=EXPIRY, metavar="WHEN", help="Grant only: when it ends.")
@valid_for_option()
@out_option("the signed request")
@custom_term_option
@client_command
def sign_command(
    state: CliState,
    organization: str,
    purpose: str,
    category: str,
    withdraw: bool,
    expiry: int | None,
    valid_for: int,
    out: Path | None,
    custom_term: bool,
) -> None:
    """Sign a grant (or a withdrawal) for ORG with the subject's identity for ORG.

    The identity's current key signs EIP-712 typed data for ORG's current policy; ORG relays
    it with `collective consent relay FILE` and pays (the identity needs no ether and never
    sends a transaction, so nothing on chain links it to the subject's other identities).

    \b
    Examples:
      collective --network local subject sign 0x7099...79C8 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth --out grant.json
      collective --network local subject sign 0x7099...79C8 --withdraw \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth -o withdrawal.json
    """
    if withdraw and expiry is not None:
        raise click.UsageError("--expiry applies to grants, not --withdraw")
    client = open_client(state, read_only=True, custom_terms=custom_term)
    me = _subject(client).current(client, organization)
    deadline = relay_deadline(client.chain, valid_for)
    if withdraw:
        signed = client.signing.sign_withdrawal(
            organization, purpose, category, identity=me.address, signer=me.account,
            deadline=deadline,
        )  # fmt: skip
    else:
        agreed = client.signing.sign_policy_grant(
            organization, purpose, category, identity=me.address, signer=me.account,
            expiry=expiry, deadline=deadline,
        )  # fmt: skip
        signed, published = agreed.signed, agreed.policy
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
        {"file": str(out), "kind": signed.kind, "identity": me.address},
        f"signed a {signed.kind} for {me.did}; relayable until "
        f"{when(signed.request.deadline)}: {out}",
    )


@subject_group.command("history")
@organizations_option
@client_command
def history_command(state: CliState, organizations: tuple[str, ...]) -> None:
    """Who used my data: every grant, withdrawal, use, disclosure, disclosure consent and
    erasure request or confirmation of all the subject's identities.

    Rows are in chain order, each naming the organization (by its keystore name when the
    keystore has one) and, for a disclosure, the recipient and the recipient's policy version;
    only the mnemonic's holder can gather them (on chain the identities are unrelated). A
    subject with one plain address for every organization names it with --account instead
    when COLLECTIVE_MNEMONIC is not set (an address, a keystore name: no password is asked,
    or a dev index).

    \b
    Examples:
      collective --network local subject history
      collective --network local --json subject history -o 0x7099...79C8
      collective --network local --account 0x90F7...b906 subject history
    """
    client = open_client(state, read_only=True)
    names = {entry.address: entry.name for entry in scan_keystore().entries}
    if state.account is not None and not os.environ.get(MNEMONIC_ENV):
        # one plain address for every organization: no mnemonic, no keystore password
        me = own_address(state) or open_sender(state, client.chain).address
        rows = identity_history(client, me, None, names)
        if organizations:
            orgs = set(_orgs(client, organizations))
            rows = [r for r in rows if r.organization in orgs or r.recipient in orgs]
    else:
        subject = _subject(client)
        rows = history(client, subject.identities(_orgs(client, organizations)), names)
    table = [
        [when(r.timestamp), r.action, r.organization_name or r.organization,
         r.recipient_name or r.recipient or "", r.identity, r.purpose, r.category,
         "" if r.policy_version is None else f"v{r.policy_version}", _detail(r)]
        for r in rows
    ]  # fmt: skip
    columns = ["time", "action", "organization", "to", "identity", "purpose", "category",
               "policy", "expiry / data / due"]  # fmt: skip
    show(state, rows, Table("who used my data", columns, table, empty="no consents or uses"))


def _detail(row: HistoryRow) -> str:
    """The history table's last column: a grant's expiry, a use's or disclosure's data
    reference, an erasure request's due time, a confirmation's evidence hash."""
    if row.action in (GRANT, DISCLOSURE_GRANT):
        return expires(row.expiry)
    if row.action == ERASURE_REQUEST:
        return f"due {when(row.due_at)}"
    return row.data_ref or row.evidence_hash or ""


@subject_group.command("add-guardian")
@click.argument("guardian", metavar="GUARDIAN")
@click.option("--organization", "-o", required=True, metavar="ADDRESS",
              help="The organization whose identity the guardian acts for.")  # fmt: skip
@click.option(
    "--validity",
    type=DURATION,
    default=str(GUARDIAN_VALIDITY),
    metavar="DURATION",
    help="How long the guardian may act: seconds or 30d, 1y, ... (default: a year).",
)
@sending_command
def add_guardian_command(state: CliState, guardian: str, organization: str, validity: int) -> None:
    """Let GUARDIAN sign consents for the subject's identity for one organization.

    The identity's key signs; --account relays. One guardian for several identities links
    them on chain: give each identity its own guardian key.

    \b
    Examples:
      collective --network local --account hospital subject add-guardian 0x15d3...6A65 \\
          -o 0x7099...79C8 --validity 18y
    """
    client = open_client(state)
    change = _subject(client).add_guardian(client, organization, guardian, validity)
    report(state, change, f"{change.did}: guardian {guardian} may sign for it for {validity:,} s")


@subject_group.command("rotate-all")
@organizations_option
@sending_command
def rotate_all_command(state: CliState, organizations: tuple[str, ...]) -> None:
    """Hand every identity to its next key (derived from the same mnemonic).

    Addresses and consents stay; the old keys can no longer act. Each identity's change is
    signed by its current key and relayed by --account (one relayer for all of them links
    them on chain; relay through each organization to avoid that). A failure is named on its
    row and the others go on; the command then exits 1.

    \b
    Examples:
      collective --network local --account hospital subject rotate-all -o 0x7099...79C8
    """
    client = open_client(state)
    subject = _subject(client)
    _outcomes(state, "rotated", subject.rotate_all(client, _orgs(client, organizations)))


@subject_group.command("deactivate-all")
@organizations_option
@click.option("--yes", is_flag=True, help="Confirm: deactivation cannot be undone.")
@sending_command
def deactivate_all_command(state: CliState, organizations: tuple[str, ...], yes: bool) -> None:
    """Deactivate every identity for good (e.g. after the mnemonic leaked).

    No key acts for them again and their consents cover no use. Relayed by --account; a
    failure is named on its row and the others go on; the command then exits 1.

    \b
    Examples:
      collective --network local --account hospital subject deactivate-all --yes
    """
    if not yes:
        raise click.UsageError("deactivation cannot be undone: pass --yes to confirm")
    client = open_client(state)
    subject = _subject(client)
    _outcomes(state, "deactivated", subject.deactivate_all(client, _orgs(client, organizations)))


def _outcomes(state: CliState, done: str, outcomes: list[IdentityOutcome]) -> None:
    rows = [
        [o.organization, o.did, done if o.ok else "failed",
         o.change.tx_hash if o.change else o.error]
        for o in outcomes
    ]  # fmt: skip
    views: list[View] = [Table(None, ["organization", "identity", "result", "tx / error"], rows)]
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        views.append(Fields([("identities " + done, len(outcomes))]))
    show(state, outcomes, *views)
    if failed:
        fail(f"{len(failed)} of {len(outcomes)} identities were not {done}: see the table")


__all__ = ["MNEMONIC_ENV", "PASSPHRASE_ENV", "read_mnemonic", "subject_group"]
