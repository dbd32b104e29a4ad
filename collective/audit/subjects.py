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

The queries live beside this reader, one concern each: :mod:`~collective.audit.subject_events`
(event rows by identity; deactivations and erasures folded from them),
:mod:`~collective.audit.subject_history` (the history rows) and
:mod:`~collective.audit.subject_disclosures` (disclosure consents); the names this module
exported before they moved (``IndexedErasure``, ``NULL``) are still importable from it.

Not in the index: a consent's nonce (it moves with every signed request's own nonce and
every direct call's clock): read it from the chain before signing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from collective.audit.subject_disclosures import (
    DISCLOSURE_CONSENT_EVENTS,
    IndexedDisclosureConsent,
    disclosure_consents,
    disclosure_facts,
)
from collective.audit.subject_events import (
    NULL,
    REGISTRY_EVENTS,
    IndexedErasure,
    deactivated,
    erasures,
    identity_events,
    marks,
)
from collective.audit.subject_history import history_rows
from collective.client.subject_records import HistoryRow
from collective.errors import AuditError
from collective.ledger.consent_state import ConsentState, OrganizationStanding, consent_state

_STANDING_AFTER: dict[str, OrganizationStanding] = {
    "AccountAdmitted": "active",
    "AccountSuspended": "suspended",
    "AccountReinstated": "active",
    "AccountRemoved": "not admitted",
}


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
            events = identity_events(self.db, who, REGISTRY_EVENTS + DISCLOSURE_CONSENT_EVENTS)
            registry = [row for row in events if row[3] in REGISTRY_EVENTS]
            disclosed = disclosure_facts(events)
            orgs = sorted({key[1] for key in facts} | {o for k in disclosed for o in k[1:3]})
            policies = self._policies(orgs)
            standing = self._standing(orgs)
        gone = deactivated(registry)
        erased = erasures(registry)
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
                deactivated=key[0] in gone,
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
                    erasure=erased.get((key[0], key[1])),
                )
            )
        disclosures = disclosure_consents(
            disclosed,
            order=order,
            current_versions={org: policy.version for org, policy in policies.items()},
            standing=standing,
            deactivated=gone,
            erasures=erased,
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
            f"JOIN blocks b ON b.number = c.block WHERE c.identity IN ({marks(who)}) "
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
            f"WHERE organization IN ({marks(orgs)}) ORDER BY block, log_index",
            orgs,
        ):
            codes = frozenset(bytes.fromhex(p[2:]) for p in json.loads(purposes))
            found[org] = IndexedPolicy(org, int(version), bytes(content_hash), uri, codes)
        return found

    def _standing(self, orgs: list[str]) -> dict[str, OrganizationStanding]:
        standing: dict[str, OrganizationStanding] = {}
        events = list(_STANDING_AFTER)
        for account, event in self.db.execute(
            f"SELECT account, event FROM accounts WHERE account IN ({marks(orgs)}) "
            f"AND event IN ({marks(events)}) ORDER BY block, log_index",
            [*orgs, *events],
        ):
            standing[account] = _STANDING_AFTER[event]
        return standing

    def history(self, identities: Sequence[str]) -> list[HistoryRow]:
        """Every grant, withdrawal, use, disclosure, disclosure-consent change and erasure
        request or confirmation naming one of the identities, in chain order: the rows
        :func:`collective.client.subject_history.identity_history` reads from the chain
        (``identity_for`` and the names None), as of the latest indexed block
        (:func:`collective.audit.subject_history.history_rows`).

        Args:
            identities: identity addresses (``0x`` + 40 hex, any case).

        Raises:
            AuditError: nothing is indexed yet.
        """
        with self._snapshot():
            return history_rows(self.db, [i.lower() for i in identities])


__all__ = [
    "NULL",
    "IndexedConsent",
    "IndexedErasure",
    "IndexedPolicy",
    "SubjectConsents",
    "SubjectReader",
]
