"""Child headers made in one step (collective.node.execution.blocks) equal py-evm's, made by
every fork's builder in turn."""

from __future__ import annotations

from eth.constants import BLANK_ROOT_HASH
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.blocks import PragueBlockHeader
from eth_typing import Address, BlockNumber, Hash32
from hypothesis import given, settings
from hypothesis import strategies as st

from collective.node.execution.blocks import builds_prague_headers, prague_child_header
from collective.node.execution.pyevm import VM_CLASS

GAS_LIMITS = st.integers(min_value=5_000, max_value=2**63 - 1)


@st.composite
def parents(draw: st.DrawFn) -> PragueBlockHeader:
    gas_limit = draw(GAS_LIMITS)
    return PragueBlockHeader(
        difficulty=0,
        block_number=BlockNumber(draw(st.integers(min_value=0, max_value=2**40))),
        gas_limit=gas_limit,
        timestamp=draw(st.integers(min_value=0, max_value=2**40)),
        coinbase=Address(draw(st.binary(min_size=20, max_size=20))),
        state_root=Hash32(draw(st.binary(min_size=32, max_size=32))),
        gas_used=draw(st.integers(min_value=0, max_value=gas_limit)),
        base_fee_per_gas=draw(st.integers(min_value=0, max_value=2**64)),
        blob_gas_used=draw(st.sampled_from([0, 131_072, 786_432, 1_179_648])),
        excess_blob_gas=draw(st.integers(min_value=0, max_value=2**32)),
        extra_data=draw(st.binary(max_size=32)),
        transaction_root=BLANK_ROOT_HASH,
    )


@settings(max_examples=300, deadline=None)
@given(
    parent=parents(),
    coinbase=st.binary(min_size=20, max_size=20),
    later=st.integers(min_value=0, max_value=10_000),
    gas_limit=GAS_LIMITS,
)
def test_one_step_child_header_is_py_evms(
    parent: PragueBlockHeader, coinbase: bytes, later: int, gas_limit: int
) -> None:
    fields = {"coinbase": Address(coinbase), "timestamp": parent.timestamp + later}
    ours = prague_child_header(parent, gas_limit=gas_limit, **fields)  # type: ignore[arg-type]
    theirs = PragueVM.create_header_from_parent(parent, gas_limit=gas_limit, **fields)
    assert ours.as_dict() == theirs.as_dict()
    assert ours.hash == theirs.hash


def test_only_prague_builders_take_the_one_step() -> None:
    class OtherHeaders(PragueVM):
        @staticmethod
        def create_header_from_parent(*args: object, **kwargs: object) -> None:  # type: ignore[override]
            return None

    assert builds_prague_headers(VM_CLASS) and builds_prague_headers(PragueVM)
    assert not builds_prague_headers(OtherHeaders)
