"""A second real client: ethers.js (npm) reads blocks, calls a contract and fetches logs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from collective.chain import Chain
from collective.deploy import Deployment

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("ethers_client.mjs")


def test_ethers_reads_blocks_calls_and_logs(node_chain: Chain, node_suite: Deployment) -> None:
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "ethers").is_dir():
        pytest.skip("node or node_modules/ethers is not installed (npm ci)")
    admin = node_chain.dev_accounts[0].address
    rules = node_suite.addresses["AccountRules"]
    assert node_chain.url is not None
    done = subprocess.run(
        [node, str(SCRIPT), node_chain.url, rules, admin],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["chainId"] == node_chain.chain_id
    assert seen["head"] == node_chain.block_number()
    assert seen["blockHash"] == node_chain.get_block(seen["head"])["hash"].to_0x_hex()
    assert seen["firstTxs"] == 1
    assert seen["isAdmin"] is True
    assert seen["logs"] and seen["logs"][0]["admin"] == admin
    assert seen["gasPrice"] is True
