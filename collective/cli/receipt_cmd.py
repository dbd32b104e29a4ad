"""``collective consent receipt|verify-receipt``: consent receipts, written and checked.

A receipt is the Kantara Consent Receipt v1.1 / ISO/IEC TS 27560 record of one grant with
its on-chain proof (:mod:`collective.receipts`). Registered on the ``consent`` group by
:mod:`collective.cli.consent_cmd`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from collective.chain import jsonints
from collective.cli.connect import open_client
from collective.cli.files import read_text, write_text
from collective.cli.options import CliState, client_command, out_option
from collective.cli.output import Table, View, show
from collective.errors import AuditError, InvalidInputError


@click.command("receipt")
@click.argument("tx_hash", metavar="TX_HASH")
@click.option(
    "--log-index",
    type=click.IntRange(min=0),
    metavar="N",
    help="For a batch: the grant's log index (default: every grant of the transaction).",
)
@out_option("the receipt JSON")
@click.option("--controller-name", metavar="NAME", help="The organization's name.")
@click.option("--controller-contact", metavar="TEXT", help="Whom to contact there.")
@click.option("--controller-email", metavar="EMAIL", help="Its privacy contact's email.")
@click.option("--controller-url", metavar="URL", help="Its web site.")
@click.option("--jurisdiction", metavar="CODE", help="Jurisdiction, e.g. EU or DE.")
@click.option("--language", default="en", show_default=True, help="The receipt's language.")
@client_command
def receipt_command(
    state: CliState,
    tx_hash: str,
    log_index: int | None,
    out: Path | None,
    controller_name: str | None,
    controller_contact: str | None,
    controller_email: str | None,
    controller_url: str | None,
    jurisdiction: str | None,
    language: str,
) -> None:
    """Write the consent receipt of the grant in TX_HASH (Kantara CR v1.1 / ISO/IEC TS 27560
    fields plus the on-chain proof).

    A batch grant gives one receipt per consent: a JSON list, or pick one with --log-index.
    Details the chain does not hold (the organization's name and contacts, the
    jurisdiction) come from the options.

    \b
    Examples:
      collective --network anvil consent receipt 0x5c50...e1d2 --out receipt.json
      collective --network anvil consent receipt 0x5c50...e1d2 --controller-name "City Lab" \\
          --controller-email privacy@lab.example --jurisdiction EU
      collective --network anvil consent receipt 0x9a1b...77f0 --log-index 3
    """
    from collective.receipts import build_receipt, build_receipts, receipts_json

    controller = {
        key: value
        for key, value in {
            "name": controller_name,
            "contact": controller_contact,
            "email": controller_email,
            "url": controller_url,
        }.items()
        if value
    }
    client = open_client(state, read_only=True)
    options: dict[str, Any] = {
        "controller": controller or None,
        "language": language,
        "jurisdiction": jurisdiction,
    }
    if log_index is not None:
        receipts = [
            build_receipt(client.chain, client.deployment, tx_hash, log_index=log_index, **options)
        ]
    else:
        receipts = build_receipts(client.chain, client.deployment, tx_hash, **options)
    text = receipts_json(receipts)
    if out is None:  # the receipt is the output, JSON with or without --json
        click.echo(text)
        return
    write_text(out, text, "the receipt")
    show(
        state,
        {"file": str(out), "receipts": [r.receipt_id for r in receipts]},
        *(
            f"receipt {receipt.receipt_id} for consent {receipt.consent_id} "
            f"({receipt.purpose}, {receipt.category}) written to {out}"
            for receipt in receipts
        ),
    )


@click.command("verify-receipt")
@click.argument(
    "file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True)
)
@click.option("--verbose", "-v", is_flag=True, help="List every check, not just failures.")
@client_command
def verify_receipt_command(state: CliState, file: Path, verbose: bool) -> None:
    """Check a consent receipt against the chain; exit 1 when it does not verify.

    Every field is checked against the transaction and the ledger (chain, contract,
    transaction, block and block hash, log, identity, organization, purpose, category,
    expiry, policy, agent, timestamps); then the consent's state now is reported, as
    `consent status` reports it: active, withdrawn, expired, superseded (a newer policy
    version was published) or deactivated, whether it covers a use (not while the
    organization is suspended), and whether it was granted again since the receipt.

    \b
    Examples:
      collective --network anvil consent verify-receipt receipt.json
      collective --network anvil --json consent verify-receipt receipt.json
    """
    from collective.receipts import verify_receipt

    text = read_text(file, "the receipt")
    client = open_client(state, read_only=True)
    try:
        parsed = jsonints.loads(text)
    except ValueError:
        raise InvalidInputError(f"{file} is not JSON, so it is not a consent receipt") from None
    if isinstance(parsed, list):
        raise InvalidInputError(
            f"{file} holds {len(parsed)} receipts",
            hint="verify one receipt per file (`consent receipt --log-index N`)",
        )
    outcome = verify_receipt(client.chain, client.deployment, text)
    consent = outcome.consent
    data = {
        "ok": outcome.ok,
        "status": outcome.status,
        "covered": consent.covered if consent is not None else None,
        "reason": consent.reason if consent is not None else None,
        "renewed": outcome.renewed,
        "checks": [
            {"field": name, "ok": passed, "detail": detail}
            for name, passed, detail in outcome.checks
        ],
    }
    views: list[View] = []
    shown = outcome.checks if verbose else outcome.failures
    if shown:
        views.append(
            Table(
                None,
                ["check", "result", "detail"],
                [(name, "ok" if ok else "FAILED", detail) for name, ok, detail in shown],
            )
        )
    if outcome.ok and consent is not None:
        renewed = " (granted again since this receipt)" if outcome.renewed else ""
        views.append(
            f"the receipt verifies ({len(outcome.checks)} checks); the consent now is "
            f"{consent.describe()}{renewed}"
        )
    show(state, data, *views)
    if not outcome.ok:
        name, _, detail = outcome.failures[0]
        raise AuditError(f"the receipt does not verify: {name}: {detail}")


RECEIPT_COMMANDS = (receipt_command, verify_receipt_command)

__all__ = ["RECEIPT_COMMANDS"]
