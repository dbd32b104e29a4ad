"""Proof of authority: the sealing account signs every block it produces.

With ``--authority KEYSTORE`` the node holds that account's key. Each block it seals has the
authority as ``miner`` (the header's coinbase, so the block hash commits to it) and carries a
**seal**: the authority's secp256k1 signature over the block hash, 65 bytes ``r || s || v``
(``v`` 0 or 1), served as the block's ``sealSignature`` field. Anyone can check a block with
:func:`recover_sealer` (the signer must equal ``miner``) without trusting the node.

Why not in ``extraData`` as Clique does (32 bytes of vanity + 65 of signature): headers here
follow the mainnet rules, where ``extraData`` is at most 32 bytes, and web3.py refuses longer
values unless a PoA middleware is installed. A separate field keeps every client working
unchanged. Without ``--authority`` blocks are unsigned and ``miner`` is the zero address.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_keys.datatypes import PrivateKey, Signature
from eth_typing import Address

SEAL_FIELD = "sealSignature"


@dataclass(frozen=True)
class Authority:
    """The sealing account."""

    key: bytes

    @property
    def address(self) -> Address:
        """The 20-byte address the key signs for (every block's ``miner``)."""
        return Address(PrivateKey(self.key).public_key.to_canonical_address())

    def seal(self, block_hash: bytes) -> bytes:
        """The 65-byte signature over ``block_hash``."""
        return bytes(PrivateKey(self.key).sign_msg_hash(block_hash).to_bytes())


def recover_sealer(block_hash: bytes, seal: bytes) -> Address:
    """The address that signed ``block_hash`` (compare it with the block's ``miner``)."""
    return Address(
        Signature(signature_bytes=seal).recover_public_key_from_msg_hash(block_hash)
        .to_canonical_address()
    )  # fmt: skip


__all__ = ["SEAL_FIELD", "Authority", "recover_sealer"]
