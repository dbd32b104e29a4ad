"""``collective portal``: serve the consent portal, relaying with one account.

Thin over :mod:`collective.portal`: connect (the chain, the suite's manifest, the relaying
account), check that the relayer may relay (an admitted, active organization: the contract
refuses anyone else), build the application and serve it with uvicorn until Ctrl-C.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from collective.cli.connect import open_client
from collective.cli.options import CliState, client_command
from collective.errors import ConfigurationError

_STANDING = {"unknown": "not an admitted organization", "suspended": "suspended"}


@click.command("portal")
@click.option(
    "--relayer",
    metavar="NAME|ADDRESS|INDEX",
    help="The account that relays people's signed consents and pays the gas: an admitted, "
    "active organization (a dev account index, an address or a keystore name; default: "
    "--account).",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all)."
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port."
)
@click.option(
    "--index",
    "index_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The audit index file the pages read, kept across restarts (created if missing). "
    "Default: a temporary file, so a restarted portal indexes the chain again.",
)
@client_command
def portal_command(
    state: CliState, relayer: str | None, host: str, port: int, index_path: Path | None
) -> None:
    """Serve the consent portal: people give and take back consent in their browser.

    Their secret words and keys stay in the browser; the portal relays their signed
    consents with the --relayer account, which pays the gas. Make a link for a person with
    `collective consent request`. Serve it over HTTPS (a reverse proxy) beyond this
    machine: browsers give the page's cryptography only to secure origins.

    \b
    Examples:
      collective portal --network local --relayer 1
      collective portal --rpc http://127.0.0.1:8545 --relayer lab --port 8090
      collective --network local consent request --org 0x7099...79C8 \\
          -p dpv:ResearchAndDevelopment -c dpv-pd:MedicalHealth
    """
    try:
        from collective.portal.app import create_app
        from collective.portal.server import serve
    except ImportError as exc:  # starlette / jinja2 / uvicorn are in the [node] extra
        raise ConfigurationError(
            f"the portal's web server is not installed ({exc.name} is missing)",
            hint='install it with pip install "collective[node]"',
        ) from None
    client = open_client(replace(state, account=relayer or state.account))
    relaying = client.session.sender.address
    profile = client.orgs.profile(relaying)
    if not profile.active:
        raise ConfigurationError(
            f"the relayer {relaying} is {_STANDING.get(profile.status, profile.status)}, but "
            "only an admitted, active organization may relay signed consents",
            hint="pass --relayer with an organization's account (admit it with "
            "`collective org admit`)",
        )
    if index_path is not None and index_path.parent and not index_path.parent.is_dir():
        raise ConfigurationError(
            f"--index {index_path}: the folder {index_path.parent} does not exist",
            hint="create it, or give a file in an existing folder",
        )
    app = create_app(client, index_path=index_path)
    click.echo(
        f"consent portal on http://{host}:{port} (chain {client.chain.chain_id}, ledger "
        f"{client.session.ledger.address}, relayer {relaying}); Ctrl-C stops it",
        err=True,
    )
    serve(app, host, port)


__all__ = ["portal_command"]
