"""Pairwise identities on the embedded suite: derivation, unlinkability, the subject's own
history report, guardians, rotation and deactivation per identity and all at once."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from collective import Collective
from collective.chain import Chain
from collective.client.subjects import Subject
from collective.deploy import Deployment
from collective.did import pairwise
from collective.errors import InvalidInputError, NotFoundError, SignatureError

RESEARCH = "dpv:ResearchAndDevelopment"
TREATMENT = "dpv:ServiceProvision"
HEALTH = "dpv-pd:MedicalHealth"
CHAIN = 31337
# a fixed phrase (BIP-39's test vector words), so every run derives the same identities
MNEMONIC = "abandon " * 11 + "about"
# two addresses whose 31-bit index collides on chain 31337 (found by a birthday search)
COLLIDING = (
    "0x259aD69361d35f453f06d125cF050fAc5b622bdA",
    "0xD846722EF89cba23724596f8D4D7517a2742F4C8",
)
ORG = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture
def orgs(chain: Chain, suite: Deployment) -> dict[str, Collective]:
    """Admin, hospital and lab (admitted, policy v1 published) on the embedded suite."""
    admin = Collective(chain, suite, chain.dev_accounts[0])
    people = {"admin": admin}
    for index, name in ((1, "hospital"), (2, "lab")):
        people[name] = org = admin.as_account(chain.dev_accounts[index])
        admin.orgs.admit(org.address)
        org.policies.publish(f"{name} v1".encode(), f"https://{name}.example/v1", [RESEARCH])
    return people


def _subject(client: Collective) -> Subject:
    """The fixed phrase's subject on ``client``'s chain, placed in its consortium."""
    return Subject.from_mnemonic(MNEMONIC, chain_id=client.chain.chain_id).in_consortium(client)


def _grant_and_use(org: Collective, subject: Subject, ref: str) -> None:
    """The subject signs a grant with its identity for ``org``; ``org`` relays it (paying) and
    records a use."""
    me = subject.identity_for(org.address)
    org.signing.relay(org.signing.sign_grant(org.address, RESEARCH, HEALTH, signer=me.account))
    org.usage.record(me.address, RESEARCH, HEALTH, ref)


def test_derivation_is_deterministic_and_follows_the_documented_path() -> None:
    first = Subject.from_mnemonic(MNEMONIC, chain_id=CHAIN).identity_for(ORG)
    again = Subject.from_mnemonic("  " + MNEMONIC.upper() + " ", chain_id=CHAIN).identity_for(ORG)
    assert first == again and first.account.key == again.account.key
    index = int.from_bytes(keccak(CHAIN.to_bytes(32, "big") + bytes.fromhex(ORG[2:]))[:4])
    assert first.path == f"m/44'/60'/{index >> 1}'/0'/0'"
    Account.enable_unaudited_hdwallet_features()
    assert Account.from_mnemonic(MNEMONIC, account_path=first.path).address == first.address
    assert first.did == f"did:ethr:0x7a69:{first.address}"
    # another passphrase or chain is another identity
    assert (
        Subject.from_mnemonic(MNEMONIC, chain_id=CHAIN, passphrase="x").identity_for(ORG).address
        != first.address
    )
    assert Subject.from_mnemonic(MNEMONIC, chain_id=1).identity_for(ORG).address != first.address


def test_new_subject_shows_its_mnemonic_once_and_regains_every_identity() -> None:
    subject, mnemonic = Subject.new(chain_id=CHAIN)
    assert len(mnemonic.split()) == 24 and mnemonic not in repr(subject)
    orgs = [ORG, *COLLIDING]
    regained = Subject.from_mnemonic(mnemonic, chain_id=CHAIN).identities(orgs)
    assert regained == subject.identities(orgs)
    assert len({me.address for me in regained}) == 3


def test_a_bad_mnemonic_is_refused_without_repeating_it() -> None:
    words = "abandon " * 12
    with pytest.raises(InvalidInputError) as refused:
        Subject.from_mnemonic(words, chain_id=CHAIN)
    assert "abandon" not in str(refused.value)
    with pytest.raises(InvalidInputError):
        Subject.new(chain_id=CHAIN, words=13)
    # a mistyped organization (wrong EIP-55 checksum) is refused, not given an identity
    with pytest.raises(InvalidInputError, match="checksum"):
        Subject.from_mnemonic(MNEMONIC, chain_id=CHAIN).identity_for(ORG[:-1] + "9")


def test_colliding_indexes_get_distinct_identities_in_admission_order() -> None:
    a, b = COLLIDING
    assert pairwise.index_of(CHAIN, a) == pairwise.index_of(CHAIN, b)
    subject = Subject.from_mnemonic(MNEMONIC, chain_id=CHAIN, admitted=[b, a])
    first, second = subject.identity_for(b), subject.identity_for(a)
    assert (first.counter, second.counter) == (0, 1) and first.address != second.address
    # not admitted yet: placed after every admitted one, in the order asked
    fresh = Subject.from_mnemonic(MNEMONIC, chain_id=CHAIN)
    assert [me.counter for me in fresh.identities([a, b])] == [0, 1]


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=20, max_size=20), st.binary(min_size=20, max_size=20))
def test_distinct_organizations_get_distinct_addresses(one: bytes, other: bytes) -> None:
    subject = Subject.from_mnemonic(MNEMONIC, chain_id=CHAIN)
    mine = subject.identities(["0x" + one.hex(), "0x" + other.hex()])
    assert len({me.address for me in mine}) == (1 if one == other else 2)


def test_organizations_see_unrelated_addresses_and_nothing_on_chain_links_them(
    orgs: dict[str, Collective],
) -> None:
    hospital, lab = orgs["hospital"], orgs["lab"]
    chain = hospital.chain
    start = chain.block_number() + 1
    subject = _subject(hospital)
    _grant_and_use(hospital, subject, "hospital/1")
    _grant_and_use(lab, subject, "lab/1")
    at_hospital, at_lab = subject.identity_for(hospital.address), subject.identity_for(lab.address)
    for org, me in ((hospital, at_hospital), (lab, at_lab)):
        seen = {e.identity for e in org.consent.timeline(organization=org.address)}
        seen |= {u.identity for u in org.usage.history(organization=org.address)}
        assert seen == {me.address}
    # no transaction or log names both identities; neither ever sent one (the organizations
    # relayed), so no sender, nonce or funding links them either
    pair = [str(me.address) for me in (at_hospital, at_lab)]
    texts = []
    for number in range(start, chain.block_number() + 1):
        hashes: list[Any] = list(chain.get_block(number)["transactions"])
        for tx_hash in hashes:
            tx = chain.get_transaction(tx_hash if isinstance(tx_hash, str) else tx_hash.hex())
            assert str(tx["from"]) not in pair
            texts.append(bytes(tx["input"]).hex())
    for log in chain.get_logs({"fromBlock": start, "toBlock": "latest"}):
        texts.append("".join(bytes(t).hex() for t in log["topics"]) + bytes(log["data"]).hex())
    assert texts and all(sum(a[2:].lower() in text for a in pair) <= 1 for text in texts)
    assert [chain.get_transaction_count(a) for a in pair] == [0, 0]


def test_the_subject_history_gathers_every_identity_in_time_order(
    orgs: dict[str, Collective],
) -> None:
    hospital, lab = orgs["hospital"], orgs["lab"]
    subject = _subject(hospital)
    _grant_and_use(hospital, subject, "hospital/1")
    _grant_and_use(lab, subject, "lab/1")
    rows = subject.history(orgs["admin"])
    assert [(r.action, r.organization) for r in rows] == [
        ("grant", hospital.address),
        ("use", hospital.address),
        ("grant", lab.address),
        ("use", lab.address),
    ]
    assert [(r.block, r.log_index) for r in rows] == sorted((r.block, r.log_index) for r in rows)
    assert all(r.identity == subject.identity_for(r.organization).address for r in rows)
    assert rows[1].data_ref and rows[0].expiry is None
    only_lab = subject.history(orgs["admin"], [lab.address])
    assert {r.organization for r in only_lab} == {lab.address}
    # a removed organization's uses stay in the report (the default is every organization
    # ever admitted, not only those AccountRules lists now)
    orgs["admin"].orgs.remove(lab.address)
    assert subject.history(orgs["admin"]) == rows


def test_guardian_rotation_and_deactivation_per_identity(orgs: dict[str, Collective]) -> None:
    hospital, lab, admin = orgs["hospital"], orgs["lab"], orgs["admin"]
    subject = _subject(admin)
    guardian = Account.create()
    subject.add_guardian(hospital, hospital.address, guardian.address)
    me = subject.identity_for(hospital.address)
    signed = hospital.signing.sign_grant(
        hospital.address, RESEARCH, HEALTH, identity=me.address, signer=guardian
    )
    assert hospital.signing.relay_grant(signed).agent == guardian.address

    relayers = {hospital.address: hospital, lab.address: lab}
    rotated = subject.rotate_all(relayers, [hospital.address, lab.address])
    assert [o.ok for o in rotated] == [True, True]
    assert [o.change.change for o in rotated if o.change] == ["owner changed"] * 2
    for org in (hospital, lab):
        now = subject.current(admin, org.address)
        assert now.generation == 1 and str(admin.did.owner(now.address)) == now.account.address
    # the old key can no longer sign for the identity; the new one can
    with pytest.raises(SignatureError):
        lab.signing.relay(lab.signing.sign_grant(lab.address, RESEARCH, HEALTH, signer=me.account))
    current = subject.current(admin, lab.address)
    lab.signing.relay(
        lab.signing.sign_grant(lab.address, RESEARCH, HEALTH, identity=current.address,
                               signer=current.account)
    )  # fmt: skip

    subject.deactivate(admin, hospital.address)
    outcomes = subject.deactivate_all(admin, [hospital.address, lab.address])
    assert [o.ok for o in outcomes] == [False, True]
    assert outcomes[0].error and "deactivated" in outcomes[0].error
    assert all(admin.did.deactivated(o.identity) for o in outcomes)
    with pytest.raises(NotFoundError):
        subject.current(admin, lab.address)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.binary(min_size=20, max_size=20), max_size=4), st.randoms())
def test_admitted_organizations_keep_their_identity_whatever_order_they_are_asked_in(
    raw: list[bytes], rng: random.Random
) -> None:
    admitted = [*COLLIDING, *("0x" + r.hex() for r in raw)]
    subject = Subject.from_mnemonic(MNEMONIC, chain_id=CHAIN, admitted=admitted)
    asked = list(admitted)
    rng.shuffle(asked)
    first = {me.organization.lower(): me.address for me in subject.identities(admitted)}
    again = {me.organization.lower(): me.address for me in subject.identities(asked)}
    assert first == again and len(set(first.values())) == len(first)
