"""Who signed a typed transaction, from its raw bytes alone -- in this process or in a helper.

Recovering a sender is the one piece of admitting a transaction that needs no chain state:
cut the signed message and ``(y_parity, r, s)`` out of the raw bytes, recover the public key
with libsecp256k1 (coincurve) and keccak it. It costs ~70 us, about a tenth of what the node
spends on a consent grant, and the node's own process is busy executing. So for a JSON-RPC
batch of raw transactions the node hands the raw bytes to :class:`SenderPool`, a helper
process on the machine's other core, and decodes the transactions while the helper recovers
their senders (:mod:`collective.node.rpc`). The node still decodes every transaction with
py-evm, which refuses anything that is not canonical RLP, so the fields the helper read are
the fields the node executes.

This module imports no py-evm (the helper starts in ~0.1 s). The helper is a plain
subprocess speaking length-prefixed bytes over its stdin and stdout (:func:`serve`), not a
``multiprocessing`` pool, which would re-import the node's ``__main__`` in the child.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, BinaryIO

log = logging.getLogger("collective.node")

SECPK1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
TYPED = (1, 2)  # access-list and dynamic-fee transactions: [..., y_parity, r, s]
MIN_BATCH = 32  # fewer raw transactions than this are recovered in the node's own process
ANSWER_TIMEOUT = 10.0  # seconds the node waits for the helper before doing without it
_CHUNK = 25


def rlp_item_end(data: bytes, at: int) -> int:
    """Where the RLP item starting at ``at`` ends."""
    first = data[at]
    if first < 0x80:
        return at + 1
    if first <= 0xB7:
        return at + 1 + first - 0x80
    if first <= 0xBF:
        size = first - 0xB7
        return at + 1 + size + int.from_bytes(data[at + 1 : at + 1 + size], "big")
    if first <= 0xF7:
        return at + 1 + first - 0xC0
    size = first - 0xF7
    return at + 1 + size + int.from_bytes(data[at + 1 : at + 1 + size], "big")


def _items(raw: bytes) -> tuple[int, list[int]] | None:
    """A typed transaction's payload list: where its first item starts, where each ends."""
    if len(raw) < 2 or raw[0] >= 0x80 or raw[1] < 0xC0:
        return None
    try:
        payload_end = rlp_item_end(raw, 1)
        if payload_end != len(raw):
            return None
        start = 2 if raw[1] <= 0xF7 else 2 + raw[1] - 0xF7
        ends = []
        at = start
        while at < payload_end:
            at = rlp_item_end(raw, at)
            ends.append(at)
    except IndexError:
        return None
    if at != payload_end or len(ends) < 4:
        return None
    return start, ends


def _message(raw: bytes, start: int, ends: list[int]) -> bytes:
    body = raw[start : ends[-4]]
    length = len(body)
    if length < 56:
        prefix = bytes((0xC0 + length,))
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        prefix = bytes((0xF7 + len(size),)) + size
    return raw[:1] + prefix + body


def signing_message(raw: bytes) -> bytes | None:
    """A typed transaction's signed message taken from its encoding: the type byte and the
    RLP list of its fields without ``y_parity, r, s``. The node decodes transactions strictly
    (canonical RLP only), so these are the bytes py-evm would re-encode. None when ``raw``
    does not have that shape (py-evm's path then decides)."""
    found = _items(raw)
    return None if found is None else _message(raw, *found)


def signer(message: bytes, y_parity: int, r: int, s: int) -> bytes:
    """The 20-byte address whose key made this signature over keccak(``message``): the
    uncompressed public key recovered by libsecp256k1 (coincurve), keccak-ed, its last 20
    bytes. Raises when nothing recovers."""
    from coincurve import PublicKey
    from sha3 import keccak_256  # type: ignore[import-not-found]

    public_key = PublicKey.from_signature_and_message(
        r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((y_parity,)),
        keccak_256(message).digest(),
        hasher=None,
    )
    return bytes(keccak_256(public_key.format(compressed=False)[1:]).digest()[-20:])


def _int_item(raw: bytes, start: int, end: int) -> int:
    first = raw[start]
    if first < 0x80:
        return first
    return int.from_bytes(raw[start + 1 + (first - 0xB7 if first > 0xB7 else 0) : end], "big")


def recover(raw: bytes) -> bytes | None:
    """The 20-byte sender of a typed (type 1 or 2) transaction; None when ``raw`` is not one
    or its signature does not recover (the node's py-evm path then says why)."""
    if not raw or raw[0] not in TYPED:
        return None
    found = _items(raw)
    if found is None:
        return None
    start, ends = found
    y_parity = _int_item(raw, ends[-4], ends[-3])
    r = _int_item(raw, ends[-3], ends[-2])
    s = _int_item(raw, ends[-2], ends[-1])
    if y_parity not in (0, 1) or not 0 < r < SECPK1_N or not 0 < s < SECPK1_N:
        return None
    try:
        return signer(_message(raw, start, ends), y_parity, r, s)
    except Exception:
        return None


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """The helper's loop: read a batch (a count, then length-prefixed raw transactions), then
    answer 21 bytes per transaction -- ``1`` and the sender, or 21 zero bytes -- in chunks."""
    while True:
        header = source.read(4)
        if len(header) < 4:
            return
        raws = []
        for _ in range(int.from_bytes(header, "big")):
            size = int.from_bytes(source.read(4), "big")
            raws.append(source.read(size))
        for start in range(0, len(raws), _CHUNK):
            answers = []
            for raw in raws[start : start + _CHUNK]:
                sender = recover(raw)
                answers.append(_NONE if sender is None else b"\x01" + sender)
            sink.write(b"".join(answers))
            sink.flush()


_NONE = bytes(21)


def _write_all(sink: IO[bytes], data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = sink.write(view)
        view = view[written or 0 :]


class Recovered:
    """Senders of one batch, in order, read from the helper as it answers."""

    def __init__(self, pool: SenderPool, count: int) -> None:
        self._pool = pool
        self._count = count
        self._senders: list[bytes | None] = []

    def __getitem__(self, index: int) -> bytes | None:
        if index >= self._count:
            return None
        while index >= len(self._senders):
            record = self._pool._read(21)
            if record is None:  # the helper died: the node recovers the rest itself
                self._count = len(self._senders)
                return None
            self._senders.append(record[1:] if record[0] == 1 else None)
        return self._senders[index]

    def close(self) -> None:
        """Read what the helper still owes for this batch, and hand the helper back."""
        try:
            if self._count:
                self[self._count - 1]
        finally:
            self._pool._release()


class SenderPool:
    """A helper process (``python -m collective.node.senders``) that recovers senders, on the
    machine's other core. It serves one batch at a time; a batch that finds it busy, or a
    small one, is recovered in the node's own process, and so is everything if the helper
    cannot start or dies."""

    def __init__(self) -> None:
        self._busy = threading.Lock()
        self._buffer = bytearray()  # answers read from the pipe, not yet handed out
        self._process: subprocess.Popen[bytes] | None = None
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "collective.node.senders"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=0,  # answers are read with select and os.read
            )
        except OSError as exc:  # pragma: no cover - no fork/exec here
            log.warning("no sender recovery helper (%s): recovering in process", exc)

    @property
    def ready(self) -> bool:
        """Whether the helper process is running and answering (else the node recovers
        senders itself)."""
        return self._process is not None and self._process.poll() is None

    def recover(self, raws: Sequence[bytes]) -> Recovered | None:
        """Send ``raws`` to the helper; None when the batch is small or the helper is busy
        or gone. The caller must :meth:`Recovered.close` what it gets."""
        process = self._process
        if process is None or len(raws) < MIN_BATCH or not self._busy.acquire(blocking=False):
            return None
        assert process.stdin is not None
        try:
            parts = [len(raws).to_bytes(4, "big")]
            for raw in raws:
                parts.append(len(raw).to_bytes(4, "big"))
                parts.append(raw)
            _write_all(process.stdin, b"".join(parts))
        except (OSError, ValueError) as exc:
            self._fail(exc)
            self._busy.release()
            return None
        return Recovered(self, len(raws))

    def _read(self, size: int) -> bytes | None:
        """``size`` bytes of the helper's answers; None (and no more helper) if it closes its
        output or says nothing for :data:`ANSWER_TIMEOUT` seconds."""
        process = self._process
        if process is None or process.stdout is None:
            return None
        buffer = self._buffer
        try:
            fd = process.stdout.fileno()
            while len(buffer) < size:
                if not select.select([fd], [], [], ANSWER_TIMEOUT)[0]:
                    raise TimeoutError(f"no answer for {ANSWER_TIMEOUT} s")
                data = os.read(fd, 1 << 16)
                if not data:
                    raise EOFError("the helper closed its output")
                buffer += data
        except (OSError, ValueError, EOFError) as exc:
            self._fail(exc)
            return None
        record = bytes(buffer[:size])
        del buffer[:size]
        return record

    def _release(self) -> None:
        self._busy.release()

    def _fail(self, exc: BaseException) -> None:
        if self._process is not None:
            log.warning("sender recovery helper failed (%r); recovering in process", exc)
            with contextlib.suppress(OSError):
                self._process.kill()  # it may be stuck: no graceful wait
            self.close()

    def close(self) -> None:
        """Stop the helper process (idempotent)."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)


__all__ = [
    "MIN_BATCH",
    "Recovered",
    "SenderPool",
    "recover",
    "rlp_item_end",
    "serve",
    "signer",
    "signing_message",
]
