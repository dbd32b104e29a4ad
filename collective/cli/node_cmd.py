"""``collective node``: run the permissioned JSON-RPC node, or write its genesis file."""

from __future__ import annotations

import logging
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from collective.cli.files import exists, write_text
from collective.cli.options import CliState, pass_state
from collective.cli.output import show
from collective.errors import ConfigurationError, InvalidInputError, NodeError

GENESIS_NAME = "genesis.json"  # collective.node.genesis.GENESIS_NAME (not imported: no py-evm)


def _address(value: str, option: str) -> bytes:
    from collective.chain.addresses import parse_address

    try:
        return bytes.fromhex(parse_address(value, "the address")[2:])
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _block_time(value: str) -> float | None:
    if value == "instant":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise click.BadParameter(
            "expected a number of seconds or 'instant'", param_hint="--block-time"
        ) from None
    if seconds <= 0:
        raise click.BadParameter("must be positive (or 'instant')", param_hint="--block-time")
    return seconds


@click.group("node")
def node_group() -> None:
    """Run a permissioned, durable Ethereum JSON-RPC node on py-evm.

    \b
    Examples:
      collective node init --dev --out genesis.json      # dev chain, AccountRules predicted
      collective node start --data-dir chain --dev       # serve http://127.0.0.1:8545
      collective deploy --rpc http://127.0.0.1:8545      # in another terminal
      collective node start --data-dir chain --block-time 2 --authority sealer
    """


@node_group.command("start")
@click.option(
    "--data-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the chain lives (created if missing; reopened as is).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8545, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--block-time",
    default="instant",
    show_default=True,
    metavar="SECONDS|instant",
    help="Seal every SECONDS, or one block per request that brought transactions.",
)
@click.option(
    "--authority",
    metavar="KEYSTORE",
    help="Sealing account: a keystore name or file (password from COLLECTIVE_PASSWORD or "
    "asked). Every block's miner; each block carries its signature over the block hash "
    "(sealSignature).",
)
@click.option(
    "--genesis",
    "genesis_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Genesis file (see `collective node init`); default: DATA_DIR/genesis.json if "
    "present, else a default chain (id 131277).",
)
@click.option(
    "--dev",
    is_flag=True,
    help="Fund anvil's dev accounts; enable "
    "eth_sendTransaction, evm_snapshot/revert/mine/increaseTime.",
)
@click.option(
    "--account-rules",
    metavar="ADDRESS",
    help="AccountRules contract that permissions transactions (overrides the genesis file).",
)
@click.option(
    "--no-permissioning",
    is_flag=True,
    hidden=True,
    help="Ignore any AccountRules address (benchmarks).",
)
@click.option(
    "--sync",
    type=click.Choice(["full", "normal"]),
    default="full",
    show_default=True,
    help="full: each block is fsynced (survives power loss); normal: survives a "
    "crash of the node only.",
)
@click.option("--max-batch", default=2000, show_default=True, type=click.IntRange(1))
@click.option(
    "--max-body",
    default=32 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(1),
    help="Largest request body in bytes.",
)
@click.option(
    "--consensus",
    type=click.Choice(["authority", "cometbft"]),
    default="authority",
    show_default=True,
    help="authority: this node seals blocks itself; cometbft: a consortium validator, whose "
    "blocks CometBFT decides (run `cometbft start` beside it; see `collective network`).",
)
@click.option(
    "--abci",
    default="tcp://127.0.0.1:26658",
    show_default=True,
    metavar="tcp://HOST:PORT|unix:///PATH",
    help="With --consensus cometbft: where CometBFT connects (its proxy_app).",
)
@click.option(
    "--cometbft-rpc",
    default="http://127.0.0.1:26657",
    show_default=True,
    metavar="URL",
    help="With --consensus cometbft: CometBFT's RPC, where transactions are broadcast.",
)
@click.option(
    "--engine",
    type=click.Choice(["py-evm", "revm"]),
    default=None,
    help="What executes blocks: py-evm (the reference), or revm (native, the collective_revm "
    "extension scripts/setup.sh builds; equal results, faster). Default: $COLLECTIVE_ENGINE, "
    "else py-evm. Every validator of a network runs the same engine.",
)
@click.option("--verbose", "-v", is_flag=True, help="Log every request.")
@pass_state
def start_command(
    state: CliState,
    data_dir: Path,
    host: str,
    port: int,
    block_time: str,
    authority: str | None,
    genesis_file: Path | None,
    dev: bool,
    account_rules: str | None,
    no_permissioning: bool,
    sync: str,
    max_batch: int,
    max_body: int,
    consensus: str,
    abci: str,
    cometbft_rpc: str,
    engine: str | None,
    verbose: bool,
) -> None:
    """Start the node and serve JSON-RPC until interrupted.

    \b
    Examples:
      collective node start --data-dir ./chain --dev
      collective node start --data-dir ./chain --genesis genesis.json --port 8600
      collective node start --data-dir ./chain --block-time 5 --authority sealer
      collective node start --data-dir ./v1 --genesis genesis.json --consensus cometbft \\
          --abci tcp://127.0.0.1:26658 --cometbft-rpc http://127.0.0.1:26657
    """
    from collective.node import Node, NodeConfig
    from collective.node.genesis import genesis_for, remember_genesis
    from collective.node.server import RpcServer

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    if consensus == "cometbft":
        for given, option in ((block_time != "instant", "--block-time"),
                              (authority, "--authority"), (dev, "--dev")):  # fmt: skip
            if given:
                raise click.UsageError(
                    f"{option} does not go with --consensus cometbft: CometBFT decides the "
                    "blocks (and a consortium has no dev accounts)"
                )
    genesis = genesis_for(data_dir, genesis_file)
    config = NodeConfig(
        genesis=genesis,
        data_dir=data_dir,
        block_time=_block_time(block_time),
        authority_key=_authority_key(authority) if authority else None,
        dev=dev,
        account_rules=_address(account_rules, "--account-rules") if account_rules else None,
        permissioning=not no_permissioning,
        sync="full" if sync == "full" else "normal",
        max_body=max_body,
        max_batch=max_batch,
        sender_helper=True,
        consensus=consensus,
        abci=abci,
        cometbft_rpc=cometbft_rpc,
    )
    if engine is not None:
        config = replace(config, engine=engine)
    started = time.monotonic()
    node = Node(config)
    remember_genesis(data_dir, genesis)
    try:
        server = RpcServer(node, host, port)
    except OSError as exc:
        node.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    try:
        node.start()
    except NodeError:  # the ABCI address cannot be bound
        server.server_close()
        node.close()
        raise
    info = {"url": server.url, **node.describe(), "startup": round(time.monotonic() - started, 3)}
    show(
        state,
        info,
        f"collective node: chain {info['chainId']}, head #{info['head']}, "
        f"{info['sealing']} sealing, permissioning {info['permissioning']}, "
        f"{node.chain.engine} engine, data {data_dir}\n"
        f"serving {server.url} (ready in {info['startup']:.2f} s)",
    )
    sys.stdout.flush()

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        node.close()


def _authority_key(spec: str) -> bytes:
    from collective.accounts import load_account, password_from_env
    from collective.cli.passwords import prompt_password

    password = password_from_env()
    if password is None:
        password = prompt_password(spec)
    return bytes(load_account(spec, password).key)


@node_group.command("init")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(GENESIS_NAME),
    show_default=True,
    help="File to write.",
)
@click.option("--chain-id", type=click.IntRange(1), default=131277, show_default=True)
@click.option("--gas-limit", type=click.IntRange(21000), default=30_000_000, show_default=True)
@click.option(
    "--account-rules",
    metavar="ADDRESS",
    help="AccountRules address that will permission transactions.",
)
@click.option(
    "--bootstrap-admin",
    "admins",
    multiple=True,
    metavar="ADDRESS",
    help="May transact while AccountRules is not deployed (repeatable); funded "
    "with 10,000 ether unless --alloc says otherwise. The AccountRules address "
    "defaults to the first admin's first deployment.",
)
@click.option(
    "--alloc",
    "allocs",
    multiple=True,
    metavar="ADDRESS=WEI",
    help="Prefund an account (repeatable).",
)
@click.option(
    "--dev",
    is_flag=True,
    help="Anvil's dev accounts funded; dev account 0 is the "
    "bootstrap admin (so `collective deploy` with it turns permissioning on).",
)
@click.option(
    "--besu",
    is_flag=True,
    help="Write a Besu (QBFT) genesis with the contract suite predeployed in alloc instead.",
)
@click.option(
    "--validator",
    "validators",
    multiple=True,
    metavar="ADDRESS",
    help="QBFT validator for --besu (repeatable; default: the first admin).",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@pass_state
def init_command(
    state: CliState,
    out: Path,
    chain_id: int,
    gas_limit: int,
    account_rules: str | None,
    admins: tuple[str, ...],
    allocs: tuple[str, ...],
    dev: bool,
    besu: bool,
    validators: tuple[str, ...],
    force: bool,
) -> None:
    """Write a genesis file for `collective node start --genesis` (or for Besu).

    \b
    Examples:
      collective node init --dev                              # ./genesis.json
      collective node init --bootstrap-admin 0xAb.. --alloc 0xCd..=10000000000000000000
      collective node init --besu --bootstrap-admin 0xAb.. --out besu-genesis.json
    """
    from collective.node.genesis import DEV_BALANCE, build_genesis

    if exists(out, "--out") and not force:
        raise InvalidInputError(f"{out} exists", hint="pass --force to overwrite it")
    admin_addresses = [_address(a, "--bootstrap-admin") for a in admins]
    balances: dict[bytes, int] = {}
    for item in allocs:
        address, _, amount = item.partition("=")
        try:
            wei = int(amount or str(DEV_BALANCE), 0)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: WEI must be a number", param_hint="--alloc"
            ) from None
        balances[_address(address, "--alloc")] = wei
    genesis = build_genesis(
        chain_id=chain_id,
        gas_limit=gas_limit,
        timestamp=int(time.time()),
        bootstrap_admins=admin_addresses,
        allocs=balances,
        account_rules=_address(account_rules, "--account-rules") if account_rules else None,
        dev=dev,
    )
    if besu:
        from collective.node.besu import besu_genesis

        if not genesis.bootstrap_admins:
            raise InvalidInputError(
                "--besu needs a --bootstrap-admin (or --dev)",
                hint="the admin becomes AccountRules' first admin",
            )
        text = besu_genesis(
            genesis,
            admin=genesis.bootstrap_admins[0],
            validators=[_address(v, "--validator") for v in validators]
            or list(genesis.bootstrap_admins[:1]),
        )
    else:
        text = genesis.dumps()
    write_text(out, text, "the genesis file")
    show(
        state,
        {"genesis": str(out), "chainId": chain_id, "besu": besu},
        f"wrote {out} (chain id {chain_id}{', Besu format' if besu else ''})",
    )


__all__ = ["node_group"]
