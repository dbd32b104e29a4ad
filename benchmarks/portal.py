"""The consent portal under load (issue #14's benchmark): "my consents" and the relay endpoint.

Set-up: a ``collective node --dev`` in its own process with the suite deployed; one
organization (dev account 1, the portal's relayer) publishes a policy; 200 identities (fresh
keys, no funds) sign 5 grants each, which the organization relays in signed batches (1,000
consents); the organization records 10 uses of each consent in batches (10,000 uses). Then
``collective portal --rpc ... --relayer 1`` starts as a separate process, on a free port; it
indexes the chain into its audit index (:mod:`collective.portal.index`) and follows it.

Load, from this process (a second process on loopback): 50 concurrent clients (aiohttp, one
keep-alive connection each, each from its own loopback address 127.0.0.x, as 50 households
would be: the relay's rate limit keys on the client address):

- page: ``GET /api/consents`` naming one person's 5 identities (as the page asks for a
  person's pairwise identities), 25 consents an answer, persons in turn, ``--requests``
  in all;
- relay: ``POST /api/relay`` of signed withdrawals of distinct consents (``--withdrawals``,
  signed before the clock starts), each answered once mined and indexed.

Figures: p50/p95/p99 latency (ms) and requests per second for each. Target: the page's p95
<= 200 ms at 50 clients (the relay, bound by the chain's sealing, has none).

    python benchmarks/portal.py              # table; exit 1 when the target is missed
    python benchmarks/portal.py --json
    python benchmarks/portal.py --report     # MISSED printed, exit 0 (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collective.chain import connect_rpc  # noqa: E402
from collective.client import Collective  # noqa: E402
from collective.client.usage import UseItem  # noqa: E402
from collective.deploy import deploy_suite  # noqa: E402
from collective.portal.app import BUNDLE  # noqa: E402
from collective.portal.security import CSRF_COOKIE  # noqa: E402
from collective.testing import NodeProcess  # noqa: E402
from collective.testing.ports import free_port  # noqa: E402

PURPOSE = "dpv:ResearchAndDevelopment"
CATEGORIES = ("dpv-pd:MedicalHealth", "dpv-pd:Age", "dpv-pd:Location", "dpv-pd:Name",
              "dpv-pd:EmailAddress")  # fmt: skip
IDENTITIES = 200
PER_PERSON = 5  # identities a "my consents" request names
USES_PER_CONSENT = 10
GRANT_BATCH = 100
USE_BATCH = 1_000
TARGET_P95_MS = 200.0
START_TIMEOUT = 120.0


def set_up(url: str, manifest: Path) -> tuple[Collective, list[LocalAccount]]:
    """Deploy, admit and publish; 1,000 signed grants relayed in batches; 10,000 uses."""
    chain = connect_rpc(url, name="node")
    dev = chain.dev_accounts
    suite = deploy_suite(
        chain, dev[0], board_members=[a.address for a in dev[7:10]], threshold=2,
        manifest_path=manifest,
    )  # fmt: skip
    admin = Collective(chain, suite, dev[0])
    org = admin.as_account(dev[1])
    admin.orgs.admit(org.address)
    org.policies.publish(b"benchmark policy v1", "https://bench.example/v1", [PURPOSE])
    policy_hash = org.signing.policy_hash(org.address)
    deadline = chain.latest_timestamp() + 3600
    keys = [Account.create() for _ in range(IDENTITIES)]
    nonce = int(time.time() * 1000)
    signed = [
        org.signing.sign_grant(
            org.address, PURPOSE, category, signer=key, policy_version=1,
            policy_hash=policy_hash, nonce=nonce, deadline=deadline,
        )
        for key in keys for category in CATEGORIES
    ]  # fmt: skip
    for start in range(0, len(signed), GRANT_BATCH):
        result = org.signing.relay_batch(signed[start : start + GRANT_BATCH])
        if result.skipped:
            raise SystemExit(f"set-up: a grant was refused: {result.skipped[0]}")
    uses = [
        UseItem(key.address, PURPOSE, category, n.to_bytes(32, "big"))
        for n in range(USES_PER_CONSENT)
        for key in keys
        for category in CATEGORIES
    ]
    for start in range(0, len(uses), USE_BATCH):
        org.usage.record_batch(uses[start : start + USE_BATCH])
    return org, keys


def start_portal(url: str, manifest: Path) -> tuple[subprocess.Popen[str], str]:
    """``collective portal`` in its own process on a free port; (process, base URL)."""
    port = free_port()
    command = [sys.executable, "-c", "from collective.cli import main; main()", "portal",
               "--rpc", url, "--manifest", str(manifest), "--relayer", "1",
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            requests.get(f"{base}/api/config", timeout=5).raise_for_status()
            return process, base
        except requests.RequestException:
            if process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
        process.kill()
        raise SystemExit(f"the portal did not start: {process.communicate()[1]}")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats(latencies: list[float], seconds: float, failed: int) -> dict[str, float]:
    """p50/p95/p99 in ms, requests per second, failures."""
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "requests": len(ordered), "failed": failed, "p50_ms": pct(0.50), "p95_ms": pct(0.95),
        "p99_ms": pct(0.99), "per_second": len(ordered) / seconds,
    }  # fmt: skip


async def drive(
    base: str, clients: int, jobs: list[tuple[str, str, Any]], csrf: bool
) -> dict[str, float]:
    """Run ``jobs`` ((method, path, params or body)) with ``clients`` concurrent clients, each
    on one keep-alive connection from its own loopback address; their latencies."""
    queue: asyncio.Queue[tuple[str, str, Any]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    failures: list[str] = []

    async def client(n: int) -> None:
        local = (f"127.0.{1 + n // 250}.{2 + n % 250}", 0)
        connector = aiohttp.TCPConnector(limit=1, local_addr=local)
        jar = aiohttp.CookieJar(unsafe=True)  # keep the CSRF cookie of an IP address
        async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as session:
            headers = {}
            if csrf:
                async with session.get(f"{base}/") as page:
                    await page.read()
                    token = page.cookies[CSRF_COOKIE].value
                headers = {"x-csrftoken": token, "content-type": "application/json"}
            while not queue.empty():
                method, path, payload = queue.get_nowait()
                began = time.perf_counter()
                if method == "GET":
                    request = session.get(f"{base}{path}", params=payload)
                else:
                    request = session.post(f"{base}{path}", data=payload, headers=headers)
                async with request as answer:
                    body = await answer.read()
                    if answer.status != 200:
                        failures.append(f"{answer.status} {body[:200]!r}")
                        continue
                latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    figures = stats(latencies, time.perf_counter() - began, len(failures))
    if failures:
        print(f"  {len(failures)} failed, e.g. {failures[0]}", file=sys.stderr)
    return figures


def measure(requests_count: int, withdrawals: int, clients: int) -> dict[str, Any]:
    if not BUNDLE.is_file():
        subprocess.run(["npm", "run", "--silent", "build:portal"], cwd=REPO, check=True)
    with tempfile.TemporaryDirectory(prefix="collective-portal-bench-") as tmp:
        node = NodeProcess("--dev", data_dir=Path(tmp) / "chain")
        try:
            manifest = Path(tmp) / "node.json"
            began = time.perf_counter()
            org, keys = set_up(node.url, manifest)
            setup_s = time.perf_counter() - began
            signed = [
                org.signing.sign_withdrawal(
                    org.address, PURPOSE, CATEGORIES[n // len(keys)], identity=keys[n % len(keys)],
                    signer=keys[n % len(keys)],
                ).to_json()
                for n in range(withdrawals)
            ]  # fmt: skip
            process, base = start_portal(node.url, manifest)
            try:
                people = [keys[i : i + PER_PERSON] for i in range(0, len(keys), PER_PERSON)]
                queries = [[("identity", k.address) for k in person] for person in people]
                warm = requests.get(f"{base}/api/consents", params=queries[0], timeout=120)
                warm.raise_for_status()
                assert len(warm.json()["consents"]) == PER_PERSON * len(CATEGORIES)
                page_jobs = [("GET", "/api/consents", queries[n % len(queries)])
                             for n in range(requests_count)]  # fmt: skip
                before, mine = cpu_seconds(process.pid), cpu_seconds(os.getpid())
                page = asyncio.run(drive(base, clients, page_jobs, csrf=False))
                page["portal_cpu_ms"] = 1000 * (cpu_seconds(process.pid) - before) / requests_count
                page["driver_cpu_ms"] = 1000 * (cpu_seconds(os.getpid()) - mine) / requests_count
                page["load_average"] = os.getloadavg()[0]
                relay_jobs = [("POST", "/api/relay", body) for body in signed]
                relay = asyncio.run(drive(base, clients, relay_jobs, csrf=True))
            finally:
                process.terminate()
                _, errors = process.communicate(timeout=30)
                if "Traceback" in errors:
                    print(errors, file=sys.stderr)
        finally:
            node.stop()
    return {"setup_s": setup_s, "clients": clients, "page": page, "relay": relay}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--requests", type=int, default=3000, help="'my consents' requests")
    parser.add_argument("--withdrawals", type=int, default=150, help="signed withdrawals")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--report", action="store_true", help="print MISSED targets but exit 0 (CI, see README)"
    )
    args = parser.parse_args()
    if not 1 <= args.withdrawals <= IDENTITIES * len(CATEGORIES):
        parser.error(f"--withdrawals must be 1..{IDENTITIES * len(CATEGORIES)}")
    figures = measure(args.requests, args.withdrawals, args.clients)
    page, relay = figures["page"], figures["relay"]
    ok = page["p95_ms"] <= TARGET_P95_MS and not page["failed"]
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"set-up (1,000 consents, 10,000 uses): {figures['setup_s']:.1f} s; "
              f"{args.clients} concurrent clients on loopback")  # fmt: skip
        print(f"{'':24}{'requests':>9}{'failed':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
              f"{'req/s':>9}")  # fmt: skip
        for name, row in (("my consents (GET)", page), ("relay (withdrawals)", relay)):
            print(f"{name:24}{row['requests']:>9}{row['failed']:>7}{row['p50_ms']:>9.1f}"
                  f"{row['p95_ms']:>9.1f}{row['p99_ms']:>9.1f}"
                  f"{row['per_second']:>9.1f}")  # fmt: skip
        print(f"CPU per 'my consents' request: portal {page['portal_cpu_ms']:.2f} ms, these "
              f"clients {page['driver_cpu_ms']:.2f} ms; machine load (1 min) "
              f"{page['load_average']:.2f} on {os.cpu_count()} cores")  # fmt: skip
        print(f"target: my consents p95 <= {TARGET_P95_MS:g} ms: {'ok' if ok else 'MISSED'}")
    return 0 if ok or args.report else 1


if __name__ == "__main__":
    sys.exit(main())
