"""collective.chain and collective.revert on the embedded chain and on anvil."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from eth_abi import abi
from eth_utils.crypto import keccak

from collective.chain import DEV_CHAIN_ID, Chain, connect, connect_rpc
from collective.chain.revert import (
    CONSENT_ERRORS,
    OTHER_ERRORS,
    PERMISSION_ERRORS,
    decode_revert,
    error_table,
)
from collective.config import EMBEDDED_CHAIN_ID, load_config
from collective.deploy import Deployment
from collective.errors import (
    ChainError,
    ConfigurationError,
    ConsentError,
    NotPermittedError,
    TransactionError,
)
from collective.testing.ports import free_port
from tests.helpers import deploy_consortium

ANVIL_FIRST_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # "test test ... junk" #0
PURPOSE = keccak(text="dpv:ResearchAndDevelopment")
CATEGORY = keccak(text="dpv-pd:MedicalHealth/LabResults")


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# --- connecting -------------------------------------------------------------------------------


def test_embedded_chain_reports_the_configured_chain_id(chain: Chain) -> None:
    assert chain.embedded and chain.name == "embedded" and chain.url is None
    assert chain.chain_id == EMBEDDED_CHAIN_ID == int(chain.request("eth_chainId", []), 16)
    assert len(chain.dev_accounts) >= 10
    assert len({account.address for account in chain.dev_accounts}) == len(chain.dev_accounts)
    assert all(
        int(chain.request("eth_getBalance", [a.address, "latest"]), 16) > 10**18
        for a in chain.dev_accounts
    )


def test_embedded_evm_sees_the_same_chain_id(chain: Chain, suite: Deployment) -> None:
    # The EIP-712 domain separator is built from block.chainid in the constructor.
    ledger = suite.contract("ConsentLedger")
    domain = chain.call(ledger.functions.eip712Domain())
    assert domain[3] == EMBEDDED_CHAIN_ID


def test_unreachable_url_fails_fast_naming_it() -> None:
    url = closed_port_url()
    started = time.monotonic()
    with pytest.raises(ChainError) as caught:
        connect(rpc=url)
    assert time.monotonic() - started < 10
    assert url in str(caught.value)


def test_node_that_never_answers_fails_within_its_timeout() -> None:
    with socket.socket() as server:  # accepts connections (the kernel does) but never replies
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ChainError) as caught:
            connect_rpc(url, timeout=1.0)
        assert time.monotonic() - started < 3
    assert url in str(caught.value) and "timed out" in str(caught.value)


def test_unknown_network_and_bad_url_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown network 'nowhere'"):
        connect("nowhere")
    with pytest.raises(ConfigurationError, match="not an http"):
        connect(rpc="127.0.0.1:8545")


@pytest.mark.anvil
def test_anvil_connection_has_the_well_known_dev_accounts(anvil: str) -> None:
    chain = connect(rpc=anvil)
    assert not chain.embedded
    assert chain.chain_id == DEV_CHAIN_ID
    assert chain.name == f"chain-{DEV_CHAIN_ID}"
    assert len(chain.dev_accounts) == 10
    assert chain.dev_accounts[0].address == ANVIL_FIRST_ACCOUNT
    named = connect("anvil", rpc=anvil)  # --network names it, --rpc points at it
    assert named.name == "anvil"


@pytest.mark.anvil
def test_configured_chain_id_must_match_the_node(anvil: str, tmp_path: Path) -> None:
    config_file = tmp_path / "hardhat.config.json"
    config_file.write_text(
        '{"networks": {"embedded": {"type": "embedded"}, '
        f'"wrong": {{"url": "{anvil}", "chainId": 999}}}}}}'
    )
    config = load_config(config_file)
    with pytest.raises(ChainError, match=r"reports chain id 31337.*chain id 999"):
        connect("wrong", config=config)


# --- transactions, snapshots and time ------------------------------------------------------------


def check_snapshot_and_time(chain: Chain, suite: Deployment) -> None:
    rules = suite.contract("AccountRules")
    admin, org = chain.dev_accounts[0], chain.dev_accounts[6]
    snapshot = chain.snapshot()
    before = chain.latest_timestamp()
    receipt = chain.transact(rules.functions.admit(org.address), admin)
    assert receipt["status"] == 1
    assert chain.call(rules.functions.isActive(org.address)) is True
    later = chain.increase_time(3600)
    assert later >= before + 3600
    block = chain.block_number()
    chain.mine(2)
    assert chain.block_number() == block + 2
    chain.revert(snapshot)
    assert chain.call(rules.functions.isActive(org.address)) is False
    assert chain.latest_timestamp() < later


def test_snapshot_revert_and_time_on_embedded(chain: Chain, suite: Deployment) -> None:
    check_snapshot_and_time(chain, suite)


def test_fixture_reverted_the_previous_test(chain: Chain, suite: Deployment) -> None:
    rules = suite.contract("AccountRules")
    assert chain.call(rules.functions.accounts()) == []
    chain.transact(rules.functions.admit(chain.dev_accounts[6].address), chain.dev_accounts[0])


def test_fixture_reverted_the_previous_test_again(chain: Chain, suite: Deployment) -> None:
    test_fixture_reverted_the_previous_test(chain, suite)


@pytest.fixture(scope="module")
def anvil_suite(anvil: str, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    chain = connect(rpc=anvil)
    return deploy_consortium(chain, tmp_path_factory.mktemp("anvil") / "anvil.json", fresh=True)


@pytest.mark.anvil
def test_snapshot_revert_and_time_on_anvil(anvil_chain: Chain, anvil_suite: Deployment) -> None:
    check_snapshot_and_time(anvil_chain, anvil_suite.bind(anvil_chain))


# --- revert decoding ----------------------------------------------------------------------------


def check_decoding(chain: Chain, suite: Deployment) -> None:
    rules, ledger = suite.contract("AccountRules"), suite.contract("ConsentLedger")
    admin, org, subject = chain.dev_accounts[0], chain.dev_accounts[5], chain.dev_accounts[3]

    # a call
    with pytest.raises(NotPermittedError) as caught:
        chain.call(rules.functions.admit(org.address), org)
    assert caught.value.error_name == "NotAdmin"
    assert caught.value.error_args == {"caller": org.address}
    assert caught.value.tx_hash is None
    assert f"{org.address} is not a consortium admin" in str(caught.value)

    # a transaction refused at gas estimation: nothing was sent, so no hash
    with pytest.raises(NotPermittedError) as caught:
        chain.transact(
            ledger.functions.recordUse(subject.address, PURPOSE, CATEGORY, b"\1" * 32), org
        )
    assert caught.value.error_name == "OrganizationNotAdmitted"
    assert caught.value.error_args == {"organization": org.address}
    assert caught.value.tx_hash is None

    # a transaction mined and reverted (gas given, no estimate): decoded with its hash
    chain.transact(rules.functions.admit(org.address), admin)
    with pytest.raises(ConsentError) as consent:
        chain.transact(
            ledger.functions.recordUse(subject.address, PURPOSE, CATEGORY, b"\1" * 32),
            org,
            gas=200_000,
        )
    error = consent.value
    assert error.error_name == "NoConsent"
    assert error.error_args == {
        "identity": subject.address,
        "organization": org.address,
        "purpose": PURPOSE,
        "category": CATEGORY,
    }
    assert error.tx_hash is not None and error.tx_hash.startswith("0x")
    receipt = chain.get_transaction_receipt(error.tx_hash)
    assert receipt["status"] == 0
    assert error.tx_hash in str(error)

    chain.transact(rules.functions.suspend(org.address), admin)
    with pytest.raises(NotPermittedError, match=r"is suspended.*reinstate") as suspended:
        chain.transact(
            ledger.functions.recordUse(subject.address, PURPOSE, CATEGORY, b"\1" * 32), org
        )
    assert suspended.value.error_name == "OrganizationSuspended"

    chain.transact(rules.functions.reinstate(org.address), admin)
    with pytest.raises(ConsentError, match="content hash") as policy:
        chain.call(ledger.functions.publishPolicy(b"\0" * 32, "", []), org)
    assert policy.value.error_name == "InvalidPolicy" and policy.value.error_args == {}


def test_reverts_are_decoded_on_embedded(chain: Chain, suite: Deployment) -> None:
    check_decoding(chain, suite)


@pytest.mark.anvil
def test_reverts_are_decoded_on_anvil(anvil_chain: Chain, anvil_suite: Deployment) -> None:
    check_decoding(anvil_chain, anvil_suite.bind(anvil_chain))


def test_every_suite_error_is_classified() -> None:
    names = {error.name for error in error_table().values()}
    assert names, "no custom errors found in the artifacts"
    known = CONSENT_ERRORS | PERMISSION_ERRORS | OTHER_ERRORS
    assert names <= known, names - known
    for selector, error in error_table().items():
        payload = abi.encode(list(error.input_types), [_sample(t) for t in error.input_types])
        decoded = decode_revert(selector + payload)
        assert decoded.error_name == error.name
        assert "reverted with" not in decoded.message, f"{error.name} has no message"
        if error.name in OTHER_ERRORS:
            assert not isinstance(decoded, ConsentError | NotPermittedError)
            continue
        assert isinstance(
            decoded, ConsentError if error.name in CONSENT_ERRORS else NotPermittedError
        )


def _sample(kind: str) -> object:
    if kind == "address":
        return "0x" + "12" * 20
    if kind == "bytes32":
        return b"\x34" * 32
    if kind.startswith(("uint", "int")):
        return 7
    raise AssertionError(f"add a sample for {kind}")


def test_builtin_errors_and_unknown_data_decode_to_transaction_errors() -> None:
    reason = decode_revert(bytes.fromhex("08c379a0") + abi.encode(["string"], ["nope"]))
    assert type(reason) is TransactionError
    assert reason.error_name == "Error" and reason.error_args == {"reason": "nope"}
    assert "nope" in str(reason)

    panic = decode_revert(
        bytes.fromhex("4e487b71") + abi.encode(["uint256"], [0x11]), tx_hash="0xab"
    )
    assert panic.error_name == "Panic" and panic.error_args == {"code": 0x11}
    assert "overflow" in str(panic) and panic.tx_hash == "0xab"

    unknown = decode_revert("0xdeadbeef")
    assert type(unknown) is TransactionError and unknown.error_name is None
    assert "0xdeadbeef" in str(unknown)

    empty = decode_revert(b"")
    assert type(empty) is TransactionError and "without a reason" in str(empty)


def test_chain_w3_is_deprecated_and_still_works(chain: Chain) -> None:
    with pytest.warns(DeprecationWarning, match="Chain.w3 is deprecated"):
        w3 = chain.w3
    assert w3.eth.chain_id == chain.chain_id
