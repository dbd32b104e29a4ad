"""Turn revert data into :class:`~collective.errors.TransactionError` subclasses.

Every custom error in the suite's artifacts is indexed by its 4-byte selector. Revert data is
decoded against that table (plus Solidity's built-in ``Error(string)`` and ``Panic(uint256)``)
into the error a caller can act on:

- :class:`~collective.errors.ConsentError` for missing, expired, stale or withdrawn consent and
  for unacceptable consent signatures;
- :class:`~collective.errors.NotPermittedError` for role, membership and organization-status
  failures (AccountRules, OversightBoard, identity ownership);
- :class:`~collective.errors.TransactionError` for anything else.

``error_name`` and ``error_args`` (keyed by the ABI's input names) carry the decoded error.
:func:`revert_data` gets the raw bytes out of web3's ``ContractLogicError`` family (raised by
web3 contract objects) and eth-tester's ``TransactionFailed``;
:mod:`collective.chain.errors` hands it a backend's JSON-RPC error answers. The sentences for
each error live in :mod:`collective.chain.revert_messages`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from web3.exceptions import ContractLogicError

from collective.build.artifacts import artifact_names, artifacts_root, load_artifact
from collective.chain.revert_messages import MESSAGES as _MESSAGES
from collective.chain.revert_messages import hexed
from collective.config import ProjectConfig
from collective.errors import (
    ConsentError,
    ConsentExpiredError,
    ConsentMissingError,
    IdentityDeactivatedError,
    NotPermittedError,
    OrganizationSuspendedError,
    SignatureError,
    StalePolicyError,
    TransactionError,
)

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)

PANIC_REASONS: dict[int, str] = {
    0x00: "a generic compiler-inserted panic",
    0x01: "an assert failed",
    0x11: "an arithmetic overflow or underflow",
    0x12: "a division or modulo by zero",
    0x21: "a conversion to an invalid enum value",
    0x22: "an incorrectly encoded storage byte array",
    0x31: "pop() on an empty array",
    0x32: "an array index out of bounds",
    0x41: "an allocation of too much memory",
    0x51: "a call to a zero-initialized internal function",
}

CONSENT_ERRORS = frozenset(
    {
        "NoConsent",
        "ConsentExpired",
        "StalePolicyVersion",
        "PolicyNotCurrent",
        "SignatureExpired",
        "PolicyHashMismatch",
        "IdentityDeactivated",
        "InvalidNonce",
        "NonceInFuture",
        "SignerNotAuthorized",
        "InvalidSignature",
        "ExpiryInPast",
        "UnknownPolicyVersion",
        "InvalidPolicy",
        # DisclosureLog (onward disclosure)
        "NoDisclosureConsent",
        # ErasureRegistry (GDPR Art. 17) and the use it stops
        "UseAfterErasureRequest",
        "ErasureAlreadyRequested",
        "NoErasureRequest",
        "ErasureAlreadyConfirmed",
    }
)

PERMISSION_ERRORS = frozenset(
    {
        # roles and organization status, checked by every ledger module
        "NotAdmin",
        "NotAdminOrBoard",
        "OrganizationNotAdmitted",
        "OrganizationSuspended",
        "NotIdentityOwner",
        "NotMember",
        # the rest of AccountRules
        "ZeroAddress",
        "AlreadyAdmitted",
        "NotAdmitted",
        "NotActive",
        "NotSuspended",
        "AlreadyAdmin",
        "LastAdmin",
        # the rest of OversightBoard
        "UnknownProposal",
        "AlreadyExecuted",
        "AlreadyApproved",
        "ThresholdNotReached",
        "InvalidThreshold",
        "AlreadyMember",
        "InvalidTarget",
        "ProposalExpired",
        "InvalidLifetime",
        "RemovalObjected",
        "RemovalWaiting",
        # role separation and the board's own suspensions
        "RoleConflict",
        "BoardSuspension",
        "NotBoard",
        # the validator set (AccountRules.setValidator, OversightBoard's SetValidator)
        "ZeroKey",
        "KeyInUse",
        "PowerTooHigh",
        "NotValidatorKey",
        "InvalidValidator",
        # the erasure period is the consortium admins' to set
        "NotConsortiumAdmin",
    }
)

# Errors that are neither about consent nor about roles: plain TransactionError.
OTHER_ERRORS = frozenset({"DeploymentFailed", "ErasurePeriodOutOfRange"})


@dataclass(frozen=True)
class ErrorAbi:
    """One custom error from an artifact's ABI."""

    name: str
    signature: str  # e.g. "NoConsent(address,address,bytes32,bytes32)"
    input_names: tuple[str, ...]
    input_types: tuple[str, ...]

    @property
    def selector(self) -> bytes:
        """The error's 4-byte selector: keccak256 of its signature."""
        return function_signature_to_4byte_selector(self.signature)


def _abi_type(param: Mapping[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param.get("components", []))
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def errors_in_abi(contract_abi: list[dict[str, Any]]) -> list[ErrorAbi]:
    """The custom errors declared in one ABI."""
    found = []
    for entry in contract_abi:
        if entry.get("type") != "error":
            continue
        inputs = entry.get("inputs", [])
        found.append(
            ErrorAbi(
                name=str(entry["name"]),
                signature=abi_to_signature(entry),  # type: ignore[arg-type]
                input_names=tuple(str(p.get("name") or f"arg{i}") for i, p in enumerate(inputs)),
                input_types=tuple(_abi_type(p) for p in inputs),
            )
        )
    return found


def error_table(config: ProjectConfig | None = None) -> Mapping[bytes, ErrorAbi]:
    """Selector -> error, over every artifact's ABI (read once per artifacts folder)."""
    root = str(artifacts_root(config))
    table = _TABLES.get(root)
    if table is None:
        table = {}
        for name in artifact_names(config):
            for error in errors_in_abi(load_artifact(name, config).abi):
                table.setdefault(error.selector, error)
        _TABLES[root] = table
    return table


_TABLES: dict[str, dict[bytes, ErrorAbi]] = {}


_SPECIFIC: dict[str, type[TransactionError]] = {
    "NoConsent": ConsentMissingError,
    "NoDisclosureConsent": ConsentMissingError,
    "IdentityDeactivated": IdentityDeactivatedError,
    "PolicyHashMismatch": SignatureError,
    "ConsentExpired": ConsentExpiredError,
    "StalePolicyVersion": StalePolicyError,
    "PolicyNotCurrent": StalePolicyError,
    "SignatureExpired": SignatureError,
    "InvalidNonce": SignatureError,
    "NonceInFuture": SignatureError,
    "SignerNotAuthorized": SignatureError,
    "InvalidSignature": SignatureError,
    "OrganizationSuspended": OrganizationSuspendedError,
}


def _error_class(name: str) -> type[TransactionError]:
    if name in _SPECIFIC:
        return _SPECIFIC[name]
    if name in CONSENT_ERRORS:
        return ConsentError
    if name in PERMISSION_ERRORS:
        return NotPermittedError
    return TransactionError


def _normalize(kind: str, value: Any) -> Any:
    if kind == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if kind.startswith("address[") and isinstance(value, list | tuple):
        return [to_checksum_address(v) for v in value]
    return value


# --- decoding ---------------------------------------------------------------------------------


def decode_revert(
    data: bytes | str | None,
    *,
    tx_hash: str | None = None,
    config: ProjectConfig | None = None,
) -> TransactionError:
    """The error that ``data`` (the revert payload, bytes or 0x-hex) stands for."""
    raw = _as_bytes(data)
    if raw is None or len(raw) == 0:
        return TransactionError(
            "the transaction reverted without a reason",
            tx_hash=tx_hash,
            hint="the call may have run out of gas, or hit a require() without a message",
        )
    selector, payload = raw[:4], raw[4:]
    if selector == ERROR_STRING_SELECTOR:
        try:
            (reason,) = abi.decode(["string"], payload)
        except (DecodingError, ValueError, OverflowError):
            reason = "0x" + payload.hex()
        return _reason_error(reason, tx_hash)
    if selector == PANIC_SELECTOR:
        try:
            (code,) = abi.decode(["uint256"], payload)
        except (DecodingError, ValueError, OverflowError):
            code = -1
        what = PANIC_REASONS.get(code, f"panic code {code:#x}")
        return TransactionError(
            f"the contract panicked: {what}",
            tx_hash=tx_hash,
            error_name="Panic",
            error_args={"code": code},
            hint="this is a contract bug, please report it",
        )
    error = error_table(config).get(selector)
    if error is None:
        return TransactionError(
            f"reverted with an unknown error 0x{raw.hex()}",
            tx_hash=tx_hash,
            hint="the error is in none of the suite's artifacts: is the address right?",
        )
    try:
        values = abi.decode(list(error.input_types), payload)
    except (DecodingError, ValueError, OverflowError):
        return TransactionError(
            f"reverted with {error.name}, but its arguments could not be decoded "
            f"(0x{payload.hex()})",
            tx_hash=tx_hash,
            error_name=error.name,
        )
    args = {
        name: _normalize(kind, value)
        for name, kind, value in zip(error.input_names, error.input_types, values, strict=True)
    }
    template = _MESSAGES.get(error.name)
    if template is not None:
        try:
            message, hint = template(args)
        except (KeyError, TypeError):  # the contract changed its argument names
            message, hint = _generic(error.name, args), None
    else:
        message, hint = _generic(error.name, args), None
    return _error_class(error.name)(
        message, tx_hash=tx_hash, error_name=error.name, error_args=args, hint=hint
    )


def _reason_error(reason: str, tx_hash: str | None) -> TransactionError:
    return TransactionError(
        f"reverted: {reason}", tx_hash=tx_hash, error_name="Error", error_args={"reason": reason}
    )


def _generic(name: str, args: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={hexed(v)}" for k, v in args.items())
    return f"reverted with {name}({shown})"


def _as_bytes(data: bytes | str | None) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, bytes):
        return data
    text = data.strip()
    if text.startswith(("0x", "0X")):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert payload carried by ``exc``, or None if it carries none.

    Understands web3's ``ContractLogicError`` family (``data`` as hex, or as a dict holding
    ``data``, as some nodes send) and eth-tester's ``TransactionFailed``.
    """
    if isinstance(exc, ContractLogicError):
        data: Any = exc.data
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("Reverted "):
            data = data.removeprefix("Reverted ")
        return _as_bytes(data) if isinstance(data, str | bytes) else None
    from eth_tester.exceptions import TransactionFailed

    if isinstance(exc, TransactionFailed) and exc.args:
        first = exc.args[0]
        if isinstance(first, BaseException) and first.args:  # TransactionFailed(Revert(b".."))
            first = first.args[0]
        if isinstance(first, bytes):
            return first
        if isinstance(first, str) and first[:2] in ("b'", 'b"'):
            try:
                value = ast.literal_eval(first)
            except (ValueError, SyntaxError):
                return None
            return value if isinstance(value, bytes) else None
    return None


def error_from_exception(
    exc: BaseException,
    *,
    tx_hash: str | None = None,
    config: ProjectConfig | None = None,
) -> TransactionError:
    """The Collective error for an exception raised by a reverted call or transaction."""
    data = revert_data(exc)
    if data is not None:
        return decode_revert(data, tx_hash=tx_hash, config=config)
    message = str(getattr(exc, "message", None) or exc).strip() or type(exc).__name__
    if message.startswith("execution reverted: "):
        reason = message.removeprefix("execution reverted: ")
        return _reason_error(reason, tx_hash)
    return TransactionError(f"the transaction failed: {message}", tx_hash=tx_hash)


__all__ = [
    "CONSENT_ERRORS",
    "PERMISSION_ERRORS",
    "ErrorAbi",
    "decode_revert",
    "error_from_exception",
    "error_table",
    "errors_in_abi",
    "revert_data",
]
