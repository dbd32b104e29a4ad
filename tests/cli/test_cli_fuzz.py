"""Every command of the CLI driven with random arguments and files: never a traceback.

The click command tree is walked, and hypothesis picks a command, its options and arguments
(values of the kinds people type: addresses right, mistyped and malformed, DIDs of this and
other networks, DPV terms and typos, numbers far out of range, text that is not UTF-8) and the
files it reads (signed requests and receipts as written, damaged, rounded by jq, nested past
the parser's depth, not UTF-8, missing, a directory, unwritable). Whatever it picks, the
command must end as the CLI promises (issue 15, item 11): exit 0, 1 with an ``error:`` line,
or 2 with click's usage message; never an uncaught exception. Under ``--json`` stdout must be
one JSON document, the result or the error.

It runs against the session's anvil with a deployment of its own, in a scratch folder with a
scratch configuration (so ``deploy`` and ``audit`` write there, never into the project), and
is bounded: 300 examples (``CLI_FUZZ_EXAMPLES`` asks for more), each with a deadline.
``node start`` (it serves until stopped), ``demo`` (a minute-long story) and ``compile`` (it
rewrites the artifacts) are left out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective.chain import connect_rpc
from collective.cli import cli
from tests.cli.test_cli_commands import HEALTH, RESEARCH, TERMS, Story

REPO = Path(__file__).resolve().parents[2]
# Servers and watchers that run until stopped (node start, disclosure watch, portal), and the
# slow ones.
SKIPPED = {
    ("node", "start"),
    ("disclosure", "watch"),
    ("portal",),
    ("demo",),
    ("compile",),
}
PASSWORD = "fuzz-password"
TYPO = "0x90F79bf6EB2c4f870365E785982E1f101E93b907"  # dev 3 with its last digit mistyped


def _leaves(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            yield from _leaves(sub, (*path, name))
    elif path not in SKIPPED:
        yield path, command


COMMANDS = sorted(_leaves(cli, ()), key=lambda item: item[0])


@dataclass
class Scene:
    """What the commands are run against: anvil, its deployment, a scratch folder."""

    story: Story
    env: dict[str, str | None]
    files: list[str]  # paths to read, of every kind
    outputs: list[str]  # paths to write to, of every kind
    texts: list[str]  # interesting values for text parameters
    tx_hashes: list[str]


def _write(path: Path, content: str | bytes) -> str:
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return str(path)


@pytest.fixture(scope="module")
def scene(anvil: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    chain = connect_rpc(anvil, name="anvil")
    snapshot = chain.snapshot()
    tmp = tmp_path_factory.mktemp("fuzz")
    config = json.loads((REPO / "hardhat.config.json").read_text())
    config["paths"] = {"sources": str(REPO / "contracts"), "artifacts": str(REPO / "collective" /
                       "artifacts")}  # fmt: skip
    config["networks"]["anvil"]["url"] = anvil
    config["networks"]["local"]["url"] = "http://127.0.0.1:1"  # nothing listens there
    (tmp / "hardhat.config.json").write_text(json.dumps(config))
    env: dict[str, str | None] = {
        "COLLECTIVE_CONFIG": str(tmp / "hardhat.config.json"),
        "COLLECTIVE_KEYSTORE": str(tmp / "keystore"),
        "COLLECTIVE_KDF_ITERATIONS": "1024",
        "COLLECTIVE_PASSWORD": PASSWORD,
        "COLLECTIVE_PRIVATE_KEY": None,
        "COLLECTIVE_MANIFEST": None,
        "COLLECTIVE_NETWORK": None,
        "COLLECTIVE_RPC": None,
        "COLLECTIVE_ACCOUNT": None,
        "HOME": str(tmp),
    }
    dev = [str(account.address) for account in chain.dev_accounts]
    story = Story(anvil, tmp / "anvil.json", tmp, dev)
    story.ok("deploy", "--manifest", str(story.manifest), "--board-member", dev[7])
    story.ok("org", "admit", story.lab, account=0)
    policy = _write(tmp / "policy.md", "# policy\n")
    story.ok("policy", "publish", policy, "--uri", "https://lab.example/v1", "-p", RESEARCH,
             account=1)  # fmt: skip
    grant_tx = story.json("consent", "grant", story.lab, *TERMS, account=3)["tx_hash"]
    story.ok("use", "record", story.patient, *TERMS, "--ref", "lab/1", account=1)
    key = chain.dev_accounts[6].key.hex()
    imported = CliRunner().invoke(cli, ["account", "import", "fuzz"],
                                  env={**env, "COLLECTIVE_PRIVATE_KEY": key})  # fmt: skip
    assert imported.exit_code == 0, imported.output

    signed_text = story.ok("consent", "sign", story.lab, *TERMS, account=5).stdout
    receipt_text = story.ok("consent", "receipt", grant_tx).stdout

    def variant(change: Any) -> str:
        copy = json.loads(signed_text)
        change(copy)
        return json.dumps(copy)

    never = "18446744073709551615"
    documents = {
        "signed.json": signed_text,
        "receipt.json": receipt_text,
        "s-range.json": variant(lambda d: d["signature"].update(s="0x" + "ff" * 32)),
        "s-high.json": variant(lambda d: d["signature"].update(s="0x" + "7f" + "ff" * 31)),
        "v.json": variant(lambda d: d["signature"].update(v=2**300)),
        "nonce.json": variant(lambda d: d["request"].update(nonce=-1)),
        "deadline.json": variant(lambda d: d["request"].update(deadline=2**70)),
        "jq-never.json": signed_text.replace(f'"{never}"', "18446744073709552000"),
        "jq-float.json": signed_text.replace(f'"{never}"', "1.8446744073709552e+19"),
        "inf.json": signed_text.replace(f'"{never}"', "1e400"),
        "nan.json": signed_text.replace(f'"{never}"', "NaN"),
        "typo.json": variant(lambda d: d["request"].update(identity=TYPO)),
        "not-hex.json": variant(lambda d: d["request"].update(identity=TYPO[:-1] + "X")),
        "chain.json": variant(lambda d: d.update(chainId="1")),
        "kind.json": variant(lambda d: d.update(kind="withdrawal")),
        "bytes.json": variant(lambda d: d["request"].update(purpose="0x1234")),
        "missing.json": variant(lambda d: d.pop("signature")),
        "list.json": "[]",
        "null.json": "null",
        "number.json": "1" + "0" * 5000,
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "empty.json": "",
        "text.md": "# policy text\n",
        "receipt-list.json": f"[{receipt_text}, {receipt_text}]",
        "receipt-bad.json": receipt_text.replace('"evidence"', '"evidense"'),
    }
    files = [_write(tmp / name, text) for name, text in documents.items()]
    files.append(_write(tmp / "latin1.json", '{"kind": "gr\xe4nt"}'.encode("latin-1")))
    files.append(_write(tmp / "binary.bin", bytes(range(256))))
    files.append(_write(tmp / os.fsdecode(b"name-\xff.json"), signed_text))
    files += [str(tmp), str(tmp / "absent.json"), "/proc/self/mem", "-"]
    (tmp / "ro").mkdir()
    outputs = [str(tmp / "out.json"), str(tmp / "ro"), "/proc/nonexistent/out.json",
               str(tmp / "absent" / "out.json"), str(tmp / os.fsdecode(b"out-\xff.json")), "-",
               str(story.manifest)]  # fmt: skip
    typo = TYPO
    texts = [
        *dev[:4], story.lab.lower(), "0x" + story.lab[2:].upper(), typo, "0x" + "00" * 20,
        "0x" + "ab" * 19, "0x", "nope", "", " ", "-", "--", "0", "1", "-1", "2", "99",
        str(2**32), str(2**64), str(2**256), "1e3", "0x10",
        f"did:ethr:0x7a69:{story.patient}", f"did:ethr:{story.patient}",
        f"did:ethr:sepolia:{story.patient}", f"did:ethr:0x0:{story.patient}", "did:ethr:",
        f"did:ethr:anvil:{typo}", "did:web:example.com", "did:", "fuzz", "absent-account",
        RESEARCH, HEALTH, "dpv:ResearchAndDevelopmnt", "dpv-pd:medicalhealth",
        "dpv-pd:MedicalHealth/LabResults", "0x" + "11" * 32, "0x" + "11" * 31, "0xzz",
        grant_tx, "0x" + "22" * 32, "https://lab.example/v1", "http://127.0.0.1:1", "sigAuth",
        "1d", "30d", "1y", "forever", "2027-01-31", "2027-13-45", "10" * 30, "x" * 5000,
        os.fsdecode(b"\xff\xfe"), "dpv:\udcff", "\x00", "a\nb", "名前", "🙂",
    ]  # fmt: skip
    tx_hashes = [grant_tx, "0x" + "22" * 32, "0x" + "22" * 31, "0xzz" + "0" * 62, "nope"]
    try:
        yield Scene(story, env, files, outputs, texts, tx_hashes)
    finally:
        chain.revert(snapshot)


def _plausible(scene: Scene) -> dict[str, list[str]]:
    """Values a person would give, by parameter name: most examples get one, so that the
    commands get past their parsing into the library and the chain."""
    story = scene.story
    people = [story.lab, *story.dev[2:10]]
    identities = [story.patient, f"did:ethr:0x7a69:{story.patient}", story.dev[5]]
    folder = story.tmp
    return {
        **dict.fromkeys(["organization", "member", "board", "new_owner", "target"], people),
        **dict.fromkeys(["delegate", "guardian", "account_rules"], people),
        **dict.fromkeys(["admins", "validators", "board_members"], people),
        **dict.fromkeys(["identity", "subject", "did", "value", "spec"], identities),
        "purpose": [RESEARCH, "dpv:ScientificResearch", "dpv:Marketing"],
        "purposes": [RESEARCH, "dpv:ScientificResearch"],
        "category": [HEALTH, "dpv-pd:Genetic"],
        "tx_hash": scene.tx_hashes[:1],
        "data": ["lab/2026/1", "0x" + "11" * 32],
        "uri": ["https://lab.example/v2"],
        "reason": ["GDPR-Art5", ""],
        "name": ["did/svc/HubService", "fuzz-account"],
        "version": ["1", "2"],
        "block": ["1", "5"],
        "proposal_id": ["0", "1"],
        "threshold": ["1", "2"],
        "log_index": ["0", "1"],
        "validity": ["1d", "3600"],
        "valid_for": ["1h"],
        "proposal_lifetime": ["7d"],
        "expiry": ["30d", "2030-01-01"],
        "policy_hash": ["0x" + "00" * 32],
        "allocs": [f"{story.dev[4]}=1000"],
        "chain_id": ["31337", "131277"],
        "to_block": ["3"],
        "out": [str(folder / "out.json")],
        "db": [str(folder / "audit.sqlite")],
        "files": [str(folder / "signed.json")],
        "file": [str(folder / "receipt.json")],
        "document": [str(folder / "text.md")],
        "manifest": [str(story.manifest)],
        # the connection options every chain command also takes after its name
        "network": ["anvil"],
        "rpc": [story.url],
        "account": ["0", "1", "3", "7"],
    }


def _value(param: click.Parameter, scene: Scene) -> st.SearchStrategy[str]:
    """A strategy for one value of ``param``: mostly a plausible one, else any of its type."""
    plausible = _plausible(scene).get(param.name or "")
    anything = _anything(param, scene)
    if plausible is None:
        return anything
    return st.integers(0, 3).flatmap(
        lambda pick: anything if pick == 0 else st.sampled_from(plausible)
    )


def _anything(param: click.Parameter, scene: Scene) -> st.SearchStrategy[str]:
    """Any value of ``param``'s type, plausible or not."""
    kind = param.type
    junk = st.sampled_from(scene.texts) | st.text(max_size=12)
    if isinstance(kind, click.Path):
        writes = param.name in ("out", "db", "manifest", "data_dir") or not kind.exists
        return st.sampled_from(scene.files + (scene.outputs if writes else []))
    if isinstance(kind, click.Choice):
        return st.sampled_from([str(c) for c in kind.choices]) | junk
    if isinstance(kind, click.IntRange | click.types.IntParamType):
        numbers = st.integers(min_value=-(2**70), max_value=2**300) | st.integers(-2, 1100)
        return numbers.map(str) | junk
    if param.name == "tx_hash":
        return st.sampled_from(scene.tx_hashes) | junk
    return junk


@st.composite
def command_lines(draw: st.DrawFn, scene: Scene) -> list[str]:
    """``[global options] command [options and arguments]``."""
    path, command = draw(st.sampled_from(COMMANDS))
    head: list[str] = []
    if draw(st.integers(0, 9)) < 8:
        head += ["--rpc", scene.story.url]
    elif draw(st.booleans()):
        head += ["--network", draw(st.sampled_from(["anvil", "local", "embedded", "nope"]))]
    if draw(st.integers(0, 9)) < 8:
        head += ["--account", draw(st.sampled_from(["0", "1", "3", "7", "8"]))]
    elif draw(st.booleans()):
        accounts = ["99", "fuzz", "absent", scene.story.lab, "-1", "\udcff", "0x12"]
        head += ["--account", draw(st.sampled_from(accounts))]
    if draw(st.integers(0, 4)) == 0:
        head.append("--json")
    args: list[str] = []
    for param in command.params:
        if isinstance(param, click.Option):
            if param.hidden and draw(st.booleans()):
                continue
            if param.is_flag:
                if draw(st.integers(0, 3)) == 0:
                    args.append(param.opts[0])
                continue
            wanted = 0.85 if param.required or param.name == "manifest" else 0.3
            times = 1
            if param.multiple:
                times = draw(st.integers(0, 3))
            for _ in range(times):
                if draw(st.floats(0, 1)) < wanted:
                    args += [param.opts[0], draw(_value(param, scene))]
        elif isinstance(param, click.Argument):
            count = draw(st.integers(0, 3)) if param.nargs == -1 else 1
            if draw(st.integers(0, 49)) == 17:
                count = 0  # a missing argument
            args += [draw(_value(param, scene)) for _ in range(count)]
    if draw(st.integers(0, 49)) == 17:
        args.append("--no-such-option")
    order = draw(st.permutations(range(len(args)))) if draw(st.integers(0, 9)) == 0 else None
    if order is not None:
        args = [args[i] for i in order]
    return [*head, *path, *args]


def check(result: Any, line: list[str]) -> None:
    """The command ended as the CLI promises."""
    where = (line, result.output[-2000:])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r} for {line}") from result.exception
    assert result.exit_code in (0, 1, 2), where
    assert "Traceback" not in result.output, where
    lines = result.stderr.splitlines()
    if result.exit_code == 1:
        assert any(text.startswith("error: ") for text in lines), where
    if result.exit_code == 2:
        assert any(text.startswith(("Error: ", "error: ")) for text in lines), where
    if "--json" in line[: line.index("--") if "--" in line else None]:
        if "--help" in line or "-h" in line or (result.exit_code == 0 and not result.stdout):
            return
        try:
            json.loads(result.stdout)
        except ValueError:
            raise AssertionError(f"--json printed no single JSON document: {where}") from None


@settings(
    max_examples=int(os.environ.get("CLI_FUZZ_EXAMPLES", "300")),  # more: CLI_FUZZ_EXAMPLES=5000
    # CI replays the same examples (a new one found by chance must not fail an unrelated
    # change); CLI_FUZZ_RANDOM=1 explores new ones.
    derandomize=os.environ.get("CLI_FUZZ_RANDOM") != "1",
    deadline=timedelta(seconds=30),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_command_ends_in_a_traceback(scene: Scene, data: st.DataObject) -> None:
    line = data.draw(command_lines(scene), label="command line")
    stdin = data.draw(st.sampled_from(["", "not json\n", "[]", PASSWORD + "\n"]), label="stdin")
    cwd = os.getcwd()
    os.chdir(scene.story.tmp)  # relative paths and default outputs land in the scratch folder
    try:
        result = CliRunner().invoke(cli, line, env=scene.env, input=stdin)
    finally:
        os.chdir(cwd)
    check(result, line)


@pytest.mark.parametrize(
    "line",
    [
        ["consent", "relay", "s-range.json"],
        ["consent", "relay", "nonce.json"],
        ["consent", "relay", "deadline.json"],
        ["consent", "relay", "jq-never.json"],
        ["consent", "relay", "jq-float.json"],
        ["consent", "relay", "deep.json"],
        ["consent", "relay", "number.json"],
        ["consent", "relay", "latin1.json"],
        ["policy", "show", "{lab}", "1099511627776"],
        ["use", "record", "{patient}", "-p", "dpv:\udcff", "-c", HEALTH, "--ref", "x"],
        ["use", "record", "{patient}", "-p", RESEARCH, "-c", "\udcff", "--ref", "x"],
        ["use", "record", "{patient}", *TERMS, "--ref", "lab/\udcff"],
        ["policy", "publish", "text.md", "--uri", "https://\udcff", "-p", RESEARCH],
        ["node", "init", "--out", "/proc/nonexistent/genesis.json"],
        ["node", "init", "--out", "ro"],
    ],
    ids=lambda line: " ".join(line).encode("ascii", "backslashreplace").decode()[:60],
)
def test_the_examples_of_the_issue_end_in_one_error_line(scene: Scene, line: list[str]) -> None:
    """The tracebacks issue 15 reported, each one clean line now (exit 1 or 2)."""
    names = {"lab": scene.story.lab, "patient": scene.story.patient}
    args = [arg.format(**names) if "{" in arg else arg for arg in line]
    head = ["--rpc", scene.story.url, "--account", "1"] if args[0] != "node" else []
    tail = ["--manifest", str(scene.story.manifest)] if args[0] != "node" else []
    cwd = os.getcwd()
    os.chdir(scene.story.tmp)
    try:
        result = CliRunner().invoke(cli, [*head, *args, *tail], env=scene.env)
    finally:
        os.chdir(cwd)
    check(result, args)
    assert result.exit_code in (1, 2), result.output
    if result.exit_code == 1:
        (error,) = [text for text in result.stderr.splitlines() if text.startswith("error: ")]
        assert len(error) < 600, error
