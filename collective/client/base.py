"""What every sub-client shares: the connection, the sender, contracts and result types.

A :class:`Session` is one chain, one deployment of the suite and one sending account. The
sub-clients (:mod:`~collective.client.orgs`, :mod:`~collective.client.consent`, ...) are thin
typed wrappers over its contracts; each write returns a frozen dataclass derived from
:class:`TxResult`, which carries the transaction hash, block and gas used.

Every identity or organization a sub-client takes as a did:ethr DID goes through
:func:`address_of`, the one place a DID becomes an address: there a DID of another network
than the session's chain is refused (:meth:`~collective.did.DidNetworks.check`). The session
says which chain that is, explicitly (``address_of(value, what, session)``) or, for the
sub-clients of a :class:`~collective.client.Collective`, as the session of the call in
progress (:meth:`Session.bind`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.contract.contract import ContractEvent, ContractFunction
from web3.types import BlockIdentifier, EventData, TxReceipt

from collective.addresses import parse_address
from collective.chain import Chain
from collective.codec import Codec, DecodedLog, checksum
from collective.deploy import LEDGER, Deployment
from collective.did import DidNetworks, network_id, parse_did
from collective.errors import ConfigurationError
from collective.vocab import TermKind
from collective.vocab import term_code as vocab_term_code

T = TypeVar("T")


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: its hash, block number and the gas it used."""

    tx_hash: str
    block_number: int
    gas_used: int


def tx_fields(receipt: TxReceipt) -> dict[str, Any]:
    """The :class:`TxResult` fields of a receipt, to build a derived result with ``**``."""
    return {
        "tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block_number": int(receipt["blockNumber"]),
        "gas_used": int(receipt["gasUsed"]),
    }


@dataclass(frozen=True)
class LogRef:
    """Where an event was emitted: block, transaction and log index."""

    block_number: int
    tx_hash: str
    log_index: int


def log_ref(event: EventData | DecodedLog) -> LogRef:
    return LogRef(
        block_number=int(event["blockNumber"]),
        tx_hash="0x" + bytes(event["transactionHash"]).hex(),
        log_index=int(event["logIndex"]),
    )


_STANDALONE = ("AccountRules", "OversightBoard")  # every other name lives in ConsentLedger


def _deployed_name(name: str) -> str:
    """The deployed contract holding ``name`` (a contract or a ConsentLedger module)."""
    return name if name in _STANDALONE else LEDGER


@dataclass
class Session:
    """One chain, one deployment, one sender; shared by the sub-clients of a facade."""

    chain: Chain
    deployment: Deployment
    account: LocalAccount | None
    custom_terms: bool = False  # purposes and categories outside the DPV vocabulary allowed
    _contracts: dict[str, Contract] = field(default_factory=dict, repr=False)
    _codecs: dict[str, Codec] = field(default_factory=dict, repr=False)

    def contract(self, name: str) -> Contract:
        """The suite's contract ``name`` (module names give ConsentLedger), built once."""
        key = _deployed_name(name)
        found = self._contracts.get(key)
        if found is None:
            found = self._contracts[key] = self.deployment.contract(key)
        return found

    @cached_property
    def ledger(self) -> Contract:
        return self.contract(LEDGER)

    @cached_property
    def rules(self) -> Contract:
        return self.contract("AccountRules")

    @cached_property
    def board(self) -> Contract:
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

    @contextmanager
    def active(self) -> Iterator[None]:
        """Within this block, :func:`address_of` checks DIDs against this session's chain."""
        token = _CURRENT.set(self)
        try:
            yield
        finally:
            _CURRENT.reset(token)

    def bind(self, client: T) -> T:
        """``client`` (a sub-client) with each public method run :meth:`active`, so that every
        DID it is given, however deep it is turned into an address, is checked against this
        session's chain. Returns ``client``, whose bound methods are replaced on the instance."""
        for name, member in inspect.getmembers(type(client)):
            if name.startswith("_") or not callable(member) or isinstance(member, type):
                continue
            if isinstance(inspect.getattr_static(type(client), name), property):
                continue
            setattr(client, name, self._within(getattr(client, name)))
        return client

    def _within(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with self.active():
                return method(*args, **kwargs)

        return call

    @property
    def first_block(self) -> int:
        """The block the suite was deployed in: where event queries start."""
        return min(self.deployment.blocks.values(), default=0)

    def transact(self, fn: ContractFunction, sender: LocalAccount | None = None) -> TxReceipt:
        return self.chain.transact(fn, sender or self.sender)

    def codec(self, name: str = LEDGER) -> Codec:
        """The fast ABI codec of the suite's contract ``name``."""
        key = _deployed_name(name)
        found = self._codecs.get(key)
        if found is None:
            found = self._codecs[key] = Codec(self.contract(key).abi)
        return found

    def send(self, function: str, *args: Any, contract: str = LEDGER) -> TxReceipt:
        """Call ``function(*args)`` on the suite's ``contract`` as the sender and wait.

        Encodes with :class:`~collective.codec.Codec` (hot paths: grants, batches, uses)."""
        data = self.codec(contract).encode(function, args)
        address = self.contract(contract).address
        chain = self.chain
        return chain.wait(chain.send_data(address, data, self.sender, what=function))

    def call(self, fn: ContractFunction, block: BlockIdentifier = "latest") -> Any:
        return self.chain.call(fn, block=block)

    def events(
        self,
        event: ContractEvent,
        filters: dict[str, Any] | None = None,
        from_block: int | None = None,
    ) -> list[DecodedLog]:
        """Every ``event`` matching ``filters`` (indexed arguments) since the deployment,
        emitted by the suite's own contract (never a look-alike), in chain order."""
        address = to_checksum_address(event.address)
        codec = self.codec(self._name_at(address))
        query = {
            "address": address,
            "fromBlock": hex(self.first_block if from_block is None else from_block),
            "toBlock": "latest",
            "topics": codec.topic_filter(event.event_name, filters or {}),
        }
        with self.chain.exclusive(), self.chain.reading(f"reading {event.event_name} events"):
            if self.chain.embedded:
                raw: list[Any] = list(self.chain.w3.eth.get_logs(query))  # type: ignore[arg-type]
            else:
                raw = self.chain.request("eth_getLogs", [query])
        out = [codec.decode_log(log) for log in raw]
        return [log for log in out if log is not None and log.event == event.event_name]

    def decoded(self, event: ContractEvent, receipt: TxReceipt) -> list[DecodedLog]:
        """``event``'s logs in ``receipt`` emitted by the suite (never a look-alike)."""
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


_CURRENT: ContextVar[Session | None] = ContextVar("collective_session", default=None)


def address_of(value: str | LocalAccount, what: str, session: Session | None = None) -> str:
    """A checksummed address from an address, an account or a did:ethr DID.

    An address in mixed case must carry its right EIP-55 checksum
    (:func:`collective.addresses.parse_address`); a DID's address is checked the same way.
    A DID must be anchored on the chain of ``session`` (default: the session of the sub-client
    call in progress, see :meth:`Session.bind`): one of another network raises
    ConfigurationError naming the DID, its network and the connected chain. Without any
    session a DID is only parsed.
    """
    if isinstance(value, LocalAccount):
        return value.address
    text = str(value)
    address, network = _address_of(text, what)
    if network is not None:
        within = session if session is not None else _CURRENT.get()
        if within is not None and network not in within.did_networks.ids:
            raise within.did_networks.refusal(text.strip(), network, address)
    return address


@lru_cache(maxsize=65536)
def _address_of(value: str, what: str) -> tuple[str, str | None]:
    """(checksummed address, the DID's network part or None)."""
    text = value.strip()
    if text.startswith("did:"):
        return parse_did(text).address, network_id(text)
    return parse_address(text, what), None


def term_code(value: str | bytes, kind: TermKind, session: Session | None = None) -> bytes:
    """The bytes32 code of a purpose or personal-data category, a name checked against the
    DPV vocabulary (:func:`collective.vocab.term_code`): one outside it raises
    ConfigurationError with a "did you mean" unless the session (default: the session of the
    sub-client call in progress) was made with ``custom_terms=True``."""
    within = session if session is not None else _CURRENT.get()
    return vocab_term_code(value, kind, custom=within is not None and within.custom_terms)


def data_ref(value: bytes | str) -> bytes:
    """A 32-byte data reference: 32 bytes or 0x+64 hex as given, anything else hashed.

    Pass a record locator (e.g. ``"lab-report/2026/0042"``); only its keccak256 hash goes on
    chain, never the text.
    """
    if isinstance(value, bytes):
        if len(value) == 32:
            return value
        return keccak(value)
    text = value.strip()
    if text.startswith("0x") and len(text) == 66:
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            pass
    return keccak(text.encode())


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def first(results: Sequence[Any], what: str) -> Any:
    if not results:
        raise ConfigurationError(f"the transaction emitted no {what} event")
    return results[0]


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


__all__ = ["LogRef", "Session", "TxResult", "address_of", "data_ref", "term_code", "tx_fields"]
