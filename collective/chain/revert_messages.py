"""The sentence a person can act on for each custom error of the suite: what went wrong, with
the error's arguments in words (times as UTC dates, purpose and category codes by their DPV
names), and a hint saying what to do. :func:`collective.chain.revert.decode_revert` uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def _when(value: Any) -> str:
    try:
        moment = datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"unix time {value}"
    return f"{moment} (unix {value})"


def hexed(value: Any) -> str:
    """``value`` for a message: bytes as 0x hex, anything else as str."""
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def _term(value: Any) -> str:
    """A purpose or category code by its DPV name when known (see :mod:`collective.vocab`)."""
    from collective.ledger.vocab import name_of

    return name_of(value) if isinstance(value, bytes) and len(value) == 32 else hexed(value)


def _first(args: dict[str, Any]) -> Any:
    return next(iter(args.values()), "?")


Message = tuple[str, str | None]
"""(what happened, the hint: what to do, or None)"""
MESSAGES: dict[str, Callable[[dict[str, Any]], Message]] = {
    # ConsentRegistry / DataUsageLog / PolicyRegistry / DIDRegistry signatures
    "NoConsent": lambda a: (
        f"no active consent from identity {a['identity']} lets organization "
        f"{a['organization']} use data category {_term(a['category'])} for purpose "
        f"{_term(a['purpose'])}",
        "the subject must grant this consent before the use, again if it was withdrawn",
    ),
    "ConsentExpired": lambda a: (
        f"consent {hexed(a['consentId'])} expired at {_when(a['expiry'])}",
        "ask the subject to grant a new consent",
    ),
    "StalePolicyVersion": lambda a: (
        (
            f"the consent names policy version {a['consented']} of organization "
            f"{a['organization']}, but its current version is {a['current']}"
            if a["consented"] != a["current"]
            else f"organization {a['organization']}'s current policy (version {a['current']}) "
            "does not cover the purpose consented to"
        ),
        f"ask the subject to consent again under policy version {a['current']}"
        if a["consented"] != a["current"]
        else f"organization {a['organization']} must publish a policy covering the purpose, "
        "and the subject consent under it",
    ),
    "NoDisclosureConsent": lambda a: (
        f"no active disclosure consent from identity {a['identity']} lets organization "
        f"{a['discloser']} pass data category {_term(a['category'])} to organization "
        f"{a['recipient']} for purpose {_term(a['purpose'])}",
        "the subject must consent to this disclosure first, again if it was withdrawn",
    ),
    "PolicyNotCurrent": lambda a: (
        f"policy version {a['policyVersion']} is not organization {a['organization']}'s "
        f"current policy covering purpose {_term(a['purpose'])}",
        f"the subject must consent under organization {a['organization']}'s current "
        "policy version; a signed grant cannot be changed, so ask the subject to sign again "
        "under it. If no current version covers the purpose, the organization must publish "
        "one that does",
    ),
    "PolicyHashMismatch": lambda a: (
        f"the signed grant agrees to policy text {hexed(a['signedHash'])}, which is not the "
        f"text of organization {a['organization']}'s policy version {a['policyVersion']}",
        "ask the subject to read the published policy and sign again",
    ),
    "IdentityDeactivated": lambda a: (
        f"identity {a['identity']} is deactivated: no key or delegate acts for it and no use "
        "of its data is covered",
        "a deactivated identity cannot be revived; the subject needs a new identity",
    ),
    "SignatureExpired": lambda a: (
        f"the signed request's deadline {_when(a['deadline'])} has passed",
        "ask the signer for a new signature with a later deadline",
    ),
    "InvalidNonce": lambda a: (
        f"the signed request for consent {hexed(a['consentId'])} carries nonce {a['given']} "
        f"but nonce {a['expected']} or higher is expected (it was used already, or a later "
        "request of the subject superseded it)",
        "ask the subject to sign again if this is still what they want",
    ),
    "NonceInFuture": lambda a: (
        f"the signed request for consent {hexed(a['consentId'])} carries nonce {a['given']}, "
        f"more than 10 minutes ahead of the chain's time (at most {a['latest']} now): the "
        "signer's clock runs fast",
        "set the signing device's clock right and sign again, or relay it later",
    ),
    "SignerNotAuthorized": lambda a: (
        f"{a['signer']} is neither the owner of identity {a['identity']} nor a valid "
        "sigAuth delegate of it",
        "sign with the identity owner's key, or add the signer as a sigAuth delegate",
    ),
    "InvalidSignature": lambda a: (
        "the signature is malformed (high s, v other than 27/28) or recovers to no address",
        "sign the request again",
    ),
    "ExpiryInPast": lambda a: (
        f"the consent expiry {_when(a['expiry'])} is not in the future",
        "grant with an expiry later than the current block time; a signed grant whose "
        "expiry has passed must be signed again",
    ),
    "UnknownPolicyVersion": lambda a: (
        f"organization {a['organization']} has no policy version {a['version']}",
        "publish the policy first, or name an existing version",
    ),
    "InvalidPolicy": lambda a: (
        "a policy needs a non-zero content hash and at least one purpose",
        None,
    ),
    # roles and organization status
    "NotAdmin": lambda a: (
        f"{_first(a)} is not a consortium admin",
        "send from an AccountRules admin account",
    ),
    "NotAdminOrBoard": lambda a: (
        f"{a['caller']} is neither a consortium admin nor the oversight board",
        "send from an admin account, or pass an oversight board proposal",
    ),
    "OrganizationNotAdmitted": lambda a: (
        f"organization {a['organization']} is not admitted to the consortium",
        "ask a consortium admin to admit it",
    ),
    "OrganizationSuspended": lambda a: (
        f"organization {a['organization']} is suspended",
        "ask the consortium or the oversight board to reinstate it",
    ),
    "NotIdentityOwner": lambda a: (
        f"{a['actor']} is not the current owner of identity {a['identity']}",
        "send from the identity owner's account",
    ),
    "NotMember": lambda a: (
        f"{_first(a)} is not an oversight board member",
        "send from a board member's account",
    ),
    # AccountRules
    "ZeroAddress": lambda a: ("the zero address is not a valid account", None),
    "AlreadyAdmitted": lambda a: (
        f"account {a['account']} is already admitted (active or suspended)",
        None,
    ),
    "NotAdmitted": lambda a: (f"account {a['account']} is not admitted", None),
    "NotActive": lambda a: (
        f"account {a['account']} is not active (it is suspended or not admitted)",
        None,
    ),
    "NotSuspended": lambda a: (f"account {a['account']} is not suspended", None),
    "AlreadyAdmin": lambda a: (f"{a['account']} is already a consortium admin", None),
    "LastAdmin": lambda a: (
        "the last consortium admin cannot be removed",
        "add another admin first",
    ),
    # OversightBoard
    "UnknownProposal": lambda a: (f"there is no board proposal {a['id']}", None),
    "AlreadyExecuted": lambda a: (f"board proposal {a['id']} was already executed", None),
    "AlreadyApproved": lambda a: (
        f"{a['member']} already approved board proposal {a['id']}",
        None,
    ),
    "ThresholdNotReached": lambda a: (
        f"board proposal {a['id']} has {a['approvals']} of the {a['threshold']} approvals it needs",
        "more board members must approve it",
    ),
    "InvalidThreshold": lambda a: (
        f"threshold {a['threshold']} is invalid for a board of {a['members']} members",
        f"choose a threshold from 1 to {a['members']}",
    ),
    "AlreadyMember": lambda a: (f"{a['account']} is already a board member", None),
    "InvalidTarget": lambda a: (
        f"{a['target']} is not a valid target for this proposal",
        None,
    ),
    "ProposalExpired": lambda a: (
        f"board proposal {a['id']} expired at {_when(a['expiresAt'])}",
        "make a new proposal",
    ),
    "InvalidLifetime": lambda a: (
        "a proposal lifetime must be from one second to ten years",
        None,
    ),
    "RemovalObjected": lambda a: (
        f"{a['member']} objected to board proposal {a['id']}, which removes it: the removal "
        "needs the full threshold",
        None,
    ),
    "RemovalWaiting": lambda a: (
        f"board proposal {a['id']} removes a member without its approval, which is allowed "
        f"only from {_when(a['notBefore'])} (time for the member to object)",
        "execute it again then",
    ),
    "DeploymentFailed": lambda a: (
        f"the ChainBoundDeployer could not create the contract under salt {hexed(a['salt'])}: "
        "the address is taken on this chain, the constructor reverted, or the code is over "
        "EIP-170's 24,576 bytes",
        "deploy with another salt, or check the constructor arguments",
    ),
    "RoleConflict": lambda a: (
        f"{a['account']} cannot be both a consortium admin and an organization account",
        "use separate accounts for administration and for the organization",
    ),
    "BoardSuspension": lambda a: (
        f"the oversight board suspended {a['account']}: only the board can lift it",
        "pass a board proposal to reinstate it: `collective board propose reinstate ...`",
    ),
    "NotBoard": lambda a: (
        f"{a['caller']} is not the oversight board, which alone can replace itself",
        "pass a board proposal to replace the board",
    ),
    # the validator set
    "ZeroKey": lambda a: (
        "the zero key is not a validator key",
        "give the validator's ed25519 public key, pub_key.value of priv_validator_key.json",
    ),
    "KeyInUse": lambda a: (
        f"validator key {hexed(a['pubKey'])} already belongs to {a['organization']}",
        "give each organization its own CometBFT key; `collective board validators` lists "
        "the keys in use",
    ),
    "PowerTooHigh": lambda a: (
        f"voting power {a['power']} is above the highest a validator may have ({a['max']})",
        None,
    ),
    "NotValidatorKey": lambda a: (
        f"{a['organization']}'s validator key is not {hexed(a['pubKey'])} (or it has none)",
        "see `collective board validators` for its current key",
    ),
    "InvalidValidator": lambda a: (
        f"a validator proposal needs a non-zero key and a power of at most 10**12, not key "
        f"{hexed(a['pubKey'])} and power {a['power']}",
        None,
    ),
    # ErasureRegistry (GDPR Art. 17)
    "UseAfterErasureRequest": lambda a: (
        f"identity {a['identity']} asked organization {a['organization']} to erase its data: "
        f"no use or disclosure of it by {a['organization']}, and no disclosure of it to "
        f"{a['organization']}, may be recorded any more",
        f"{a['organization']} must erase the subject's data and confirm it with "
        f"`collective erasure confirm`; other organizations may disclose none of its data "
        f"to {a['organization']}",
    ),
    "ErasureAlreadyRequested": lambda a: (
        f"identity {a['identity']} already asked organization {a['organization']} to erase "
        "its data (once per identity and organization; a relayed signature is used once)",
        "see `collective erasure list` for the request and its due date",
    ),
    "NoErasureRequest": lambda a: (
        f"identity {a['identity']} has not asked organization {a['organization']} to erase "
        "its data",
        "confirm only the requests listed by `collective erasure list`",
    ),
    "ErasureAlreadyConfirmed": lambda a: (
        f"organization {a['organization']} already confirmed the erasure for identity "
        f"{a['identity']}",
        None,
    ),
    "ErasurePeriodOutOfRange": lambda a: (
        f"an erasure period of {a['period']} seconds is outside 1 to 90 days",
        "give a period from 86400 to 7776000 seconds; GDPR Art. 12, paragraph 3, allows one month, "
        "at most three",
    ),
    "NotConsortiumAdmin": lambda a: (
        f"{a['caller']} is not a consortium admin, who alone sets the erasure period",
        "send it from a consortium admin's account",
    ),
}


__all__ = ["MESSAGES", "Message", "hexed"]
