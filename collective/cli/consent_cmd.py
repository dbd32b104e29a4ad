"""``collective consent``: grant, withdraw and read consents; sign offline and relay; receipts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from collective import jsonints
from collective.cli.common import (
    BLOCK_NUMBER,
    DURATION,
    EXPIRY,
    POLICY_VERSION,
    CliState,
    category_option,
    client_command,
    custom_term_option,
    emit_json,
    make_client,
    print_fields,
    print_table,
    purpose_option,
    read_text,
    report,
    to_jsonable,
    when,
    write_text,
)
from collective.client.consent import BatchResult, Consent, Granted, Withdrawn
from collective.consent_state import ConsentStatus
from collective.errors import AuditError, ConfigurationError, ConsentError
from collective.signing import SignedRequest

identity_option = click.option(
    "--identity",
    "-i",
    metavar="DID|ADDRESS",
    help="The subject's identity (default: the sending account's own).",
)
block_option = click.option(
    "--block",
    type=BLOCK_NUMBER,
    metavar="N",
    help="Read the state as of block N (default: the latest block).",
)


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
    expiry = when(granted.expiry)
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
@identity_option
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
@client_command
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
    client = make_client(state, "`collective consent grant`", custom_terms=custom_term)
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
@identity_option
@custom_term_option
@client_command
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
    client = make_client(state, "`collective consent withdraw`", custom_terms=custom_term)
    withdrawn = client.consent.withdraw(organization, purpose, category, identity=identity)
    report(state, withdrawn, _withdrawn_line(withdrawn))


# --- reads ----------------------------------------------------------------------------------------


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
        ("expires", when(consent.expiry) if consent.granted_at else "-"),
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


@consent_group.command("status")
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
    from collective.consent_state import read_status
    from collective.vocab import term_code

    client = make_client(
        state, "`collective consent status`", read_only=True, custom_terms=custom_term
    )
    number = block if block is not None else client.chain.w3.eth.block_number
    consent = client.consent.status(identity, organization, purpose, category, block=number)
    status = read_status(
        client.chain,
        client.deployment,
        consent.identity,
        consent.organization,
        term_code(purpose, "purpose", custom=custom_term),
        term_code(category, "category", custom=custom_term),
        block=number,
    )
    if state.as_json:
        emit_json(_status_json(consent, status))
    else:
        print_fields(None, _consent_fields(consent, status))


@consent_group.command("list")
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
    client = make_client(state, "`collective consent list`", read_only=True)
    if subject is not None:
        consents = client.consent.by_subject(subject)
    else:
        assert organization is not None
        consents = client.consent.by_organization(organization)
    if only_active:
        consents = [c for c in consents if c.state == "active"]
    if state.as_json:
        emit_json(consents)
        return
    print_table(
        f"consents of {subject}" if subject is not None else f"consents given to {organization}",
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
                when(c.expiry) if c.active else "-",
            )
            for c in consents
        ],
        empty="none",
    )


@consent_group.command("timeline")
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
    client = make_client(state, "`collective consent timeline`", read_only=True)
    events = client.consent.timeline(identity=subject, organization=organization)
    if state.as_json:
        emit_json(events)
        return
    print_table(
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
    )


@consent_group.command("covered")
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
    client = make_client(
        state, "`collective consent covered`", read_only=True, custom_terms=custom_term
    )
    covered = client.consent.is_covered(
        identity, organization, purpose, category, block="latest" if block is None else block
    )
    if state.as_json:
        emit_json({"covered": covered, "block": "latest" if block is None else block})
        return
    where = "now" if block is None else f"at block {block}"
    click.echo(f"{'yes' if covered else 'no'}: a use is {'' if covered else 'not '}covered {where}")


# --- signing and relaying -------------------------------------------------------------------------


@consent_group.command("sign")
@click.argument("organization", metavar="ORG")
@purpose_option
@category_option
@click.option("--withdraw", is_flag=True, help="Sign a withdrawal instead of a grant.")
@click.option(
    "--identity",
    "-i",
    metavar="DID|ADDRESS",
    help="Sign for this identity as its guardian (a sigAuth delegate); default: the "
    "signer's own identity.",
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
@click.option(
    "--valid-for",
    type=DURATION,
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="How long the signature can be relayed (from the latest block's time).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the signed request here (default: stdout).",
)
@custom_term_option
@client_command
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
    client = make_client(state, "`collective consent sign`", custom_terms=custom_term)
    deadline = client.chain.latest_timestamp() + valid_for
    if withdraw:
        signed = client.signing.sign_withdrawal(
            organization, purpose, category, identity=identity, deadline=deadline
        )
    else:
        published = (
            client.policies.get(organization, policy_version)
            if policy_version is not None
            else client.policies.current(organization)
        )
        version = published.version
        if policy_hash is not None and published.content_hash.lower() != policy_hash.lower():
            raise ConsentError(
                f"policy version {version} of {published.organization} has the text "
                f"{published.content_hash}, not the {policy_hash} you read",
                hint=f"read the published text at {published.uri} before consenting",
            )
        signed = client.signing.sign_grant(
            organization,
            purpose,
            category,
            identity=identity,
            expiry=expiry,
            policy_version=version,
            policy_hash=bytes.fromhex(published.content_hash[2:]),
            deadline=deadline,
        )
        # Shown with every signed grant (on stderr, so stdout stays the JSON): the text agreed to.
        click.echo(
            f"consenting to {published.organization}'s policy v{version}: text "
            f"{published.content_hash}, published at {published.uri}",
            err=True,
        )
    text = signed.to_json()
    if out is None:
        click.echo(text)
        return
    write_text(out, text, "the signed request")
    if state.as_json:
        emit_json({"file": str(out), "kind": signed.kind, "signer": signed.signer})
        return
    click.echo(
        f"signed a {signed.kind} for {signed.request.identity} as {signed.signer}; relayable "
        f"until {when(signed.request.deadline)}: {out}"
    )


@consent_group.command("relay")
@click.argument(
    "files",
    metavar="FILE...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
)
@client_command
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
    client = make_client(state, "`collective consent relay`")
    result: Granted | Withdrawn | BatchResult
    if len(signed) == 1:
        result = client.signing.relay(signed[0])
        report(state, result, _line(result))
        return
    result = client.signing.relay_batch(signed)
    if state.as_json:
        emit_json(result)
        return
    click.echo(f"relayed {len(result.items)} signed requests in one transaction")
    for item in result.items:
        click.echo(f"  {_line(item)}")
    for skip in result.skipped:
        click.echo(f"  skipped: {files[skip.index]} ({skip.reason}, consent {skip.consent_id})")
    click.echo(f"  tx {result.tx_hash} · block {result.block_number} · gas {result.gas_used:,}")


# --- receipts -------------------------------------------------------------------------------------


@consent_group.command("receipt")
@click.argument("tx_hash", metavar="TX_HASH")
@click.option(
    "--log-index",
    type=click.IntRange(min=0),
    metavar="N",
    help="For a batch: the grant's log index (default: every grant of the transaction).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the receipt JSON here (default: stdout).",
)
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
    from collective.receipts import build_receipt, build_receipts

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
    client = make_client(state, "`collective consent receipt`", read_only=True)
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
    if len(receipts) == 1:
        text = receipts[0].to_json()
    else:
        text = json.dumps([receipt.to_dict() for receipt in receipts], indent=2) + "\n"
    if out is None:
        click.echo(text)
        return
    write_text(out, text, "the receipt")
    if state.as_json:
        emit_json({"file": str(out), "receipts": [r.receipt_id for r in receipts]})
        return
    for receipt in receipts:
        click.echo(
            f"receipt {receipt.receipt_id} for consent {receipt.consent_id} "
            f"({receipt.purpose}, {receipt.category}) written to {out}"
        )


@consent_group.command("verify-receipt")
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
    client = make_client(state, "`collective consent verify-receipt`", read_only=True)
    try:
        parsed = jsonints.loads(text)
    except ValueError:
        raise ConfigurationError(f"{file} is not JSON, so it is not a consent receipt") from None
    if isinstance(parsed, list):
        raise ConfigurationError(
            f"{file} holds {len(parsed)} receipts",
            hint="verify one receipt per file (`consent receipt --log-index N`)",
        )
    outcome = verify_receipt(client.chain, client.deployment, text)
    if state.as_json:
        consent = outcome.consent
        emit_json(
            {
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
        )
    else:
        shown = outcome.checks if verbose else outcome.failures
        if shown:
            print_table(
                None,
                ["check", "result", "detail"],
                [(name, "ok" if ok else "FAILED", detail) for name, ok, detail in shown],
            )
        if outcome.ok and outcome.consent is not None:
            renewed = " (granted again since this receipt)" if outcome.renewed else ""
            click.echo(
                f"the receipt verifies ({len(outcome.checks)} checks); the consent now is "
                f"{outcome.consent.describe()}{renewed}"
            )
    if not outcome.ok:
        name, _, detail = outcome.failures[0]
        raise AuditError(f"the receipt does not verify: {name}: {detail}")


__all__ = ["consent_group"]
