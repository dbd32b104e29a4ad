"""Subject queries on the audit index: a person's consents and history without the node.

A data subject's page asks two things of many identities at once (their pairwise
identities): every consent each one ever granted, in its state now, and every event about
them ("who used my data"). :class:`SubjectReader` answers both from an audit index that
:func:`~collective.audit.indexer.sync` keeps, in a few indexed SQLite queries read in one
snapshot (one read transaction), so an answer is the chain's as of one block: the latest
indexed block (``synced_to``).

A consent's state follows the one rule of :mod:`collective.ledger.consent_state`
(:func:`~collective.ledger.consent_state.consent_state`, the same the client, the receipts
and the audit replay use), on facts replayed from the index:

- granted, ``expiry``, ``policy_version``, ``granted_at``: the latest ``ConsentGranted``
  (its block's time is the stored ``grantedAt``); ``active``: the latest of
  ``ConsentGranted`` / ``ConsentWithdrawn`` is a grant (a withdrawal of nothing active emits
  ``SignaturesCancelled`` instead, and changes no state);
- the organization's current policy version: its latest ``PolicyPublished``;
- deactivated: the identity's latest ``DIDOwnerChanged`` names ``0x0`` (the event of a
  deactivation; ``DIDRegistry.sol``);
- ``now``: the latest indexed block's time.

Beside the state, each :class:`IndexedConsent` carries the organization's standing
(AccountRules' latest admission, suspension, reinstatement or removal of it) and the
identity's erasure request to it (``ErasureRequested`` / ``ErasureConfirmed``), so
:attr:`IndexedConsent.covered` is the contract's ``isCovered``.

Not in the index: a consent's nonce (it moves with every signed request's own nonce and
every direct call's clock): read it from the chain before signing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collective.audit.subject_disclosures import (
    DISCLOSURE_CONSENT_EVENTS,
    IndexedDisclosureConsent,
    disclosure_consents,
    disclosure_facts,
)
from collective.chain.codec import checksum
from collective.client.records import expiry_or_none
from collective.client.subject_records import (
    DISCLOSE,
    DISCLOSURE_GRANT,
    DISCLOSURE_WITHDRAW,
    ERASURE_CONFIRM,
    ERASURE_REQUEST,
    GRANT,
    USE,
    WITHDRAW,
    HistoryRow,
)
from collective.errors import AuditError
from collective.ledger.consent_state import ConsentState, OrganizationStanding, consent_state
from collective.ledger.vocab import name_of
from collective.types import Address

NULL = "0x" + "00" * 20
"""The owner a ``DIDOwnerChanged`` names when the identity is deactivated."""
_STANDING_AFTER: dict[str, OrganizationStanding] = {
    "AccountAdmitted": "active",
    "AccountSuspended": "suspended",
    "AccountReinstated": "active",
    "AccountRemoved": "not admitted",
}
_HISTORY_EVENTS = {
    "DataDisclosed": DISCLOSE,
    "DisclosureConsentGranted": DISCLOSURE_GRANT,
    "DisclosureConsentWithdrawn": DISCLOSURE_WITHDRAW,
    "ErasureRequested": ERASURE_REQUEST,
    "ErasureConfirmed": ERASURE_CONFIRM,
}
_SUBJECT_EVENTS = ("DIDOwnerChanged", "ErasureRequested", "ErasureConfirmed")
_BY_IDENTITY = "lower(json_extract(args, '$.identity'))"  # the events_by_identity index's key


@dataclass(frozen=True)
class IndexedErasure:
    """An identity's erasure request to an organization: the request's block time, its due
    time and the confirmation's block time (unix seconds; ``confirmed_at`` 0 while none)."""

    requested_at: int
    due_at: int
    confirmed_at: int


@dataclass(frozen=True)
class IndexedPolicy:
    """An organization's current policy: version, content hash (32 bytes), URI and the
    purposes (32-byte codes) it covers."""

    organization: str
    version: int
    content_hash: bytes
    uri: str
    purposes: frozenset[bytes]


@dataclass(frozen=True)
class IndexedConsent:
    """A consent at the latest indexed block, with the facts its state follows from.

    Addresses are lowercase ``0x`` text, ``purpose`` and ``category`` 32-byte codes, times
    unix seconds; ``expiry`` is the stored value (the index caps "never" at 2**63 - 1:
    :func:`~collective.client.records.expiry_or_none` turns it into None).
    """

    identity: str
    organization: str
    purpose: bytes
    category: bytes
    state: ConsentState
    active: bool
    expiry: int
    granted_at: int
    policy_version: int
    current_version: int
    organization_status: OrganizationStanding
    erasure: IndexedErasure | None

    @property
    def covered(self) -> bool:
        """The contract's ``isCovered`` at that block: active, the organization active and
        no erasure requested."""
        return (
            self.state is ConsentState.ACTIVE
            and self.organization_status == "active"
            and self.erasure is None
        )


@dataclass(frozen=True)
class SubjectConsents:
    """The consents of some identities at one block (``block``, of time ``timestamp``), in
    the order asked (identity, then first grant), with the current policy of each
    organization they name (absent: it never published one), and their disclosure consents
    (:mod:`collective.audit.subject_disclosures`) in the same order."""

    block: int
    timestamp: int
    consents: list[IndexedConsent]
    policies: dict[str, IndexedPolicy]
    disclosures: list[IndexedDisclosureConsent] = field(default_factory=list)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


class SubjectReader:
    """Read-only subject queries on an audit index file, for one thread at a time (open one
    per thread: SQLite's WAL lets readers run beside the writing sync).

    Args:
        path: the index file a sync wrote (it must exist).

    Raises:
        AuditError: the file cannot be opened.
    """

    def __init__(self, path: Path | str) -> None:
        try:
            self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA query_only=ON")
            self.db.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as exc:
            raise AuditError(f"cannot open the audit index {path}: {exc}") from None

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @contextmanager
    def _snapshot(self) -> Iterator[tuple[int, int]]:
        """One read transaction; yields the latest indexed block and its time.

        Raises:
            AuditError: nothing is indexed yet.
        """
        self.db.execute("BEGIN")
        try:
            row = self.db.execute(
                "SELECT b.number, b.timestamp FROM meta m JOIN blocks b "
                "ON b.number = CAST(m.value AS INTEGER) WHERE m.key = 'synced_to'"
            ).fetchone()
            if row is None:
                raise AuditError("the audit index holds no block yet", hint="sync it first")
            yield int(row[0]), int(row[1])
        finally:
            self.db.execute("COMMIT")

    def synced_to(self) -> int | None:
        """The latest indexed block, or None before the first sync."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'synced_to'").fetchone()
        return None if row is None else int(row[0])

    def consents(self, identities: Sequence[str]) -> SubjectConsents:
        """Every consent the identities ever granted, in its state at the latest indexed block.

        Args:
            identities: identity addresses (``0x`` + 40 hex, any case).

        Returns:
            The :class:`SubjectConsents`: one :class:`IndexedConsent` per (identity,
            organization, purpose, category) ever granted, by identity in the order given,
            then in order of first grant; likewise their disclosure consents.

        Raises:
            AuditError: nothing is indexed yet.
        """
        who = [i.lower() for i in identities]
        with self._snapshot() as (block, now):
            facts = self._consent_facts(who)
            events = self._identity_events(who, _SUBJECT_EVENTS + DISCLOSURE_CONSENT_EVENTS)
            registry = [row for row in events if row[3] in _SUBJECT_EVENTS]
            disclosed = disclosure_facts(events)
            orgs = sorted({key[1] for key in facts} | {o for k in disclosed for o in k[1:3]})
            policies = self._policies(orgs)
            standing = self._standing(orgs)
        deactivated = _deactivated(registry)
        erasures = _erasures(registry)
        order = {identity: n for n, identity in enumerate(who)}
        consents = []
        for key, (_, active, expiry, version, granted_at) in sorted(
            facts.items(), key=lambda item: (order[item[0][0]], item[1][0])
        ):
            current = policies[key[1]].version if key[1] in policies else 0
            state = consent_state(
                granted=True,
                active=active,
                expiry=expiry,
                policy_version=version,
                current_version=current,
                deactivated=key[0] in deactivated,
                now=now,
            )
            consents.append(
                IndexedConsent(
                    *key,
                    state=state,
                    active=active,
                    expiry=expiry,
                    granted_at=granted_at,
                    policy_version=version,
                    current_version=current,
                    organization_status=standing.get(key[1], "not admitted"),
                    erasure=erasures.get((key[0], key[1])),
                )
            )
        disclosures = disclosure_consents(
            disclosed,
            order=order,
            current_versions={org: policy.version for org, policy in policies.items()},
            standing=standing,
            deactivated=deactivated,
            erasures=erasures,
            now=now,
        )
        return SubjectConsents(block, now, consents, policies, disclosures)

    def _consent_facts(
        self, who: list[str]
    ) -> dict[tuple[str, str, bytes, bytes], tuple[tuple[int, int], bool, int, int, int]]:
        """(identity, org, purpose, category) -> (first grant's position, active, expiry,
        policy version, granted at) from the consents table, replayed in chain order."""
        facts: dict[tuple[str, str, bytes, bytes], tuple[tuple[int, int], bool, int, int, int]]
        facts = {}
        rows = self.db.execute(
            "SELECT c.block, c.log_index, c.granted, c.identity, c.organization, c.purpose, "
            "c.category, c.expiry, c.policy_version, b.timestamp FROM consents c "
            f"JOIN blocks b ON b.number = c.block WHERE c.identity IN ({_marks(who)}) "
            "ORDER BY c.block, c.log_index",
            who,
        )
        for (
            block,
            log_index,
            granted,
            identity,
            org,
            purpose,
            category,
            expiry,
            version,
            ts,
        ) in rows:
            key = (identity, org, bytes(purpose), bytes(category))
            known = facts.get(key)
            if granted:
                first = (block, log_index) if known is None else known[0]
                facts[key] = (first, True, int(expiry), int(version), int(ts))
            elif known is not None:
                facts[key] = (known[0], False, *known[2:])
        return facts

    def _policies(self, orgs: list[str]) -> dict[str, IndexedPolicy]:
        found: dict[str, IndexedPolicy] = {}
        for org, version, content_hash, uri, purposes in self.db.execute(
            "SELECT organization, version, content_hash, uri, purposes FROM policies "
            f"WHERE organization IN ({_marks(orgs)}) ORDER BY block, log_index",
            orgs,
        ):
            codes = frozenset(bytes.fromhex(p[2:]) for p in json.loads(purposes))
            found[org] = IndexedPolicy(org, int(version), bytes(content_hash), uri, codes)
        return found

    def _standing(self, orgs: list[str]) -> dict[str, OrganizationStanding]:
        standing: dict[str, OrganizationStanding] = {}
        events = list(_STANDING_AFTER)
        for account, event in self.db.execute(
            f"SELECT account, event FROM accounts WHERE account IN ({_marks(orgs)}) "
            f"AND event IN ({_marks(events)}) ORDER BY block, log_index",
            [*orgs, *events],
        ):
            standing[account] = _STANDING_AFTER[event]
        return standing

    def _identity_events(self, who: list[str], events: Iterable[str]) -> list[tuple[Any, ...]]:
        """(block, log_index, tx_hash, event, args as dict, block time) of ``events`` naming
        one of ``who`` as ``identity``, in chain order."""
        names = list(events)
        rows = self.db.execute(
            "SELECT e.block, e.log_index, e.tx_hash, e.event, e.args, b.timestamp FROM events e "
            f"JOIN blocks b ON b.number = e.block WHERE {_BY_IDENTITY} IN ({_marks(who)}) "
            f"AND e.event IN ({_marks(names)}) ORDER BY e.block, e.log_index",
            [*who, *names],
        )
        return [(*row[:4], json.loads(row[4]), int(row[5])) for row in rows]

    def history(self, identities: Sequence[str]) -> list[HistoryRow]:
        """Every grant, withdrawal, use, disclosure, disclosure-consent change and erasure
        request or confirmation naming one of the identities, in chain order: the rows
        :func:`collective.client.subject_history.identity_history` reads from the chain
        (``identity_for`` and the names None), as of the latest indexed block.

        Args:
            identities: identity addresses (``0x`` + 40 hex, any case).

        Raises:
            AuditError: nothing is indexed yet.
        """
        who = [i.lower() for i in identities]
        rows: list[HistoryRow] = []
        with self._snapshot():
            marks = _marks(who)
            for (
                block,
                log_index,
                tx,
                granted,
                identity,
                org,
                p,
                c,
                expiry,
                version,
                agent,
                ts,
            ) in self.db.execute(
                "SELECT c.block, c.log_index, c.tx_hash, c.granted, c.identity, "
                "c.organization, c.purpose, c.category, c.expiry, c.policy_version, c.agent, "
                f"b.timestamp FROM consents c JOIN blocks b ON b.number = c.block "
                f"WHERE c.identity IN ({marks})",
                who,
            ):
                rows.append(
                    HistoryRow(
                        timestamp=int(ts),
                        block=block,
                        log_index=log_index,
                        tx_hash="0x" + bytes(tx).hex(),
                        action=GRANT if granted else WITHDRAW,
                        organization=Address(checksum(org)),
                        identity=Address(checksum(identity)),
                        identity_for=None,
                        purpose=name_of(bytes(p)),
                        category=name_of(bytes(c)),
                        expiry=expiry_or_none(expiry) if granted else None,
                        policy_version=int(version) if granted else None,
                        agent=Address(checksum(agent)),
                    )
                )
            for block, log_index, tx, identity, org, p, c, ref, version, ts in self.db.execute(
                "SELECT u.block, u.log_index, u.tx_hash, u.identity, u.organization, u.purpose, "
                "u.category, u.data_ref, u.policy_version, b.timestamp FROM uses u "
                f"JOIN blocks b ON b.number = u.block WHERE u.identity IN ({marks})",
                who,
            ):
                rows.append(
                    HistoryRow(
                        timestamp=int(ts),
                        block=block,
                        log_index=log_index,
                        tx_hash="0x" + bytes(tx).hex(),
                        action=USE,
                        organization=Address(checksum(org)),
                        identity=Address(checksum(identity)),
                        identity_for=None,
                        purpose=name_of(bytes(p)),
                        category=name_of(bytes(c)),
                        data_ref="0x" + bytes(ref).hex(),
                        policy_version=int(version),
                    )
                )
            rows += [_event_row(*row) for row in self._identity_events(who, _HISTORY_EVENTS)]
        rows.sort(key=lambda row: (row.block, row.log_index))
        return rows


def _deactivated(rows: list[tuple[Any, ...]]) -> set[str]:
    """The identities a ``DIDOwnerChanged`` of ``rows`` deactivated (owner ``0x0``)."""
    return {
        str(args["identity"]).lower()
        for _, _, _, event, args, _ in rows
        if event == "DIDOwnerChanged" and str(args["owner"]) == NULL
    }


def _erasures(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], IndexedErasure]:
    """Each (identity, organization)'s erasure from the requests and confirmations of
    ``rows`` (the first request counts; the first confirmation after it)."""
    found: dict[tuple[str, str], IndexedErasure] = {}
    for _, _, _, event, args, ts in rows:
        if event == "DIDOwnerChanged":
            continue
        pair = (str(args["identity"]).lower(), str(args["organization"]).lower())
        if event == "ErasureRequested":
            found.setdefault(pair, IndexedErasure(ts, int(args["dueAt"]), 0))
        elif pair in found and not found[pair].confirmed_at:
            request = found[pair]
            found[pair] = IndexedErasure(request.requested_at, request.due_at, ts)
    return found


def _event_row(
    block: int, log_index: int, tx: bytes, event: str, args: dict[str, Any], ts: int
) -> HistoryRow:
    """The history row of a disclosure, disclosure-consent or erasure event (its arguments as
    the index keeps them: addresses and bytes32 as ``0x`` text)."""
    action = _HISTORY_EVENTS[event]
    erasure = action in (ERASURE_REQUEST, ERASURE_CONFIRM)
    org = Address(checksum(str(args["organization" if erasure else "discloser"])))
    version = args.get("policyVersion")
    evidence = args.get("evidenceHash")
    return HistoryRow(
        timestamp=ts,
        block=block,
        log_index=log_index,
        tx_hash="0x" + bytes(tx).hex(),
        action=action,
        organization=org,
        identity=Address(checksum(str(args["identity"]))),
        identity_for=None,
        purpose="" if erasure else name_of(bytes.fromhex(str(args["purpose"])[2:])),
        category="" if erasure else name_of(bytes.fromhex(str(args["category"])[2:])),
        expiry=expiry_or_none(int(args["expiry"])) if action == DISCLOSURE_GRANT else None,
        data_ref=str(args["dataRef"]).lower() if action == DISCLOSE else None,
        recipient=None if erasure else Address(checksum(str(args["recipient"]))),
        policy_version=None if version is None else int(version),
        due_at=int(args["dueAt"]) if action == ERASURE_REQUEST else None,
        evidence_hash=None if evidence is None else str(evidence).lower(),
        agent=Address(checksum(str(args["agent"]))) if "agent" in args else None,
    )


__all__ = [
    "IndexedConsent",
    "IndexedErasure",
    "IndexedPolicy",
    "SubjectConsents",
    "SubjectReader",
]
