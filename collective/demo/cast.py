"""The demo's actors and how they come on stage.

The actors are a chain's well-known dev accounts (:data:`ROLES`). :func:`assemble` admits
the transacting ones to the network when the node is permissioned by an AccountRules of its
own, deploys a fresh suite with a three-member oversight board (2 of 3 to act), admits the
hospital and the lab, and returns the :class:`Cast`: a client per actor on that suite.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from collective.chain import Chain
from collective.client import Collective
from collective.config import ProjectConfig
from collective.demo.report import Narration
from collective.deploy import deploy_suite, load_deployment
from collective.errors import CollectiveError, ConfigurationError, InvalidInputError

# role -> index among the chain's dev accounts (anvil's, `collective node --dev`'s)
ROLES = {
    "consortium": 0,
    "hospital": 1,
    "lab": 2,
    "patient": 3,
    "guardian": 4,
    "member 1": 7,
    "member 2": 8,
    "member 3": 9,
}
BOARD = ("member 1", "member 2", "member 3")


@dataclass(frozen=True)
class Cast:
    """The actors on the demo's suite: ``accounts`` by role (:data:`ROLES`), and a client
    acting as each of the consortium (``admin``), hospital, lab, patient and guardian."""

    chain: Chain
    accounts: dict[str, LocalAccount]
    admin: Collective
    hospital: Collective
    lab: Collective
    patient: Collective
    guardian: Collective

    def acting_as(self, who: str) -> Collective:
        """A client of the suite acting as the role ``who`` (a key of :data:`ROLES`).

        Raises:
            KeyError: ``who`` is not a role.
        """
        return self.admin.as_account(self.accounts[who])


def roles(chain: Chain) -> dict[str, LocalAccount]:
    """The account each role of :data:`ROLES` plays on ``chain``.

    Args:
        chain: the connection; its ``dev_accounts`` are the actors.

    Returns:
        role name -> account.

    Raises:
        ConfigurationError: the chain has fewer than ten well-known dev accounts.
    """
    dev = chain.dev_accounts
    if len(dev) < 10:
        raise ConfigurationError(
            f"the demo needs ten well-known dev accounts, and {chain.where} has none",
            hint="run it on the embedded chain, on anvil, or on `collective node start --dev`",
        )
    return {role: dev[index] for role, index in ROLES.items()}


def assemble(
    chain: Chain,
    accounts: dict[str, LocalAccount],
    config: ProjectConfig,
    manifest: Path | None,
    narration: Narration,
    keep: Path | None = None,
) -> Cast:
    """Bring the actors on stage: admit them to a permissioned network
    (:func:`admit_to_network`), deploy the demo's own suite (in a throwaway manifest, or in
    ``keep``) and admit the hospital and the lab to it, telling each of these as a step.

    Args:
        chain: the connection.
        accounts: role name -> account, as :func:`roles` gives.
        config: the project configuration (compiler settings, networks).
        manifest: the network's own deployment manifest (read only; None: the network's
            default ``deployments/<network>.json``).
        narration: where the steps are told.
        keep: where to write the suite's deployment manifest so that other commands can use
            the demo's ledger afterwards (None: a throwaway one; the demo never touches
            ``deployments/`` unless asked). It must not exist yet.

    Returns:
        The :class:`Cast`.

    Raises:
        InvalidInputError: ``keep`` exists already, or the chain is the embedded one (it ends
            with the demo).
        TransactionError: a deployment or an admission was refused.
        ChainError: the node could not be reached.
    """
    if keep is not None:
        check_keep(chain, keep)
    admit_to_network(chain, accounts, config, manifest, narration)  # before the demo's suite
    members = [accounts[member].address for member in BOARD]
    with tempfile.TemporaryDirectory(prefix="collective-demo-") as scratch:
        suite = deploy_suite(
            chain,
            accounts["consortium"],
            board_members=members,
            threshold=2,
            manifest_path=keep or Path(scratch) / f"{chain.name}.json",
            fresh=True,
            config=config,
        )
    admin = Collective(chain, suite, accounts["consortium"])
    cast = Cast(
        chain=chain,
        accounts=accounts,
        admin=admin,
        hospital=admin.as_account(accounts["hospital"]),
        lab=admin.as_account(accounts["lab"]),
        patient=admin.as_account(accounts["patient"]),
        guardian=admin.as_account(accounts["guardian"]),
    )
    narration.step(
        "The consortium deploys the ledger",
        f"AccountRules   {suite.address('AccountRules')}",
        f"ConsentLedger  {suite.address('ConsentLedger')}  (DID, policy, consent and usage "
        "registries)",
        f"OversightBoard {suite.address('OversightBoard')}  (3 members, 2 votes to act)",
        addresses=dict(suite.addresses),
    )
    lines = []
    for name, client in (("St Mary's Hospital", cast.hospital), ("Helix Research Lab", cast.lab)):
        admitted = admin.orgs.admit(client.address)
        lines.append(f"{name:<20} {client.address} admitted (block {admitted.block_number})")
    narration.step("The consortium admits a hospital and a research lab", *lines)
    return cast


def check_keep(chain: Chain, keep: Path) -> None:
    """Nothing when the demo may write its deployment manifest to ``keep``.

    Raises:
        InvalidInputError: the chain is the embedded one (it is gone when the demo ends), or
            ``keep`` exists (another deployment of the network: never overwritten).
    """
    if chain.embedded:
        raise InvalidInputError(
            "the embedded chain ends with the demo: there is no deployment to keep",
            hint="run a node (`collective node start --dev --data-dir DIR`) and pass "
            "--network local",
        )
    if keep.exists():
        raise InvalidInputError(
            f"{keep} exists: the network has a deployment already, which the demo does not "
            "overwrite",
            hint="move or delete it first, or run the demo without --keep-deployment",
        )


def admit_to_network(
    chain: Chain,
    accounts: dict[str, LocalAccount],
    config: ProjectConfig,
    manifest: Path | None,
    narration: Narration,
) -> None:
    """On a node permissioned by an AccountRules of its own (`collective node` started from
    `node init`, Besu), admit the accounts that will send transactions there too (and
    reinstate a suspended one), telling it as a step when any was. The network's rules are
    the ones its deployment manifest records; the subjects (patient, guardian) never send a
    transaction, so they need no admission. Nothing happens on the embedded chain, on a
    network without a live deployment of the suite, or when the consortium's account is not
    that AccountRules' admin.

    Args:
        chain, accounts, config, manifest, narration: as :func:`assemble`.

    Raises:
        TransactionError: an admission was refused.
        ChainError: the node could not be reached.
    """
    if chain.embedded:
        return
    try:
        network = load_deployment(chain, manifest, verify=True, config=config)
    except CollectiveError:
        return  # no (live) deployment of the suite on this network: nothing to admit to
    rules = Collective(chain, network, accounts["consortium"])
    if not rules.orgs.is_admin(accounts["consortium"].address):
        return
    admitted = []
    for who in ("hospital", "lab", *BOARD):
        address = accounts[who].address
        status = rules.orgs.profile(address).status
        if status == "unknown":
            rules.orgs.admit(address)
        elif status == "suspended":
            rules.orgs.reinstate(address)
        else:
            continue
        admitted.append(who)
    if admitted:
        narration.step(
            "The network admits the accounts that will transact",
            f"{chain.where} is permissioned by AccountRules "
            f"{network.address('AccountRules')}: admitted {', '.join(admitted)}",
        )


__all__ = ["BOARD", "ROLES", "Cast", "admit_to_network", "assemble", "check_keep", "roles"]
