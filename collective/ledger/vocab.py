"""W3C Data Privacy Vocabulary (DPV) terms for purposes and personal-data categories.

On chain a purpose or data category is a ``bytes32`` code: keccak256 of its name, normally a
DPV term such as ``dpv:ResearchAndDevelopment`` or ``dpv-pd:MedicalHealth`` (see
:func:`collective.ledger.signing.code`). Names are not stored on chain, so this module keeps a small
built-in vocabulary of common terms to turn codes back into names:

- :data:`PURPOSES`: ~30 DPV purposes (namespace ``https://w3id.org/dpv#``, prefix ``dpv:``);
- :data:`CATEGORIES`: common personal-data categories of the DPV Personal Data extension
  (``https://w3id.org/dpv/pd#``; DPV 1.x wrote it ``dpv-pd:``, DPV 2 ``pd:``; Collective uses
  ``dpv-pd:``, so that is the spelling whose hash is the code);
- :data:`SPECIAL_CATEGORIES`: the categories DPV classes as special category (GDPR Art. 9)
  or sensitive personal data.

Any other name has a code too (its hash): ``code_of("dpv-pd:MedicalHealth/LabResults")`` is a
valid code that :func:`name_of` cannot reverse, so it prints the hex. But a misspelled term
(``dpv:ResearchAndDevelopmnt``) is such a name as well, and on chain it would be a new purpose
nobody consented to, so the client and the CLI take names through :func:`term_code`: a name
must be one of this vocabulary's purposes (or categories), and one outside it is refused with
a "did you mean" hint unless it is asked for on purpose (``custom=True``; the client's
``custom_terms=True``, the CLI's ``--custom-term``). A 0x code is always taken as given.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Final, Literal

from collective.chain.hashing import keccak256
from collective.errors import InvalidInputError

_PURPOSE_NAMES = (
    "dpv:AcademicResearch",
    "dpv:AccountManagement",
    "dpv:Advertising",
    "dpv:CommercialResearch",
    "dpv:CommunicationManagement",
    "dpv:CounterMoneyLaundering",
    "dpv:CustomerCare",
    "dpv:CustomerManagement",
    "dpv:CustomerSolvencyMonitoring",
    "dpv:DeliveryOfGoods",
    "dpv:DirectMarketing",
    "dpv:EnforceSecurity",
    "dpv:FraudPreventionAndDetection",
    "dpv:IdentityAuthentication",
    "dpv:IdentityVerification",
    "dpv:ImproveExistingProductsAndServices",
    "dpv:ImproveHealthcare",
    "dpv:LegalCompliance",
    "dpv:MaintainFraudDatabase",
    "dpv:Marketing",
    "dpv:NonCommercialResearch",
    "dpv:PaymentManagement",
    "dpv:Personalisation",
    "dpv:PersonalisedAdvertising",
    "dpv:PublicBenefit",
    "dpv:RecordManagement",
    "dpv:RequestedServiceProvision",
    "dpv:ResearchAndDevelopment",
    "dpv:ScientificResearch",
    "dpv:ServiceOptimisation",
    "dpv:ServicePersonalisation",
    "dpv:ServiceProvision",
    "dpv:ServiceUsageAnalytics",
)

_CATEGORY_NAMES = (
    "dpv-pd:Age",
    "dpv-pd:Biometric",
    "dpv-pd:Contact",
    "dpv-pd:CreditScore",
    "dpv-pd:DateOfBirth",
    "dpv-pd:Demographic",
    "dpv-pd:EmailAddress",
    "dpv-pd:EthnicOrigin",
    "dpv-pd:Financial",
    "dpv-pd:FinancialAccount",
    "dpv-pd:Gender",
    "dpv-pd:Genetic",
    "dpv-pd:HealthRecord",
    "dpv-pd:Location",
    "dpv-pd:MedicalHealth",
    "dpv-pd:Name",
    "dpv-pd:OfficialID",
    "dpv-pd:PoliticalAffiliation",
    "dpv-pd:Religion",
    "dpv-pd:SexualOrientation",
    "dpv-pd:TelephoneNumber",
    "dpv-pd:Transactional",
    "dpv-pd:TradeUnionMembership",
)

PURPOSES: Final[dict[str, bytes]] = {name: keccak256(name.encode()) for name in _PURPOSE_NAMES}
"""Common DPV purposes: name -> bytes32 code."""

CATEGORIES: Final[dict[str, bytes]] = {name: keccak256(name.encode()) for name in _CATEGORY_NAMES}
"""Common DPV personal-data categories: name -> bytes32 code."""

SPECIAL_CATEGORIES: Final[frozenset[str]] = frozenset(
    {
        "dpv-pd:Biometric",
        "dpv-pd:EthnicOrigin",
        "dpv-pd:Genetic",
        "dpv-pd:HealthRecord",
        "dpv-pd:MedicalHealth",
        "dpv-pd:PoliticalAffiliation",
        "dpv-pd:Religion",
        "dpv-pd:SexualOrientation",
        "dpv-pd:TradeUnionMembership",
    }
)
"""Categories that are special-category (GDPR Art. 9) personal data."""

_NAMES: Final[dict[bytes, str]] = {
    code: name for table in (PURPOSES, CATEGORIES) for name, code in table.items()
}
# Names hashed by code_of in this process (e.g. "dpv-pd:MedicalHealth/LabResults"), so that
# name_of can show them too; never consulted by is_known.
_LEARNED: dict[bytes, str] = {}


def code_of(name_or_code: str | bytes) -> bytes:
    """The bytes32 code of a DPV name (its keccak256), a 0x-prefixed 32-byte hex, or 32 bytes.

    Any non-empty name is accepted, known or not: its code is its hash.

    Args:
        name_or_code: a term (``"dpv:Marketing"``, surrounding spaces ignored), ``0x`` + 64
            hex digits, or 32 raw bytes.

    Returns:
        The 32-byte code (what ``ConsentRegistry`` stores as ``bytes32``).

    Raises:
        InvalidInputError: empty text, or hex / bytes that are not 32 bytes.
    """
    if isinstance(name_or_code, bytes | bytearray):
        if len(name_or_code) != 32:
            raise InvalidInputError(
                f"a purpose or category code is 32 bytes, not {len(name_or_code)}"
            )
        return bytes(name_or_code)
    if not isinstance(name_or_code, str) or not name_or_code.strip():
        raise InvalidInputError(
            f"{name_or_code!r} is not a purpose or category",
            hint="give a DPV term such as dpv:ResearchAndDevelopment or a 0x 32-byte hex code",
        )
    text = name_or_code.strip()
    if text[:2].lower() == "0x":
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise InvalidInputError(
                f"{text!r} is not a 32-byte hex code",
                hint="a code is 0x followed by 64 hex digits",
            )
        return raw
    return _hash_name(text)


@lru_cache(maxsize=4096)
def _hash_name(text: str) -> bytes:
    code = keccak256(text.encode())
    _LEARNED.setdefault(code, text)
    return code


def name_of(code: bytes | str) -> str:
    """The DPV name of a known code, or of a name this process hashed with :func:`code_of`,
    else the code as 0x hex.

    Raises:
        InvalidInputError: ``code`` is not a code or a name (see :func:`code_of`).
    """
    raw = code_of(code)
    return _NAMES.get(raw) or _LEARNED.get(raw) or "0x" + raw.hex()


def is_known(name_or_code: str | bytes) -> bool:
    """Is this name or code one of the built-in :data:`PURPOSES` or :data:`CATEGORIES`?"""
    try:
        return code_of(name_or_code) in _NAMES
    except InvalidInputError:
        return False


TermKind = Literal["purpose", "category"]
_KIND_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "purpose": _PURPOSE_NAMES,
    "category": _CATEGORY_NAMES,
}
_KIND_WORDS: Final[dict[str, str]] = {
    "purpose": "a purpose",
    "category": "a personal-data category",
}
_CUSTOM_HINT = (
    "to use a term outside Collective's DPV vocabulary on purpose, pass --custom-term, or "
    "custom_terms=True to the client: its code is then the hash of exactly this text"
)


def term_code(value: str | bytes, kind: TermKind, *, custom: bool = False) -> bytes:
    """The bytes32 code of a purpose or a personal-data category, as :func:`code_of` gives
    it, once a name is checked against the vocabulary.

    A 0x code (or 32 bytes) is taken as given. A name must be one of :data:`PURPOSES` for
    ``kind="purpose"`` or of :data:`CATEGORIES` for ``kind="category"``; any other name raises
    InvalidInputError, with the closest known term as a "did you mean" when there is one,
    unless ``custom`` (then any name is hashed, as :func:`code_of` does).

    Returns:
        The 32-byte code.

    Raises:
        InvalidInputError: an unknown term (without ``custom``), a term of the other kind, or
            a malformed code.
    """
    if isinstance(value, bytes | bytearray) or not isinstance(value, str):
        return code_of(value)
    text = value.strip()
    if not text or text[:2].lower() == "0x" or custom:
        return code_of(text)
    if text in _KIND_NAMES[kind]:
        return code_of(text)
    raise InvalidInputError(_unknown_term(text, kind), hint=_CUSTOM_HINT)


def _unknown_term(text: str, kind: TermKind) -> str:
    """Why ``text`` is not a known term of ``kind``, with the closest one."""
    other: TermKind = "category" if kind == "purpose" else "purpose"
    if text in _KIND_NAMES[other]:
        return f"{text} is {_KIND_WORDS[other]}, not {_KIND_WORDS[kind]}"
    names = _KIND_NAMES[kind]
    message = f"{text} is not {_KIND_WORDS[kind]} in Collective's DPV vocabulary"
    base = text.split("/", 1)[0]
    if base != text and base in names:
        return f"{message}: it refines {base}, which is"
    suggestion = _closest(text, names)
    if suggestion is not None:
        return f"{message}; did you mean {suggestion}?"
    prefix = "dpv:" if kind == "purpose" else "dpv-pd:"
    return f"{message}; its {kind} terms start with {prefix}, such as {names[0]}"


def _closest(text: str, names: tuple[str, ...]) -> str | None:
    """The known name closest to ``text``: the same but for case or the prefix, else the
    nearest spelling (difflib), compared without the prefix and case."""

    def bare(name: str) -> str:
        return name.split(":", 1)[-1].lower()

    by_bare = {bare(name): name for name in names}
    if bare(text) in by_bare:
        return by_bare[bare(text)]
    close = difflib.get_close_matches(bare(text), list(by_bare), n=1, cutoff=0.75)
    return by_bare[close[0]] if close else None


def is_special_category(name: str) -> bool:
    """Is ``name`` a special category (GDPR Art. 9), or a subcategory of one
    (``dpv-pd:MedicalHealth/...``)?"""
    return any(name == special or name.startswith(special + "/") for special in SPECIAL_CATEGORIES)


__all__ = [
    "CATEGORIES",
    "PURPOSES",
    "SPECIAL_CATEGORIES",
    "code_of",
    "is_known",
    "is_special_category",
    "name_of",
    "term_code",
]
