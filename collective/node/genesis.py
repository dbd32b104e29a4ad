"""The genesis file: chain id, gas limit, base fee, prefunded accounts (and contracts), and the
node's permissioning settings.

The format is geth's (``config``, ``gasLimit``, ``alloc``, ...) with one extra section,
``config.collective``::

    {
      "config": {"chainId": 131277,
                 "collective": {"accountRules": "0x...", "bootstrapAdmins": ["0x..."]}},
      "gasLimit": "0x1c9c380", "baseFeePerGas": "0x3b9aca00", "timestamp": "0x0",
      "alloc": {"0xf39f...": {"balance": "0x21e19e0c9bab2400000"},
                "0x5fbd...": {"code": "0x6080...", "storage": {"0x0": "0x1"}}}
    }

``accountRules`` names the AccountRules contract that permissions transactions (Besu's
``transactionAllowed`` interface); ``bootstrapAdmins`` may transact while no contract is
deployed at that address, so the first deployment can happen.

:func:`build_genesis` makes one from what ``collective node init`` is told (admins, allocs,
dev accounts; AccountRules predicted at the first admin's first deployment), and
:func:`genesis_for` finds the one ``collective node start`` runs (a file, the data
directory's own, or the default), which :func:`remember_genesis` keeps in the data directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_utils.address import is_address, to_canonical_address, to_checksum_address

from collective.errors import ConfigurationError

DEFAULT_CHAIN_ID = 131277
DEFAULT_GAS_LIMIT = 30_000_000
DEFAULT_BASE_FEE = 1_000_000_000  # 1 gwei, as anvil
DEV_BALANCE = 10_000 * 10**18  # what anvil gives each dev account
GENESIS_NAME = "genesis.json"  # the genesis a data directory was created with


@dataclass(frozen=True)
class AllocAccount:
    """One prefunded account or predeployed contract."""

    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Genesis:
    """Everything block 0 and the node's rules are built from."""

    chain_id: int = DEFAULT_CHAIN_ID
    gas_limit: int = DEFAULT_GAS_LIMIT
    base_fee: int = DEFAULT_BASE_FEE
    timestamp: int = 0
    extra_data: bytes = b""
    alloc: dict[bytes, AllocAccount] = field(default_factory=dict)
    account_rules: bytes | None = None
    bootstrap_admins: tuple[bytes, ...] = ()
    # signed raw transactions block 0 applies to the alloc, in order (the contract suite
    # deployed at genesis: collective.node.predeploy); none in a plain genesis
    transactions: tuple[bytes, ...] = ()

    def state_dict(self) -> dict[bytes, dict[str, Any]]:
        """The alloc in py-evm's genesis-state shape."""
        return {
            address: {
                "balance": acct.balance,
                "nonce": acct.nonce,
                "code": acct.code,
                "storage": dict(acct.storage),
            }
            for address, acct in self.alloc.items()
        }

    def with_dev_accounts(self, addresses: list[bytes]) -> Genesis:
        """This genesis with ``addresses`` funded like anvil's dev accounts (kept if present)."""
        alloc = dict(self.alloc)
        for address in addresses:
            alloc.setdefault(address, AllocAccount(balance=DEV_BALANCE))
        return replace(self, alloc=alloc)

    def to_json(self) -> dict[str, Any]:
        """The genesis file as a JSON object (geth's format plus ``config.collective``, and
        ``transactions``: 0x-hex signed transactions of block 0, only when there are any)."""
        collective: dict[str, Any] = {
            "bootstrapAdmins": [to_checksum_address(a) for a in self.bootstrap_admins]
        }
        if self.account_rules is not None:
            collective["accountRules"] = to_checksum_address(self.account_rules)
        alloc: dict[str, Any] = {}
        for address, acct in sorted(self.alloc.items()):
            entry: dict[str, Any] = {"balance": hex(acct.balance)}
            if acct.nonce:
                entry["nonce"] = hex(acct.nonce)
            if acct.code:
                entry["code"] = "0x" + acct.code.hex()
            if acct.storage:
                entry["storage"] = {
                    "0x" + k.to_bytes(32, "big").hex(): "0x" + v.to_bytes(32, "big").hex()
                    for k, v in sorted(acct.storage.items())
                }
            alloc[to_checksum_address(address)] = entry
        found: dict[str, Any] = {
            "config": {"chainId": self.chain_id, "collective": collective},
            "gasLimit": hex(self.gas_limit),
            "baseFeePerGas": hex(self.base_fee),
            "timestamp": hex(self.timestamp),
            "extraData": "0x" + self.extra_data.hex(),
            "difficulty": "0x0",
            "alloc": alloc,
        }
        if self.transactions:
            found["transactions"] = ["0x" + raw.hex() for raw in self.transactions]
        return found

    def dumps(self) -> str:
        """The genesis file's text (indented JSON, a final newline)."""
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def from_json(cls, raw: Any, source: str = "genesis") -> Genesis:
        """A genesis from a decoded genesis file; ``source`` names it in errors.

        Raises: :class:`~collective.errors.ConfigurationError` naming the field that is
        not an object, a number, hex or an address."""
        if not isinstance(raw, dict):
            raise ConfigurationError(f"{source}: the top level must be a JSON object")
        if "app_state" in raw and "validators" in raw:
            raise ConfigurationError(
                f"{source} is CometBFT's genesis, not the node's",
                hint="give the node the Ethereum genesis it carries as app_state (genesis.json "
                "of `collective network init`, ethereum-genesis.json of `network genesis`)",
            )
        config = raw.get("config", {})
        if not isinstance(config, dict):
            raise ConfigurationError(f"{source}: 'config' must be an object")
        chain_id = _int(config.get("chainId", DEFAULT_CHAIN_ID), f"{source}: config.chainId")
        collective = config.get("collective", {}) or {}
        if not isinstance(collective, dict):
            raise ConfigurationError(f"{source}: config.collective must be an object")
        rules = collective.get("accountRules")
        admins = collective.get("bootstrapAdmins", []) or []
        if not isinstance(admins, list):
            raise ConfigurationError(f"{source}: config.collective.bootstrapAdmins must be a list")
        alloc_raw = raw.get("alloc", {}) or {}
        if not isinstance(alloc_raw, dict):
            raise ConfigurationError(f"{source}: 'alloc' must be an object")
        alloc: dict[bytes, AllocAccount] = {}
        for key, spec in alloc_raw.items():
            where = f"{source}: alloc.{key}"
            address = _address(key if key.startswith("0x") else "0x" + key, where)
            if not isinstance(spec, dict):
                raise ConfigurationError(f"{where} must be an object")
            storage_raw = spec.get("storage", {}) or {}
            if not isinstance(storage_raw, dict):
                raise ConfigurationError(f"{where}.storage must be an object")
            nonce = _int(spec.get("nonce", 0), f"{where}.nonce")
            if not 0 <= nonce <= MAX_GENESIS_NONCE:
                raise ConfigurationError(
                    f"{where}.nonce {nonce} is out of range: at most {MAX_GENESIS_NONCE} "
                    "(the nonces of its transactions are kept as 64-bit signed integers; "
                    "EIP-2681 caps an account's at 2**64 - 1)"
                )
            alloc[address] = AllocAccount(
                balance=_int(spec.get("balance", 0), f"{where}.balance"),
                nonce=nonce,
                code=_bytes(spec.get("code", "0x"), f"{where}.code"),
                storage={
                    _int(k, f"{where}.storage key"): _int(v, f"{where}.storage.{k}")
                    for k, v in storage_raw.items()
                },
            )
        transactions = raw.get("transactions", []) or []
        if not isinstance(transactions, list):
            raise ConfigurationError(f"{source}: 'transactions' must be a list of 0x-hex strings")
        return cls(
            transactions=tuple(
                _bytes(tx, f"{source}: transactions[{i}]") for i, tx in enumerate(transactions)
            ),
            chain_id=chain_id,
            gas_limit=_int(raw.get("gasLimit", DEFAULT_GAS_LIMIT), f"{source}: gasLimit"),
            base_fee=_int(raw.get("baseFeePerGas", DEFAULT_BASE_FEE), f"{source}: baseFeePerGas"),
            timestamp=_int(raw.get("timestamp", 0), f"{source}: timestamp"),
            extra_data=_bytes(raw.get("extraData", "0x"), f"{source}: extraData")[:32],
            alloc=alloc,
            account_rules=_address(rules, f"{source}: accountRules") if rules else None,
            bootstrap_admins=tuple(_address(a, f"{source}: bootstrapAdmins") for a in admins),
        )

    @classmethod
    def load(cls, path: Path) -> Genesis:
        """The genesis file at ``path``.

        Raises: :class:`~collective.errors.ConfigurationError` when it cannot be read, is
        not JSON (naming the line), or is not a valid genesis."""
        try:
            raw = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigurationError(f"cannot read the genesis file {path}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        return cls.from_json(raw, str(path))


MAX_GENESIS_NONCE = 2**63 - 2  # the next transaction's nonce still fits SQLite's INTEGER


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise ConfigurationError(f"{where} must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            pass
    raise ConfigurationError(f"{where} must be a number (decimal or 0x-hex), not {value!r}")


def _bytes(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value.lower().startswith("0x") else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    raise ConfigurationError(f"{where} must be 0x-prefixed hex")


def _address(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not is_address(value):
        raise ConfigurationError(f"{where}: {value!r} is not an address")
    return bytes(to_canonical_address(value))


def contract_address(deployer: bytes, nonce: int) -> bytes:
    """The address a CREATE by ``deployer`` at ``nonce`` deploys to."""
    import rlp
    from eth_utils.crypto import keccak

    return bytes(keccak(rlp.encode([deployer, nonce]))[12:])


def build_genesis(
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    timestamp: int = 0,
    bootstrap_admins: Sequence[bytes] = (),
    allocs: Mapping[bytes, int] | None = None,
    account_rules: bytes | None = None,
    dev: bool = False,
) -> Genesis:
    """A genesis for a new chain, as ``collective node init`` writes it.

    Args: ``chain_id`` (EIP-155); ``gas_limit`` per block, in gas; ``timestamp`` of block 0
    in Unix seconds; ``bootstrap_admins``, 20-byte addresses that may transact while
    AccountRules is not deployed, each funded with :data:`DEV_BALANCE` wei unless
    ``allocs`` says otherwise; ``allocs``, 20-byte address -> balance in wei; ``dev`` funds
    anvil's dev accounts (:mod:`collective.node.dev`) and makes dev account 0 the admin
    when none is given; ``account_rules``, the AccountRules address (default: the first
    admin's first deployment, :func:`contract_address`; none without admins).
    Returns: the :class:`Genesis`. Raises: nothing.
    """
    admins = list(bootstrap_admins)
    alloc: dict[bytes, AllocAccount] = {}
    if dev:
        from collective.node.dev import DevAccounts

        dev_addresses = DevAccounts.create().addresses
        admins = admins or [dev_addresses[0]]
        alloc.update({a: AllocAccount(balance=DEV_BALANCE) for a in dev_addresses})
    for admin in admins:
        alloc.setdefault(admin, AllocAccount(balance=DEV_BALANCE))
    for address, wei in (allocs or {}).items():
        alloc[address] = AllocAccount(balance=wei)
    if account_rules is None and admins:
        account_rules = contract_address(admins[0], 0)
    return Genesis(
        chain_id=chain_id,
        gas_limit=gas_limit,
        timestamp=timestamp,
        alloc=alloc,
        account_rules=account_rules,
        bootstrap_admins=tuple(admins),
    )


def genesis_for(data_dir: Path, genesis_file: Path | None = None) -> Genesis:
    """The genesis ``collective node start`` runs a data directory with: ``genesis_file``
    when given, else the directory's own :data:`GENESIS_NAME` when present, else the default
    chain (id :data:`DEFAULT_CHAIN_ID`).

    Raises: :class:`~collective.errors.ConfigurationError` when the file cannot be read or
    is not a valid genesis."""
    if genesis_file is not None:
        return Genesis.load(genesis_file)
    stored = data_dir / GENESIS_NAME
    if stored.is_file():
        return Genesis.load(stored)
    return Genesis()


def remember_genesis(data_dir: Path, genesis: Genesis) -> None:
    """Keep ``genesis`` as the data directory's :data:`GENESIS_NAME` unless it has one, so a
    restart without ``--genesis`` runs the same chain.

    Raises: ``OSError`` when the file cannot be written."""
    stored = data_dir / GENESIS_NAME
    if not stored.exists():
        stored.write_text(genesis.dumps())


__all__ = [
    "DEFAULT_CHAIN_ID",
    "DEV_BALANCE",
    "GENESIS_NAME",
    "AllocAccount",
    "Genesis",
    "build_genesis",
    "contract_address",
    "genesis_for",
    "remember_genesis",
]
