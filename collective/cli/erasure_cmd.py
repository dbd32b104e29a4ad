"""``collective erasure``: a subject's erasure request (GDPR Art. 17) and the organization's
confirmation (:mod:`collective.client.erasure`)."""

from __future__ import annotations

from pathlib import Path

import click

from collective.cli.connect import open_client, own_address
from collective.cli.datarefs_cmd import data_refs_option, open_existing
from collective.cli.files import read_text, write_text
from collective.cli.options import (
    CliState,
    client_command,
    identity_option,
    out_option,
    sending_command,
    valid_for_option,
)
from collective.cli.output import Table, report, show, when
from collective.client.erasure import ErasureClient, ErasureConfirmed, ErasureRequested
from collective.client.signing import relay_deadline
from collective.errors import InvalidInputError
from collective.ledger.erasure_request import SignedErasure


@click.group("erasure")
def erasure_group() -> None:
    """Erasure: a subject asks an organization to erase its data; the organization confirms.

    From the request's block the organization can record no use of the identity's data and
    none of its consents with it covers. The organization erases the data, destroys the
    subject's data-reference secret and confirms with the SHA-256 of its evidence, by the
    due date (30 days by default). `collective audit verify` reports late or missing
    confirmations.

    \b
    Examples:
      collective --network anvil --account 3 erasure request 0x7099...79C8
      collective --account 3 erasure request 0x7099...79C8 --sign -o erase.json
      collective --account 1 erasure relay erase.json
      collective --account lab erasure list
      collective --account lab erasure confirm 0x90F7...b906 --evidence erased.txt \\
          --data-refs lab-refs.db
    """


def _line(done: ErasureRequested) -> str:
    return (
        f"{done.identity} asked {done.organization} to erase its data (by {done.agent}); "
        f"confirmation due {when(done.due_at)}"
    )


@erasure_group.command("request")
@click.argument("organization", metavar="ORG")
@identity_option(
    "Request for this identity (as its guardian with --sign); default: the sender's own."
)
@click.option(
    "--sign",
    "sign_only",
    is_flag=True,
    help="Only sign the request (EIP-712) for any admitted organization to relay; no gas.",
)
@valid_for_option("With --sign: how long the signature can be relayed, from now.")
@out_option("the signed request (with --sign)")
@sending_command
def request_command(
    state: CliState,
    organization: str,
    identity: str | None,
    sign_only: bool,
    valid_for: int,
    out: Path | None,
) -> None:
    """Ask ORG to erase the identity's data: sent now as the identity's owner, or with
    --sign written as JSON for `erasure relay`. Final for the identity and ORG.

    \b
    Examples:
      collective --network anvil --account 3 erasure request 0x7099...79C8
      collective --account guardian erasure request 0x7099...79C8 \\
          --identity 0x90F7...b906 --sign --valid-for 1d -o erase.json
    """
    client = open_client(state)
    if not sign_only:
        if out is not None:
            raise click.UsageError("--out applies to --sign")
        done = client.erasure.request(organization, identity=identity)
        report(state, done, _line(done))
        return
    deadline = relay_deadline(client.chain, valid_for)
    signed = client.erasure.sign(organization, identity=identity, deadline=deadline)
    text = signed.to_json()
    if out is None:
        click.echo(text)
        return
    write_text(out, text, "the signed request")
    show(
        state,
        {"file": str(out), "signer": signed.signer},
        f"signed an erasure request of {signed.request.identity} to "
        f"{signed.request.organization} as {signed.signer}; relayable until "
        f"{when(signed.request.deadline)}: {out}",
    )


@erasure_group.command("relay")
@click.argument(
    "file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True)
)
@sending_command
def relay_command(state: CliState, file: Path) -> None:
    """Send a request signed with `erasure request --sign`; the sender (an admitted, active
    organization) pays the gas. `-` reads stdin.

    \b
    Examples:
      collective --network anvil --account 1 erasure relay erase.json
    """
    signed = SignedErasure.from_json(read_text(file, "the signed request"))
    client = open_client(state)
    done = client.erasure.relay(signed)
    report(state, done, _line(done))


@erasure_group.command("list")
@click.argument("organization", metavar="ORG", required=False)
@client_command
def list_command(state: CliState, organization: str | None) -> None:
    """List the erasure requests ORG (default: the sender's organization) has not confirmed,
    with their due dates; overdue ones are marked.

    \b
    Examples:
      collective --network anvil --account 1 erasure list
      collective --network anvil --json erasure list 0x7099...79C8
    """
    organization = organization or own_address(state)
    client = open_client(state, read_only=organization is not None)
    pending = client.erasure.pending(organization)
    show(
        state,
        pending,
        Table(
            "erasure requests awaiting confirmation",
            ["identity", "requested", "due", "overdue", "block"],
            [
                (
                    p.identity,
                    when(p.requested_at),
                    when(p.due_at),
                    "OVERDUE" if p.overdue else "",
                    p.block,
                )
                for p in pending
            ],
            empty="no erasure request awaits confirmation",
        ),
    )


@erasure_group.command("confirm")
@click.argument("identity", metavar="IDENTITY")
@click.option(
    "--evidence",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The erasure evidence document; its SHA-256 goes on chain (the file stays here).",
)
@click.option("--evidence-hash", metavar="HASH", help="Or the evidence's hash, 0x + 64 hex.")
@data_refs_option(
    required=False,
    help="The organization's data-reference store: IDENTITY's secret is destroyed first.",
)
@sending_command
def confirm_command(
    state: CliState,
    identity: str,
    evidence: Path | None,
    evidence_hash: str | None,
    data_refs: Path | None,
) -> None:
    """Confirm, as the sender's organization, that IDENTITY's data is erased. With
    --data-refs the subject's secret is destroyed first, so its past references on chain
    can no longer be linked to any record.

    \b
    Examples:
      collective --account lab erasure confirm 0x90F7...b906 --evidence erased.txt \\
          --data-refs lab-refs.db
      collective --account lab erasure confirm 0x90F7...b906 --evidence-hash 0x5f1e...99ab
    """
    if (evidence is None) == (evidence_hash is None):
        raise click.UsageError("give exactly one of --evidence FILE and --evidence-hash HASH")
    document = None if evidence is None else _read_bytes(evidence)
    client = open_client(state)
    done: ErasureConfirmed
    if data_refs is None:
        done = _confirm(client.erasure, identity, document, evidence_hash)
    else:
        with open_existing(data_refs) as store:
            client.usage.data_refs = store
            done = _confirm(client.erasure, identity, document, evidence_hash)
    secret = "; the subject's secret was destroyed" if done.secret_destroyed else ""
    late = " (LATE: after the due date)" if done.late else ""
    report(
        state,
        done,
        f"{done.organization} confirmed the erasure for {done.identity}{late}: evidence "
        f"{done.evidence_hash}{secret}",
    )


def _confirm(
    erasure: ErasureClient, identity: str, document: bytes | None, evidence_hash: str | None
) -> ErasureConfirmed:
    if document is not None:
        return erasure.confirm(identity, document)
    return erasure.confirm(identity, evidence_hash or "", hashed=True)


def _read_bytes(path: Path) -> bytes:
    """The evidence file's bytes (hashed as `sha256sum FILE` hashes them)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read the evidence {path}: {exc.strerror or exc}",
            hint="name the evidence document's file, or give --evidence-hash",
        ) from None


__all__ = ["erasure_group"]
