"""Deploy the Collective contract suite through the library (what `collective deploy` does).

    python scripts/deploy.py                          # the embedded chain
    python scripts/deploy.py --network anvil          # a named network from hardhat.config.json
    python scripts/deploy.py --rpc http://127.0.0.1:8545 --fresh

The deployer is dev account 0 on dev chains, or the key in COLLECTIVE_PRIVATE_KEY.
"""

from __future__ import annotations

import argparse
import os
import sys

from collective import CollectiveError, connect, deploy_suite
from collective.chain import account_from_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", help="named network from hardhat.config.json")
    parser.add_argument("--rpc", help="JSON-RPC URL of any Ethereum node (overrides --network)")
    parser.add_argument("--fresh", action="store_true", help="redeploy even if a manifest exists")
    args = parser.parse_args(argv)
    try:
        chain = connect(args.network, args.rpc)
        key = os.environ.get("COLLECTIVE_PRIVATE_KEY")
        deployer = account_from_key(key, "COLLECTIVE_PRIVATE_KEY") if key else chain.dev_account(0)
        suite = deploy_suite(chain, deployer, fresh=args.fresh)
    except CollectiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "verified (nothing deployed)" if suite.reused else "deployed"
    print(f"{verb} on {suite.network} (chain {suite.chain_id}); manifest {suite.manifest_path}")
    for name, address in suite.addresses.items():
        print(f"  {name:<15} {address}  block {suite.blocks[name]}")
    for note in suite.notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
