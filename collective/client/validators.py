"""The consortium's validator set: each organization's CometBFT validator, as AccountRules
holds it.

Only an executed oversight-board proposal (``SetValidator``) sets a validator: an ed25519
public key (32 bytes, the ``pub_key.value`` of CometBFT's ``priv_validator_key.json``, base64
there) and a voting power. The *effective* power is the recorded power while the organization
is active and 0 while it is suspended; every change of it is a ``ValidatorPowerChanged``
event, which the consortium's ABCI application returns to CometBFT as a validator update.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

from web3.types import BlockIdentifier

from collective.client.base import Session
from collective.errors import InvalidInputError
from collective.types import Address

MAX_POWER: Final = 10**12
"""The highest voting power AccountRules accepts for one validator (its ``MAX_POWER``)."""

_KEY_HINT = (
    "give the validator's ed25519 public key as CometBFT prints it (the base64 pub_key.value "
    "of priv_validator_key.json, or `cometbft show-validator`), or as 0x + 64 hex"
)


def validator_key(value: str | bytes) -> bytes:
    """An ed25519 validator public key as the contract's 32 bytes.

    Args:
        value: 32 raw bytes; base64 text of 32 bytes (CometBFT's ``pub_key.value``, 44
            characters); or ``0x`` + 64 hex.

    Returns:
        The 32-byte key.

    Raises:
        InvalidInputError: not 32 bytes in one of those forms, or the zero key.
    """
    raw: bytes | None = None
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        text = value.strip()
        try:
            if text[:2].lower() == "0x":
                raw = bytes.fromhex(text[2:])
            else:
                raw = base64.b64decode(text, validate=True)
        except (ValueError, binascii.Error):
            raw = None
    if raw is None or len(raw) != 32:
        raise InvalidInputError(f"{value!r} is not a 32-byte ed25519 public key", hint=_KEY_HINT)
    if raw == bytes(32):
        raise InvalidInputError("the zero key is not a validator key", hint=_KEY_HINT)
    return raw


def key_base64(key: bytes | str) -> str:
    """``key`` (32 bytes, or ``0x`` + 64 hex) in CometBFT's base64 form."""
    raw = bytes.fromhex(key[2:]) if isinstance(key, str) else bytes(key)
    return base64.b64encode(raw).decode()


def power_value(power: int) -> int:
    """``power`` checked against the contract's range (0 removes; at most :data:`MAX_POWER`).

    Raises:
        InvalidInputError: negative or above :data:`MAX_POWER`.
    """
    if not 0 <= power <= MAX_POWER:
        raise InvalidInputError(
            f"voting power {power} is out of range",
            hint=f"give 0 (remove the validator) to {MAX_POWER:,}",
        )
    return power


@dataclass(frozen=True)
class Validator:
    """An organization's validator: its address, ed25519 key (``0x`` + 64 hex), recorded
    voting power and effective power (the recorded power while the organization is active,
    0 while it is suspended)."""

    organization: Address
    pub_key: str
    power: int
    effective_power: int

    @property
    def pub_key_base64(self) -> str:
        """The key as CometBFT writes it (base64)."""
        return key_base64(self.pub_key)

    def to_dict(self) -> dict[str, object]:
        """The validator as JSON: camelCase keys, the key in both forms."""
        return {
            "organization": self.organization,
            "pubKey": self.pub_key,
            "pubKeyBase64": self.pub_key_base64,
            "power": self.power,
            "effectivePower": self.effective_power,
        }


def validator_of(
    session: Session, organization: Address, block: BlockIdentifier = "latest"
) -> Validator | None:
    """``organization``'s validator (AccountRules ``validatorOf``) at ``block``, None when it
    has none.

    Raises:
        ChainError: the node could not be reached.
    """
    fn = session.rules.functions.validatorOf(organization)
    key, power, effective = session.call(fn, block)
    if bytes(key) == bytes(32):
        return None
    return Validator(organization, "0x" + bytes(key).hex(), int(power), int(effective))


def read_validators(session: Session) -> list[Validator]:
    """Every organization's validator (AccountRules ``validators``), suspended ones included
    at effective power 0, sorted by organization address.

    Raises:
        ChainError: the node could not be reached.
    """
    block = session.chain.block_number()  # one state for the list and each validator's power
    organizations, _, _ = session.call(session.rules.functions.validators(), block)
    found = (validator_of(session, Address(org), block) for org in organizations)
    return sorted((v for v in found if v is not None), key=lambda v: v.organization.lower())


__all__ = [
    "MAX_POWER",
    "Validator",
    "key_base64",
    "power_value",
    "read_validators",
    "validator_key",
    "validator_of",
]
