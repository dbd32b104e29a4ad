"""Every error Collective raises on purpose.

One root, a shallow tree::

    CollectiveError
    ├── ConfigurationError        bad hardhat.config.json, unknown network, bad manifest
    │   ├── InvalidInputError     an argument is malformed or out of range (a DID, an
    │   │                         address, a term, an expiry, a file the caller named)
    │   └── NotFoundError         the thing named does not exist (a transaction, a policy
    │                             version, a consent, an event, a proposal)
    ├── CompilationError          no compiler, solc reported errors, artifacts out of date
    ├── ChainError                node unreachable, wrong chain id, code on chain differs
    │   └── TransactionError      a transaction reverted (carries tx hash and decoded error)
    │       ├── ConsentError      the consent side of an action is wrong
    │       │   ├── ConsentMissingError      none granted, or withdrawn (NoConsent, ...)
    │       │   ├── ConsentExpiredError      it expired
    │       │   ├── StalePolicyError         it names an older policy version than the current
    │       │   ├── IdentityDeactivatedError the identity was deactivated: nothing acts for it
    │       │   └── SignatureError           a signed request expired, was replayed or
    │       │                                superseded, its signer has no authority, the
    │       │                                signature is bad, or it names other policy text
    │       └── NotPermittedError caller lacks the role
    │           └── OrganizationSuspendedError  the organization is suspended
    ├── AuditError                the record does not verify
    └── NodeError                 the collective node refused or failed

Library code raises only these; the CLI turns them into one line and a non-zero exit.
Exceptions of the libraries underneath (web3, eth-abi, eth-account, sockets) are translated
where they cross into Collective: :mod:`collective.chain.errors` for everything a chain says,
:func:`collective.errors.invalid_input` for values the caller handed in.

``InvalidInputError`` and ``NotFoundError`` still derive from ``ConfigurationError`` for one
release, so ``except ConfigurationError`` written against 0.1 keeps catching them; catch the
precise class in new code (the base changes to ``CollectiveError`` in 0.3).
"""

from __future__ import annotations

from typing import Any


class CollectiveError(Exception):
    """Root of every Collective error. ``hint`` says what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigurationError(CollectiveError):
    """The configuration, a network name or a deployment manifest is wrong."""


class InvalidInputError(ConfigurationError):
    """An argument is malformed or out of range: what was given, what is expected.

    Raised for a caller's mistake in a value (a DID, an address, a term, a duration, a JSON
    document), never for a fault of the chain or the configuration files.
    """


class NotFoundError(ConfigurationError):
    """The thing asked for does not exist: a transaction, a policy version, a consent, an
    event, a proposal, a block."""


class CompilationError(CollectiveError):
    """The Solidity sources could not be compiled, or artifacts are stale."""


class ChainError(CollectiveError):
    """The chain could not be reached or is not the chain we expected."""


class TransactionError(ChainError):
    """A transaction or call reverted.

    ``error_name`` and ``error_args`` hold the decoded Solidity custom error when the revert
    data matched one of the suite's ABIs.
    """

    def __init__(
        self,
        message: str,
        *,
        tx_hash: str | None = None,
        error_name: str | None = None,
        error_args: dict[str, Any] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.tx_hash = tx_hash
        self.error_name = error_name
        self.error_args = error_args or {}

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} [tx {self.tx_hash}]" if self.tx_hash else text


class ConsentError(TransactionError):
    """No valid consent covers the action, or a consent signature is not acceptable."""


class NotPermittedError(TransactionError):
    """The sender lacks the role for the action, or its organization is suspended."""


class ConsentMissingError(ConsentError):
    """No active consent: never granted, or withdrawn (NoConsent)."""


class ConsentExpiredError(ConsentError):
    """The consent expired (ConsentExpired)."""


class StalePolicyError(ConsentError):
    """The consent or request names a policy version that is not the organization's current
    one covering the purpose (StalePolicyVersion, PolicyNotCurrent)."""


class IdentityDeactivatedError(ConsentError):
    """The identity was deactivated: no key or delegate acts for it, no use of its data is
    covered (IdentityDeactivated)."""


class SignatureError(ConsentError):
    """A signed request is past its deadline, replayed or superseded, signed by someone with no
    authority for the identity, malformed, or agrees to other policy text than the version's
    (SignatureExpired, InvalidNonce, SignerNotAuthorized, InvalidSignature,
    PolicyHashMismatch)."""


class OrganizationSuspendedError(NotPermittedError):
    """The organization is suspended (OrganizationSuspended)."""


class AuditError(CollectiveError):
    """The on-chain record failed verification."""


class NodeError(CollectiveError):
    """The collective node refused a request or failed."""


def invalid_input(what: str, exc: BaseException, *, hint: str | None = None) -> InvalidInputError:
    """``InvalidInputError`` for a foreign exception raised while reading ``what``.

    Args:
        what: names the argument, e.g. ``"--expiry"`` or ``"the identity address"``.
        exc: the ValueError/TypeError (or library error) that rejected it.
        hint: what to do instead; defaults to none.

    Returns the error to raise (``raise invalid_input(...) from exc``).
    """
    reason = str(exc) or type(exc).__name__
    return InvalidInputError(f"{what} is not valid: {reason}", hint=hint)
