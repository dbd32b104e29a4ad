"""Fast ABI encoding of calls and decoding of event logs, straight on eth-abi.

web3's contract objects validate and re-map every argument through several layers; for the
client's hot paths (a grant, a batch of 250, the logs of a receipt) that costs more than the
node's work. A :class:`Codec` is built once per ABI: selectors and argument types are looked
up in dictionaries, arguments are encoded by eth-abi, logs are decoded by topic0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import abi
from eth_abi.exceptions import EncodingError
from eth_utils.abi import collapse_if_tuple
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from collective.chain.hashing import keccak256
from collective.errors import InvalidInputError


@lru_cache(maxsize=65536)
def checksum(address: str) -> str:
    """EIP-55 checksummed address, cached (addresses repeat in every log)."""
    return to_checksum_address(address)


@dataclass(frozen=True)
class _Function:
    selector: bytes
    types: tuple[str, ...]


@dataclass(frozen=True)
class _Event:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) in topic order
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


@dataclass(frozen=True)
class DecodedLog:
    """One decoded event log, shaped like web3's EventData (``log["args"]`` etc. work)."""

    event: str
    args: Mapping[str, Any]
    address: str
    block_number: int
    tx_hash: str
    log_index: int

    def __getitem__(self, key: str) -> Any:  # EventData-style access
        return {
            "event": self.event,
            "args": self.args,
            "address": self.address,
            "blockNumber": self.block_number,
            "transactionHash": bytes.fromhex(self.tx_hash[2:]),
            "logIndex": self.log_index,
        }[key]


class Codec:
    """Encoder for one contract's functions and decoder for its events."""

    def __init__(self, contract_abi: Sequence[Mapping[str, Any]]) -> None:
        self._functions: dict[str, _Function] = {}
        self._events: dict[bytes, _Event] = {}
        self.topics: dict[str, bytes] = {}
        for item in contract_abi:
            if item.get("type") == "function":
                types = tuple(collapse_if_tuple(dict(i)) for i in item.get("inputs", []))
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                self._functions.setdefault(item["name"], _Function(selector, types))
            elif item.get("type") == "event" and not item.get("anonymous"):
                inputs = item.get("inputs", [])
                signature = (
                    f"{item['name']}({','.join(collapse_if_tuple(dict(i)) for i in inputs)})"
                )
                topic = keccak(text=signature)
                self.topics[item["name"]] = topic
                self._events[topic] = _Event(
                    name=item["name"],
                    indexed=tuple(
                        (i["name"], collapse_if_tuple(dict(i))) for i in inputs if i.get("indexed")
                    ),
                    data_names=tuple(i["name"] for i in inputs if not i.get("indexed")),
                    data_types=tuple(
                        collapse_if_tuple(dict(i)) for i in inputs if not i.get("indexed")
                    ),
                )

    def encode(self, function: str, args: Sequence[Any]) -> bytes:
        """Calldata for ``function(*args)`` (the first ABI function of that name).

        Raises:
            InvalidInputError: the arguments do not fit its parameter types.
        """
        spec = self._functions[function]
        try:
            fast = _encode_fast(spec.types, args)
            if fast is not None:
                return spec.selector + fast
            return spec.selector + abi.encode(spec.types, list(args))
        except (EncodingError, TypeError, ValueError, OverflowError) as exc:
            raise InvalidInputError(f"bad arguments for {function}: {exc}") from None

    def topic_filter(self, event: str, filters: Mapping[str, Any]) -> list[str | None]:
        """``eth_getLogs`` topics for ``event`` with indexed arguments equal to ``filters``
        (trailing wildcards dropped).

        Raises:
            InvalidInputError: ``filters`` names an argument ``event`` does not index, or a
                value that does not fit its type.
        """
        topic = self.topics[event]
        spec = self._events[topic]
        known = {name for name, _ in spec.indexed}
        unknown = set(filters) - known
        if unknown:
            raise InvalidInputError(f"{event} has no indexed argument {sorted(unknown)[0]!r}")
        topics: list[str | None] = ["0x" + topic.hex()]
        for name, kind in spec.indexed:
            value = filters.get(name)
            if value is None:
                topics.append(None)
                continue
            try:
                topics.append("0x" + abi.encode([kind], [value]).hex())
            except (EncodingError, TypeError, ValueError, OverflowError) as exc:
                raise InvalidInputError(
                    f"{value!r} cannot be {event}'s {name} (a {kind}): {exc}"
                ) from None
        while topics and topics[-1] is None:
            topics.pop()
        return topics

    def decode_log(self, log: Mapping[str, Any]) -> DecodedLog | None:
        """Decode a log (JSON-RPC hex form or web3's AttributeDict); None if not ours."""
        topics = [_bytes(t) for t in log["topics"]]
        if not topics:
            return None
        spec = self._events.get(topics[0])
        if spec is None or len(topics) != len(spec.indexed) + 1:
            return None
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True):
            args[name] = _topic_value(kind, topic)
        data = _bytes(log["data"])
        values = _decode_static(spec.data_types, data) or abi.decode(spec.data_types, data)
        for name, kind, value in zip(spec.data_names, spec.data_types, values, strict=True):
            args[name] = checksum(value) if kind == "address" else value
        return DecodedLog(
            event=spec.name,
            args=args,
            address=checksum(_hex(log["address"])),
            block_number=_int(log["blockNumber"]),
            tx_hash="0x" + _bytes(log["transactionHash"]).hex(),
            log_index=_int(log["logIndex"]),
        )


_WORD = 32
_ZERO12 = b"\0" * 12


def _word(kind: str, value: Any) -> bytes | None:
    """One static value as its 32-byte ABI word; None when ``kind`` is not a simple static."""
    if kind == "address":
        raw = bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)
        if len(raw) != 20:
            raise ValueError(f"{value!r} is not an address")
        return _ZERO12 + raw
    if kind == "bytes32":
        raw = bytes(value)
        if len(raw) != 32:
            raise ValueError(f"{value!r} is not 32 bytes")
        return raw
    if kind.startswith("uint"):
        number = int(value)
        if number < 0 or number.bit_length() > int(kind[4:] or 256):
            raise ValueError(f"{value!r} does not fit {kind}")
        return number.to_bytes(32, "big")
    if kind == "bool":
        return (1 if value else 0).to_bytes(32, "big")
    return None


def _static_tuple(kind: str) -> list[str] | None:
    """The component types of a tuple of simple statics, e.g. ``(address,bytes32)``."""
    if not (kind.startswith("(") and kind.endswith(")")) or "(" in kind[1:]:
        return None
    parts = kind[1:-1].split(",")
    simple = all(p in ("address", "bytes32", "bool") or p.startswith("uint") for p in parts)
    return parts if simple else None


def _encode_fast(types: Sequence[str], args: Sequence[Any]) -> bytes | None:
    """Hand-encode arguments that are simple statics or arrays of simple static tuples (the
    client's grants, batches and uses); None for anything else (eth-abi does it)."""
    if len(types) != len(args):
        raise TypeError(f"expected {len(types)} arguments, got {len(args)}")
    heads: list[bytes | None] = []  # None: the offset of the next dynamic tail
    tails: list[bytes] = []
    for kind, value in zip(types, args, strict=True):
        word = _word(kind, value)
        if word is not None:
            heads.append(word)
            continue
        parts = _static_tuple(kind[:-2]) if kind.endswith("[]") else None
        if parts is None:
            return None
        words = [len(value).to_bytes(32, "big")]
        for item in value:
            if len(item) != len(parts):
                raise ValueError(f"an item of {kind} needs {len(parts)} fields")
            words += [_word(part, field) or b"" for part, field in zip(parts, item, strict=True)]
        heads.append(None)
        tails.append(b"".join(words))
    offset = _WORD * len(heads)
    out: list[bytes] = []
    pending = iter(tails)
    for head in heads:
        if head is None:
            out.append(offset.to_bytes(32, "big"))
            offset += len(next(pending))
        else:
            out.append(head)
    return b"".join(out) + b"".join(tails)


@lru_cache(maxsize=4096)
def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def fast_calldata(function_abi: Mapping[str, Any], args: Sequence[Any]) -> bytes | None:
    """Calldata for a call of ``function_abi`` with ``args`` when every argument is a simple
    static (address, bytes32, uint, bool) or an array of tuples of them, encoded by hand;
    None otherwise, or when an argument does not fit (then web3 encodes it, and says why).

    Args:
        function_abi: one ABI ``function`` item.
        args: its positional arguments, already checked by web3 when the call was built.
    """
    types = [collapse_if_tuple(dict(i)) for i in function_abi.get("inputs", [])]
    try:
        encoded = _encode_fast(types, args)
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None
    if encoded is None:
        return None
    return _selector(f"{function_abi['name']}({','.join(types)})") + encoded


def _decode_static(types: Sequence[str], data: bytes) -> list[Any] | None:
    """Decode event data made of simple statics by slicing words; None for anything else."""
    if len(data) != _WORD * len(types):
        return None
    values: list[Any] = []
    for i, kind in enumerate(types):
        word = data[i * _WORD : (i + 1) * _WORD]
        if kind == "address":
            values.append("0x" + word[12:].hex())
        elif kind == "bytes32":
            values.append(word)
        elif kind.startswith("uint"):
            values.append(int.from_bytes(word, "big"))
        elif kind == "bool":
            values.append(word[-1] == 1)
        else:
            return None
    return values


def consent_id(identity: str, organization: str, purpose: bytes, category: bytes) -> str:
    """The ledger's consent id, 0x hex: keccak256(abi.encode(identity, organization, purpose,
    category)), as ConsentRegistry.consentId computes it (no call to the node needed)."""
    encoded = _ZERO12 + bytes.fromhex(identity[2:]) + _ZERO12 + bytes.fromhex(organization[2:])
    return "0x" + keccak256(encoded + bytes(purpose) + bytes(category)).hex()


def _topic_value(kind: str, topic: bytes) -> Any:
    if kind == "address":
        return checksum("0x" + topic[12:].hex())
    if kind.startswith(("uint", "int", "bool")):
        return abi.decode([kind], topic)[0]
    return topic  # bytes32, or the hash of a dynamic value


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    return bytes(value)


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


__all__ = ["Codec", "DecodedLog", "checksum", "consent_id", "fast_calldata"]
