"""The one place where what the layers under a chain raise becomes a Collective error.

Foreign exceptions and what they become::

    RpcFailure with revert data, or "revert" in its message
                                        -> TransactionError (its subclass decoded from the
                                           contract's custom error, collective.chain.revert)
    RpcFailure / web3 / eth-tester errors saying "insufficient funds" or "afford" for a send
                                        -> ChainError "<sender> has too little ether ..."
    RpcFailure otherwise                -> ChainError "<where> refused <what>: <message>"
    TransportError, OSError, requests   -> ChainError "lost the connection to <where> ..."
    web3's ContractLogicError, eth-tester's TransactionFailed (contract objects used directly)
                                        -> TransactionError, decoded as above
    other Web3Exception, eth-utils / eth-tester ValidationError
                                        -> ChainError

Anything else is a bug and is left to propagate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import ValidationError as EthTesterValidationError
from eth_utils.exceptions import ValidationError as EthValidationError
from web3.exceptions import ContractLogicError, Web3Exception

from collective.chain.backend import RpcFailure, TransportError
from collective.chain.http import reason
from collective.chain.revert import decode_revert, error_from_exception
from collective.errors import ChainError, CollectiveError


def too_little_ether(text: str) -> bool:
    """Does a node's (or py-evm's) message say the sender cannot pay?"""
    lowered = text.lower()
    return "insufficient funds" in lowered or "afford" in lowered


def failure_error(
    exc: RpcFailure,
    *,
    where: str,
    what: str,
    tx_hash: str | None = None,
    sender: str | None = None,
) -> CollectiveError:
    """The Collective error for a JSON-RPC error answer.

    Args:
        exc: the error answer.
        where: the chain, for the message ("http://...", "the embedded chain").
        what: what was being done ("grant", "reading code", ...).
        tx_hash: the transaction concerned, if any (0x + 64 hex), carried by a revert.
        sender: the sending address, when the request was a send.

    Returns:
        A :class:`TransactionError` (decoded) for a revert, else a :class:`ChainError`.
    """
    text = exc.message.lower()
    if exc.data is not None or "revert" in text:
        data = exc.data if isinstance(exc.data, str) else None
        if data is None and "revert" in text:
            return error_from_exception(exc, tx_hash=tx_hash)
        return decode_revert(data, tx_hash=tx_hash)
    if sender is not None and too_little_ether(text):
        return ChainError(
            f"{sender} has too little ether on {where} to pay for {what}",
            hint="fund the account, or send from another one",
        )
    if "is not permitted" in text:  # a permissioned node's admission (AccountRules)
        return ChainError(
            f"{where} refused {what}: {exc.message}",
            hint="only accounts AccountRules admits send transactions: an admin admits an "
            "organization (`collective org admit`); a data subject signs instead "
            "(`collective consent sign`, `--withdraw` to withdraw) and an organization "
            "relays it (`collective consent relay`)",
        )
    return ChainError(f"{where} refused {what}: {exc.message}")


def connection_lost(cause: str, *, where: str, what: str) -> ChainError:
    """ChainError "lost the connection to ``where`` while ``what``: ``cause``"."""
    return ChainError(f"lost the connection to {where} while {what}: {cause}")


def translate(
    exc: BaseException,
    *,
    where: str,
    what: str,
    tx_hash: str | None = None,
    sender: str | None = None,
) -> CollectiveError | None:
    """The Collective error for ``exc`` (see the table above), None when it is not foreign
    to a chain (a bug, left to propagate)."""
    if isinstance(exc, CollectiveError):
        return exc
    if isinstance(exc, RpcFailure):
        return failure_error(exc, where=where, what=what, tx_hash=tx_hash, sender=sender)
    if isinstance(exc, TransportError):
        return connection_lost(exc.reason, where=where, what=what)
    if isinstance(exc, ContractLogicError | TransactionFailed):
        return error_from_exception(exc, tx_hash=tx_hash)
    if sender and too_little_ether(str(exc)):
        return ChainError(
            f"{sender} has too little ether on {where} to pay for {what}",
            hint="fund the account, or send from another one",
        )
    if isinstance(exc, requests.RequestException | OSError):
        return connection_lost(reason(exc), where=where, what=what)
    if isinstance(exc, Web3Exception):
        return ChainError(f"{where} failed while {what}: {exc}")
    if isinstance(exc, EthValidationError | EthTesterValidationError):
        return ChainError(f"{where} refused the request while {what}: {exc}")
    return None


@contextmanager
def translated(
    where: str, what: str, tx_hash: str | None = None, sender: str | None = None
) -> Iterator[None]:
    """Raise the Collective error for any foreign exception raised in the block.

    Args:
        where: the chain, for messages.
        what: what the block does, for messages.
        tx_hash: the transaction concerned, if any.
        sender: the sending address, when the block sends.

    Raises:
        CollectiveError: translated from what the block raised (see the table above).
    """
    try:
        yield
    except CollectiveError:
        raise
    except Exception as exc:
        error = translate(exc, where=where, what=what, tx_hash=tx_hash, sender=sender)
        if error is None:
            raise
        raise error from None


__all__ = ["connection_lost", "failure_error", "too_little_ether", "translate", "translated"]
