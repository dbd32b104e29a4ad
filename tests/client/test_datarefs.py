"""Keyed data references: the store of per-subject secrets, alone, across processes, and the
uses the client records with it on the embedded chain."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from collective import Collective
from collective.chain import Chain
from collective.client.datarefs import DataRefStore, keyed_ref
from collective.client.usage import UseItem
from collective.deploy import Deployment
from collective.errors import ConfigurationError, InvalidInputError

ORG = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ALICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
BOB = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
LOCATOR = "lab/cohort-7/sample-1"
RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"


def secret_of(path: Path, organization: str, subject: str) -> bytes | None:
    """The pair's secret as the file holds it, read with plain sqlite3."""
    db = sqlite3.connect(path)
    try:
        row = db.execute(
            "SELECT secret FROM secrets WHERE organization = ? AND subject = ?",
            (organization, subject),
        ).fetchone()
    finally:
        db.close()
    return None if row is None else bytes(row[0])


def file_bytes(path: Path) -> bytes:
    """The database file and any WAL beside it, as they are on disk."""
    parts = [path, path.with_name(path.name + "-wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def test_ref_is_hmac_sha256_under_a_secret_made_once_per_pair(tmp_path: Path) -> None:
    path = tmp_path / "refs.db"
    with DataRefStore(path) as store:
        assert not store.has_secret(ORG, ALICE)
        first = store.ref(ORG, ALICE, LOCATOR)
        secret = secret_of(path, ORG, ALICE)
        assert secret is not None and len(secret) == 32
        assert first == hmac.new(secret, LOCATOR.encode(), hashlib.sha256).digest()
        assert first == keyed_ref(secret, LOCATOR.encode()) and len(first) == 32
        assert store.ref(ORG, ALICE.lower(), LOCATOR) == first  # one pair, any spelling
        assert store.ref(ORG, ALICE, LOCATOR + "x") != first
        assert first != keccak(text=LOCATOR)  # a guess of the locator does not confirm it
        assert store.ref(ORG, BOB, LOCATOR) != first  # same locator, another subject
        assert store.subjects(ORG) == sorted([ALICE, BOB])
        assert store.organizations() == [ORG]
        assert store.subjects(BOB) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_forget_destroys_the_secret_on_disk_and_a_new_one_follows(tmp_path: Path) -> None:
    path = tmp_path / "refs.db"
    with DataRefStore(path) as store:
        old = store.ref(ORG, ALICE, LOCATOR)
        kept = store.ref(ORG, BOB, LOCATOR)
        secret = secret_of(path, ORG, ALICE)
        assert secret is not None and secret in file_bytes(path)
        assert store.forget(ORG, ALICE) is True
        assert not store.has_secret(ORG, ALICE) and store.subjects(ORG) == [BOB]
        assert secret not in file_bytes(path)  # overwritten, not just unlinked from a row
        assert store.forget(ORG, ALICE) is False  # nothing left to destroy
        new = store.ref(ORG, ALICE, LOCATOR)
        assert new != old and store.ref(ORG, BOB, LOCATOR) == kept


def test_the_secrets_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "refs.db"
    with DataRefStore(path) as store:
        made = store.ref(ORG, ALICE, b"\x00binary locator")
    with DataRefStore(path) as again:
        assert again.ref(ORG, ALICE, b"\x00binary locator") == made
        assert again.subjects(ORG) == [ALICE]


def test_bad_input_is_named_never_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"folder .*missing.* does not exist"):
        DataRefStore(tmp_path / "missing" / "refs.db")
    with pytest.raises(ConfigurationError, match="is a folder"):
        DataRefStore(tmp_path)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"not sqlite at all " * 300)
    with pytest.raises(ConfigurationError, match=r"corrupt\.db: it is not an SQLite database"):
        DataRefStore(corrupt)
    assert corrupt.read_bytes() == b"not sqlite at all " * 300  # left as it was
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(ConfigurationError, match="another program's SQLite database"):
        DataRefStore(other)
    with DataRefStore(tmp_path / "refs.db") as store:
        store.ref(ORG, ALICE, LOCATOR)
        with pytest.raises(InvalidInputError, match="subject 'patient-7' is not an address"):
            store.ref(ORG, "patient-7", LOCATOR)
        with pytest.raises(InvalidInputError, match="organization"):
            store.forget("lab", ALICE)
        assert store.has_secret(ORG, ALICE)  # a refused call loses no secret
    with pytest.raises(ConfigurationError, match="closed"):
        store.ref(ORG, ALICE, LOCATOR)


WORKER = """
import sys
from collective.client.datarefs import DataRefStore
path, org = sys.argv[1], sys.argv[2]
subjects = ["0x%040x" % (i + 1) for i in range(int(sys.argv[3]))]
with DataRefStore(path) as store:
    for s in subjects:
        print(s, store.ref(org, s, "lab/shared").hex(), flush=True)
        if s.endswith("7"):
            store.forget(org, "0x%040x" % 1000)
"""


def test_two_processes_share_one_file_and_agree_on_every_secret(tmp_path: Path) -> None:
    path = tmp_path / "refs.db"
    n = 40
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), ORG, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        outputs.append(dict(line.split() for line in out.splitlines()))
    assert len(outputs[0]) == n and outputs[0] == outputs[1]  # one secret per pair
    with DataRefStore(path) as store:
        assert len(store.subjects(ORG)) == n
        assert all(store.ref(ORG, s, "lab/shared").hex() == r for s, r in outputs[0].items())
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


@pytest.fixture
def actors(chain: Chain, suite: Deployment, tmp_path: Path) -> dict[str, Collective]:
    """Admin, an admitted lab with policy v1 and a store, and two subjects who consented."""
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    lab = Collective(chain, suite, dev[2], data_refs=tmp_path / "lab-refs.db")
    admin.orgs.admit(lab.address)
    lab.policies.publish(b"lab policy v1", "https://lab.example/policy/v1", [RESEARCH])
    people = {"admin": admin, "lab": lab}
    for name, index in (("alice", 3), ("bob", 4)):
        people[name] = admin.as_account(dev[index])
        people[name].consent.grant(lab.address, RESEARCH, HEALTH)
    return people


def test_uses_go_on_chain_with_keyed_references(actors: dict[str, Collective]) -> None:
    lab, alice, bob = actors["lab"], actors["alice"], actors["bob"]
    store = lab.usage.data_refs
    assert store is not None
    (a,) = lab.usage.record(alice.address, RESEARCH, HEALTH, LOCATOR).records
    (b,) = lab.usage.record(bob.address, RESEARCH, HEALTH, f"  {LOCATOR} ").records
    assert a.data_ref == "0x" + store.ref(lab.address, alice.address, LOCATOR).hex()
    assert a.data_ref == "0x" + lab.usage.reference(alice.address, LOCATOR).hex()
    assert b.data_ref == "0x" + store.ref(lab.address, bob.address, LOCATOR).hex()
    assert a.data_ref != b.data_ref  # the same locator of two subjects: unrelated
    guessed = "0x" + keccak(text=LOCATOR).hex()
    assert guessed not in {a.data_ref, b.data_ref}  # the old guess confirms nothing
    raw = "0x" + "ab" * 32
    (r,) = lab.usage.record(alice.address, RESEARCH, HEALTH, raw).records
    assert r.data_ref == raw  # a 32-byte reference goes on chain as given
    batch = lab.usage.record_batch(
        [UseItem(s.address, RESEARCH, HEALTH, "lab/batch/1") for s in (alice, bob)]
    )
    assert [u.data_ref for u in batch.records] == [
        "0x" + store.ref(lab.address, s.address, "lab/batch/1").hex() for s in (alice, bob)
    ]
    assert lab.account is not None
    assert lab.as_account(lab.account).usage.data_refs is store  # as_account shares it


def test_after_forget_nothing_links_the_old_reference(actors: dict[str, Collective]) -> None:
    lab, alice = actors["lab"], actors["alice"]
    store = lab.usage.data_refs
    assert store is not None
    (old,) = lab.usage.record(alice.address, RESEARCH, HEALTH, LOCATOR).records
    assert store.forget(lab.address, alice.address)
    history = lab.usage.history(identity=alice.address)
    assert [u.data_ref for u in history] == [old.data_ref]  # the chain keeps the use ...
    relinked = {"0x" + lab.usage.reference(alice.address, LOCATOR).hex()}
    relinked.add("0x" + keccak(text=LOCATOR).hex())
    assert old.data_ref not in relinked  # ... but the locator no longer leads to it
    (new,) = lab.usage.record(alice.address, RESEARCH, HEALTH, LOCATOR).records
    assert new.data_ref != old.data_ref


def test_without_a_store_references_are_hashed_as_before(
    chain: Chain, suite: Deployment, actors: dict[str, Collective]
) -> None:
    plain = Collective(chain, suite, actors["lab"].account)
    assert plain.usage.data_refs is None
    (u,) = plain.usage.record(actors["alice"].address, RESEARCH, HEALTH, LOCATOR).records
    assert u.data_ref == "0x" + keccak(text=LOCATOR).hex()
