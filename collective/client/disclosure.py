"""Onward disclosure (GDPR Art. 13(1)(e), Art. 19; Kantara "third-party disclosure"): a
discloser passes a subject's data to a named recipient only under the subject's disclosure
consent naming discloser, recipient, purpose and category (``DisclosureLog.sol``).

    patient.disclosure.grant(hospital.address, lab.address, RESEARCH, HEALTH)   # subject
    signed = patient.disclosure.sign_grant(hospital.address, lab.address, RESEARCH, HEALTH)
    hospital.disclosure.relay(signed)                                          # or relayed
    hospital.disclosure.record(patient.address, lab.address, RESEARCH, HEALTH, "ward/7/scan-3")
    lab.disclosure.to_stop()        # withdrawn consents, erasure requests: what to stop using

The consent's policy version is the *recipient's* (its policy must cover the purpose); the
recipient still needs its own use consent to use what it received. A withdrawal stops further
disclosures at once; every recipient learns of it from :meth:`DisclosureClient.to_stop` (one
log query over ``DisclosureConsentWithdrawn`` by the indexed recipient) or ``collective
disclosure watch``. Contract refusals raise the package's errors: ConsentError
(``NoDisclosureConsent``, ``UseAfterErasureRequest``, ...), NotPermittedError
(``OrganizationNotAdmitted``, ``OrganizationSuspended``), SignatureError for signatures.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from collective.chain.codec import DecodedLog
from collective.client import disclosure_records as rec_
from collective.client.base import Session
from collective.client.disclosure_consent import DisclosureConsents, distinct_parties
from collective.client.disclosure_records import (
    DisclosureConsent,
    DisclosureGranted,
    DisclosureItem,
    DisclosureRecord,
    DisclosuresRecorded,
    DisclosureWithdrawn,
    Key,
    ToStop,
    key_of,
)
from collective.client.records import Term, Who, expiry_or_none, tx_fields
from collective.client.usage import UsageClient, check_ref, split_hint
from collective.errors import ChainError, InvalidInputError, TransactionError
from collective.types import Address


class DisclosureClient(DisclosureConsents):
    """Disclosure consents (subject, inherited from
    :class:`~collective.client.disclosure_consent.DisclosureConsents`), disclosures
    (discloser), what to stop (recipient)."""

    def __init__(self, session: Session, usage: UsageClient) -> None:
        """Args: session: the facade's session; usage: its usage client, whose
        data-reference store (read at each record) keys record locators."""
        super().__init__(session)
        self._usage = usage

    # --- discloser -----------------------------------------------------------------------------

    def record(
        self, identity: Who, recipient: Who, purpose: Term, category: Term, data_ref: bytes | str
    ) -> DisclosuresRecorded:
        """Record that the sender's organization passed ``identity``'s data to ``recipient``
        (``recordDisclosure``).

        Args:
            identity, recipient: addresses, accounts or DIDs.
            purpose, category: DPV names or 32-byte codes.
            data_ref: a record locator (keyed with the client's data-reference store, else
                keccak256) or a 32-byte reference.

        Returns:
            The :class:`DisclosuresRecorded` with one record.

        Raises:
            InvalidInputError: a bad address, DID or term; an empty ``data_ref``, or ``0x``
                hex not 32 bytes long; the recipient is the sender's own organization.
            ConfigurationError: a read-only client, or the store cannot be used.
            ConsentError: no active disclosure consent (NoDisclosureConsent), expired, stale
                policy version, identity deactivated, or an erasure request to the discloser
                or the recipient (UseAfterErasureRequest; to the discloser: the secret the
                attempt made for the subject in the store is destroyed again).
            NotPermittedError: the discloser or the recipient is not admitted or suspended.
            ChainError: the node could not be reached.
        """
        return self.record_batch([DisclosureItem(identity, recipient, purpose, category, data_ref)])

    def record_batch(self, items: Sequence[DisclosureItem]) -> DisclosuresRecorded:
        """Record many disclosures by the sender in one transaction, all or nothing
        (``recordDisclosureBatch``; one item goes through ``recordDisclosure``).

        Returns:
            The :class:`DisclosuresRecorded`, one record per item, in order.

        Raises:
            InvalidInputError: an empty batch, or as :meth:`record`.
            ChainError: the batch needs more gas than a block holds (the hint says to split).
            As :meth:`record` for any item (then nothing is recorded).
        """
        if not items:
            raise InvalidInputError("a batch of disclosures needs at least one item")
        rows = []
        me = Address(self._s.sender.address)
        for number, item in enumerate(items, 1):
            who = self._s.address(item.identity, "identity")
            rec = self._s.address(item.recipient, "recipient")
            distinct_parties(me, rec)
            check_ref(item.data_ref, "the" if len(items) == 1 else f"item {number}'s")
            rows.append(
                (
                    who,
                    rec,
                    self._s.term(item.purpose, "purpose"),
                    self._s.term(item.category, "category"),
                    self._usage.reference(who, item.data_ref),
                )
            )
        try:
            if len(rows) == 1:
                receipt = self._s.send("recordDisclosure", *rows[0])
            else:
                receipt = self._s.send("recordDisclosureBatch", rows)
        except TransactionError as e:
            asked = e.error_args.get("organization")
            if e.error_name == "UseAfterErasureRequest" and asked != me:
                e.hint = f"disclose none of its data to {asked} any more"
            self._usage.forget_erased(e)
            raise
        except ChainError as e:
            split_hint(e, len(rows), "disclosures")
            raise
        events = self._s.decoded(self._s.ledger.events.DataDisclosed(), receipt)
        times = self._s.block_times(e.block_number for e in events)
        records = tuple(rec_.record(e, times[e.block_number]) for e in events)
        return DisclosuresRecorded(**tx_fields(receipt), records=records)

    def is_covered(
        self, identity: Who, discloser: Who, recipient: Who, purpose: Term, category: Term
    ) -> bool:
        """Whether ``recordDisclosure`` by ``discloser`` would pass now
        (``isDisclosureCovered``: same rules).

        Raises:
            InvalidInputError: a bad address, DID or term.
            ChainError: the node could not be reached.
        """
        key = self._key(identity, discloser, recipient, purpose, category)
        return bool(self._s.call(self._s.ledger.functions.isDisclosureCovered(*key)))

    def get(
        self, identity: Who, discloser: Who, recipient: Who, purpose: Term, category: Term
    ) -> DisclosureConsent:
        """The stored disclosure consent (``getDisclosureConsent``), whether it covers a
        disclosure now and, if not, why (a dry run of ``recordDisclosure`` by the discloser).
        Read at the latest block; "now" (``read_at``, for expiry) is the later of its time and
        the wall clock, since the next block is stamped when it is mined.

        Raises:
            InvalidInputError: a bad address, DID or term.
            ChainError: the node could not be reached.
        """
        key = self._key(identity, discloser, recipient, purpose, category)
        fns = self._s.ledger.functions
        block = self._s.chain.get_block("latest")
        number = int(block["number"])
        expiry, granted_at, version, nonce, active = self._s.call(
            fns.getDisclosureConsent(*key), block=number
        )
        covered = self._s.call(fns.isDisclosureCovered(*key), block=number)
        # an idle chain's latest block is old; the next one is stamped when it is mined
        now = max(int(block["timestamp"]), int(time.time()))
        refusal = None
        if covered and active and expiry_or_none(int(expiry)) is not None and now >= expiry:
            covered = False
            refusal = f"the disclosure consent expired at unix {int(expiry)} (now {now})"
        elif not covered:
            try:
                self._s.chain.call(
                    fns.recordDisclosure(key[0], *key[2:], bytes(32)), sender=key[1], block=number
                )
            except TransactionError as e:
                refusal = e.message
        return DisclosureConsent(
            **rec_.parties(key),
            expiry=expiry_or_none(int(expiry)),
            granted_at=int(granted_at),
            policy_version=int(version),
            nonce=int(nonce),
            stored_active=bool(active),
            covered=bool(covered),
            read_at=now,
            refusal=refusal,
        )

    def disclosures(
        self,
        *,
        identity: Who | None = None,
        discloser: Who | None = None,
        recipient: Who | None = None,
    ) -> list[DisclosureRecord]:
        """Every recorded disclosure matching the given parties (indexed topics), oldest
        first, each with its block's time.

        Raises:
            InvalidInputError: a bad address or DID.
            ChainError: the node could not be reached.
        """
        filters = {
            name: self._s.address(value, name)
            for name, value in (
                ("identity", identity),
                ("discloser", discloser),
                ("recipient", recipient),
            )
            if value is not None
        }
        events = self._s.events(self._s.ledger.events.DataDisclosed(), filters)
        times = self._s.block_times(e.block_number for e in events)
        return [rec_.record(e, times[e.block_number]) for e in events]

    # --- recipient -----------------------------------------------------------------------------

    def to_stop(
        self, recipient: Who | None = None, *, from_block: int = 0, to_block: int | None = None
    ) -> list[ToStop]:
        """What ``recipient`` (default: the client's account) must stop acting on: the
        disclosure consents naming it that are withdrawn now (one ``DisclosureConsentWithdrawn``
        query on the indexed recipient; a consent granted again since is left out), and the
        subjects who asked a discloser that disclosed to it to erase (GDPR Art. 19), one row
        per (identity, discloser, purpose, category) it received. Ordered by block.

        Args:
            recipient: the recipient's address, account or DID.
            from_block, to_block: only withdrawals and requests mined in these blocks
                (inclusive; default: all). Disclosures are counted from the deployment.

        Returns:
            :class:`ToStop` rows (``reason`` "withdrawn" or "erasure-requested").

        Raises:
            InvalidInputError: a bad address or DID; ``from_block`` after the latest block.
            ConfigurationError: a read-only client and no recipient given.
            ChainError: the node could not be reached.
        """
        rec = self._s.address(recipient if recipient is not None else self._s.sender, "recipient")
        start = max(from_block, self._s.first_block)
        head = self._s.chain.block_number()
        if from_block > head:
            raise InvalidInputError(
                f"block {from_block} is after the latest block ({head}): nothing is mined there "
                "yet",
                hint=f"give a block up to {head}, or follow new blocks with "
                "`collective disclosure watch`",
            )
        ev = self._s.ledger.events

        def window(logs: list[DecodedLog]) -> list[DecodedLog]:
            return [e for e in logs if to_block is None or e.block_number <= to_block]

        received = self._s.events(ev.DataDisclosed(), {"recipient": rec})
        latest: dict[Key, DecodedLog] = {}
        for log in window(
            self._s.events(ev.DisclosureConsentWithdrawn(), {"recipient": rec}, from_block=start)
        ):
            if log.args["wasActive"]:
                latest[key_of(log)] = log
        fns = self._s.ledger.functions
        found: list[tuple[str, Key, DecodedLog]] = [
            ("withdrawn", key, log)
            for key, log in latest.items()
            if not self._s.call(fns.getDisclosureConsent(*key))[4]
        ]
        keys_by_pair: dict[tuple[Address, Address], list[Key]] = {}
        for log in received:
            keys = keys_by_pair.setdefault((log.args["identity"], log.args["discloser"]), [])
            if key_of(log) not in keys:
                keys.append(key_of(log))
        for discloser in dict.fromkeys(d for _, d in keys_by_pair):
            for req in window(
                self._s.events(ev.ErasureRequested(), {"organization": discloser}, from_block=start)
            ):
                for key in keys_by_pair.get((req.args["identity"], discloser), []):
                    found.append(("erasure-requested", key, req))
        times = self._s.block_times(log.block_number for _, _, log in found)
        return rec_.stop_rows(found, received, times)


__all__ = [
    "DisclosureClient",
    "DisclosureConsent",
    "DisclosureGranted",
    "DisclosureItem",
    "DisclosureRecord",
    "DisclosureWithdrawn",
    "DisclosuresRecorded",
    "ToStop",
]
