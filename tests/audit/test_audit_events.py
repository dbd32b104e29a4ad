"""The Catalogue: the sliced bulk events give exactly the rows the Codec's decoding gives."""

from __future__ import annotations

import copy
import os
from typing import Any

from eth_abi import abi

from collective.audit.events import Catalogue, new_rows
from collective.build.artifacts import load_artifact
from collective.chain.codec import Codec

ADDRESSES = {
    "AccountRules": "0x" + "22" * 20,
    "ConsentLedger": "0x" + "11" * 20,
    "OversightBoard": "0x" + "33" * 20,
}


def _log(topic: bytes, indexed: list[bytes], data: bytes, n: int) -> dict[str, Any]:
    return {
        "address": ADDRESSES["ConsentLedger"],
        "topics": ["0x" + topic.hex(), *("0x" + t.hex() for t in indexed)],
        "data": "0x" + data.hex(),
        "blockNumber": hex(n // 3),
        "logIndex": hex(n % 3),
        "transactionHash": "0x" + os.urandom(32).hex(),
    }


def _address() -> str:
    return "0x" + os.urandom(20).hex()


def _bulk_logs(catalogue: Catalogue, count: int) -> list[dict[str, Any]]:
    topics = catalogue.codecs["ConsentLedger"].topics
    logs = []
    for n in range(count):
        identity, org, purpose = _address(), _address(), os.urandom(32)
        indexed = [bytes(12) + bytes.fromhex(identity[2:]), bytes(12) + bytes.fromhex(org[2:])]
        indexed.append(purpose)
        kind = n % 3
        if kind == 0:
            data = abi.encode(["bytes32", "bytes32", "uint32"], [os.urandom(32), os.urandom(32), n])
            logs.append(_log(topics["DataUsed"], indexed, data, n))
        elif kind == 1:
            expiry = (2**64 - 1, 0, 1_900_000_000)[n % 3]
            data = abi.encode(
                ["bytes32", "uint64", "uint32", "address"], [os.urandom(32), expiry, 2, _address()]
            )
            logs.append(_log(topics["ConsentGranted"], indexed, data, n))
        else:
            data = abi.encode(["bytes32", "address"], [os.urandom(32), _address()])
            logs.append(_log(topics["ConsentWithdrawn"], indexed, data, n))
    return logs


def test_the_slicing_agrees_with_the_codec() -> None:
    catalogue = Catalogue(ADDRESSES)
    assert catalogue.sliced
    logs = _bulk_logs(catalogue, 300)
    sliced, sliced_counts = new_rows(), {}  # type: ignore[var-annotated]
    catalogue.add(logs, sliced, sliced_counts)
    catalogue.sliced = False
    decoded, decoded_counts = new_rows(), {}  # type: ignore[var-annotated]
    catalogue.add(logs, decoded, decoded_counts)
    assert sliced == decoded and sliced_counts == decoded_counts
    assert len(sliced["uses"]) == 100 and len(sliced["consents"]) == 200


def test_a_layout_the_codec_disagrees_with_is_not_sliced() -> None:
    """DataUsed with category and dataRef swapped in the ABI keeps its topic0: only the
    check against the Codec notices that slicing would swap them."""
    catalogue = Catalogue(ADDRESSES)
    changed = copy.deepcopy(load_artifact("ConsentLedger").abi)
    (event,) = [item for item in changed if item.get("name") == "DataUsed"]
    event["inputs"][3], event["inputs"][4] = event["inputs"][4], event["inputs"][3]
    catalogue.codecs["ConsentLedger"] = Codec(changed)
    assert not catalogue._slice_agrees("DataUsed")
    assert catalogue._slice_agrees("ConsentGranted") and catalogue._slice_agrees("ConsentWithdrawn")
