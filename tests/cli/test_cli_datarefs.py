"""``collective use record --data-refs`` and ``collective data-refs list|forget``, through
click against an in-process ``collective node --dev`` (the suite deployed once per module)."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_utils.crypto import keccak

from collective import Collective
from collective.chain import connect_rpc
from collective.cli import cli
from collective.node.server import RpcServer
from tests.helpers import deploy_consortium

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"
TERMS = ["-p", RESEARCH, "-c", HEALTH]
LOCATOR = "lab/cohort-7/sample-1"


@dataclass
class Lab:
    url: str
    manifest: Path
    lab: str
    patients: list[str]

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        command = ["--rpc", self.url, "--account", "1", *args]
        if args[0] == "use":
            command += ["--manifest", str(self.manifest)]
        return CliRunner().invoke(cli, command, env=env)

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self.run(*args, env=env)
        assert result.exit_code == 0, (args, result.output)
        return result

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", env=env).stdout)

    def refused(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert "Traceback" not in result.output
        return lines[0]

    def record(self, patient: str, refs: Path | None, locator: str = LOCATOR) -> str:
        extra = ["--data-refs", str(refs)] if refs is not None else []
        used = self.json("use", "record", patient, *TERMS, "--ref", locator, *extra)
        (record,) = used["records"]
        return str(record["data_ref"])


@pytest.fixture(scope="module")
def lab(dev_server: RpcServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """dev account 1 admitted as a lab with policy v1; dev accounts 3 and 4 consented."""
    chain = connect_rpc(dev_server.url, name="node")
    snapshot = chain.snapshot()
    manifest = tmp_path_factory.mktemp("datarefs") / "node.json"
    suite = deploy_consortium(chain, manifest)
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    admin.orgs.admit(dev[1].address)
    admin.as_account(dev[1]).policies.publish(b"v1", "https://lab.example/v1", [RESEARCH])
    for patient in dev[3:5]:
        admin.as_account(patient).consent.grant(dev[1].address, RESEARCH, HEALTH)
    try:
        yield Lab(dev_server.url, manifest, dev[1].address, [p.address for p in dev[3:5]])
    finally:
        chain.revert(snapshot)


def secret(path: Path, organization: str, subject: str) -> bytes:
    db = sqlite3.connect(path)
    try:
        (value,) = db.execute(
            "SELECT secret FROM secrets WHERE organization = ? AND subject = ?",
            (organization, subject),
        ).fetchone()
    finally:
        db.close()
    return bytes(value)


def test_use_record_keys_the_reference_with_the_store(lab: Lab, tmp_path: Path) -> None:
    refs = tmp_path / "lab-refs.db"
    alice, bob = lab.patients
    first = lab.run("use", "record", alice, *TERMS, "--ref", LOCATOR, "--data-refs", str(refs))
    assert first.exit_code == 0, first.output
    assert f"created the data-reference store {refs}" in first.stderr
    (keyed,) = [w.rstrip(",") for w in first.stdout.split() if w.startswith("0x") and len(w) > 66]
    expected = hmac.new(secret(refs, lab.lab, alice), LOCATOR.encode(), hashlib.sha256)
    assert keyed == "0x" + expected.hexdigest()
    assert keyed != "0x" + keccak(text=LOCATOR).hex()  # a guess of the locator misses
    assert lab.record(alice, refs) == keyed  # the same pair: the same reference
    by_env = lab.json(
        "use", "record", bob, *TERMS, "--ref", LOCATOR, env={"COLLECTIVE_DATA_REFS": str(refs)}
    )
    assert by_env["records"][0]["data_ref"] not in (keyed, "0x" + keccak(text=LOCATOR).hex())
    assert lab.record(alice, None) == "0x" + keccak(text=LOCATOR).hex()  # no store: as before
    raw = "0x" + "cd" * 32
    assert lab.record(alice, refs, raw) == raw


def test_list_and_forget_a_subject(lab: Lab, tmp_path: Path) -> None:
    refs = tmp_path / "lab-refs.db"
    alice, bob = lab.patients
    old = lab.record(alice, refs)
    lab.record(bob, refs)
    pairs = lab.json("data-refs", "list", "--data-refs", str(refs))
    assert pairs == [{"organization": lab.lab, "subject": s} for s in sorted([alice, bob])]
    table = lab.ok("data-refs", "list", "--data-refs", str(refs)).stdout
    assert alice in table and bob in table and lab.lab in table

    unconfirmed = lab.run("data-refs", "forget", "--subject", alice, "--data-refs", str(refs))
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.output
    forget = ["data-refs", "forget", "--subject", alice.lower(), "--data-refs", str(refs), "--yes"]
    done = lab.json(*forget)
    assert done == {
        "store": str(refs),
        "organization": lab.lab,
        "subject": alice,
        "forgotten": True,
    }
    assert "nothing to forget" in lab.ok(*forget).stdout  # done already: still exit 0
    listed = lab.json("data-refs", "list", "--org", lab.lab, "--data-refs", str(refs))
    assert [p["subject"] for p in listed] == [bob]
    new = lab.record(alice, refs)
    assert new != old  # a new secret: the old reference is linked to nothing


def test_mistakes_are_one_line_naming_the_file(lab: Lab, tmp_path: Path) -> None:
    alice = lab.patients[0]
    missing = tmp_path / "nope.db"
    line = lab.refused("data-refs", "list", "--data-refs", str(missing))
    assert f"no data-reference store at {missing}" in line
    assert not missing.exists()  # listing makes no new store
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage" * 512)
    line = lab.refused(
        "data-refs", "forget", "--subject", alice, "--data-refs", str(corrupt), "--yes"
    )
    assert str(corrupt) in line and "not an SQLite database" in line
    in_no_folder = tmp_path / "no-folder" / "refs.db"
    line = lab.refused(
        "use", "record", alice, *TERMS, "--ref", LOCATOR, "--data-refs", str(in_no_folder)
    )
    assert f"folder {in_no_folder.parent} does not exist" in line
    refs = tmp_path / "refs.db"
    lab.record(alice, refs)
    line = lab.refused(
        "data-refs", "forget", "--subject", "alice", "--data-refs", str(refs), "--yes"
    )
    assert "subject 'alice' is not an address" in line
    db = sqlite3.connect(refs)  # a second organization in the same file
    db.execute("INSERT INTO secrets VALUES (?, ?, ?, 0)", ("0x" + "11" * 20, alice, b"\x01" * 32))
    db.commit()
    db.close()
    line = lab.refused("data-refs", "forget", "--subject", alice, "--data-refs", str(refs), "--yes")
    assert "2 organizations" in line and lab.lab in line
