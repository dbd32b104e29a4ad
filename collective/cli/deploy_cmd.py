"""``collective deploy``: deploy the contract suite, or verify the one a manifest records."""

from __future__ import annotations

import click
from eth_account.signers.local import LocalAccount

from collective.accounts import PRIVATE_KEY_ENV
from collective.chain import Chain
from collective.cli.connect import open_chain, open_sender
from collective.cli.options import CliState, chain_options
from collective.cli.output import Note, Table, View, show
from collective.cli.params import DURATION
from collective.config import load_config
from collective.deploy import CONTRACTS, MODULES, Deployment, deploy_suite


def sending_account(state: CliState, chain: Chain) -> LocalAccount:
    """Deprecated alias of :func:`collective.cli.connect.open_sender` (goes away in 0.3).

    Args:
        state: the command's connection options (``account`` names the sender).
        chain: where dev accounts come from.

    Returns:
        The signer; a keystore password is asked for when COLLECTIVE_PASSWORD is not set.
    """
    return open_sender(state, chain)


def _views(deployment: Deployment) -> list[View]:
    """What a person reads: what was done, the contracts' table, the board, the manifest."""
    where = f"{deployment.network} (chain {deployment.chain_id})"
    members = len(deployment.board_members)
    views: list[View] = [
        (
            f"verified the suite on {where}: the code at every address matches the artifacts; "
            "nothing deployed"
            if deployment.reused
            else f"deployed the suite on {where} from {deployment.deployer}"
        ),
        Table(
            None,
            ["contract", "address", "transaction", "block"],
            [
                (
                    name,
                    deployment.addresses[name],
                    deployment.tx_hashes.get(name),
                    deployment.blocks.get(name),
                )
                for name in CONTRACTS
            ],
        ),
        f"{', '.join(MODULES)} live at the ConsentLedger address",
        f"oversight board: {members} member{'s' * (members != 1)}, "
        f"threshold {deployment.threshold}",
    ]
    if deployment.manifest_path is not None:
        views.append(f"manifest: {deployment.manifest_path}")

    return [*views, *(Note(f"note: {note}") for note in deployment.notes)]


@click.command("deploy")
@click.option(
    "--fresh",
    is_flag=True,
    help="Deploy anew even if the manifest records a deployment, and overwrite it.",
)
@click.option(
    "--board-member",
    "board_members",
    multiple=True,
    metavar="ADDRESS",
    help="An oversight board member (repeatable; default: the deployer).",
)
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    help="Board approvals needed to execute a proposal (default 1).",
)
@click.option(
    "--proposal-lifetime",
    type=DURATION,
    default="30d",
    show_default=True,
    metavar="DURATION",
    help="How long a board proposal stays open (e.g. 7d, 72h); expired ones cannot execute.",
)
@chain_options(
    account=True,
    manifest_env=False,  # deploy writes the manifest: only --manifest moves it
    manifest_help="Manifest file to write (default: deployments/<network>.json).",
)
def deploy_command(
    state: CliState,
    fresh: bool,
    board_members: tuple[str, ...],
    threshold: int | None,
    proposal_lifetime: int,
) -> None:
    """Deploy the contract suite and write its manifest.

    Deploys AccountRules, ChainBoundDeployer, ConsentLedger (DIDRegistry, PolicyRegistry,
    ConsentRegistry and DataUsageLog at one address, created by the factory at an address
    unique to this chain) and OversightBoard, then sets the board in AccountRules. The
    deployer becomes the consortium admin (and can never be admitted as an organization). If
    the manifest already records a deployment on this chain, the code at each address is
    checked against the artifacts and nothing is deployed; --fresh redeploys. The embedded
    chain is new in every process, so there the suite is always deployed fresh.

    The deployer is --account (a dev account index on anvil or the embedded chain, default 0,
    an address, or a keystore account: see `collective account`), or the private key in
    COLLECTIVE_PRIVATE_KEY. --network, --rpc, --account and --json may also be given before
    the command name.

    \b
    Examples:
      collective deploy --network embedded
      collective deploy --network anvil --board-member 0xAb.. --board-member 0xCd.. --threshold 2
      COLLECTIVE_PRIVATE_KEY=0x... collective deploy --rpc http://10.0.0.5:8545
      collective deploy --network anvil --fresh --json
      COLLECTIVE_PASSWORD=... collective --account alice deploy --rpc http://10.0.0.5:8545
    """
    config = load_config()
    chain = open_chain(state)
    deployer = open_sender(state, chain)
    deployment = deploy_suite(
        chain,
        deployer,
        board_members=list(board_members) or None,
        threshold=threshold,
        proposal_lifetime=proposal_lifetime,
        manifest_path=state.manifest,
        fresh=fresh,
        config=config,
    )
    show(state, deployment.to_dict(), *_views(deployment))


__all__ = ["PRIVATE_KEY_ENV", "deploy_command", "sending_account"]
