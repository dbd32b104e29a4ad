"""Throughput and latency of a 4-validator consortium network (CometBFT + collective node),
beside one `collective node` on the same machine, against the targets of issue #12.

A local network (``collective network init`` in a temporary folder, every process on this
machine) is set up through validator 1: 20 subjects funded and admitted, a policy published
by validator 1's organization. Then 2,000 pre-signed direct consent grants
(``ConsentLedger.grant``, each subject's nonces in order) are sent to validator 1 in
JSON-RPC batches, paced at an offered rate a little above the target, while a watcher polls
for new blocks every 20 ms and notes when each transaction is first seen committed.

Figures: committed grants per second (first send to last commit) and the median and 95th
percentile time from a transaction's send to its committed receipt. The same workload, set up
the same way, then runs against one `collective node` (durable, instant sealing) started on
the network's own genesis: what consensus costs, on the same machine in the same run.

    python benchmarks/network.py            # table; exit 1 when a target is missed
    python benchmarks/network.py --json
    python benchmarks/network.py --quick    # 300 grants, no targets (a smoke test)
    python benchmarks/network.py --report   # MISSED printed, exit 0 (what CI runs: README)
    python benchmarks/network.py --engine revm   # every node executes blocks with revm

Targets (4 validators on this machine): >= 200 grants/s committed over 2,000 transactions,
median send-to-receipt <= 1.5 s. For scale: Hyperledger Besu with QBFT and 4 validators, each
on its own machine, is reported at 750-1,200 TPS for a simple contract.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collective.chain import connect_rpc  # noqa: E402
from collective.deploy.manifest import load_deployment  # noqa: E402
from collective.ledger.signing import code  # noqa: E402
from collective.network.genesis import admin_key, organization_keys  # noqa: E402
from collective.testing import NodeProcess  # noqa: E402
from collective.testing.consortium import run_consortium  # noqa: E402
from collective.testing.workload import RESEARCH, sign_grants, sign_tx  # noqa: E402

SUBJECTS = 20
BATCH = 50
TARGET_RATE = 200.0
TARGET_MEDIAN = 1.5


def rpc(session: requests.Session, url: str, method: str, *params: Any) -> Any:
    reply = session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                    "params": list(params)}).json()  # fmt: skip
    if "error" in reply:
        raise SystemExit(f"{method}: {reply['error']}")
    return reply["result"]


def send(session: requests.Session, url: str, raws: list[bytes]) -> list[str]:
    body: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
         "params": ["0x" + raw.hex()]}
        for i, raw in enumerate(raws)
    ]  # fmt: skip
    replies = session.post(url, json=body).json()
    hashes = []
    for reply in sorted(replies, key=lambda r: r["id"]):
        if "error" in reply:
            raise SystemExit(f"a transaction was refused: {reply['error']}")
        hashes.append(reply["result"])
    return hashes


def wait_receipts(url: str, hashes: list[str], timeout: float = 120.0) -> list[dict[str, Any]]:
    session = requests.Session()
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, Any]] = {}
    while len(found) < len(hashes):
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(found)} of {len(hashes)} transactions committed")
        missing = [h for h in hashes if h not in found]
        body: list[dict[str, Any]] = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt", "params": [h]}
            for i, h in enumerate(missing[:500])
        ]
        for reply in session.post(url, json=body).json():
            if reply.get("result"):
                found[reply["result"]["transactionHash"]] = reply["result"]
        time.sleep(0.05)
    return [found[h] for h in hashes]


def set_up(url: str, chain_id: int, work: Path, name: str) -> tuple[list[LocalAccount], str, str]:
    """Fund and admit the subjects, publish the organization's policy (version 1): all
    signed ahead with explicit nonces, sent in one batch, waited for."""
    admin = Account.from_key(admin_key())
    organization = Account.from_key(organization_keys(1)[0])
    chain = connect_rpc(url)
    suite = load_deployment(chain, work / "manifest.json")
    rules, ledger = suite.contract("AccountRules"), suite.contract("ConsentLedger")
    subjects = [Account.create(f"{name}-subject-{i}") for i in range(SUBJECTS)]
    session = requests.Session()
    nonce = int(rpc(session, url, "eth_getTransactionCount", admin.address, "pending"), 16)
    raws = []
    for subject in subjects:
        raws.append(sign_tx(admin, chain_id, nonce, subject.address, gas=21_000,
                            value=10**20))  # fmt: skip
        admit = bytes.fromhex(rules.encode_abi("admit", args=[subject.address])[2:])
        raws.append(sign_tx(admin, chain_id, nonce + 1, rules.address, admit, gas=150_000))
        nonce += 2
    publish = ledger.encode_abi(
        "publishPolicy", args=[code("policy"), "ipfs://policy", [code(RESEARCH)]]
    )
    org_nonce = int(rpc(session, url, "eth_getTransactionCount", organization.address,
                        "pending"), 16)  # fmt: skip
    raws.append(sign_tx(organization, chain_id, org_nonce, ledger.address,
                        bytes.fromhex(publish[2:]), gas=500_000))  # fmt: skip
    for receipt in wait_receipts(url, send(session, url, raws)):
        if receipt["status"] != "0x1":
            raise SystemExit(f"set-up transaction {receipt['transactionHash']} failed")
    return subjects, ledger.address, organization.address


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far (Linux /proc/stat; zeros elsewhere)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def process_kind(cmdline: list[str]) -> str:
    """What a process of the run is, by its command line: ``cometbft``, ``node`` (a
    ``collective node``) or ``helper`` (a node's sender recovery helper)."""
    if cmdline and Path(cmdline[0]).name == "cometbft":
        return "cometbft"
    return "helper" if "collective.node.senders" in cmdline else "node"


def process_cpu(mark: str) -> dict[str, float]:
    """CPU seconds (user + system) used so far, by :func:`process_kind`, by every process
    whose command line mentions ``mark`` (the run's temporary folder) and their descendants
    (Linux /proc; empty elsewhere)."""
    parents: dict[int, int] = {}
    cmdlines: dict[int, list[str]] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid], cmdlines[pid] = int(fields[1]), cmdline
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime

    def ours(pid: int) -> bool:
        while pid in cmdlines:
            if any(mark in arg for arg in cmdlines[pid]):
                return True
            pid = parents[pid]
        return False

    totals: dict[str, float] = {}
    hertz = os.sysconf("SC_CLK_TCK")
    for pid, cmdline in cmdlines.items():
        if ours(pid):
            kind = process_kind(cmdline)
            totals[kind] = totals.get(kind, 0.0) + ticks[pid] / hertz
    return totals


def paced_run(url: str, raws: list[bytes], rate: float, mark: str) -> dict[str, float]:
    """Send ``raws`` in batches of :data:`BATCH` at ``rate`` per second; watch blocks every
    20 ms; returns committed/s, median and p95 send-to-commit seconds, transactions per block
    (of the blocks holding them), the machine's busy
    share and the CPU milliseconds per transaction of each kind of process (``ms node``,
    ``ms cometbft``, ``ms helper``: :func:`process_cpu` of ``mark``; ``ms client``: this
    benchmark's own sending and polling)."""
    session = requests.Session()
    sent_at: dict[str, float] = {}
    committed_at: dict[str, float] = {}
    done = threading.Event()
    head = int(rpc(session, url, "eth_blockNumber"), 16)

    def watch() -> None:
        nonlocal head
        watcher = requests.Session()
        while not done.is_set():
            now_head = int(rpc(watcher, url, "eth_blockNumber"), 16)
            seen = time.perf_counter()
            for number in range(head + 1, now_head + 1):
                block = rpc(watcher, url, "eth_getBlockByNumber", hex(number), False)
                for tx_hash in block["transactions"]:
                    committed_at.setdefault(tx_hash, seen)
            head = now_head
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    busy_before, total_before = cpu_times()
    processes_before = process_cpu(mark)
    client_before = time.process_time()
    started = time.perf_counter()
    for index in range(0, len(raws), BATCH):
        due = started + index / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        moment = time.perf_counter()
        for tx_hash in send(session, url, raws[index : index + BATCH]):
            sent_at[tx_hash] = moment
    receipts = wait_receipts(url, list(sent_at))
    busy_after, total_after = cpu_times()
    processes_after = process_cpu(mark)
    processes_after["client"] = time.process_time() - client_before
    time.sleep(0.1)
    done.set()
    watcher.join()
    failed = [r["transactionHash"] for r in receipts if r["status"] != "0x1"]
    if failed:
        raise SystemExit(f"{len(failed)} grants reverted, e.g. {failed[0]}")
    blocks = {r["blockNumber"] for r in receipts}
    latencies = sorted(committed_at[h] - sent_at[h] for h in sent_at)
    last = max(committed_at[h] for h in sent_at)
    return {
        "rate": len(raws) / (last - started),
        "median": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "per block": len(raws) / len(blocks),
        "cpu": (busy_after - busy_before) / max(total_after - total_before, 1),
    } | {
        f"ms {kind}": 1000 * (spent - processes_before.get(kind, 0.0)) / len(raws)
        for kind, spent in sorted(processes_after.items())
    }


def measure(
    count: int, rate: float, engine: str = "py-evm", with_single: bool = True
) -> dict[str, dict[str, float]]:
    """The figures of :func:`paced_run` for the network (``4 validators``) and, with
    ``with_single``, for one node on the same genesis (``1 node``), ``count`` grants each."""
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="collective-network-bench-") as tmp:
        work = Path(tmp)
        with run_consortium(validators=4, root=work / "net", start=False) as net:
            net.layout = replace(net.layout, engine=engine)  # every validator's node
            net.layout.save()
            net.start()
            url = net.urls[0]
            chain_id = net.layout.chain_id
            subjects, ledger, organization = set_up(url, chain_id, net.root, "net")
            nonces: dict[str, int] = {s.address: 0 for s in subjects}
            raws = sign_grants(subjects, ledger, organization, count, chain_id, nonces, "net")
            figures["4 validators"] = paced_run(url, raws, rate, tmp)
            genesis = net.layout.genesis_path
            manifest = net.root / "manifest.json"
            if not with_single:
                return figures
            (work / "single").mkdir()
            (work / "single" / "manifest.json").write_text(manifest.read_text())
        single = NodeProcess(
            "--genesis", str(genesis), "--engine", engine, data_dir=work / "single" / "data"
        )
        try:
            subjects, ledger, organization = set_up(single.url, chain_id, work / "single", "one")
            nonces = {s.address: 0 for s in subjects}
            raws = sign_grants(subjects, ledger, organization, count, chain_id, nonces, "one")
            figures["1 node"] = paced_run(single.url, raws, rate, tmp)
        finally:
            single.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="300 grants, targets not checked")
    parser.add_argument("--txs", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=250.0, help="offered grants per second")
    parser.add_argument(
        "--engine", choices=["py-evm", "revm"], default="py-evm", help="what the nodes execute with"
    )
    parser.add_argument(
        "--network-only", action="store_true", help="no single-node run (quicker, to profile)"
    )
    parser.add_argument(
        "--report", action="store_true", help="print MISSED targets but exit 0 (CI, see README)"
    )
    args = parser.parse_args()
    count = 300 if args.quick else args.txs
    figures = measure(count, args.rate, args.engine, not args.network_only)
    net = figures["4 validators"]
    ok = net["rate"] >= TARGET_RATE and net["median"] <= TARGET_MEDIAN
    if args.json:
        print(json.dumps({"figures": figures, "ok": ok, "engine": args.engine}, indent=2))
    else:
        print(
            f"{count:,} grants offered at {args.rate:g}/s in batches of {BATCH}, "
            f"engine {args.engine}"
        )
        print(f"{'':14} {'grants/s':>10} {'median s':>9} {'p95 s':>7} {'per block':>10} "
              f"{'machine busy':>13}")  # fmt: skip
        for name, row in figures.items():
            print(f"{name:14} {row['rate']:>10,.1f} {row['median']:>9.3f} {row['p95']:>7.3f} "
                  f"{row['per block']:>10.1f} {row['cpu']:>12.0%}")  # fmt: skip
        kinds = sorted({k for row in figures.values() for k in row if k.startswith("ms ")})
        print("CPU ms per grant: " + "; ".join(
            f"{name}: " + ", ".join(f"{k[3:]} {row.get(k, 0.0):.1f}" for k in kinds)
            for name, row in figures.items()))  # fmt: skip
        print(f"targets (4 validators): >= {TARGET_RATE:g} grants/s, median <= "
              f"{TARGET_MEDIAN:g} s: {'ok' if ok else 'MISSED'}")  # fmt: skip
    return 0 if ok or args.quick or args.report else 1


if __name__ == "__main__":
    sys.exit(main())
