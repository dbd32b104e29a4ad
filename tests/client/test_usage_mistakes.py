"""Recording uses as organizations get it wrong, through the client on the embedded chain
(the kin of the disclosure mistakes): an empty data reference or ``0x`` hex that is not 32
bytes is refused naming the item, not hashed as a locator; a use refused because the subject
asked the organization to erase keeps no secret for the erased subject in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from collective import Collective
from collective.chain import Chain
from collective.chain.revert_messages import MESSAGES
from collective.client.usage import UseItem
from collective.deploy import Deployment
from collective.errors import ChainError, ConsentError, InvalidInputError

RESEARCH = "dpv:ResearchAndDevelopment"
HEALTH = "dpv-pd:MedicalHealth"


@pytest.fixture
def actors(chain: Chain, suite: Deployment) -> dict[str, Collective]:
    """The lab (dev 2) admitted with policy v1 covering research; patient 4 consented."""
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    lab = admin.as_account(dev[2])
    admin.orgs.admit(lab.address)
    lab.policies.publish(b"lab policy v1", "https://lab.example/policy/v1", [RESEARCH])
    patient = admin.as_account(dev[4])
    patient.consent.grant(lab.address, RESEARCH, HEALTH)
    return {"lab": lab, "patient": patient}


def test_empty_or_short_hex_references_are_refused(actors: dict[str, Collective]) -> None:
    lab, patient = actors["lab"], actors["patient"]
    with pytest.raises(InvalidInputError, match=r"the data reference is empty"):
        lab.usage.record(patient.address, RESEARCH, HEALTH, " ")
    with pytest.raises(InvalidInputError, match=r"'0x1234' is 2 bytes, not 32"):
        lab.usage.record(patient.address, RESEARCH, HEALTH, "0x1234")
    items = [
        UseItem(patient.address, RESEARCH, HEALTH, "ward/1"),
        UseItem(patient.address, RESEARCH, HEALTH, ""),
    ]
    with pytest.raises(InvalidInputError, match=r"item 2's data reference is empty"):
        lab.usage.record_batch(items)
    items[1] = UseItem(patient.address, RESEARCH, HEALTH, "0x" + "ab" * 31)
    with pytest.raises(InvalidInputError, match=r"item 2's data reference .* is 31 bytes"):
        lab.usage.record_batch(items)
    assert lab.usage.history(patient.address) == []
    full = "0x" + "ab" * 32
    assert lab.usage.record(patient.address, RESEARCH, HEALTH, full).records[0].data_ref == full


def test_a_use_refused_after_an_erasure_request_keeps_no_secret(
    actors: dict[str, Collective], tmp_path: Path
) -> None:
    lab, patient = actors["lab"], actors["patient"]
    keyed = Collective(lab.chain, lab.deployment, lab.account, data_refs=tmp_path / "refs.db")
    keyed.usage.record(patient.address, RESEARCH, HEALTH, "ward/1")
    patient.erasure.request(lab.address)
    assert keyed.erasure.confirm(patient.address, b"deleted").secret_destroyed
    store = keyed.usage.data_refs
    assert store is not None
    for attempt in (
        lambda: keyed.usage.record(patient.address, RESEARCH, HEALTH, "ward/2"),
        lambda: keyed.usage.record_batch(
            [UseItem(patient.address, RESEARCH, HEALTH, f"ward/{n}") for n in (3, 4)]
        ),
    ):
        with pytest.raises(ConsentError) as refused:
            attempt()
        assert refused.value.error_name == "UseAfterErasureRequest"
        assert not store.has_secret(lab.address, patient.address)


def test_an_old_signed_grant_relayed_says_to_sign_again(actors: dict[str, Collective]) -> None:
    """The relayer (not the subject) sends a grant signed under policy v1 after v2 came out."""
    lab, patient = actors["lab"], actors["patient"]
    signed = patient.signing.sign_grant(lab.address, RESEARCH, "dpv-pd:Genetic")
    lab.policies.publish(b"lab policy v2", "https://lab.example/policy/v2", [RESEARCH])
    with pytest.raises(ConsentError) as refused:
        lab.signing.relay(signed)
    assert refused.value.error_name == "PolicyNotCurrent"
    assert "ask the subject to sign again" in str(refused.value)


def test_revert_hints_hold_for_any_sender_and_nest_no_parentheses() -> None:
    """A hint is shown in parentheses after the message: none has its own."""

    class Args(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            return 2 if key == "current" else 1

    for name, message in MESSAGES.items():
        _, hint = message(Args())
        assert hint is None or ("(" not in hint and ")" not in hint), (name, hint)
    _, hint = MESSAGES["UseAfterErasureRequest"](Args(organization="0xLab", identity="0xP"))
    # true whether the lab, or a discloser to the lab, was refused
    assert hint is not None and "0xLab must erase" in hint and "to 0xLab" in hint
    _, hint = MESSAGES["StalePolicyVersion"](Args(organization="0xLab", consented=2))
    assert hint is not None and "organization 0xLab must publish" in hint


def test_a_batch_too_big_for_a_block_says_to_split_it(actors: dict[str, Collective]) -> None:
    """On the embedded chain (whose gas estimate raised eth's OutOfGas), as through a node."""
    lab, patient = actors["lab"], actors["patient"]
    limit = int(lab.chain.get_block("latest")["gasLimit"])
    count = limit // 4_000 + 1
    items = [UseItem(patient.address, RESEARCH, HEALTH, "0x" + f"{n:064x}") for n in range(count)]
    with pytest.raises(ChainError, match=f"batch of {count} uses .* split it") as refused:
        lab.usage.record_batch(items)
    assert not isinstance(refused.value, InvalidInputError)
    assert lab.usage.history(patient.address) == []
