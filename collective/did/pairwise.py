"""Pairwise identities: one BIP-39 mnemonic, a distinct did:ethr identity per organization.

The derivation rule (BIP-32 key derivation along a BIP-44 shaped path, every level hardened)::

    index   = first 31 bits of keccak256(uint256 chainId || address organization)
    path    = m/44'/60'/{index}'/{counter}'/{generation}'
    seed    = BIP-39 seed of (mnemonic, passphrase)            (PBKDF2-HMAC-SHA512, 2048 rounds)

- ``index`` puts each organization of each chain on its own BIP-44 "account" branch, so two
  organizations (or one organization on two chains) never see the same address.
- ``counter`` separates organizations whose ``index`` collides (31 bits: a collision is
  likely only past ~46,000 organizations, but possible): among the organizations sharing an
  index, the k-th in the consortium's admission order (``AccountRules``' first
  ``AccountAdmitted`` event of each, an order history never changes) takes counter k; an
  organization not admitted yet comes after every admitted one. See :func:`counters`.
- ``generation`` is the owner key's generation: the identity's address is generation 0's
  address; after the n-th key rotation (ERC-1056 ``changeOwner``) generation n owns it, so the
  mnemonic always regains the current key too.

Every level is hardened (BIP-32, "Private parent key -> private child key"): a hardened child
key is computed from the parent's *private* key, so an organization that learns one child key
(its pairwise identity's, e.g. from a compromised phone) together with any public data cannot
compute the parent key or any sibling: with non-hardened derivation a child private key plus
the parent's extended public key gives the parent private key, and with it every identity.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Final

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.hdaccount.mnemonic import Mnemonic
from eth_account.signers.local import LocalAccount
from eth_account.types import Language
from eth_utils.crypto import keccak

from collective.did.identifiers import checksummed
from collective.errors import InvalidInputError
from collective.types import Address

HARDENED: Final = 0x8000_0000
"""BIP-32's first hardened child index (2**31); the path's indexes are below it, marked ``'``."""

MNEMONIC_WORDS: Final = 24
"""Words in a new mnemonic: 24 words carry 256 bits of entropy (BIP-39)."""


def index_of(chain_id: int, organization: str) -> int:
    """The organization's BIP-44 account index on this chain.

    Args:
        chain_id: the chain's EIP-155 id (e.g. 31337).
        organization: the organization's address (``0x`` + 40 hex, any case).

    Returns:
        The first 31 bits of keccak256(uint256 chainId || address organization), in
        [0, 2**31) (used hardened).

    Raises:
        InvalidInputError: ``organization`` is not an address (or its mixed case is not its
            EIP-55 checksum), or ``chain_id`` is negative.
    """
    if chain_id < 0:
        raise InvalidInputError(f"chain id {chain_id} is negative")
    digest = keccak(chain_id.to_bytes(32, "big") + bytes.fromhex(_address(organization)[2:]))
    return int.from_bytes(digest[:4], "big") >> 1


def derivation_path(
    chain_id: int, organization: str, *, counter: int = 0, generation: int = 0
) -> str:
    """The BIP-32 path of the organization's pairwise key (see the module's rule).

    Args:
        chain_id: the chain's EIP-155 id.
        organization: the organization's address.
        counter: the collision counter (:func:`counters`), 0 unless the index collides.
        generation: the owner key's generation, 0 for the identity's own key.

    Returns:
        ``m/44'/60'/{index}'/{counter}'/{generation}'``.

    Raises:
        InvalidInputError: a bad address, or ``counter`` / ``generation`` outside [0, 2**31).
    """
    for name, value in (("counter", counter), ("generation", generation)):
        if not 0 <= value < HARDENED:
            raise InvalidInputError(f"{name} {value} is outside 0 .. 2**31 - 1")
    return f"m/44'/60'/{index_of(chain_id, organization)}'/{counter}'/{generation}'"


def counters(chain_id: int, admitted: Iterable[str], wanted: Iterable[str]) -> dict[Address, int]:
    """Each wanted organization's collision counter.

    Args:
        chain_id: the chain's EIP-155 id.
        admitted: the consortium's organizations in admission order (duplicates: the first
            counts).
        wanted: the organizations to place; those not in ``admitted`` come after all of it,
            in the order given.

    Returns:
        Checksummed address -> counter: the number of organizations before it (in that
        order) that share its index.

    Raises:
        InvalidInputError: an address that is not one.
    """
    order: dict[Address, None] = {}
    for org in (*admitted, *wanted):
        order.setdefault(_address(org), None)
    taken: dict[int, int] = {}
    placed: dict[Address, int] = {}
    for org in order:
        index = index_of(chain_id, org)
        placed[org] = taken.get(index, 0)
        taken[index] = placed[org] + 1
    return {org: placed[org] for org in (_address(w) for w in wanted)}


def new_mnemonic(words: int = MNEMONIC_WORDS) -> str:
    """A fresh English BIP-39 mnemonic from the operating system's randomness.

    Args:
        words: 12, 15, 18, 21 or 24.

    Raises:
        InvalidInputError: another word count.
    """
    strength = {12: 128, 15: 160, 18: 192, 21: 224, 24: 256}.get(words)
    if strength is None:
        raise InvalidInputError(f"a mnemonic has 12, 15, 18, 21 or 24 words, not {words}")
    return str(Mnemonic(Language.ENGLISH).to_mnemonic(secrets.token_bytes(strength // 8)))


def seed_of(mnemonic: str, passphrase: str = "") -> bytes:
    """The 64-byte BIP-39 seed of a mnemonic and its optional passphrase.

    Args:
        mnemonic: the words, separated by spaces (extra whitespace and case are ignored).
        passphrase: BIP-39's optional passphrase ("" for none).

    Raises:
        InvalidInputError: not a valid BIP-39 mnemonic (unknown word, wrong count or
            checksum). The message never repeats the words.
    """
    words = " ".join(mnemonic.lower().split())
    try:
        return bytes(seed_from_mnemonic(words, passphrase))
    except Exception:  # eth-account's message quotes the words: never pass it on
        raise InvalidInputError(
            "the mnemonic is not a valid BIP-39 phrase (a word is misspelled or missing, or "
            "the words are out of order)",
            hint="type the 12 to 24 words exactly as written down, separated by spaces",
        ) from None


def key_at(seed: bytes, path: str) -> LocalAccount:
    """The account at a BIP-32 path of a BIP-39 seed.

    Args:
        seed: the 64-byte seed (:func:`seed_of`).
        path: a path such as :func:`derivation_path` gives.
    """
    account: LocalAccount = Account.from_key(key_from_seed(seed, path))
    return account


def _address(value: str) -> Address:
    return checksummed(str(value).strip(), "organization")


__all__ = [
    "HARDENED",
    "MNEMONIC_WORDS",
    "counters",
    "derivation_path",
    "index_of",
    "key_at",
    "new_mnemonic",
    "seed_of",
]
