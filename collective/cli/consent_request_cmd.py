"""``collective consent request``: the portal link an organization sends a person.

Registered on the ``consent`` group: :data:`consent_group` is
:mod:`collective.cli.consent_cmd`'s group with this command added, and the ``collective``
command table points ``consent`` here. The link names the organization's *current* policy
version and its content hash, read from the chain (:class:`~collective.portal.links.ConsentLink`);
``--qr FILE`` also writes it as a QR code image (:func:`~collective.portal.qr.write_qr`).
"""

from __future__ import annotations

from pathlib import Path

import click

from collective.cli.connect import open_client
from collective.cli.consent_cmd import consent_group
from collective.cli.options import CliState, category_option, client_command, purpose_option
from collective.cli.output import Note, show
from collective.cli.params import EXPIRY
from collective.portal.disclosure_link import disclosure_link
from collective.portal.links import ConsentLink, portal_base
from collective.portal.qr import kind_of, write_qr

PORTAL_ENV = "COLLECTIVE_PORTAL"


@click.command("request")
@click.option(
    "--org",
    "organization",
    required=True,
    metavar="ORG",
    help="The organization asking: its address, account or DID.",
)
@click.option(
    "--recipient",
    metavar="ORG",
    help="Ask instead for a disclosure consent: that --org may pass the data to this "
    "organization (address, account or DID), under the recipient's current policy.",
)
@purpose_option
@category_option
@click.option(
    "--expiry",
    type=EXPIRY,
    metavar="WHEN",
    help="When the consent would end: a Unix time, an ISO date, or a duration from now "
    "(30d, 1y). Default: never (until withdrawn).",
)
@click.option(
    "--portal",
    default="http://127.0.0.1:8080",
    show_default=True,
    envvar=PORTAL_ENV,
    metavar="URL",
    help=f"The consent portal's address, http:// or https:// (env {PORTAL_ENV}).",
)
@click.option(
    "--qr",
    "qr_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the link as a QR code image: FILE.svg or FILE.png.",
)
@client_command
def request_command(
    state: CliState,
    organization: str,
    recipient: str | None,
    purpose: str,
    category: str,
    expiry: int | None,
    portal: str,
    qr_file: Path | None,
) -> None:
    """Print a consent portal link asking a person for this consent.

    The person opens it, reads the organization's current policy (checked against its hash
    on chain), and accepts or declines in the browser; `collective portal` relays the
    signed answer.

    \b
    Examples:
      collective --network local consent request --org 0x7099...79C8 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth
      collective --network local consent request --org 0x7099...79C8 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth --expiry 1y \\
          --portal https://consent.lab.example --qr poster.svg
    """
    portal = portal_base(portal)  # a bad address or suffix is refused before the chain is asked
    if qr_file is not None:
        kind_of(qr_file)
    client = open_client(state, read_only=True)
    link = (
        disclosure_link(client, organization, recipient, purpose, category, expiry=expiry)
        if recipient is not None
        else ConsentLink.for_current_policy(client, organization, purpose, category, expiry=expiry)
    )
    url = link.url(portal)
    data = {"url": url, **link.query()}
    policy = f"policy v{link.policy_version}, sha256 {link.policy_hash}"
    notes = [Note(f"a link to consent under {policy}")]
    if qr_file is not None:
        kind = write_qr(url, qr_file)
        data["qr"] = str(qr_file)
        notes.append(Note(f"its QR code written to {qr_file} ({kind.upper()})"))
    show(state, data, url, *notes)


consent_group.add_command(request_command)

__all__ = ["consent_group", "request_command"]
