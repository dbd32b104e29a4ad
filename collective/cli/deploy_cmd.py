"""``collective deploy``: deploy the contract suite, or verify the one a manifest records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount

from collective.accounts import PRIVATE_KEY_ENV, resolve_account
from collective.chain import Chain, connect
from collective.cli.account_cmd import prompt_password
from collective.cli.common import DURATION, CliState, emit_json, pass_state, watch
from collective.config import load_config
from collective.deploy import CONTRACTS, MODULES, Deployment, deploy_suite


def sending_account(state: CliState, chain: Chain) -> LocalAccount:
    """The account to send from, as the global ``--account`` names it (see
    :func:`collective.accounts.resolve_account`); a keystore password is asked for when
    ``COLLECTIVE_PASSWORD`` is not set. The key itself is never shown."""
    return resolve_account(chain, state.account, prompt=prompt_password)


def _as_json(deployment: Deployment) -> dict[str, Any]:
    return {
        "network": deployment.network,
        "chainId": deployment.chain_id,
        "deployer": deployment.deployer,
        "reused": deployment.reused,
        "deployedAt": deployment.deployed_at,
        "manifest": str(deployment.manifest_path) if deployment.manifest_path else None,
        "contracts": {
            name: {
                "address": deployment.addresses[name],
                "transactionHash": deployment.tx_hashes.get(name),
                "blockNumber": deployment.blocks.get(name),
            }
            for name in CONTRACTS
        },
        "modules": {module: deployment.address(module) for module in MODULES},
        "board": {
            "address": deployment.addresses["OversightBoard"],
            "members": list(deployment.board_members),
            "threshold": deployment.threshold,
        },
        "notes": list(deployment.notes),
    }


def _print_table(deployment: Deployment, chain: Chain) -> None:
    where = f"{deployment.network} (chain {deployment.chain_id})"
    if deployment.reused:
        click.echo(
            f"verified the suite on {where}: the code at every address matches the artifacts; "
            "nothing deployed"
        )
    else:
        click.echo(f"deployed the suite on {where} from {deployment.deployer}")
    rows = [("contract", "address", "transaction", "block")]
    rows += [
        (
            name,
            deployment.addresses[name],
            deployment.tx_hashes.get(name, ""),
            str(deployment.blocks.get(name, "")),
        )
        for name in CONTRACTS
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[3]
        )
    click.echo(f"{', '.join(MODULES)} live at the ConsentLedger address")
    members = len(deployment.board_members)
    click.echo(
        f"oversight board: {members} member{'s' * (members != 1)}, threshold {deployment.threshold}"
    )
    if deployment.manifest_path is not None:
        click.echo(f"manifest: {deployment.manifest_path}")
    for note in deployment.notes:
        click.echo(f"note: {note}", err=True)


@click.command("deploy")
@click.option(
    "--network", "-n", metavar="NAME", help="Named network (overrides the global option)."
)
@click.option(
    "--rpc", metavar="URL", help="JSON-RPC URL of any Ethereum node; overrides --network."
)
@click.option(
    "--account",
    "-a",
    metavar="NAME|ADDRESS|INDEX",
    help="Deployer: a dev account index, an address, or a keystore name.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
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
@click.option(
    "--manifest",
    "manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Manifest file (default: deployments/<network>.json).",
)
@pass_state
def deploy_command(
    state: CliState,
    network: str | None,
    rpc: str | None,
    account: str | None,
    as_json: bool,
    fresh: bool,
    board_members: tuple[str, ...],
    threshold: int | None,
    proposal_lifetime: int,
    manifest: Path | None,
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
    state = CliState(
        network=network or state.network,
        rpc=rpc or state.rpc,
        account=account or state.account,
        as_json=as_json or state.as_json,
    )
    config = load_config()
    chain = watch(connect(state.network, state.rpc, config))  # hashes shown, Ctrl-C too
    deployer = sending_account(state, chain)
    deployment = deploy_suite(
        chain,
        deployer,
        board_members=list(board_members) or None,
        threshold=threshold,
        proposal_lifetime=proposal_lifetime,
        manifest_path=manifest,
        fresh=fresh,
        config=config,
    )
    if state.as_json:
        emit_json(_as_json(deployment))
    else:
        _print_table(deployment, chain)


__all__ = ["PRIVATE_KEY_ENV", "deploy_command", "sending_account"]
