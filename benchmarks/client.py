"""Consent grants per second through the Python client on anvil, against issue #3's targets.

- single: one grant per transaction, ``client.consent.grant`` from 16 threads (8 subject
  accounts, two threads each), every call waiting for its receipt; target >= 150 grants/s.
- batched: ``client.consent.grant_batch`` with BATCH consents per transaction, from
  BATCH_THREADS threads; target >= 3,000 consents/s.
- for scale, anvil alone: as many pre-signed plain transfers sent one by one with
  ``eth_sendRawTransaction`` (no client, no receipts).

anvil gets slower as its chain grows (with automine every transaction is a block, and anvil
keeps each block's state in memory): pre-signed grants go from ~880/s on a fresh anvil to
~170/s after 2,000 blocks. So each figure is taken on a fresh anvil, after the same number of
transactions.

Starts its own anvil (npm @foundry-rs/anvil) unless ``--rpc`` names a node. Prints a table (or
``--json``) and exits 1 when a target is missed.

    python benchmarks/client.py
    python benchmarks/client.py --single 1200 --batches 30
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from collective import Collective
from collective.chain import Chain, connect_rpc
from collective.client.consent import GrantItem
from collective.deploy import deploy_suite
from collective.testing.anvil import node_or_anvil

SINGLE_TARGET = 150.0
BATCHED_TARGET = 3000.0
THREADS = 16
BATCH = 250  # ~7.3M gas: fits anvil's 30M block gas limit
BATCH_THREADS = 2
RESEARCH = "dpv:ResearchAndDevelopment"


def raw_sends(chain: Chain, count: int) -> float:
    """Pre-signed 1-wei transfers sent one by one: what anvil itself takes."""
    sender = chain.dev_accounts[1]
    nonce = int(chain.request("eth_getTransactionCount", [sender.address, "pending"]), 16)
    fee = 2 * int(chain.get_block("latest")["baseFeePerGas"]) + 10**9
    raw = [
        sender.sign_transaction(
            {
                "to": chain.dev_accounts[0].address,
                "value": 1,
                "gas": 21_000,
                "nonce": nonce + i,
                "chainId": chain.chain_id,
                "maxFeePerGas": fee,
                "maxPriorityFeePerGas": 10**9,
            }
        ).raw_transaction.to_0x_hex()
        for i in range(count)
    ]
    started = time.perf_counter()
    for tx in raw:
        chain.request("eth_sendRawTransaction", [tx])
    return count / (time.perf_counter() - started)


def single_grants(admin: Collective, org: str, count: int) -> float:
    """THREADS threads, two per subject account (so two threads share each sender's nonces)."""
    subjects = [admin.as_account(account) for account in admin.chain.dev_accounts[1:9]]
    per_thread = count // THREADS

    def work(index: int) -> int:
        subject = subjects[index % len(subjects)]
        for i in range(per_thread):
            subject.consent.grant(org, RESEARCH, f"bench:single/{index}/{i}", policy_version=1)
        return per_thread

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        done = sum(pool.map(work, range(THREADS)))
    return done / (time.perf_counter() - started)


def batched_grants(admin: Collective, org: str, batches: int) -> float:
    """BATCH_THREADS subjects each send batches, so one batch's encoding and decoding in Python
    overlaps another's execution in the node."""
    subjects = [admin.as_account(a) for a in admin.chain.dev_accounts[1 : 1 + BATCH_THREADS]]
    # (the single-grant subjects' categories differ, so no consent is granted twice)

    def work(index: int) -> int:
        done = 0
        for b in range(index, batches, BATCH_THREADS):
            items = [
                GrantItem(org, RESEARCH, f"bench:batch/{b}/{i}", None, 1) for i in range(BATCH)
            ]
            done += len(subjects[index].consent.grant_batch(items).items)
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(BATCH_THREADS) as pool:
        done = sum(pool.map(work, range(BATCH_THREADS)))
    return done / (time.perf_counter() - started)


def setup(url: str) -> tuple[Collective, str]:
    """The suite on the node at ``url``, an admitted organization with policy v1."""
    chain = connect_rpc(url)
    dev = chain.dev_accounts
    with tempfile.TemporaryDirectory() as scratch:
        suite = deploy_suite(chain, dev[0], manifest_path=Path(scratch) / "m.json", fresh=True)
    admin = Collective(chain, suite, dev[0], custom_terms=True)  # bench:... categories
    org = dev[9]
    admin.orgs.admit(org.address)
    admin.as_account(org).policies.publish(b"benchmark policy", "https://example.org", [RESEARCH])
    return admin, org.address


def measure(rpc: str | None, single: int, batches: int) -> dict[str, Any]:
    """Each figure on a fresh node: anvil slows down as its chain grows (it keeps every
    block's state in memory), so measuring one after another would favour the first."""
    with node_or_anvil(rpc) as url:
        raw = raw_sends(connect_rpc(url), single)
    with node_or_anvil(rpc) as url:
        admin, org = setup(url)
        singles = single_grants(admin, org, single)
    with node_or_anvil(rpc) as url:
        admin, org = setup(url)
        batched = batched_grants(admin, org, batches)
    return {
        "node": rpc or "anvil (a fresh one per figure, started by the benchmark)",
        "anvil raw sends/s": round(raw, 1),
        "single grants/s": round(singles, 1),
        "batched consents/s": round(batched, 1),
        "transactions per figure": single,
        "batch size": BATCH,
        "threads": THREADS,
        "batch threads": BATCH_THREADS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", help="a running dev node (default: start anvil)")
    parser.add_argument("--single", type=int, default=640, help="single grants to send")
    parser.add_argument("--batches", type=int, default=20, help=f"batches of {BATCH} grants")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = measure(args.rpc, args.single, args.batches)
    checks = [
        ("single grants/s", figures["single grants/s"], SINGLE_TARGET),
        ("batched consents/s", figures["batched consents/s"], BATCHED_TARGET),
    ]
    missed = [name for name, value, target in checks if value < target]
    if args.json:
        print(json.dumps({**figures, "missed": missed}, indent=2))
    else:
        print(f"client throughput on {figures['node']}")
        print(f"  anvil alone, raw sends    {figures['anvil raw sends/s']:>9.1f} tx/s  (for scale)")
        for name, value, target in checks:
            mark = "ok" if value >= target else "MISSED"
            print(f"  {name:<25} {value:>9.1f}       target >= {target:,.0f}  {mark}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
