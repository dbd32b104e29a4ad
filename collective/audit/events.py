"""The suite's events and how one raw log becomes rows of the index.

:class:`Catalogue` knows every event signature of the three contracts (from the shipped
artifacts), which address is which contract, and turns JSON-RPC logs into rows for the
tables of :mod:`collective.audit.store`. The bulk events (DataUsed, ConsentGranted,
ConsentWithdrawn) are sliced straight out of the hex strings; the rest go through
:class:`~collective.codec.Codec`. A log whose signature is the suite's but whose address is
not the manifest's becomes a ``foreign_logs`` row and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from collective.artifacts import load_artifact
from collective.chain import jsonints
from collective.chain.codec import Codec
from collective.config import ProjectConfig

CONTRACT_NAMES = ("AccountRules", "ConsentLedger", "OversightBoard")
ACCOUNT_EVENTS = frozenset(
    {
        "AdminAdded",
        "AdminRemoved",
        "AccountAdmitted",
        "AccountSuspended",
        "AccountReinstated",
        "AccountRemoved",
        "BoardChanged",
    }
)
BOARD_ACTIONS = (
    "SuspendOrganization",
    "ReinstateOrganization",
    "FlagUse",
    "AddMember",
    "RemoveMember",
    "SetThreshold",
)

MAX_INT = 2**63 - 1  # SQLite INTEGER; a larger expiry (the "never" sentinel) is stored as this
Rows = dict[str, list[tuple[Any, ...]]]


def new_rows() -> Rows:
    return {
        t: []
        for t in ("events", "uses", "consents", "policies", "accounts", "flags", "foreign_logs")
    }


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class Catalogue:
    """Event signatures of the suite, bound to one deployment's addresses."""

    def __init__(self, addresses: Mapping[str, str], config: ProjectConfig | None = None) -> None:
        self.codecs = {name: Codec(load_artifact(name, config).abi) for name in CONTRACT_NAMES}
        # address (lowercase) -> contract name
        self.by_address = {addresses[name].lower(): name for name in CONTRACT_NAMES}
        # topic0 (0x hex) -> (contract, event)
        self.topics: dict[str, tuple[str, str]] = {}
        for contract, codec in self.codecs.items():
            for event, topic in codec.topics.items():
                self.topics["0x" + topic.hex()] = (contract, event)
        ledger = self.codecs["ConsentLedger"].topics
        self._used = "0x" + ledger["DataUsed"].hex()
        self._granted = "0x" + ledger["ConsentGranted"].hex()
        self._withdrawn = "0x" + ledger["ConsentWithdrawn"].hex()

    @property
    def topic_list(self) -> list[str]:
        return sorted(self.topics)

    def add(self, logs: Iterable[Mapping[str, Any]], rows: Rows, counts: dict[int, int]) -> None:
        """Append the rows of ``logs`` to ``rows``; count the suite's events per block."""
        by_address = self.by_address
        topics_known = self.topics
        used, granted, withdrawn = self._used, self._granted, self._withdrawn
        uses, consents = rows["uses"], rows["consents"]
        for log in logs:
            topics = log["topics"]
            topic0 = topics[0].lower()
            block = int(log["blockNumber"], 16)
            index = int(log["logIndex"], 16)
            tx_hash = bytes.fromhex(log["transactionHash"][2:])
            contract = by_address.get(log["address"].lower())
            known = topics_known.get(topic0)
            if known is None:
                continue
            if contract != known[0]:
                rows["foreign_logs"].append(
                    (block, index, tx_hash, log["address"].lower(), known[1])
                )
                continue
            counts[block] = counts.get(block, 0) + 1
            data = log["data"]
            if topic0 == used and len(topics) == 4 and len(data) == 2 + 64 * 3:
                uses.append(
                    (
                        block,
                        index,
                        tx_hash,
                        "0x" + topics[1][26:].lower(),
                        "0x" + topics[2][26:].lower(),
                        bytes.fromhex(topics[3][2:]),
                        bytes.fromhex(data[2:66]),
                        bytes.fromhex(data[66:130]),
                        int(data[130:194], 16),
                    )
                )
            elif topic0 == granted and len(topics) == 4 and len(data) == 2 + 64 * 4:
                consents.append(
                    (
                        block,
                        index,
                        tx_hash,
                        1,
                        "0x" + topics[1][26:].lower(),
                        "0x" + topics[2][26:].lower(),
                        bytes.fromhex(topics[3][2:]),
                        bytes.fromhex(data[2:66]),
                        min(int(data[66:130], 16), MAX_INT),
                        int(data[130:194], 16),
                        "0x" + data[218:258].lower(),
                    )
                )
            elif topic0 == withdrawn and len(topics) == 4 and len(data) == 2 + 64 * 2:
                consents.append(
                    (
                        block,
                        index,
                        tx_hash,
                        0,
                        "0x" + topics[1][26:].lower(),
                        "0x" + topics[2][26:].lower(),
                        bytes.fromhex(topics[3][2:]),
                        bytes.fromhex(data[2:66]),
                        None,
                        None,
                        "0x" + data[90:130].lower(),
                    )
                )
            else:
                self._add_other(contract, log, block, index, tx_hash, rows)

    def _add_other(
        self,
        contract: str,
        log: Mapping[str, Any],
        block: int,
        index: int,
        tx_hash: bytes,
        rows: Rows,
    ) -> None:
        decoded = self.codecs[contract].decode_log(log)
        if decoded is None:  # the right topic0 with another layout: not the suite's event
            name = self.topics[log["topics"][0].lower()][1]
            rows["foreign_logs"].append((block, index, tx_hash, log["address"].lower(), name))
            return
        name = decoded.event
        args = {key: jsonable(value) for key, value in decoded.args.items()}
        rows["events"].append((block, index, tx_hash, contract, name, jsonints.dumps(args)))
        if name in ACCOUNT_EVENTS:
            subject = args.get("account") or args.get("admin") or args.get("board") or ""
            rows["accounts"].append((block, index, name, subject.lower(), args["by"].lower()))
        elif name == "PolicyPublished":
            rows["policies"].append(
                (
                    block,
                    index,
                    args["organization"].lower(),
                    int(args["version"]),
                    decoded.args["contentHash"],
                    args["uri"],
                    json.dumps(args["purposes"]),
                )
            )
        elif name == "UseFlagged":
            rows["flags"].append(
                (
                    block,
                    index,
                    decoded.args["useRef"],
                    args["organization"].lower(),
                    decoded.args["reasonHash"],
                    min(int(args["proposalId"]), MAX_INT),
                )
            )


__all__ = ["ACCOUNT_EVENTS", "BOARD_ACTIONS", "CONTRACT_NAMES", "Catalogue", "new_rows"]
