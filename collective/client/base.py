"""What every sub-client shares: the connection, the sender, contracts and result types.

A :class:`Session` is one chain, one deployment of the suite and one sending account. The
sub-clients (:mod:`~collective.client.orgs`, :mod:`~collective.client.consent`, ...) are thin
typed wrappers over its contracts; each write returns a frozen dataclass derived from
:class:`~collective.client.records.TxResult`, which carries the transaction hash, block and gas
used.

Every identity or organization a sub-client takes goes through :meth:`Session.address` (or
:func:`address_of` given the session), the one place an address, an account or a did:ethr DID
becomes an address: there a DID of another network than the session's chain is refused
(:meth:`~collective.did.DidNetworks.check`). Purposes and categories go through
:meth:`Session.term`, which knows whether the session takes terms outside the DPV vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.contract.contract import ContractEvent, ContractFunction
from web3.types import BlockIdentifier, TxReceipt

from collective._moved import deprecated_names
from collective.chain import Chain
from collective.chain.addresses import parse_address
from collective.chain.backend import RpcFailure
from collective.chain.codec import Codec, DecodedLog, checksum
from collective.client.records import TxResult, log_position, tx_fields
from collective.deploy import LEDGER, Deployment
from collective.did import DidNetworks, network_id, parse_did
from collective.errors import ConfigurationError, NotFoundError
from collective.ledger.vocab import TermKind
from collective.ledger.vocab import term_code as vocab_term_code
from collective.types import Address, LogPosition

__getattr__ = deprecated_names(
    __name__,
    {
        "LogRef": ("collective.types.LogPosition", LogPosition),
        "log_ref": ("collective.client.records.log_position", log_position),
    },
)


_STANDALONE = ("AccountRules", "OversightBoard")  # every other name lives in ConsentLedger


def _deployed_name(name: str) -> str:
    """The deployed contract holding ``name`` (a contract or a ConsentLedger module)."""
    return name if name in _STANDALONE else LEDGER


@dataclass
class Session:
    """One chain, one deployment, one sender; shared by the sub-clients of a facade.

    Args:
        chain: the connection.
        deployment: the suite's deployment on ``chain``.
        account: the sending account (None: read-only).
        custom_terms: take purposes and categories outside the DPV vocabulary.
    """

    chain: Chain
    deployment: Deployment
    account: LocalAccount | None
    custom_terms: bool = False  # purposes and categories outside the DPV vocabulary allowed
    _contracts: dict[str, Contract] = field(default_factory=dict, repr=False)
    _codecs: dict[str, Codec] = field(default_factory=dict, repr=False)

    def contract(self, name: str) -> Contract:
        """The suite's contract ``name`` (module names give ConsentLedger), built once.

        Raises:
            ConfigurationError: the deployment has no such contract.
        """
        key = _deployed_name(name)
        found = self._contracts.get(key)
        if found is None:
            found = self._contracts[key] = self.deployment.contract(key)
        return found

    @cached_property
    def ledger(self) -> Contract:
        """The ConsentLedger contract (consents, uses, policies, the DID registry)."""
        return self.contract(LEDGER)

    @cached_property
    def rules(self) -> Contract:
        """The AccountRules contract (admins and organizations)."""
        return self.contract("AccountRules")

    @cached_property
    def board(self) -> Contract:
        """The OversightBoard contract."""
        return self.contract("OversightBoard")

    @property
    def sender(self) -> LocalAccount:
        """The sending account; ConfigurationError for a read-only session."""
        if self.account is None:
            raise ConfigurationError(
                "this client has no account to send transactions from",
                hint="connect with account=... (a dev account index, keystore name or key)",
            )
        return self.account

    @cached_property
    def did_networks(self) -> DidNetworks:
        """The did:ethr networks that name this session's chain (hardhat.config.json's names
        for its chain id, and its chain id in hex)."""
        return DidNetworks.of(
            self.chain.chain_id,
            config=self.deployment.config,
            connected_as=self.chain.name,
        )

    def address(self, value: str | LocalAccount, what: str) -> Address:
        """``value`` (an address, an account or a did:ethr DID) as a checksummed address,
        a DID checked against this session's chain (see :func:`address_of`).

        Raises:
            InvalidInputError: ``value`` is not an address or a DID, its EIP-55 checksum is
                wrong, or it is a DID of another network than this chain's.
        """
        return address_of(value, what, self)

    def party_filters(
        self, identity: str | LocalAccount | None, organization: str | LocalAccount | None
    ) -> dict[str, Any]:
        """An event filter on the indexed ``identity`` and/or ``organization`` arguments
        (each an address, account or DID; None: any), for :meth:`events`.

        Raises:
            InvalidInputError: as :meth:`address`.
        """
        filters: dict[str, Any] = {}
        if identity is not None:
            filters["identity"] = self.address(identity, "identity")
        if organization is not None:
            filters["organization"] = self.address(organization, "organization")
        return filters

    def term(self, value: str | bytes, kind: TermKind) -> bytes:
        """The 32-byte code of a purpose or category (see :func:`term_code`)."""
        return term_code(value, kind, self)

    def block_times(self, blocks: Iterable[int]) -> dict[int, int]:
        """The timestamps (unix seconds) of ``blocks``, asked in one JSON-RPC batch
        (``eth_getBlockByNumber`` each; one by one from a chain that takes no batches).

        Raises:
            NotFoundError: a block is not on the chain.
            ChainError: the node could not be asked.
        """
        wanted = list(dict.fromkeys(blocks))
        if not wanted:
            return {}
        calls = [("eth_getBlockByNumber", [hex(block), False]) for block in wanted]
        with self.chain.reading("reading block times"):
            answers = self.chain.backend.batch(calls)
        out: dict[int, int] = {}
        for block, answer in zip(wanted, answers, strict=True):
            if isinstance(answer, RpcFailure) or not isinstance(answer, dict):
                out[block] = int(self.chain.get_block(block)["timestamp"])  # its own error
            else:
                out[block] = int(answer["timestamp"], 16)
        return out

    @property
    def first_block(self) -> int:
        """The block the suite was deployed in: where event queries start."""
        return min(self.deployment.blocks.values(), default=0)

    def transact(self, fn: ContractFunction, sender: LocalAccount | None = None) -> TxReceipt:
        """Send ``fn`` as ``sender`` (default: the session's) and wait for its receipt.

        Raises:
            ConfigurationError: a read-only session and no ``sender``.
            TransactionError: it reverted (a typed subclass names the contract error).
            ChainError: the node could not be reached.
        """
        return self.chain.transact(fn, sender or self.sender)

    def codec(self, name: str = LEDGER) -> Codec:
        """The fast ABI codec (:class:`~collective.chain.codec.Codec`) of the suite's
        contract ``name``, built once."""
        key = _deployed_name(name)
        found = self._codecs.get(key)
        if found is None:
            found = self._codecs[key] = Codec(self.contract(key).abi)
        return found

    def send(self, function: str, *args: Any, contract: str = LEDGER) -> TxReceipt:
        """Call ``function(*args)`` on the suite's ``contract`` as the sender and wait.

        Encodes with :class:`~collective.chain.codec.Codec` (hot paths: grants, batches, uses).

        Args:
            function: the contract function's name (e.g. ``"grant"``).
            args: its arguments in ABI form (checksummed addresses, 32-byte codes, ints).
            contract: the suite's contract (default: ConsentLedger).

        Returns:
            The transaction receipt (web3's ``TxReceipt`` shape).

        Raises:
            InvalidInputError: the arguments do not fit the function.
            ConfigurationError: a read-only session.
            TransactionError: it reverted (a typed subclass names the contract error).
            ChainError: the node could not be reached.
        """
        data = self.codec(contract).encode(function, args)
        address = self.contract(contract).address
        chain = self.chain
        return chain.wait(chain.send_data(address, data, self.sender, what=function))

    def call(self, fn: ContractFunction, block: BlockIdentifier = "latest") -> Any:
        """``fn``'s return value at ``block`` (a number or tag; default ``"latest"``).

        Raises:
            TransactionError: the call reverted.
            ChainError: the node could not be reached.
        """
        return self.chain.call(fn, block=block)

    def events(
        self,
        event: ContractEvent,
        filters: dict[str, Any] | None = None,
        from_block: int | None = None,
    ) -> list[DecodedLog]:
        """Every ``event`` matching ``filters`` since the deployment, emitted by the suite's
        own contract (never a look-alike), in chain order.

        Args:
            event: the contract event (e.g. ``session.ledger.events.DataUsed()``).
            filters: indexed argument name -> value (e.g. ``{"identity": address}``).
            from_block: the first block to read (default: the deployment's first).

        Returns:
            The :class:`~collective.chain.codec.DecodedLog` s.

        Raises:
            InvalidInputError: a filter names no indexed argument or does not fit it.
            ChainError: the node could not be reached.
        """
        address = to_checksum_address(event.address)
        codec = self.codec(self._name_at(address))
        query = {
            "address": address,
            "fromBlock": hex(self.first_block if from_block is None else from_block),
            "toBlock": "latest",
            "topics": codec.topic_filter(event.event_name, filters or {}),
        }
        with self.chain.exclusive(), self.chain.reading(f"reading {event.event_name} events"):
            raw: list[Any] = self.chain.request("eth_getLogs", [query])
        out = [codec.decode_log(log) for log in raw]
        return [log for log in out if log is not None and log.event == event.event_name]

    def decoded(self, event: ContractEvent, receipt: TxReceipt) -> list[DecodedLog]:
        """``event``'s logs in ``receipt`` (web3's ``TxReceipt`` shape) emitted by the suite
        (never a look-alike), decoded, in log order."""
        address = to_checksum_address(event.address)
        codec = self.codec(self._name_at(address))
        out = []
        for log in receipt["logs"]:
            if checksum(log["address"]) != address:
                continue
            decoded = codec.decode_log(log)
            if decoded is not None and decoded.event == event.event_name:
                out.append(decoded)
        return out

    def _name_at(self, address: str) -> str:
        for name in _STANDALONE:
            if self.deployment.address(name) == address:
                return name
        return LEDGER


def address_of(
    value: str | LocalAccount, what: str, session: Session | DidNetworks | None = None
) -> Address:
    """A checksummed address from an address, an account or a did:ethr DID.

    Args:
        value: ``0x`` + 40 hex (in mixed case it must carry its right EIP-55 checksum, see
            :func:`collective.chain.addresses.parse_address`), a ``LocalAccount``, or a
            ``did:ethr`` DID (its address is checked the same way).
        what: what the value is, for messages (``"organization"``).
        session: the session (or the :class:`~collective.did.DidNetworks`) whose chain a DID
            must be anchored on; without one a DID is only parsed.

    Returns:
        The EIP-55 checksummed address.

    Raises:
        InvalidInputError: not an address or a DID, a wrong checksum, or a DID of another
            network than ``session``'s chain (naming the DID, its network and the connected
            chain).
    """
    if isinstance(value, LocalAccount):
        return Address(value.address)
    text = str(value)
    address, network = _address_of(text, what)
    if network is not None and session is not None:
        networks = session.did_networks if isinstance(session, Session) else session
        if network not in networks.ids:
            raise networks.refusal(text.strip(), network, address)
    return Address(address)


@lru_cache(maxsize=65536)
def _address_of(value: str, what: str) -> tuple[str, str | None]:
    """(checksummed address, the DID's network part or None); InvalidInputError when
    ``value`` is neither an address nor a did:ethr DID."""
    text = value.strip()
    if text.startswith("did:"):
        return parse_did(text).address, network_id(text)
    return parse_address(text, what), None


def term_code(value: str | bytes, kind: TermKind, session: Session | None = None) -> bytes:
    """The bytes32 code of a purpose or personal-data category.

    Args:
        value: a DPV name (``"dpv:ResearchAndDevelopment"``), 32 bytes, or ``0x`` + 64 hex.
        kind: ``"purpose"`` or ``"category"``.
        session: its ``custom_terms`` lets names outside the DPV vocabulary through.

    Returns:
        The 32-byte code (``keccak256(utf8(name))`` for a name).

    Raises:
        InvalidInputError: a name outside the DPV vocabulary (with a "did you mean"), unless
            ``session`` was made with ``custom_terms=True``
            (:func:`collective.ledger.vocab.term_code`).
    """
    return vocab_term_code(value, kind, custom=session is not None and session.custom_terms)


def data_ref(value: bytes | str) -> bytes:
    """A 32-byte data reference: 32 bytes or 0x+64 hex as given, anything else hashed.

    Pass a record locator (e.g. ``"lab-report/2026/0042"``); only its keccak256 hash goes on
    chain, never the text. Anyone who guesses the locator can confirm such a hash: prefer the
    keyed reference of a :class:`~collective.client.datarefs.DataRefStore`.

    Args:
        value: 32 bytes or ``0x`` + 64 hex (taken as is), or any other text or bytes (hashed).

    Returns:
        32 bytes.
    """
    raw = raw_ref(value)
    if raw is not None:
        return raw
    if isinstance(value, bytes):
        return keccak(value)
    return keccak(value.strip().encode())


def raw_ref(value: bytes | str) -> bytes | None:
    """``value`` when it already is a 32-byte reference (32 bytes, or ``0x`` + 64 hex after
    stripping spaces), else None (a locator still to hash).

    Args:
        value: a data reference or a record locator.

    Returns:
        The 32 bytes, or None.
    """
    if isinstance(value, bytes):
        return value if len(value) == 32 else None
    text = value.strip()
    if text.startswith("0x") and len(text) == 66:
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            pass
    return None


def hex32(value: bytes) -> str:
    """``value`` (32 bytes) as ``0x`` + 64 hex."""
    return "0x" + bytes(value).hex()


def first(results: Sequence[Any], what: str) -> Any:
    """The first of ``results`` (decoded events of a transaction).

    Raises:
        NotFoundError: there is none (the transaction emitted no ``what`` event).
    """
    if not results:
        raise NotFoundError(f"the transaction emitted no {what} event")
    return results[0]


def unique(values: Iterable[str]) -> list[str]:
    """``values`` without repeats, in first-seen order."""
    return list(dict.fromkeys(values))


__all__ = ["Session", "TxResult", "address_of", "data_ref", "term_code", "tx_fields"]
