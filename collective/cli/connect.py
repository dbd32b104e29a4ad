"""The one way a command reaches a chain: the connection options in, a connection out.

:func:`open_chain` is the only place the CLI connects; :func:`open_deployment` adds the
suite's manifest, :func:`open_client` a :class:`~collective.Collective` acting as the
``--account`` (or reading only), and :func:`open_sender` the signer of a command that sends
without a deployment (``deploy``). Every connection reports its transactions to the
command's :class:`~collective.cli.inflight.InFlight`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collective.cli.inflight import watch
from collective.cli.options import CliState
from collective.errors import ConfigurationError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from collective.chain import Chain
    from collective.client import Collective
    from collective.config import ProjectConfig
    from collective.deploy import Deployment


def _node_hint() -> str:
    from collective.cli import COMMANDS

    if "node" in COMMANDS:
        return (
            "start one with `collective node start` (or start anvil) and pass --network local "
            "(or --network anvil, or --rpc URL)"
        )
    return (
        "start a node (e.g. node_modules/.bin/anvil) and pass --network anvil, "
        "or --rpc URL of any node"
    )


def refuse_embedded(state: CliState, what: str, config: ProjectConfig | None = None) -> None:
    """Refuse the embedded chain for a command that needs one that lasts.

    The embedded chain is new in every process, so it holds no deployment to read and
    forgets what is written.

    Args:
        state: the command's connection options.
        what: the command, named in the error (e.g. ```collective org list```).
        config: the project configuration (default: loaded).

    Raises:
        ConfigurationError: the options name the embedded chain (with how to start a node).
    """
    if state.rpc:
        return
    from collective.config import load_config

    config = config or load_config()
    net = config.network(state.network or config.default_network)
    if net.embedded:
        raise ConfigurationError(
            f"{what} needs a running node: the embedded chain ({net.name}) is new in every "
            f"process, so it holds no deployment to use; {_node_hint()}"
        )


def command_name() -> str:
    """The running command as a person types it, in backquotes: ```collective org list```
    (``collective`` whatever the program was called, e.g. under click's test runner)."""
    import click

    ctx = click.get_current_context(silent=True)
    words = ctx.command_path.split()[1:] if ctx is not None else []
    return "`" + " ".join(["collective", *words]) + "`"


def _open(state: CliState, what: str | None) -> tuple[ProjectConfig, Chain]:
    from collective.chain import connect
    from collective.config import load_config

    config = load_config()
    if what is not None:
        refuse_embedded(state, what, config)
    return config, watch(connect(state.network, state.rpc, config))


def open_chain(state: CliState, what: str | None = None) -> Chain:
    """The chain ``--rpc`` or ``--network`` names (default: hardhat.config.json's).

    Args:
        state: the command's connection options.
        what: for a command that needs a lasting chain, its name: the embedded chain is
            then refused (:func:`refuse_embedded`). None takes any chain.

    Returns:
        The connection, its transactions watched (:func:`~collective.cli.inflight.watch`).

    Raises:
        ConfigurationError: unknown network, or the embedded chain refused.
        ChainError: the node cannot be reached or is not the chain configured.
    """
    return _open(state, what)[1]


def open_deployment(
    state: CliState, what: str | None = None, *, require_code: bool = True
) -> tuple[Chain, Deployment]:
    """The chain and the suite's deployment on it, from ``--manifest`` (default:
    ``deployments/<network>.json``). The embedded chain is refused.

    Args:
        state: the command's connection options.
        what: the command, named when the embedded chain is refused (default: the
            running command, :func:`command_name`).
        require_code: refuse a manifest whose contracts have no code (False for a caller
            that reports missing code itself, as ``audit verify`` does).

    Returns:
        (chain, deployment), the deployment bound to the chain.

    Raises:
        ConfigurationError: as :func:`open_chain`; no manifest, or one of another chain.
        ChainError: as :func:`open_chain`; the manifest's contracts are gone.
    """
    from collective.deploy import load_deployment

    config, chain = _open(state, what or command_name())
    return chain, load_deployment(chain, state.manifest, require_code=require_code, config=config)


def open_sender(state: CliState, chain: Chain | None) -> LocalAccount:
    """The account ``--account`` names, as :func:`collective.accounts.resolve_account`
    reads it: a dev account index, an address (the COLLECTIVE_PRIVATE_KEY account, a dev
    account or a keystore entry), a keystore name; default the COLLECTIVE_PRIVATE_KEY
    account, else dev account 0. A keystore password comes from COLLECTIVE_PASSWORD or is
    asked for; the key is never shown.

    Args:
        state: the command's connection options.
        chain: where dev accounts come from (None when the account needs none: a
            keystore name, the COLLECTIVE_PRIVATE_KEY account).

    Returns:
        The signer.

    Raises:
        InvalidInputError, ConfigurationError: the account is malformed, unknown, or its
            keystore password is wrong or missing.
    """
    from collective.accounts import resolve_account
    from collective.cli.passwords import prompt_password

    return resolve_account(chain, state.account, prompt=prompt_password)


def open_client(
    state: CliState,
    what: str | None = None,
    *,
    read_only: bool = False,
    custom_terms: bool = False,
) -> Collective:
    """A :class:`~collective.Collective` on the deployment the options name, acting as the
    ``--account``. The embedded chain is refused.

    A read-only command gets a client without a sender whatever ``--account`` and
    COLLECTIVE_PRIVATE_KEY say: it needs no key, so it never asks for a keystore password
    or decrypts one (a wrong password cannot break a read), and it works on nodes without
    dev accounts.

    Args:
        state: the command's connection options.
        what: the command, named when the embedded chain is refused (default: the
            running command, :func:`command_name`).
        read_only: connect without a sender.
        custom_terms: take purposes and categories outside the DPV vocabulary as written
            (``--custom-term``).

    Returns:
        The client; its chain's transactions are watched.

    Raises:
        ConfigurationError, ChainError: as :func:`open_deployment` and :func:`open_sender`.
    """
    from collective.client import Collective

    chain, deployment = open_deployment(state, what)
    sender = None if read_only else open_sender(state, chain)
    return Collective(chain, deployment, sender, custom_terms=custom_terms)


def own_address(state: CliState) -> str | None:
    """The address ``--account`` names when it can be read without a key: an address as
    given, a keystore account's from its file (no password asked: a read needs none);
    None for a dev index or the default account (the caller opens the sender, which asks
    for no password either). For read commands that default to the sender's own address
    (``disclosure to-stop|watch``, ``erasure list``, ``subject history --account``).

    Args:
        state: the command's connection options (``account`` as given).

    Returns:
        The address (as given, or the keystore file's), or None.

    Raises:
        NotFoundError: no keystore account of that name or file.
        InvalidInputError: the file is not a keystore file.
    """
    from collective.accounts import list_accounts, needs_chain
    from collective.accounts.keystore import locate

    spec = None if state.account is None else state.account.strip()
    if spec is None or spec.isdigit():
        return None
    if needs_chain(spec):
        return spec
    path, _ = locate(spec, None)
    return next(e.address for e in list_accounts(path.parent) if e.path == path)


__all__ = [
    "command_name",
    "open_chain",
    "open_client",
    "open_deployment",
    "open_sender",
    "own_address",
    "refuse_embedded",
]
