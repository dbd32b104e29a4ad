"""``collective node``: run the permissioned JSON-RPC node, or write its genesis file."""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from collective.cli.common import CliState, emit_json, exists, pass_state, write_text
from collective.errors import ConfigurationError

GENESIS_NAME = "genesis.json"


def _address(value: str, option: str) -> bytes:
    from collective.addresses import parse_address

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
    verbose: bool,
) -> None:
    """Start the node and serve JSON-RPC until interrupted.

    \b
    Examples:
      collective node start --data-dir ./chain --dev
      collective node start --data-dir ./chain --genesis genesis.json --port 8600
      collective node start --data-dir ./chain --block-time 5 --authority sealer
    """
    from collective.node import Genesis, Node, NodeConfig
    from collective.node.core import ZERO_ADDRESS
    from collective.node.server import RpcServer

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    seconds = _block_time(block_time)
    rules = _address(account_rules, "--account-rules") if account_rules else None
    stored = data_dir / GENESIS_NAME
    if genesis_file is not None:
        genesis = Genesis.load(genesis_file)
    elif stored.is_file():
        genesis = Genesis.load(stored)
    else:
        genesis = Genesis()

    sealer_key = _authority_key(authority) if authority else None

    config = NodeConfig(
        genesis=genesis,
        data_dir=data_dir,
        block_time=seconds,
        authority=ZERO_ADDRESS,
        authority_key=sealer_key,
        dev=dev,
        account_rules=rules,
        permissioning=not no_permissioning,
        sync="full" if sync == "full" else "normal",
        max_body=max_body,
        max_batch=max_batch,
        sender_helper=True,
    )
    started = time.monotonic()
    node = Node(config)
    if not stored.exists():
        stored.write_text(genesis.dumps())
    try:
        server = RpcServer(node, host, port)
    except OSError as exc:
        node.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    node.start()
    info = _describe(node, server.url, time.monotonic() - started)
    if state.as_json:
        emit_json(info)
    else:
        click.echo(
            f"collective node: chain {info['chainId']}, head #{info['head']}, "
            f"{info['sealing']} sealing, permissioning {info['permissioning']}, "
            f"data {data_dir}\nserving {server.url} (ready in {info['startup']:.2f} s)"
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


def _describe(node: Any, url: str, startup: float) -> dict[str, Any]:
    rules = node.chain.permissioning.rules
    return {
        "url": url,
        "chainId": node.chain.chain_id,
        "head": node.chain.head.block_number,
        "sealing": "instant" if node.instant else f"{node.config.block_time:g} s",
        "permissioning": f"by AccountRules 0x{bytes(rules).hex()}" if rules else "off",
        "authority": "0x" + bytes(node.chain.authority).hex(),
        "dev": node.dev is not None,
        "startup": round(startup, 3),
    }


def _authority_key(spec: str) -> bytes:
    from collective.accounts import load_account, password_from_env
    from collective.cli.account_cmd import prompt_password

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
    from collective.node.genesis import DEV_BALANCE, AllocAccount, Genesis, contract_address

    if exists(out, "--out") and not force:
        raise ConfigurationError(f"{out} exists", hint="pass --force to overwrite it")
    admin_addresses = [_address(a, "--bootstrap-admin") for a in admins]
    alloc: dict[bytes, AllocAccount] = {}
    if dev:
        from collective.node.dev import DevAccounts

        dev_addresses = DevAccounts.create().addresses
        admin_addresses = admin_addresses or [dev_addresses[0]]
        alloc.update({a: AllocAccount(balance=DEV_BALANCE) for a in dev_addresses})
    for admin in admin_addresses:
        alloc.setdefault(admin, AllocAccount(balance=DEV_BALANCE))
    for item in allocs:
        address, _, amount = item.partition("=")
        try:
            wei = int(amount or str(DEV_BALANCE), 0)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: WEI must be a number", param_hint="--alloc"
            ) from None
        alloc[_address(address, "--alloc")] = AllocAccount(balance=wei)
    rules = _address(account_rules, "--account-rules") if account_rules else None
    if rules is None and admin_addresses:
        rules = contract_address(admin_addresses[0], 0)
    genesis = Genesis(
        chain_id=chain_id,
        gas_limit=gas_limit,
        timestamp=int(time.time()),
        alloc=alloc,
        account_rules=rules,
        bootstrap_admins=tuple(admin_addresses),
    )
    if besu:
        from collective.node.besu import besu_genesis

        if not admin_addresses:
            raise ConfigurationError(
                "--besu needs a --bootstrap-admin (or --dev)",
                hint="the admin becomes AccountRules' first admin",
            )
        text = besu_genesis(
            genesis,
            admin=admin_addresses[0],
            validators=[_address(v, "--validator") for v in validators] or admin_addresses[:1],
        )
    else:
        text = genesis.dumps()
    write_text(out, text, "the genesis file")
    if state.as_json:
        emit_json({"genesis": str(out), "chainId": chain_id, "besu": besu})
    else:
        click.echo(f"wrote {out} (chain id {chain_id}{', Besu format' if besu else ''})")


__all__ = ["node_group"]
