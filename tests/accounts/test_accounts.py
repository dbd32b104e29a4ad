"""collective.accounts and `collective account`: keystore files, resolving --account, the CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_account import Account
from eth_account.signers.local import LocalAccount

from collective import accounts
from collective.accounts import (
    KDF_ITERATIONS_ENV,
    KEYSTORE_ENV,
    PASSWORD_ENV,
    PRIVATE_KEY_ENV,
    KeystoreEntry,
    check_available,
    create_account,
    import_account,
    keystore_dir,
    list_accounts,
    load_account,
    password_from_env,
    resolve_account,
    scan_keystore,
)
from collective.chain import Chain, connect_embedded
from collective.cli import cli
from collective.errors import ConfigurationError, InvalidInputError, NotFoundError

PASSWORD = "correct horse battery staple"
KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY_ADDRESS = Account.from_key(KEY).address


def key_hex(account: LocalAccount) -> str:
    return bytes(account.key).hex()


@pytest.fixture
def keystore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty keystore folder in $COLLECTIVE_KEYSTORE, a fast KDF, no password or key set."""
    folder = tmp_path / "keystore"
    monkeypatch.setenv(KEYSTORE_ENV, str(folder))
    monkeypatch.setenv(KDF_ITERATIONS_ENV, "1024")
    for name in (PASSWORD_ENV, PRIVATE_KEY_ENV, "COLLECTIVE_ACCOUNT", "COLLECTIVE_NETWORK"):
        monkeypatch.delenv(name, raising=False)
    return folder


# --- the keystore folder -------------------------------------------------------------------------


def test_keystore_dir_from_argument_env_or_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEYSTORE_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert keystore_dir() == tmp_path / "home" / ".collective" / "keystore"
    monkeypatch.setenv(KEYSTORE_ENV, str(tmp_path / "ks"))
    assert keystore_dir() == tmp_path / "ks"
    assert keystore_dir(tmp_path / "other") == tmp_path / "other"


def test_password_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    assert password_from_env() is None
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    assert password_from_env() == "s3cret"


# --- create, import, list, load ------------------------------------------------------------------


def test_create_list_load_round_trip(keystore: Path) -> None:
    entry = create_account("alice", PASSWORD)
    assert entry == KeystoreEntry("alice", entry.address, keystore / "alice.json")
    assert entry.address.startswith("0x") and len(entry.address) == 42

    data = json.loads(entry.path.read_text())
    assert data["version"] == 3 and data["crypto"]["kdf"] == "scrypt"
    assert data["crypto"]["kdfparams"]["n"] == 1024  # COLLECTIVE_KDF_ITERATIONS
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o700
    assert sorted(p.name for p in keystore.iterdir()) == ["alice.json"]  # no temporary left

    bob = create_account("bob.lab-2_x", PASSWORD)
    assert list_accounts() == [entry, bob]
    account = load_account("alice", PASSWORD)
    assert account.address == entry.address
    assert load_account(entry.path, PASSWORD).address == entry.address  # by path
    assert load_account(str(entry.path), PASSWORD).address == entry.address
    assert key_hex(account) not in entry.path.read_text()


def test_import_round_trip_and_explicit_kdf(keystore: Path, tmp_path: Path) -> None:
    entry = import_account("org", KEY, PASSWORD)
    assert entry.address == KEY_ADDRESS
    assert KEY[2:] not in entry.path.read_text()
    assert key_hex(load_account("org", PASSWORD)) == KEY[2:]

    other = tmp_path / "elsewhere"
    pbkdf2 = import_account("org", KEY[2:], PASSWORD, other, kdf="pbkdf2", iterations=1000)
    assert pbkdf2.path == other / "org.json"
    assert json.loads(pbkdf2.path.read_text())["crypto"]["kdf"] == "pbkdf2"
    assert load_account("org", PASSWORD, other).address == KEY_ADDRESS
    assert [e.name for e in list_accounts(other)] == ["org"]


def test_default_kdf_is_eth_accounts_secure_default(
    keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KDF_ITERATIONS_ENV)
    seen: dict[str, Any] = {}
    real = Account.encrypt

    def spy(key: Any, password: str, kdf: Any = None, iterations: Any = None) -> Any:
        seen.update(kdf=kdf, iterations=iterations)
        return real(key, password, kdf="scrypt", iterations=1024)

    monkeypatch.setattr(Account, "encrypt", spy)
    create_account("alice", PASSWORD)
    assert seen == {"kdf": None, "iterations": None}


@pytest.mark.parametrize("value", ["abc", "0", "-4"])
def test_bad_kdf_iterations_env(
    keystore: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(KDF_ITERATIONS_ENV, value)
    with pytest.raises(ConfigurationError, match=KDF_ITERATIONS_ENV):
        create_account("alice", PASSWORD)
    assert not (keystore / "alice.json").exists()


def test_scrypt_work_factor_must_be_a_power_of_two(keystore: Path) -> None:
    with pytest.raises(InvalidInputError, match="power of two"):
        create_account("alice", PASSWORD, iterations=1000)
    assert list_accounts() == []


def test_wrong_password(keystore: Path) -> None:
    create_account("alice", PASSWORD)
    with pytest.raises(InvalidInputError, match="wrong password for keystore alice") as info:
        load_account("alice", "not it")
    assert "not it" not in str(info.value)


def test_duplicate_name_is_refused_and_the_file_kept(keystore: Path) -> None:
    first = create_account("alice", PASSWORD)
    before = first.path.read_bytes()
    for attempt in (
        lambda: create_account("alice", "other"),
        lambda: import_account("alice", KEY, "other"),
        lambda: check_available("alice"),
    ):
        with pytest.raises(InvalidInputError, match="alice already exists"):
            attempt()
    assert first.path.read_bytes() == before
    assert [e.name for e in list_accounts()] == ["alice"]


def test_a_name_taken_while_writing_is_not_overwritten(keystore: Path) -> None:
    keystore.mkdir()
    target = keystore / "alice.json"
    target.write_text("theirs")
    with pytest.raises(InvalidInputError, match="already exists"):
        accounts._write_new(target, b"ours")
    assert target.read_text() == "theirs"
    assert sorted(p.name for p in keystore.iterdir()) == ["alice.json"]


@pytest.mark.parametrize(
    "name",
    ["", ".hidden", "-x", "a/b", "../up", "a b", "ümlaut", "x" * 65, "12", "0x" + "ab" * 20],
)
def test_bad_names(keystore: Path, name: str) -> None:
    with pytest.raises(InvalidInputError, match="account name"):
        create_account(name, PASSWORD)
    with pytest.raises(InvalidInputError):
        import_account(name, KEY, PASSWORD)
    assert not keystore.exists() or list(keystore.iterdir()) == []


@pytest.mark.parametrize(
    "bad_key",
    ["0xdeadbeef", "zz" * 32, KEY + "00", KEY[:-1] + "g", "0x" + "00" * 32, "hospital-secret"],
)
def test_bad_key_is_never_echoed(keystore: Path, bad_key: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        import_account("org", bad_key, PASSWORD)
    text = str(info.value) + repr(info.value) + str(info.value.hint)
    assert "not a valid private key" in text
    assert bad_key not in text and bad_key.removeprefix("0x") not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert list_accounts() == []


def test_empty_password_is_refused(keystore: Path) -> None:
    with pytest.raises(InvalidInputError, match="empty password"):
        create_account("alice", "")


def test_list_skips_unreadable_files_with_notes(keystore: Path) -> None:
    assert scan_keystore().entries == () and list_accounts() == []  # no folder yet: empty
    good = create_account("good", PASSWORD)
    (keystore / "junk.json").write_text("not json")
    (keystore / "list.json").write_text("[1, 2]")
    (keystore / "noaddress.json").write_text(json.dumps({"crypto": {}, "version": 3}))
    (keystore / ".good.json.abc.tmp").write_text("half written")
    (keystore / "readme.txt").write_text("not a keystore")
    (keystore / "subdir.json").mkdir()
    shared = import_account("shared", KEY, PASSWORD)
    shared.path.chmod(0o644)

    scan = scan_keystore()
    assert scan.directory == keystore
    assert scan.entries == (good, shared)
    notes = "\n".join(scan.notes)
    for name in ("junk.json", "list.json", "noaddress.json", "subdir.json"):
        assert name in notes
    assert "shared.json is readable by other users" in notes
    assert ".good.json.abc.tmp" not in notes and "readme" not in notes
    assert list_accounts() == [good, shared]


def test_load_missing_lists_known_names(keystore: Path) -> None:
    with pytest.raises(NotFoundError, match="has no accounts"):
        load_account("alice", PASSWORD)
    create_account("alice", PASSWORD)
    create_account("bob", PASSWORD)
    with pytest.raises(NotFoundError, match="no keystore account 'carol'") as info:
        load_account("carol", PASSWORD)
    assert info.value.hint == "known accounts: alice, bob"
    with pytest.raises(NotFoundError, match="no keystore account"):
        load_account(keystore / "nothere.json", PASSWORD)


def test_damaged_keystore_files(keystore: Path) -> None:
    entry = import_account("org", KEY, PASSWORD)
    data = json.loads(entry.path.read_text())
    data["address"] = "ab" * 20
    entry.path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError, match="damaged"):
        load_account("org", PASSWORD)
    data["crypto"]["kdf"] = "argon9"
    entry.path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError, match="not a Web3 Secret Storage keystore file"):
        load_account("org", PASSWORD)


# --- resolve_account ---------------------------------------------------------------------------


def test_resolve_default_index_and_passthrough(
    chain: Chain, keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = chain.dev_accounts
    assert resolve_account(chain, None).address == dev[0].address
    assert resolve_account(chain, 3).address == dev[3].address
    assert resolve_account(chain, "3").address == dev[3].address
    assert resolve_account(chain, " 4 ").address == dev[4].address
    assert resolve_account(chain, dev[5].address.lower()).address == dev[5].address
    mine = Account.create()
    assert resolve_account(chain, mine) is mine
    assert resolve_account(None, mine) is mine

    monkeypatch.setenv(PRIVATE_KEY_ENV, KEY)
    assert resolve_account(chain, None).address == KEY_ADDRESS
    assert resolve_account(None, None).address == KEY_ADDRESS
    assert resolve_account(chain, KEY_ADDRESS).address == KEY_ADDRESS
    assert resolve_account(chain, "2").address == dev[2].address

    monkeypatch.setenv(PRIVATE_KEY_ENV, "0xnot-a-key")
    with pytest.raises(InvalidInputError, match=PRIVATE_KEY_ENV) as info:
        resolve_account(chain, None)
    assert "not-a-key" not in str(info.value)


def test_resolve_errors(chain: Chain, keystore: Path) -> None:
    with pytest.raises(InvalidInputError, match="no dev account 99"):
        resolve_account(chain, "99")
    with pytest.raises(InvalidInputError, match="needs a chain"):
        resolve_account(None, "1")
    with pytest.raises(InvalidInputError, match="needs a chain"):
        resolve_account(None, None)
    stranger = "0x" + "12" * 20
    with pytest.raises(NotFoundError, match="no key for account") as info:
        resolve_account(chain, stranger)
    assert PRIVATE_KEY_ENV in str(info.value.hint) and "keystore" in str(info.value.hint)
    with pytest.raises(NotFoundError, match="no keystore account 'nobody'"):
        resolve_account(chain, "nobody")


def test_resolve_keystore_accounts_and_passwords(
    chain: Chain, keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = import_account("org", KEY, PASSWORD)

    assert resolve_account(chain, "org", password=PASSWORD).address == KEY_ADDRESS
    assert resolve_account(None, "org", password=PASSWORD).address == KEY_ADDRESS
    assert resolve_account(chain, str(entry.path), password=PASSWORD).address == KEY_ADDRESS
    assert resolve_account(chain, KEY_ADDRESS.lower(), password=PASSWORD).address == KEY_ADDRESS

    asked: list[str] = []

    def prompt(name: str) -> str:
        asked.append(name)
        return PASSWORD

    assert resolve_account(chain, "org", prompt=prompt).address == KEY_ADDRESS
    assert asked == ["org"]

    with pytest.raises(InvalidInputError, match="org needs a password") as info:
        resolve_account(chain, "org")
    assert PASSWORD_ENV in str(info.value)

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert resolve_account(chain, "org", prompt=prompt).address == KEY_ADDRESS
    assert asked == ["org"]  # the environment wins over asking
    with pytest.raises(InvalidInputError, match="wrong password for keystore org"):
        resolve_account(chain, "org", password="nope")


def test_resolved_keystore_account_signs_on_chain(chain: Chain, keystore: Path) -> None:
    funded = chain.dev_accounts[6]
    import_account("funded", "0x" + key_hex(funded), PASSWORD)
    signer = resolve_account(chain, "funded", password=PASSWORD)
    pending = chain.send_data(
        chain.dev_accounts[1].address, b"", signer, what="a transfer", value=1
    )
    tx_receipt = chain.wait(pending)
    assert tx_receipt["status"] == 1 and tx_receipt["from"] == funded.address


# --- the CLI -------------------------------------------------------------------------------------


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def one_line_error(result: Result, message: str, *, prompted: bool = False) -> None:
    """Exit 1 with one ``error:`` line on stderr (after any prompts), no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("error: "), result.stderr
    assert message in lines[-1] and "Traceback" not in result.output
    assert sum(line.startswith("error: ") for line in lines) == 1
    if not prompted:
        assert len(lines) == 1, result.stderr


def test_cli_new_list_address(keystore: Path) -> None:
    created = run("account", "new", "alice", env={PASSWORD_ENV: PASSWORD})
    assert created.exit_code == 0, created.output
    address = load_account("alice", PASSWORD).address
    assert f"created keystore account alice: {address}" in created.output
    assert str(keystore / "alice.json") in created.output

    as_json = run("--json", "account", "new", "bob", env={PASSWORD_ENV: PASSWORD})
    assert as_json.exit_code == 0, as_json.output
    bob = json.loads(as_json.stdout)
    assert bob == {
        "name": "bob",
        "address": load_account("bob", PASSWORD).address,
        "path": str(keystore / "bob.json"),
    }

    listed = run("account", "list")
    assert listed.exit_code == 0 and address in listed.output and bob["address"] in listed.output
    listed_json = json.loads(run("account", "list", "--json").stdout)
    assert listed_json["keystore"] == str(keystore)
    assert [a["name"] for a in listed_json["accounts"]] == ["alice", "bob"]
    assert listed_json["notes"] == [] and "dev" not in listed_json

    shown = run("account", "address", "alice", env={PASSWORD_ENV: PASSWORD})
    assert shown.exit_code == 0 and shown.stdout.strip() == address
    global_option = run("--account", "bob", "--json", "account", "address", input=PASSWORD + "\n")
    assert global_option.exit_code == 0, global_option.output
    assert json.loads(global_option.stdout) == {"account": "bob", "address": bob["address"]}
    assert "Password for keystore account bob" in global_option.stderr
    assert PASSWORD not in global_option.output


def test_cli_new_asks_for_the_password_twice(keystore: Path) -> None:
    result = run("account", "new", "alice", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.stderr and PASSWORD not in result.output
    assert load_account("alice", PASSWORD).address in result.stdout

    mismatch = run("account", "new", "bob", input="one\ntwo\n")
    one_line_error(mismatch, "no password given for keystore account bob", prompted=True)
    assert "do not match" in mismatch.stderr
    assert not (keystore / "bob.json").exists()


def test_cli_import_never_shows_the_key(keystore: Path) -> None:
    from_env = run(
        "--json", "account", "import", "org", env={PRIVATE_KEY_ENV: KEY, PASSWORD_ENV: PASSWORD}
    )
    assert from_env.exit_code == 0, from_env.output
    assert json.loads(from_env.stdout)["address"] == KEY_ADDRESS
    assert KEY[2:] not in from_env.output

    other = Account.create()
    asked = run("account", "import", "lab", input=f"0x{key_hex(other)}\n{PASSWORD}\n{PASSWORD}\n")
    assert asked.exit_code == 0, asked.output
    assert other.address in asked.stdout and key_hex(other) not in asked.output
    assert "Private key" in asked.stderr

    again = run("account", "import", "org2", env={PRIVATE_KEY_ENV: KEY, PASSWORD_ENV: PASSWORD})
    assert again.exit_code == 0 and "org holds the same address" in again.stderr

    for bad in ("0xdeadbeef", KEY[:-2] + "zz"):
        result = run("account", "import", "bad", env={PRIVATE_KEY_ENV: bad, PASSWORD_ENV: "x"})
        one_line_error(result, "not a valid private key")
        assert bad not in result.output and bad[2:] not in result.output
    assert not (keystore / "bad.json").exists()

    no_key = run("account", "import", "nokey", input="")
    one_line_error(no_key, "no private key given", prompted=True)


def test_cli_user_mistakes_are_one_line(keystore: Path) -> None:
    env = {PASSWORD_ENV: PASSWORD}
    assert run("account", "new", "alice", env=env).exit_code == 0
    one_line_error(run("account", "new", "alice", env=env), "alice already exists")
    one_line_error(run("account", "new", "a/b", env=env), "not a valid account name")
    one_line_error(run("account", "new", "7", env=env), "dev account index")
    one_line_error(
        run("account", "address", "alice", env={PASSWORD_ENV: "wrong"}),
        "wrong password for keystore alice",
    )
    one_line_error(run("account", "address", "alice", input=""), "no password given", prompted=True)
    one_line_error(run("account", "address", "carol"), "known accounts: alice")
    one_line_error(run("account", "address", "99"), "no dev account 99")


def test_cli_dev_accounts(keystore: Path) -> None:
    dev = connect_embedded().dev_accounts
    result = run("--network", "embedded", "account", "list", "--dev")
    assert result.exit_code == 0, result.output
    assert "no accounts" in result.stdout
    assert all(account.address in result.stdout for account in dev)
    assert not any(key_hex(account) in result.output for account in dev)

    data = json.loads(run("--json", "account", "list", "--dev").stdout)
    assert data["network"] == "embedded" and data["accounts"] == []
    assert data["dev"] == [{"index": i, "address": a.address} for i, a in enumerate(dev)]

    assert run("account", "address").stdout.strip() == dev[0].address
    assert run("-a", "3", "account", "address").stdout.strip() == dev[3].address
    assert run("account", "address", "5").stdout.strip() == dev[5].address
    key_env = run("account", "address", env={PRIVATE_KEY_ENV: KEY})
    assert key_env.stdout.strip() == KEY_ADDRESS and KEY[2:] not in key_env.output


def test_cli_deploys_from_a_keystore_account(keystore: Path, tmp_path: Path) -> None:
    funded = connect_embedded().dev_accounts[4]
    import_account("deployer", "0x" + key_hex(funded), PASSWORD)
    manifest = str(tmp_path / "m.json")
    args = ("--json", "--account", "deployer", "deploy", "--network", "embedded")
    result = run(*args, "--manifest", manifest, env={PASSWORD_ENV: PASSWORD})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deployer"] == funded.address
    assert key_hex(funded) not in result.output

    one_line_error(run(*args, "--manifest", manifest, input=""), "no password given", prompted=True)


@pytest.mark.parametrize("command", [[], ["new"], ["import"], ["list"], ["address"]])
def test_cli_help_has_examples(command: list[str]) -> None:
    result = run("account", *command, "--help")
    assert result.exit_code == 0
    assert "Examples:\n" in result.output and "collective" in result.output.split("Examples:")[1]


def test_needs_chain_follows_resolve_accounts_rules(
    keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain is asked for exactly where resolve_account may take a dev account."""
    from collective.accounts import needs_chain

    monkeypatch.delenv(PRIVATE_KEY_ENV, raising=False)
    assert needs_chain(None) and needs_chain(3) and needs_chain(" 2 ")
    assert needs_chain("0x90F79bf6EB2c4f870365E785982E1f101E93b906")
    assert not needs_chain("alice") and not needs_chain(Account.create())
    assert not needs_chain("0x" + "zz" * 20)  # no address: a keystore name
    monkeypatch.setenv(PRIVATE_KEY_ENV, "0x" + "11" * 32)
    assert not needs_chain(None)  # the key's account
    # resolve_account agrees: without a chain, a keystore name resolves and a dev index fails
    create_account("alice", "pw")
    assert accounts.resolve_account(None, "alice", password="pw").address
    with pytest.raises(InvalidInputError, match="needs a chain"):
        accounts.resolve_account(None, "2")
