"""``collective network``: write, start, stop and inspect a local consortium network (N
validators on 127.0.0.1, each a cometbft process and a collective node)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from collective.cli.options import CliState, chain_options, json_command
from collective.cli.output import Note, Table, View, show
from collective.errors import InvalidInputError
from collective.network.init import DEFAULT_CHAIN_ID
from collective.network.layout import DEFAULT_BASE_PORT

if TYPE_CHECKING:
    from collective.network import NetworkLayout

_DIR = click.Path(file_okay=False, path_type=Path)
_VALIDATOR = click.option(
    "--validator",
    "indexes",
    multiple=True,
    type=click.IntRange(1),
    metavar="I",
    help="Only validator I (from 1; repeatable). Default: all.",
)


@click.group("network")
def network_group() -> None:
    """A consortium network: N CometBFT validators, each with its collective node. init,
    start, stop and status run a local one on this machine; genesis writes the genesis of
    real members, one validator each (README: Consortium network).

    \b
    Examples:
      collective network init --validators 4 --dir net
      collective network start net
      collective network status net
      collective org list --rpc http://127.0.0.1:26603 --manifest net/manifest.json
      collective network stop net
      collective network genesis --account admin --out consortium --member 0xOrgA…:KeyA…=
    """


_ENGINE = click.option(
    "--engine",
    type=click.Choice(["py-evm", "revm"]),
    default=None,
    help="What every validator's node executes blocks with: py-evm (the reference) or revm "
    "(native, built by scripts/setup.sh; equal results, faster).",
)


@network_group.command("init")
@click.option(
    "--validators",
    "-n",
    "count",
    required=True,
    type=int,
    help="How many validators (1 to 64; 4 tolerate one faulty).",
)
@click.option(
    "--dir", "root", required=True, type=_DIR, help="The network's folder (new or empty)."
)
@click.option("--chain-id", type=click.IntRange(1), default=DEFAULT_CHAIN_ID, show_default=True)
@click.option(
    "--base-port",
    type=int,
    default=DEFAULT_BASE_PORT,
    show_default=True,
    help="Validator I uses BASE+10(I-1): p2p +0, CometBFT RPC +1, ABCI +2, JSON-RPC +3.",
)
@click.option(
    "--empty-blocks",
    default="never",
    show_default=True,
    metavar="never|always|DURATION",
    help="Blocks only for transactions, one every round, or an empty one after DURATION "
    "(e.g. 5s) without transactions.",
)
@click.option("--force", is_flag=True, help="Replace the network already in --dir.")
@_ENGINE
@json_command
def init_command(
    state: CliState,
    count: int,
    root: Path,
    chain_id: int,
    base_port: int,
    empty_blocks: str,
    force: bool,
    engine: str | None,
) -> None:
    """Write a local network: CometBFT homes and keys, the shared genesis (contract suite
    predeployed, each validator's organization admitted), configs and ports.

    \b
    Examples:
      collective network init --validators 4 --dir net
      collective network init -n 1 --dir solo --empty-blocks 5s --base-port 27000
      collective network init --validators 4 --dir net --engine revm
    """
    from collective.network import init_network

    layout = init_network(
        root,
        count,
        chain_id=chain_id,
        base_port=base_port,
        empty_blocks=empty_blocks,
        force=force,
        engine=engine or "py-evm",
    )
    show(
        state,
        layout.to_json() | {"dir": str(root)},
        f"wrote a {count}-validator network in {root} (chain {chain_id}, CometBFT chain "
        f"{layout.cometbft_chain_id}, {layout.engine} engine)",
        Table(
            None,
            ["validator", "organization", "JSON-RPC", "CometBFT RPC", "p2p"],
            [
                (v.index, v.organization, v.url, v.cometbft_url, v.ports.p2p)
                for v in layout.validators
            ],
        ),
        f"start it: collective network start {root}",
    )


@network_group.command("genesis")
@click.option(
    "--member",
    "members",
    multiple=True,
    required=True,
    metavar="ADDRESS:PUBKEY",
    help="A member: its organization's address and its validator's ed25519 public key "
    "(base64, from `cometbft show-validator`). Repeatable, in validator order.",
)
@click.option(
    "--out", "out", required=True, type=_DIR, help="Folder for the three files (created)."
)
@click.option("--chain-id", type=click.IntRange(1), default=DEFAULT_CHAIN_ID, show_default=True)
@click.option(
    "--power",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Each member's voting power.",
)
@click.option("--force", is_flag=True, help="Overwrite the files in --out.")
@chain_options(chain=False, account=True, manifest=False)
def genesis_command(
    state: CliState,
    members: tuple[str, ...],
    out: Path,
    chain_id: int,
    power: int,
    force: bool,
) -> None:
    """Write the genesis of a consortium of real members (one validator each, each member
    keeping its own keys): --account is the bootstrap admin, who deploys the suite at
    genesis and admits every member's organization.

    \b
    Examples:
      collective network genesis --account admin --out consortium \\
          --member 0x7099…79C8:W7x/NLI8…CQI= --member 0x3C44…93BC:MHo+wo2m…QkE=
    """
    from collective.cli.connect import open_sender
    from collective.network.members import parse_member, write_consortium_genesis

    if state.account is None:
        raise InvalidInputError(
            "--account is required: the bootstrap admin's keystore name or address",
            hint="create one with `collective account new admin`",
        )
    files = write_consortium_genesis(
        out,
        admin=open_sender(state, None),
        members=[parse_member(m, power) for m in members],
        chain_id=chain_id,
        force=force,
    )
    show(
        state,
        {
            "cometbftGenesis": str(files.cometbft_genesis),
            "ethereumGenesis": str(files.ethereum_genesis),
            "manifest": str(files.manifest),
            "cometbftChainId": files.cometbft_chain_id,
            "chainId": chain_id,
        },
        f"wrote {files.cometbft_genesis} (CometBFT chain {files.cometbft_chain_id}, "
        f"{len(members)} validator{'s' if len(members) > 1 else ''}), {files.ethereum_genesis} "
        f"and {files.manifest}",
        "each member: copy genesis.json to <home>/config/, start `collective node start "
        "--consensus cometbft --genesis ethereum-genesis.json ...`, then `cometbft start`",
    )


@network_group.command("start")
@click.argument("root", metavar="DIR", type=_DIR)
@_VALIDATOR
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=120.0,
    show_default=True,
    help="Seconds to wait for the validators to answer and commit a block.",
)
@_ENGINE
@json_command
def start_command(
    state: CliState, root: Path, indexes: tuple[int, ...], timeout: float, engine: str | None
) -> None:
    """Start the network's validators (each node, then its cometbft) in the background;
    those already running are left alone. Ports another program holds are refused before
    anything starts.

    \b
    Examples:
      collective network start net
      collective network start net --validator 3     # bring one back
      collective network start net --engine revm     # (default: the engine init chose)
    """
    from collective.network import NetworkLayout, start_network

    layout = NetworkLayout.load(root)
    started = start_network(layout, indexes, timeout=timeout, engine=engine)
    running = [v.index for v in layout.select(list(indexes)) if v.index not in started]
    parts = [f"started validators {_numbers(started)}"] if started else []
    if running:
        were = "was" if len(running) == 1 else "were"
        parts.append(
            f"validator{'s' if len(running) > 1 else ''} {_numbers(running)} {were} already running"
        )
    _status(state, layout, "; ".join(parts))


def _numbers(indexes: list[int]) -> str:
    return ", ".join(map(str, indexes))


@network_group.command("stop")
@click.argument("root", metavar="DIR", type=_DIR)
@_VALIDATOR
@click.option(
    "--timeout",
    type=click.FloatRange(0),
    default=20.0,
    show_default=True,
    help="Seconds between SIGTERM and SIGKILL.",
)
@json_command
def stop_command(state: CliState, root: Path, indexes: tuple[int, ...], timeout: float) -> None:
    """Stop the network's validators (SIGTERM, SIGKILL after --timeout).

    \b
    Examples:
      collective network stop net
      collective network stop net --validator 2
    """
    from collective.network import NetworkLayout, stop_network

    layout = NetworkLayout.load(root)
    stopped = stop_network(layout, indexes, timeout=timeout)
    line = f"stopped validators {_numbers(stopped)}" if stopped else "nothing was running"
    show(state, {"stopped": stopped}, line)


@network_group.command("status")
@click.argument("root", metavar="DIR", type=_DIR)
@json_command
def status_command(state: CliState, root: Path) -> None:
    """Each validator: state, JSON-RPC URL, CometBFT height, Ethereum head, peers, power.

    \b
    Examples:
      collective network status net
      collective network status net --json
    """
    from collective.network import NetworkLayout

    _status(state, NetworkLayout.load(root), None)


def _status(state: CliState, layout: NetworkLayout, line: str | None) -> None:
    from collective.network import network_status
    from collective.network.control import has_quorum, running_power

    rows = network_status(layout)
    views: list[View] = [line] if line else []
    views.append(
        Table(
            f"network {layout.root} (chain {layout.chain_id})",
            ["validator", "state", "JSON-RPC", "height", "head", "peers", "power"],
            [(r.index, r.state, r.url, r.height, r.head, r.peers, r.voting_power) for r in rows],
        )
    )
    views.append(
        Note(f"clients: --rpc {layout.validators[0].url} --manifest {layout.manifest_path}")
    )
    running, total = running_power(layout)
    if running > 0 and not has_quorum(layout):
        views.append(
            Note(
                f"no quorum: the running validators hold {running} of {total} voting power and "
                "blocks commit only with more than 2/3: transactions wait until more start "
                f"(collective network start {layout.root})"
            )
        )
    show(
        state,
        {
            "dir": str(layout.root),
            "chainId": layout.chain_id,
            "manifest": str(layout.manifest_path),
            "validators": [r.to_json() for r in rows],
        },
        *views,
    )


__all__ = ["network_group"]
