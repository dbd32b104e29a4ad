"""The Python client: one facade over the deployed suite, with a typed sub-client per concern.

    from collective import Collective

    lab = Collective.connect(network="anvil", account="lab")      # keystore "lab"
    lab.usage.record(patient_did, "dpv:ResearchAndDevelopment", "dpv-pd:MedicalHealth", "lab/42")

``orgs`` (admin), ``policies``, ``consent``, ``signing`` (gasless consent), ``usage``, ``did``,
``oversight``, ``erasure`` (GDPR Art. 17) and ``disclosure`` (onward disclosure, Art.
13(1)(e)). Writes return frozen dataclasses with ``tx_hash``, ``block_number`` and
``gas_used``; contract errors raise :class:`~collective.errors.CollectiveError` subclasses
with the transaction hash and a message a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eth_account.signers.local import LocalAccount

from collective.chain import Chain, connect
from collective.client.base import Session
from collective.client.consent import ConsentClient
from collective.client.datarefs import DataRefStore
from collective.client.did import DidClient
from collective.client.disclosure import DisclosureClient
from collective.client.erasure import ErasureClient
from collective.client.orgs import Orgs
from collective.client.oversight import OversightClient
from collective.client.policies import Policies
from collective.client.records import TxResult
from collective.client.signing import SigningClient
from collective.client.usage import UsageClient
from collective.config import ProjectConfig, load_config
from collective.deploy import Deployment, deploy_suite, load_deployment
from collective.types import Address


class Collective:
    """A connection to one deployment of the suite, acting as one account."""

    def __init__(
        self,
        chain: Chain,
        deployment: Deployment,
        account: LocalAccount | None = None,
        *,
        custom_terms: bool = False,
        data_refs: DataRefStore | str | Path | None = None,
    ) -> None:
        """A client of ``deployment`` on ``chain``, acting as ``account``.

        Args:
            chain: the connection.
            deployment: the suite's deployment (bound to ``chain`` if it is not).
            account: the sending account (None: read-only; writes raise ConfigurationError).
            custom_terms: take purposes and categories outside the DPV vocabulary of
                :mod:`collective.ledger.vocab` (by default such a name is refused with a "did you
                mean", as a misspelled term would otherwise go on chain as a new code).
            data_refs: the organization's data-reference store (or its file's path, opened
                here): ``usage`` then keys record locators (recommended; see
                :mod:`collective.client.usage`). None: locators are hashed with keccak256.

        Raises:
            ConfigurationError: ``data_refs`` names a file that cannot be used as a store.
        """
        self.chain = chain
        self.deployment = deployment.bind(chain) if deployment.chain is not chain else deployment
        self.session = session = Session(chain, self.deployment, account, custom_terms)
        # Each sub-client checks every DID it is given against this chain (Session.address).
        self.orgs = Orgs(session)
        self.policies = Policies(session)
        self.consent = ConsentClient(session)
        self.signing = SigningClient(session, self.consent)
        store = data_refs if isinstance(data_refs, DataRefStore | None) else DataRefStore(data_refs)
        self.usage = UsageClient(session, store)
        self.did = DidClient(session)
        self.oversight = OversightClient(session)
        self.erasure = ErasureClient(session, self.usage)
        self.disclosure = DisclosureClient(session, self.usage)

    @classmethod
    def connect(
        cls,
        network: str | None = None,
        *,
        rpc: str | None = None,
        account: LocalAccount | str | int | None = None,
        deployment: Deployment | str | Path | None = None,
        password: str | None = None,
        prompt: Callable[[str], str] | None = None,
        read_only: bool = False,
        config: ProjectConfig | None = None,
        custom_terms: bool = False,
        data_refs: DataRefStore | str | Path | None = None,
    ) -> Collective:
        """Connect to ``network`` (from hardhat.config.json) or the node at ``rpc``.

        ``account``: a LocalAccount, a dev account index, an address, or a keystore name
        (password from ``password``, else ``COLLECTIVE_PASSWORD``); default: the key in
        ``COLLECTIVE_PRIVATE_KEY``, else dev account 0. ``prompt(name)`` asks for a keystore's
        password when neither is given. ``read_only`` connects without an account (reads only;
        writes raise ConfigurationError). ``deployment``: a Deployment or a manifest path;
        default: the network's manifest ``deployments/<network>.json``. On the embedded chain,
        which is new in every process, the suite is deployed fresh. ``custom_terms``: take
        purposes and categories outside the DPV vocabulary, ``data_refs``: the
        organization's data-reference store or its path (both: see :meth:`__init__`).

        Returns:
            The connected :class:`Collective`.

        Raises:
            ConfigurationError: an unknown network, a bad configuration or manifest, a
                keystore that cannot be opened.
            ChainError: the node could not be reached, or the manifest's code is not on it.
        """
        from collective.accounts import resolve_account

        config = config or load_config()
        chain = connect(network, rpc, config)
        sender = (
            None if read_only else resolve_account(chain, account, password=password, prompt=prompt)
        )
        if isinstance(deployment, Deployment):
            found = deployment.bind(chain)
        elif chain.embedded and deployment is None:
            found = deploy_suite(chain, sender or chain.dev_account(0), config=config)
        else:
            path = Path(deployment) if deployment is not None else None
            found = load_deployment(chain, path, config=config)
        return cls(chain, found, sender, custom_terms=custom_terms, data_refs=data_refs)

    @property
    def account(self) -> LocalAccount | None:
        """The sending account (None for a read-only client)."""
        return self.session.account

    @property
    def address(self) -> Address:
        """The sending account's address.

        Raises:
            ConfigurationError: a read-only client.
        """
        return Address(self.session.sender.address)

    def as_account(self, account: LocalAccount) -> Collective:
        """The same chain and deployment, acting as ``account`` (contracts and the
        data-reference store, whose secrets are kept per organization, are shared).

        Args:
            account: the account to send from.

        Returns:
            A new :class:`Collective`.
        """
        twin = Collective(
            self.chain,
            self.deployment,
            account,
            custom_terms=self.session.custom_terms,
            data_refs=self.usage.data_refs,
        )
        twin.session._contracts = self.session._contracts
        return twin

    def __repr__(self) -> str:
        who = self.account.address if self.account else "read-only"
        return f"Collective({self.chain.name}, chain {self.chain.chain_id}, {who})"


__all__ = ["Collective", "TxResult"]
