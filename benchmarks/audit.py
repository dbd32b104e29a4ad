"""Audit figures against issue #5's targets.

- sync: ``collective.audit.sync`` from anvil into a fresh SQLite index; the events are made on
  anvil by real transactions (``grantBatch`` by 8 subjects, then ``recordUseBatch`` batches by
  one organization); target >= 20,000 events/s.
- verify: ``collective.audit.verify`` over an index of 1,000,000 events that this script fills
  directly (grants, then uses covered by them, with block headers linked by parent hash: the
  same rows sync writes); target <= 60 s.
- subject history: ``collective.audit.history`` of one subject (its uses with the consent each
  relied on and the policy) on that 1,000,000-event index, the slowest of 200 subjects;
  target <= 20 ms.

Starts its own anvil (npm @foundry-rs/anvil) unless ``--rpc`` names a dev node. Prints a table
(or ``--json``) and exits 1 when a target is missed.

    python benchmarks/audit.py
    python benchmarks/audit.py --sync-events 400000 --index-events 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from collective.audit import history, open_index, sync, verify
from collective.chain import Chain, connect_rpc
from collective.chain.codec import Codec
from collective.deploy import Deployment, deploy_suite
from collective.ledger.signing import code
from collective.testing.anvil import node_or_anvil

SYNC_TARGET = 20_000.0
VERIFY_TARGET = 60.0
HISTORY_TARGET_MS = 20.0
RESEARCH = code("dpv:ResearchAndDevelopment")
TX_GAS = 16_000_000  # under the per-transaction cap of 2**24 (EIP-7825)
USES_PER_TX = 1_800  # ~8,400 gas each
CATEGORIES = 200  # consents per subject
FAR_FUTURE = 2**40


def make_events(chain: Chain, suite: Deployment, uses: int) -> None:
    """Grants by 8 subjects, then ``uses`` covered uses in big batches."""
    dev = chain.dev_accounts
    admin, org, subjects = dev[0], dev[1], dev[2:10]
    ledger = suite.contract("ConsentLedger")
    codec = Codec(ledger.abi)
    rules = suite.contract("AccountRules")
    chain.transact(rules.functions.admit(org.address), admin)
    chain.transact(ledger.functions.publishPolicy(code("bench"), "https://x", [RESEARCH]), org)
    categories = [code(f"bench:category/{i}") for i in range(CATEGORIES)]
    pending = []
    for subject in subjects:
        items = [(org.address, RESEARCH, c, FAR_FUTURE, 1) for c in categories]
        data = codec.encode("grantBatch", [subject.address, items])
        pending.append(chain.send_data(ledger.address, data, subject, what="grantBatch"))
    for tx in pending:
        chain.wait(tx)
    keys = [(s.address, c) for s in subjects for c in categories]
    sent = 0
    pending = []
    while sent < uses:
        size = min(USES_PER_TX, uses - sent)
        rows = [
            (*keys[(sent + i) % len(keys)][:1], RESEARCH, keys[(sent + i) % len(keys)][1],
             (sent + i).to_bytes(32, "big"))
            for i in range(size)
        ]  # fmt: skip
        data = codec.encode("recordUseBatch", [rows])
        pending.append(
            chain.send_data(ledger.address, data, org, what="recordUseBatch", gas=TX_GAS)
        )
        sent += size
    for tx in pending:
        chain.wait(tx)


def measure_sync(rpc: str | None, uses: int, scratch: Path) -> dict[str, Any]:
    with node_or_anvil(rpc) as url:
        chain = connect_rpc(url)
        suite = deploy_suite(
            chain, chain.dev_accounts[0], manifest_path=scratch / "m.json", fresh=True
        )
        started = time.perf_counter()
        make_events(chain, suite, uses)
        generated = time.perf_counter() - started
        result = sync(chain, suite, scratch / "sync.sqlite")
        check = verify(scratch / "sync.sqlite", chain=chain, deployment=suite)
    return {
        "sync events": result.events,
        "sync seconds": round(result.seconds, 2),
        "sync events/s": round(result.events_per_second),
        "sync ranges": result.ranges,
        "generate seconds": round(generated, 1),
        "sync verdict": "ok" if check.ok else f"{len(check.violations)} violations",
    }


def fill_index(path: Path, events: int, subjects: int = 100_000, per_block: int = 1_000) -> None:
    """An index of ``events`` events written directly: one organization, policy v1, one grant
    per subject (a fifth of the events), the rest uses by the organization covered by them."""
    rng = random.Random(5)
    index = open_index(path)
    db = index.db
    org = "0x" + "0a" * 20
    ledger = "0x" + "1c" * 20
    index.set_meta("chain_id", "31337")
    index.set_meta(
        "addresses",
        json.dumps({"AccountRules": "0x" + "0b" * 20, "ConsentLedger": ledger,
                    "OversightBoard": "0x" + "0d" * 20}),
    )  # fmt: skip
    index.set_meta("first_block", "1")
    identities = ["0x" + keccak(i.to_bytes(8, "big"))[:20].hex() for i in range(subjects)]
    category = code("dpv-pd:MedicalHealth")
    db.execute("BEGIN")
    block, log_index, parent, made = 1, 0, b"\0" * 32, 0
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in ("events", "uses", "consents")}
    headers: list[tuple[Any, ...]] = []
    count = 0

    def next_position() -> tuple[int, int]:
        nonlocal block, log_index, parent, count
        if log_index == per_block:
            digest = keccak(block.to_bytes(8, "big"))
            headers.append((block, digest, parent, 1_700_000_000 + 12 * block, count))
            parent, block, log_index, count = digest, block + 1, 0, 0
        log_index += 1
        count += 1
        return block, log_index - 1

    admin = "0x" + "ad" * 20
    b, i = next_position()
    tx = keccak(b"admin")
    rows["events"].append((b, i, tx, "AccountRules", "AdminAdded", json.dumps({})))
    index.insert_rows("accounts", [(b, i, "AdminAdded", admin, admin)])
    b, i = next_position()
    tx = keccak(b"admit")
    rows["events"].append((b, i, tx, "AccountRules", "AccountAdmitted", json.dumps({})))
    index.insert_rows("accounts", [(b, i, "AccountAdmitted", org, admin)])
    b, i = next_position()
    rows["events"].append((b, i, tx, "ConsentLedger", "PolicyPublished", json.dumps({})))
    index.insert_rows(
        "policies",
        [(b, i, org, 1, keccak(b"policy"), "https://x", json.dumps(["0x" + RESEARCH.hex()]))],
    )
    made = 3
    for identity in identities[: min(subjects, events // 5)]:
        b, i = next_position()
        tx = keccak(b.to_bytes(8, "big"))
        rows["consents"].append(
            (b, i, tx, 1, identity, org, RESEARCH, category, FAR_FUTURE, 1, identity)
        )
        made += 1
    granted = made - 3
    while made < events:
        b, i = next_position()
        tx = keccak(b.to_bytes(8, "big"))
        identity = identities[rng.randrange(granted)]
        rows["uses"].append((b, i, tx, identity, org, RESEARCH, category, tx, 1))
        made += 1
        if len(rows["uses"]) >= 100_000:
            for table, table_rows in rows.items():
                index.insert_rows(table, table_rows)
                table_rows.clear()
    digest = keccak(block.to_bytes(8, "big"))
    headers.append((block, digest, parent, 1_700_000_000 + 12 * block, count))
    for table, table_rows in rows.items():
        index.insert_rows(table, table_rows)
    index.insert_rows("blocks", headers)
    index.set_meta("synced_to", str(block))
    db.execute("COMMIT")
    index.close()


def measure_index(events: int, scratch: Path) -> dict[str, Any]:
    path = scratch / "million.sqlite"
    started = time.perf_counter()
    fill_index(path, events)
    filled = time.perf_counter() - started
    result = verify(path)
    with open_index(path) as index:
        subjects = [
            row[0]
            for row in index.db.execute(
                "SELECT identity FROM consents ORDER BY block, log_index LIMIT 200"
            )
        ]
        times = []
        lengths = []
        for subject in subjects:
            t0 = time.perf_counter()
            found = history(index, subject)
            times.append((time.perf_counter() - t0) * 1000)
            lengths.append(len(found))
    return {
        "index events": events,
        "fill seconds": round(filled, 1),
        "verify seconds": round(result.seconds, 2),
        "verify verdict": "ok" if result.ok else f"{len(result.violations)} violations",
        "history median ms": round(statistics.median(times), 2),
        "history max ms": round(max(times), 2),
        "history uses per subject": round(statistics.mean(lengths), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", help="a running dev node (default: start anvil)")
    parser.add_argument("--sync-events", type=int, default=300_000, help="uses made on anvil")
    parser.add_argument("--index-events", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        figures = {
            **measure_sync(args.rpc, args.sync_events, Path(scratch)),
            **measure_index(args.index_events, Path(scratch)),
        }
    checks = [
        ("sync events/s", figures["sync events/s"], SYNC_TARGET, True),
        ("verify seconds", figures["verify seconds"], VERIFY_TARGET, False),
        ("history max ms", figures["history max ms"], HISTORY_TARGET_MS, False),
    ]
    missed = [n for n, value, target, up in checks if (value < target if up else value > target)]
    if figures["sync verdict"] != "ok" or figures["verify verdict"] != "ok":
        missed.append("verdict")
    if args.json:
        print(json.dumps({**figures, "missed": missed}, indent=2))
    else:
        print("audit figures")
        for name, value in figures.items():
            print(f"  {name:<26} {value}")
        for name, value, target, up in checks:
            mark = "ok" if name not in missed else "MISSED"
            sign = ">=" if up else "<="
            print(f"  {name:<26} {value:>12,}  target {sign} {target:,.0f}  {mark}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
