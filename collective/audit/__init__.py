"""Audit: index, verify and report the on-chain record, from the chain's event logs alone.

    from collective.audit import sync, verify, report

    result = sync(chain, deployment, "cache/audit-anvil.sqlite")   # incremental, resumable
    verdict = verify("cache/audit-anvil.sqlite", chain=chain, deployment=deployment)
    assert verdict.ok, verdict.violations
    print(render(report("cache/audit-anvil.sqlite", subject=did), "html"))

- :func:`sync` (:mod:`~collective.audit.indexer`) indexes every event of the deployment
  into SQLite (:mod:`~collective.audit.store`), from any JSON-RPC node or the embedded chain.
- :func:`verify` (:mod:`~collective.audit.verifier`) replays the index and checks each use
  and each onward disclosure was covered, the block chain of the index and the code at the
  manifest's addresses.
- :func:`report` and :func:`history` (:mod:`~collective.audit.report`) gather a subject's,
  an organization's or everything's record; :func:`render` (:mod:`~collective.audit.render`)
  writes it as a text table, CSV, JSON or a self-contained HTML page with an SVG timeline.
- :func:`default_index_path` (:mod:`~collective.audit.paths`): where the CLI keeps a
  network's index when no ``--db`` is given.
"""

from collective.audit.indexer import sync
from collective.audit.model import (
    BoardAction,
    ConsentEvent,
    ConsentRef,
    DisclosureConsentEntry,
    DisclosureEntry,
    Flag,
    ForeignLog,
    LogPosition,
    Reorg,
    Report,
    SyncResult,
    UseEntry,
    VerifyResult,
    Violation,
)
from collective.audit.paths import default_index_path
from collective.audit.render import FORMATS, render
from collective.audit.report import history, report
from collective.audit.source import EmbeddedSource, LogSource, RpcSource
from collective.audit.store import AuditIndex, open_index
from collective.audit.verifier import verify

__all__ = [
    "FORMATS",
    "AuditIndex",
    "BoardAction",
    "ConsentEvent",
    "ConsentRef",
    "DisclosureConsentEntry",
    "DisclosureEntry",
    "EmbeddedSource",
    "Flag",
    "ForeignLog",
    "LogPosition",
    "LogSource",
    "Reorg",
    "Report",
    "RpcSource",
    "SyncResult",
    "UseEntry",
    "VerifyResult",
    "Violation",
    "default_index_path",
    "history",
    "open_index",
    "render",
    "report",
    "sync",
    "verify",
]
