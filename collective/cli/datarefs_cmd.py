"""``collective data-refs``: an organization's store of per-subject secrets, off chain.

The store (:class:`~collective.client.datarefs.DataRefStore`) keys the data references
``collective use record --data-refs PATH`` puts on chain. Here it is listed, and a subject's
secret is destroyed (erasure: its past references can no longer be linked to any record).
These commands talk to no chain. ``--data-refs`` (env COLLECTIVE_DATA_REFS) is declared
here once, for this group and ``use record``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from collective.cli.files import exists
from collective.cli.options import CliState, json_command
from collective.cli.output import Table, show
from collective.client.base import address_of
from collective.client.datarefs import DataRefStore
from collective.errors import InvalidInputError
from collective.types import Address

F = TypeVar("F", bound=Callable[..., Any])

DATA_REFS_ENV = "COLLECTIVE_DATA_REFS"


def data_refs_option(*, required: bool, help: str) -> Callable[[F], F]:
    """``--data-refs PATH`` (env COLLECTIVE_DATA_REFS): the data-reference store's file.

    Args:
        required: the command cannot run without it.
        help: what the command does with the file.
    """
    return click.option(
        "--data-refs",
        "data_refs",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=DATA_REFS_ENV,
        required=required,
        metavar="PATH",
        help=f"{help} [env {DATA_REFS_ENV}]",
    )


def open_existing(path: Path) -> DataRefStore:
    """The store at ``path``, which must exist (a mistyped name makes no new, empty store).

    Raises:
        InvalidInputError: no file at ``path``.
        ConfigurationError: the file is not a store or cannot be opened.
    """
    if not exists(path, "the data-reference store"):
        raise InvalidInputError(
            f"no data-reference store at {path}",
            hint="name the file `use record --data-refs` made (or set COLLECTIVE_DATA_REFS)",
        )
    return DataRefStore(path)


@dataclass(frozen=True)
class Forgotten:
    """The outcome of ``data-refs forget``: the pair, and whether a secret was destroyed
    (False: it had none). ``organization`` is None for a store that holds no secrets."""

    store: Path
    organization: Address | None
    subject: Address
    forgotten: bool


@dataclass(frozen=True)
class Pair:
    """One secret the store holds: the organization and the subject (never the secret)."""

    organization: Address
    subject: Address


@click.group("data-refs")
def data_refs_group() -> None:
    """Keyed data references: the organization's off-chain secrets, one per subject.

    With `use record --data-refs PATH` a use's data reference is HMAC-SHA256 under the
    subject's secret in PATH, so nobody who guesses the record locator can confirm it.
    Keep PATH private and backed up: without it, your own references cannot be linked to
    your records either.

    \b
    Examples:
      collective data-refs list --data-refs lab-refs.db
      collective data-refs forget --subject 0x90F7...b906 --data-refs lab-refs.db --yes
    """


@data_refs_group.command("list")
@click.option("--organization", "--org", metavar="ADDRESS", help="Only this organization's.")
@data_refs_option(required=True, help="The data-reference store.")
@json_command
def list_command(state: CliState, organization: str | None, data_refs: Path) -> None:
    """The (organization, subject) pairs that have a secret; the secrets are never shown.

    \b
    Examples:
      collective data-refs list --data-refs lab-refs.db
      collective --json data-refs list --org 0x7099...79C8 --data-refs lab-refs.db
    """
    with open_existing(data_refs) as store:
        orgs = (
            store.organizations()
            if organization is None
            else [address_of(organization, "organization")]
        )
        pairs = [Pair(o, s) for o in orgs for s in store.subjects(o)]
    show(
        state,
        pairs,
        Table(
            f"data-reference secrets in {data_refs}",
            ["organization", "subject"],
            [(p.organization, p.subject) for p in pairs],
            empty="no secrets (no reference made yet, or all forgotten)",
        ),
    )


@data_refs_group.command("forget")
@click.option("--subject", required=True, metavar="ADDRESS", help="The data subject.")
@click.option(
    "--organization",
    "--org",
    metavar="ADDRESS",
    help="The organization (default: the only one in the store).",
)
@data_refs_option(required=True, help="The data-reference store.")
@click.option("--yes", is_flag=True, help="Confirm: a destroyed secret cannot be restored.")
@json_command
def forget_command(
    state: CliState, subject: str, organization: str | None, data_refs: Path, yes: bool
) -> None:
    """Destroy the subject's secret: its past data references on chain can no longer be
    linked to any record (erasure). A later use of the subject gets a new secret.

    Exits 0 also when the subject had no secret (nothing to destroy; `forgotten` false).

    \b
    Examples:
      collective data-refs forget --subject 0x90F7...b906 --data-refs lab-refs.db --yes
      collective --json data-refs forget --subject 0x90F7...b906 --org 0x7099...79C8 \\
          --data-refs lab-refs.db --yes
    """
    if not yes:
        raise click.UsageError("a destroyed secret cannot be restored: pass --yes to confirm")
    with open_existing(data_refs) as store:
        who = address_of(subject, "subject")
        org = organization or _only_organization(store)
        if org is None:  # a store without secrets
            result = Forgotten(data_refs, None, who, False)
        else:
            done = store.forget(org, who)
            result = Forgotten(data_refs, address_of(org, "organization"), who, done)
    show(state, result, _forget_line(result))


def _only_organization(store: DataRefStore) -> str | None:
    orgs = store.organizations()
    if len(orgs) > 1:
        raise InvalidInputError(
            f"{store.path} holds the secrets of {len(orgs)} organizations",
            hint="choose one with --organization: " + ", ".join(orgs),
        )
    return orgs[0] if orgs else None


def _forget_line(result: Forgotten) -> str:
    if result.forgotten:
        return (
            f"destroyed the secret of {result.subject} at {result.organization}: its past data "
            "references can no longer be linked to any record"
        )
    at = f" at {result.organization}" if result.organization else ""
    return f"no secret of {result.subject}{at} in {result.store}: nothing to forget"


__all__ = ["DATA_REFS_ENV", "data_refs_group", "data_refs_option", "open_existing"]
