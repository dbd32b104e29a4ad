"""Stateful property test: the contracts and a plain Python model of consent agree.

Hypothesis drives random sequences of grants (direct and signed, by the owner, a delegate, an
old key or a stranger, with fresh, stale or future nonces and right or wrong policy text),
withdrawals (which cancel pending signatures when nothing is active), policy publications,
suspensions, delegate appointments, key rotations, deactivations, time jumps, erasure requests
(direct or signed; from then on the pair's uses are refused and its consents cover nothing),
data uses, disclosure consents (granted and withdrawn by the owner) and disclosures from one
organization to another;
after every step the on-chain state of every consent, and every use's outcome, must equal the
model's prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from collective.errors import TransactionError
from collective.ledger.erasure_request import ErasureRequest, sign_erasure
from collective.ledger.signing import code
from tests.helpers import (
    GENETIC,
    LAB_RESULTS,
    MARKETING,
    RESEARCH,
    SIG_AUTH,
    TREATMENT,
    World,
    make_world,
)

PURPOSES = [RESEARCH, TREATMENT, MARKETING]
CATEGORIES = [LAB_RESULTS, GENETIC]
MARGIN = 20  # seconds kept between expiries and the clock, so block-time jitter cannot matter


@dataclass
class ModelConsent:
    expiry: int = 0
    version: int = 0
    nonce: int = 0
    active: bool = False


@dataclass
class Model:
    now: int = 0
    owner: dict[str, object] = field(default_factory=dict)  # identity -> key; None: deactivated
    delegates: dict[str, set[str]] = field(default_factory=dict)  # identity -> sigAuth keys
    status: dict[str, int] = field(default_factory=dict)  # 1 active, 2 suspended
    version: dict[str, int] = field(default_factory=dict)
    coverage: dict[tuple[str, bytes], int] = field(default_factory=dict)
    consents: dict[tuple[str, str, bytes, bytes], ModelConsent] = field(default_factory=dict)
    erased: set[tuple[str, str]] = field(default_factory=set)  # (identity, organization)
    # (identity, discloser, recipient, purpose, category) -> the disclosure consent
    disclosures: dict[tuple[str, str, str, bytes, bytes], ModelConsent] = field(
        default_factory=dict
    )

    def disclosure(self, key: tuple[str, str, str, bytes, bytes]) -> ModelConsent:
        return self.disclosures.setdefault(key, ModelConsent())

    def disclose_error(self, key: tuple[str, str, str, bytes, bytes]) -> str | None:
        """DisclosureLog.recordDisclosure's order: both organizations active (discloser
        first), an active consent, the identity not deactivated, unexpired, the recipient's
        current policy covering the purpose under the version consented, no erasure asked of
        either organization."""
        identity, discloser, recipient, purpose, _ = key
        if 2 in (self.status.get(discloser), self.status.get(recipient)):
            return "OrganizationSuspended"
        c = self.disclosure(key)
        if not c.active:
            return "NoDisclosureConsent"
        if self.owner[identity] is None:
            return "IdentityDeactivated"
        if self.now >= c.expiry:
            return "ConsentExpired"
        if self.coverage.get((recipient, purpose), 0) != c.version:
            return "StalePolicyVersion"
        if {(identity, discloser), (identity, recipient)} & self.erased:
            return "UseAfterErasureRequest"
        return None

    def consent(self, key: tuple[str, str, bytes, bytes]) -> ModelConsent:
        return self.consents.setdefault(key, ModelConsent())

    def grant_error(self, org: str, purpose: bytes, expiry: int, version: int) -> str | None:
        if expiry <= self.now:
            return "ExpiryInPast"
        if version == 0 or self.coverage.get((org, purpose), 0) != version:
            return "PolicyNotCurrent"
        return None

    def signed_error(self, identity: str, signer: str, nonce: int, stored: int) -> str | None:
        """ConsentRegistry._checkSigned's order: deadline (never past here), deactivation,
        authority, nonce."""
        if self.owner[identity] is None:
            return "IdentityDeactivated"
        owner = self.owner[identity]
        if signer != owner.address and signer not in self.delegates[identity]:  # type: ignore[attr-defined]
            return "SignerNotAuthorized"
        if nonce < stored:
            return "InvalidNonce"
        return None

    def direct_error(self, identity: str, sender: str) -> str | None:
        if self.owner[identity] is None:
            return "IdentityDeactivated"
        if sender != self.owner[identity].address:  # type: ignore[attr-defined]
            return "NotIdentityOwner"
        return None

    def use_error(self, key: tuple[str, str, bytes, bytes]) -> str | None:
        identity, org, _, _ = key
        if self.status.get(org) == 2:
            return "OrganizationSuspended"
        c = self.consent(key)
        if not c.active:
            return "NoConsent"
        if self.owner[identity] is None:
            return "IdentityDeactivated"
        if self.now >= c.expiry:
            return "ConsentExpired"
        if c.version != self.version[org]:
            return "StalePolicyVersion"
        if (identity, org) in self.erased:
            return "UseAfterErasureRequest"
        return None


def build_machine(world: World, chain) -> type[RuleBasedStateMachine]:
    subjects = [world.patient, world.guardian, world.stranger]
    orgs = [world.hospital, world.lab]
    new_key = chain.dev_accounts[6]  # the key identities rotate to
    delegate = world.members[0]  # a guardian key (sigAuth delegate)
    keys = [*subjects, new_key, delegate]

    class ConsentMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.snapshot = chain.snapshot()
            self.model = Model()
            for subject in subjects:
                self.model.owner[subject.address] = subject
                self.model.delegates[subject.address] = set()
            for org in orgs:
                self.model.status[org.address] = 1
                self.model.version[org.address] = 1
                for purpose in (RESEARCH, TREATMENT):
                    self.model.coverage[(org.address, purpose)] = 1
            self.sync_clock()

        def teardown(self) -> None:
            chain.revert(self.snapshot)

        def sync_clock(self) -> None:
            self.model.now = world.now()

        def attempt(self, fn, sender, expected: str | None) -> None:
            try:
                world.tx(fn, sender)
            except TransactionError as exc:
                assert exc.error_name == expected, f"chain: {exc.error_name}, model: {expected}"
            else:
                assert expected is None, f"chain succeeded, model expected {expected}"
            self.sync_clock()

        def near_expiry(self, key) -> bool:
            c = self.model.consents.get(key)
            return c is not None and abs(c.expiry - self.model.now) < MARGIN

        def direct_nonce(self, m: ModelConsent) -> None:
            # A direct call: one past the largest nonce a signed request may carry now,
            # max(nonce + NONCE_STEP, block ms + NONCE_CLOCK_SKEW); the clock is the block's.
            m.nonce = max(m.nonce + 1_000, self.model.now * 1000 + 600_000) + 1

        @rule(
            s=st.sampled_from(subjects),
            o=st.sampled_from(orgs),
            p=st.sampled_from(PURPOSES),
            c=st.sampled_from(CATEGORIES),
            ttl=st.sampled_from([-100, 300, 900, 2000]),
            dv=st.sampled_from([0, 0, 0, -1, 1]),
            signed=st.booleans(),
            relayer=st.sampled_from(orgs),
            key=st.sampled_from(keys),
            dn=st.sampled_from([0, 0, 5, -1]),
            wrong_text=st.sampled_from([False, False, False, True]),
        )
        def grant(self, s, o, p, c, ttl, dv, signed, relayer, key, dn, wrong_text) -> None:
            ck = (s.address, o.address, p, c)
            m = self.model.consent(ck)
            expiry = self.model.now + ttl
            version = max(0, self.model.version[o.address] + dv)
            rules = self.model.grant_error(o.address, p, expiry, version)
            if signed:
                nonce = max(0, m.nonce + dn)
                expected = self.model.signed_error(s.address, key.address, nonce, m.nonce)
                expected = expected or rules
                text = code(f"v{version}") if version > 1 else world.policy_hash(o, version)
                if expected is None and wrong_text:
                    text, expected = code("other text"), "PolicyHashMismatch"
                if self.model.status[relayer.address] == 2:
                    expected = "OrganizationSuspended"
                sig = world.sign_grant(
                    key, s.address, o, purpose=p, category=c, expiry=expiry, version=version,
                    policy_hash=text, nonce=nonce,
                )  # fmt: skip
                self.attempt(
                    world.ledger.functions.grantSigned(*sig.call_args()), relayer, expected
                )
                if expected is None:
                    m.nonce = nonce + 1
            else:
                expected = self.model.direct_error(s.address, key.address) or rules
                fn = world.ledger.functions.grant(s.address, o.address, p, c, expiry, version)
                self.attempt(fn, key, expected)
                if expected is None:
                    self.direct_nonce(m)
            if expected is None:
                m.expiry, m.version, m.active = expiry, version, True

        @rule(
            s=st.sampled_from(subjects),
            o=st.sampled_from(orgs),
            p=st.sampled_from(PURPOSES),
            c=st.sampled_from(CATEGORIES),
            signed=st.booleans(),
            relayer=st.sampled_from(orgs),
            key=st.sampled_from(keys),
            dn=st.sampled_from([0, 0, 5, -1]),
        )
        def withdraw(self, s, o, p, c, signed, relayer, key, dn) -> None:
            ck = (s.address, o.address, p, c)
            m = self.model.consent(ck)
            # Nothing active is no error: the withdrawal then cancels pending signatures.
            if signed:
                nonce = max(0, m.nonce + dn)
                expected = self.model.signed_error(s.address, key.address, nonce, m.nonce)
                sig = world.sign_withdrawal(key, s.address, o, purpose=p, category=c, nonce=nonce)
                if self.model.status[relayer.address] == 2:
                    expected = "OrganizationSuspended"
                self.attempt(
                    world.ledger.functions.withdrawSigned(*sig.call_args()), relayer, expected
                )
                if expected is None:
                    m.nonce = nonce + 1
            else:
                expected = self.model.direct_error(s.address, key.address)
                self.attempt(world.ledger.functions.withdraw(*ck), key, expected)
                if expected is None:
                    self.direct_nonce(m)
            if expected is None:
                m.active = False

        @rule(
            s=st.sampled_from(subjects),
            o=st.sampled_from(orgs),
            signed=st.booleans(),
            relayer=st.sampled_from(orgs),
            key=st.sampled_from(keys),
        )
        def request_erasure(self, s, o, signed, relayer, key) -> None:
            pair = (s.address, o.address)
            again = "ErasureAlreadyRequested" if pair in self.model.erased else None
            if signed:
                expected = self.model.signed_error(s.address, key.address, 0, 0) or again
                if self.model.status[relayer.address] == 2:
                    expected = "OrganizationSuspended"
                sig = sign_erasure(
                    key,
                    ErasureRequest(s.address, o.address, self.model.now + 3600),
                    chain_id=chain.chain_id,
                    verifying_contract=world.ledger.address,
                )
                fn = world.ledger.functions.requestErasureSigned(*sig.call_args())
                self.attempt(fn, relayer, expected)
            else:
                expected = self.model.direct_error(s.address, key.address) or again
                self.attempt(world.ledger.functions.requestErasure(*pair), key, expected)
            if expected is None:
                self.model.erased.add(pair)

        @rule(s=st.sampled_from(subjects))
        def appoint_delegate(self, s) -> None:
            owner = self.model.owner[s.address]
            if owner is None:
                return
            fn = world.ledger.functions.addDelegate(s.address, SIG_AUTH, delegate.address, 10**7)
            self.attempt(fn, owner, None)
            self.model.delegates[s.address].add(delegate.address)

        @rule(s=st.sampled_from(subjects))
        def rotate_key(self, s) -> None:
            owner = self.model.owner[s.address]
            if owner is None or owner.address == new_key.address:
                return
            fn = world.ledger.functions.changeOwner(s.address, new_key.address)
            self.attempt(fn, owner, None)
            self.model.owner[s.address] = new_key
            self.model.delegates[s.address] = set()  # a new delegate epoch

        @rule()
        def deactivate(self) -> None:
            s = world.stranger.address  # only this subject is ever deactivated
            owner = self.model.owner[s]
            if owner is None:
                return
            self.attempt(world.ledger.functions.changeOwner(s, "0x" + "00" * 20), owner, None)
            self.model.owner[s] = None
            self.model.delegates[s] = set()

        @rule(
            o=st.sampled_from(orgs),
            purposes=st.lists(st.sampled_from(PURPOSES), min_size=1, max_size=3, unique=True),
        )
        def publish(self, o, purposes) -> None:
            status = self.model.status[o.address]
            expected = None if status == 1 else "OrganizationSuspended"
            version = self.model.version[o.address] + 1
            fn = world.ledger.functions.publishPolicy(code(f"v{version}"), "uri", purposes)
            self.attempt(fn, o, expected)
            if expected is None:
                for org, purpose in list(self.model.coverage):
                    if org == o.address:
                        del self.model.coverage[(org, purpose)]
                for purpose in purposes:
                    self.model.coverage[(o.address, purpose)] = version
                self.model.version[o.address] = version

        @rule(o=st.sampled_from(orgs))
        def toggle_suspension(self, o) -> None:
            if self.model.status[o.address] == 1:
                self.attempt(world.rules.functions.suspend(o.address), world.admin, None)
                self.model.status[o.address] = 2
            else:
                self.attempt(world.rules.functions.reinstate(o.address), world.admin, None)
                self.model.status[o.address] = 1

        @rule(seconds=st.sampled_from([60, 500, 1500]))
        def time_passes(self, seconds) -> None:
            chain.increase_time(seconds)
            chain.mine()
            self.sync_clock()

        @rule(
            s=st.sampled_from(subjects),
            o=st.sampled_from(orgs),
            p=st.sampled_from(PURPOSES),
            c=st.sampled_from(CATEGORIES),
        )
        def use(self, s, o, p, c) -> None:
            key = (s.address, o.address, p, c)
            if self.near_expiry(key):
                return
            self.attempt(
                world.ledger.functions.recordUse(s.address, p, c, code("ref")),
                o,
                self.model.use_error(key),
            )

        @rule(
            s=st.sampled_from(subjects),
            d=st.sampled_from(orgs),
            r=st.sampled_from(orgs),
            p=st.sampled_from(PURPOSES),
            c=st.sampled_from(CATEGORIES),
            ttl=st.sampled_from([-100, 900, 2000, 4000]),
            dv=st.sampled_from([0, 0, 0, 0, -1, 1]),
            key=st.sampled_from([None, None, None, *keys]),  # None: the identity's current owner
            withdraw=st.sampled_from([False, False, True]),
        )
        def disclosure_consent(self, s, d, r, p, c, ttl, dv, key, withdraw) -> None:
            dk = (s.address, d.address, r.address, p, c)
            m = self.model.disclosure(dk)
            key = key or self.model.owner[s.address] or s
            expected = self.model.direct_error(s.address, key.address)
            if withdraw:
                self.attempt(world.ledger.functions.withdrawDisclosure(*dk), key, expected)
                if expected is None:
                    self.direct_nonce(m)
                    m.active = False
                return
            expiry = self.model.now + ttl
            version = max(0, self.model.version[r.address] + dv)
            # The version agreed to is the recipient's: its policy must cover the purpose.
            expected = expected or self.model.grant_error(r.address, p, expiry, version)
            fn = world.ledger.functions.grantDisclosure(*dk, expiry, version)
            self.attempt(fn, key, expected)
            if expected is None:
                self.direct_nonce(m)
                m.expiry, m.version, m.active = expiry, version, True

        @rule(
            s=st.sampled_from(subjects),
            d=st.sampled_from(orgs),
            r=st.sampled_from(orgs),
            p=st.sampled_from(PURPOSES),
            c=st.sampled_from(CATEGORIES),
            known=st.integers(min_value=-2, max_value=50),
        )
        def disclose(self, s, d, r, p, c, known) -> None:
            dk = (s.address, d.address, r.address, p, c)
            granted = [k for k, m in self.model.disclosures.items() if m.expiry]
            if known >= 0 and granted:  # mostly under a consent the subject once gave
                dk = granted[known % len(granted)]
            m = self.model.disclosures.get(dk)
            if m is not None and abs(m.expiry - self.model.now) < MARGIN:
                return
            fn = world.ledger.functions.recordDisclosure(dk[0], dk[2], dk[3], dk[4], code("ref"))
            discloser = next(o for o in orgs if o.address == dk[1])
            self.attempt(fn, discloser, self.model.disclose_error(dk))

        @invariant()
        def disclosure_consents_agree(self) -> None:
            for key, m in self.model.disclosures.items():
                stored = world.ledger.functions.getDisclosureConsent(*key).call()
                expiry, _, version, nonce, active = stored
                assert (nonce, active) == (m.nonce, m.active), key
                if m.expiry:
                    assert (expiry, version) == (m.expiry, m.version), key
                if abs(m.expiry - self.model.now) >= MARGIN:
                    covered = self.model.disclose_error(key) is None
                    assert world.ledger.functions.isDisclosureCovered(*key).call() == covered

        @invariant()
        def consents_agree(self) -> None:
            for key, m in self.model.consents.items():
                expiry, _, version, nonce, active = world.ledger.functions.getConsent(*key).call()
                assert (nonce, active) == (m.nonce, m.active), key
                if m.expiry:
                    assert (expiry, version) == (m.expiry, m.version), key
                if not self.near_expiry(key):
                    covered = self.model.use_error(key) is None
                    assert world.ledger.functions.isCovered(*key).call() == covered, key

    return ConsentMachine


@pytest.mark.slow
def test_contracts_agree_with_the_model(chain, suite) -> None:
    world = make_world(chain, suite)
    machine = build_machine(world, chain)
    machine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    machine.TestCase().runTest()
