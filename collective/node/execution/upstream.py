"""Every upstream function the execution layer copies, overrides or bypasses, with the
fingerprint of the source it was written against: py-evm drift made loud.

The fast VM follows py-evm 0.12.1b1's code line by line (:mod:`collective.node.execution`).
If a py-evm release changes one of these functions, the copy or the bypass next to it may no
longer do what py-evm does. ``tests/node/test_pyevm_drift.py`` pins the installed version
(:data:`PYEVM_VERSION`) and recomputes each fingerprint (:func:`fingerprint`: the sha256 of
``inspect.getsource``); a mismatch fails naming our override to re-check.

After re-checking an override against the new upstream code (and running the differential
tests, ``tests/node/test_node_fastvm*.py`` and ``test_node_interpreter.py``), refresh the
table with ``python -m collective.node.execution.upstream``, which prints it.

Names are ``module:qualified.name`` (``module`` alone: the whole module's source); overrides
are relative to ``collective.node.execution``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
from typing import Any, NamedTuple

PYEVM_VERSION = "0.12.1b1"
_PACKAGE = "collective.node.execution"


class Pin(NamedTuple):
    """One upstream object (``upstream``), what of ours follows it (``override``) and the
    fingerprint of the upstream source it was written against (``digest``: 16 hex digits)."""

    upstream: str
    override: str
    digest: str


def resolve(name: str) -> Any:
    """The object ``module:qualified.name`` (or the module ``module``) names. Raises
    ``ImportError`` or ``AttributeError`` when it no longer exists."""
    module_name, _, qualname = name.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in filter(None, qualname.split(".")):
        found = inspect.getattr_static(found, part)
    return found


def _source(obj: Any) -> str:
    if isinstance(obj, functools.partial) or type(obj).__name__ == "curry":  # toolz's curry
        return f"partial({_source(obj.func)}, {obj.args!r}, {obj.keywords!r})"
    if isinstance(obj, (classmethod, staticmethod)):
        return _source(obj.__func__)
    if isinstance(obj, property):
        return _source(obj.fget)
    if isinstance(obj, functools.cached_property) or type(obj).__name__ == "cached_property":
        return _source(obj.func)  # the standard library's, or the cached-property package's
    if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj):
        return inspect.getsource(obj)
    return repr(obj)  # a constant (a gas schedule)


def fingerprint(obj: Any) -> str:
    """The first 16 hex digits of the sha256 of ``obj``'s source (``inspect.getsource``; a
    ``functools.partial``'s function and arguments; a constant's ``repr``)."""
    return hashlib.sha256(_source(obj).encode()).hexdigest()[:16]


def drifted(pins: tuple[Pin, ...]) -> list[str]:
    """One sentence per pin whose upstream object is gone or whose source changed, naming the
    override to re-check; empty when none did."""
    problems = []
    for pin in pins:
        override = f"{_PACKAGE}.{pin.override.replace(':', '.')}"
        try:
            found = fingerprint(resolve(pin.upstream))
        except (ImportError, AttributeError, OSError, TypeError) as exc:
            problems.append(f"{pin.upstream} is gone ({exc}): re-check {override}")
            continue
        if found != pin.digest:
            problems.append(
                f"{pin.upstream} changed (fingerprint {pin.digest} -> {found}): re-check "
                f"{override} against it"
            )
    return problems


# each pin: the upstream object on one line; then, indented, what of ours follows it and the
# fingerprint of the upstream source it was written against
_TABLE = """
eth.db.account:AccountDB._apply_account_diff_without_proof
    account:NodeAccountDB._apply_account_diff_without_proof e7ab9867fbf92eb2
eth.db.account:AccountDB._get_meta_witness
    account:NodeAccountDB._get_meta_witness cc07cab09b6d9d04
eth.db.account:AccountDB.get_storage
    account:NodeAccountDB.get_storage 5eaf37e85545a29e
eth.db.account:AccountDB.set_storage
    account:NodeAccountDB.set_storage e99ac09bfebc6a0b
eth.db.account:AccountDB.is_storage_warm
    account:NodeAccountDB.is_storage_warm 4a8c21001f7e5b9d
eth.db.account:AccountDB.mark_storage_warm
    account:NodeAccountDB.mark_storage_warm 92d964bd39e2419c
eth.db.account:AccountDB._get_storage_tracker_key
    account:_storage_key f0729fc9e8e8838d
eth.db.account:AccountDB.get_balance
    account:NodeAccountDB.get_balance 23b2d74ecd76dd84
eth.db.account:AccountDB.account_exists
    account:NodeAccountDB.account_exists bdf53955fa9d7e7c
eth.db.account:AccountDB.account_is_empty
    account:NodeAccountDB.account_is_empty 336286a5b9a9af9d
eth.db.account:AccountDB.account_has_code_or_nonce
    account:NodeAccountDB.account_is_empty 90135d23e990efd9
eth.db.account:AccountDB.touch_account
    account:NodeAccountDB.touch_account 32f69ccc4ebdada0
eth.db.account:AccountDB.is_address_warm
    account:NodeAccountDB.is_address_warm d449b3987be218bd
eth.db.account:AccountDB.mark_address_warm
    account:NodeAccountDB.mark_address_warm 16d671831100e1ac
eth.db.account:AccountDB._get_address_store
    account:NodeAccountDB._get_address_store d67a5888f63e0fcc
eth.db.account:AccountDB._set_account
    account:NodeAccountDB._set_account 63304ab00c9e4dc6
eth.db.account:AccountDB.get_code
    account:NodeAccountDB.get_code 98c47af7b883165d
eth.db.account:AccountDB._get_accessed_node_hashes
    account:NodeAccountDB.get_code c8c13de087738be1
eth.db.account:AccountDB._set_storage_root
    account:NodeAccountDB._set_storage_root ec6147f02b31456f
eth.db.account:AccountDB.set_balance
    account:NodeAccountDB.set_balance 93b2b1bcb904c74b
eth.db.account:AccountDB.set_nonce
    account:NodeAccountDB.set_nonce 7d94a8991633cd29
eth.db.journal:JournalDB._exists
    account:NodeAccountDB._is_warm 4be508efb3d7c725
eth.db.journal:Journal.__getitem__
    account:NodeAccountDB._is_warm 8740a3d819ee0600
eth.db.journal:JournalDB.__setitem__
    account:NodeAccountDB._mark_warm 45688c8e157fa5b6
eth.db.journal:Journal.__setitem__
    account:NodeAccountDB._mark_warm bb3772641204c1be
eth.rlp.accounts:Account
    account:encode_account 56a1d79a62b35d7f
eth.vm.forks.berlin.logic:_mark_storage_warm
    account:NodeAccountDB.warm_storage 9fb8a5a6ef1401b7
eth.db.account:AccountDB.__init__
    account:NodeAccountDB.__init__ 4011307ebfaa3b17
eth.db.account:AccountDB._get_account
    account:NodeAccountDB._get_account 883acdd0d7886019
eth.db.account:AccountDB._get_encoded_account
    account:_AccountsByRoot 6aea5cd72169322e
eth.db.accesslog:KeyAccessLoggerDB.__getitem__
    account:_AccountsByRoot 8618f81ac24c907e
eth.db.hash_trie:HashTrie
    account:_AccountsByRoot 6b9dd5accd13e6d3
eth.db.account:AccountDB.make_state_root
    account:_AccountsByRoot f972db1235b3b38d
eth.db.account:AccountDB.state_root
    account:_AccountsByRoot 3b528a88fe1bc01b
eth.db.account:AccountDB._get_storage_root
    account:NodeAccountDB.get_storage 21c9a7ea8b47bc65
eth.db.account:AccountDB._wipe_storage
    account:NodeAccountDB.get_storage 6f2f33983a4088ce
eth.db.account:AccountDB.delete_account
    account:NodeAccountDB.get_storage 390c686362249b4a
eth.db.account:AccountDB.persist
    account:NodeAccountDB.get_storage b0bd4dea4344a11e
eth.vm.stack:Stack.pop_ints
    computation:NodeStack.pop_ints f648268db7794ea2
eth.vm.stack:Stack.pop1_int
    computation:NodeStack.pop1_int fb073fd8648a3490
eth.vm.stack:Stack.push_int
    computation:NodeStack.push_int 5fb2d7277a8f393d
eth.vm.computation:BaseComputation.__init__
    computation:NodeComputation.__init__ e6b2b88ee3bd5a6b
eth.vm.code_stream:CodeStream.__init__
    computation:NodeComputation.__init__ 4bfbe5338cbc026f
eth.vm.computation:BaseComputation.extend_memory
    computation:NodeComputation.extend_memory cf57f8caf075a7c4
eth.vm.computation:BaseComputation.apply_computation
    computation:NodeComputation.apply_computation d2f86d6b1ebc8070
eth.vm.computation:BaseComputation.apply_computation
    interpreter:_run_stock d2f86d6b1ebc8070
eth.vm.gas_meter:GasMeter.consume_gas
    interpreter:_run 6d9c5cdbcbdb6cbf
eth.vm.code_stream:CodeStream.__iter__
    interpreter:_run 0dc9459291151dbb
eth.vm.code_stream:CodeStream.peek
    interpreter:_check_jump a9ebc48a3785bed1
eth.vm.code_stream:CodeStream.is_valid_opcode
    interpreter:_check_jump 694e92b9e15115d0
eth.vm.logic.duplication
    interpreter:_run 663ba4aa747726f3
eth.vm.logic.swap
    interpreter:_run d3c67f91619935bb
eth.vm.stack:Stack.push_bytes
    interpreter:_run 9618a0dac8c88c28
eth.vm.stack:Stack.pop1_any
    interpreter:_run e3c6146499bcfb44
eth.vm.stack:Stack.dup
    interpreter:_run f7a9211dcf721b31
eth.vm.stack:Stack.swap
    interpreter:_run fe66dcf6d6fb20aa
eth.vm.logic.flow:stop
    interpreter:_run aa1588511f2a3c6f
eth.vm.logic.flow:jump
    interpreter:_run e485eaf21a89997c
eth.vm.logic.flow:jumpi
    interpreter:_run 9d327be693b81546
eth.vm.logic.flow:jumpdest
    interpreter:_run ff5fba369ec92e80
eth.vm.logic.arithmetic:add
    interpreter:_run 6dae97c9e21b2908
eth.vm.logic.arithmetic:sub
    interpreter:_run 393381378771ee00
eth.vm.logic.arithmetic:mul
    interpreter:_run 78ee111b98757e93
eth.vm.logic.arithmetic:div
    interpreter:_run 8eaae7dae3e31eab
eth.vm.logic.arithmetic:mod
    interpreter:_run 5f31af1fda627baa
eth.vm.logic.arithmetic:shl
    interpreter:_run c5033adc4618c6b4
eth.vm.logic.arithmetic:shr
    interpreter:_run 393b861d0c24b8e5
eth.vm.logic.comparison:lt
    interpreter:_run 2deeb6801fc1b1c9
eth.vm.logic.comparison:gt
    interpreter:_run 9e1f4a5263d11ccb
eth.vm.logic.comparison:slt
    interpreter:_run a5efd23121223147
eth.vm.logic.comparison:sgt
    interpreter:_run 904044b9c18150f9
eth.vm.logic.comparison:eq
    interpreter:_run 0dc0c34bea5f70f6
eth.vm.logic.comparison:iszero
    interpreter:_run 8e6befd39d40b88e
eth.vm.logic.comparison:and_op
    interpreter:_run 7bebc3d311c09a9e
eth.vm.logic.comparison:or_op
    interpreter:_run d37809e5b7850370
eth.vm.logic.comparison:xor
    interpreter:_run b2dc3ef594349236
eth.vm.logic.comparison:not_op
    interpreter:_run 4e70c2b4b54e56e9
eth.vm.logic.comparison:byte_op
    interpreter:_run 1920160570b58ce0
eth._utils.numeric:unsigned_to_signed
    interpreter:_run 02873a56d70e7fa4
eth.vm.logic.memory:mstore
    interpreter:_run 48141b996f20ebe0
eth.vm.logic.memory:mload
    interpreter:_run aac2f52fcf9eca42
eth.vm.computation:memory_gas_cost
    interpreter:_run 6ed6c8904ab6ae70
eth.vm.memory:Memory.extend
    interpreter:_run 638f8332883345a0
eth.vm.memory:Memory.write
    interpreter:_run c84c2b0a3c354a66
eth.vm.memory:Memory.read_bytes
    interpreter:_run ee4a12d948f9d367
eth.vm.logic.sha3:sha3
    interpreter:_run 1a3a06e684873bdb
eth.vm.logic.context:calldataload
    interpreter:_run 509ad49949102189
eth.vm.message:Message.data_as_bytes
    interpreter:_run 9d3b9842b50cc343
eth_hash.main:Keccak256.__call__
    interpreter:_run 22c4ae0b994526e5
eth.vm.opcode:_FastOpcode.__call__
    opcodes:_OpcodeTable 67d28fc6f625f1f0
eth.vm.logic.invalid:InvalidOpcode.__call__
    opcodes:_OpcodeTable 3440b4daf32edca9
eth.vm.code_stream:CodeStream.read
    opcodes:_OpcodeTable.decode d902011431689c1f
eth.vm.logic.stack
    opcodes:_OpcodeTable.decode f0aaedc6a43c9092
eth.vm.logic.context:caller
    opcodes:_ENVIRONMENT_VALUES 4adff676af36a6a2
eth.vm.logic.context:callvalue
    opcodes:_ENVIRONMENT_VALUES a159a6fbc3b3b2d1
eth.vm.logic.context:calldatasize
    opcodes:_ENVIRONMENT_VALUES 38cd1247f5d7c7eb
eth.vm.logic.context:address
    opcodes:_ENVIRONMENT_VALUES d223058c9c83d104
eth.vm.logic.context:origin
    opcodes:_ENVIRONMENT_VALUES 8ae1fc197a832e8b
eth.vm.logic.block:timestamp
    opcodes:_ENVIRONMENT_VALUES 99552abf28a87383
eth.vm.logic.block:number
    opcodes:_ENVIRONMENT_VALUES 0d689165853f7378
eth.vm.forks.berlin.logic:sload_eip2929
    storage_logic:_sload 31a974814288689c
eth.vm.forks.berlin.logic:sstore_eip2929_generic
    storage_logic:_sstore f43e74b6fa2a9d4d
eth.vm.logic.storage:net_sstore
    storage_logic:_sstore aa04da2f87f9c48d
eth.vm.forks.london.storage:sstore_eip3529
    storage_logic:_sstore b7f276129c407465
eth.vm.forks.london.storage:GAS_SCHEDULE_EIP3529
    storage_logic:_SSTORE_SCHEDULE 94d39917802e4431
eth.vm.forks.byzantium.opcodes:ensure_no_static
    storage_logic:_sstore 396e2f262a4f792c
eth.vm.state:BaseState.get_storage
    storage_logic:_storage_db b8cec2a50cde58a2
eth.vm.state:BaseState.set_storage
    storage_logic:_storage_db 39c79f222d1f545c
eth.vm.state:BaseState.is_storage_warm
    storage_logic:_storage_db 0c7673fe50d3e66f
eth.vm.state:BaseState.mark_storage_warm
    storage_logic:_storage_db 164909404d88998e
eth.vm.forks.cancun.state:CancunTransactionExecutor.build_evm_message
    executor:NodeExecutor.build_evm_message 7fe1d84297715987
eth.vm.forks.berlin.state:BerlinTransactionExecutor.build_computation
    executor:NodeExecutor.build_computation da8acc1496be7b9c
eth.vm.forks.frontier.state:FrontierTransactionExecutor.build_computation
    executor:NodeExecutor.build_computation a37a9d394c92dffb
eth.vm.forks.frontier.state:FrontierTransactionExecutor.finalize_computation
    executor:NodeExecutor.finalize_computation 29cb1df6aac94d63
eth.vm.forks.spurious_dragon.state:SpuriousDragonTransactionExecutor.finalize_computation
    executor:NodeExecutor.finalize_computation b3c938c9b3915ac6
eth.vm.forks.prague.state:PragueTransactionExecutor
    executor:NodeExecutor 7aa0f26847c6a153
eth.vm.forks.spurious_dragon._utils:collect_touched_accounts
    executor:_touched_accounts 3ab7bcae537c3c48
eth.vm.forks.frontier.transactions:FrontierTransaction.make_receipt
    receipts:make_receipt 69162367d87b1390
eth.vm.forks.berlin.transactions:TypedTransaction.make_receipt
    receipts:make_receipt aaead8c3e6303db1
eth.rlp.receipts:Receipt.__init__
    receipts:_serializable f752da6886208f1f
eth.rlp.logs:Log.__init__
    receipts:_serializable bb6f4ad2a1c72254
rlp.sedes.serializable:BaseSerializable.__init__
    receipts:_serializable fe10d05147f35ade
eth_bloom.bloom:BloomFilter.add
    receipts:logs_bloom 1e8bb4353786a434
eth_bloom.bloom:get_chunks_for_bloom
    receipts:_bloom_bits 01eaddf954edfa22
eth_bloom.bloom:chunk_to_bloom_bits
    receipts:_bloom_bits 9ca00c6550c2e045
eth.vm.forks.byzantium:ByzantiumVM.make_receipt
    vm:NodeVM.make_receipt 6679dc5e2dd10336
eth.vm.base:VM.validate_receipt
    vm:NodeVM.validate_receipt 3ed923f32df17c94
eth.vm.forks.prague.state:PragueState
    vm:NodeState 89b5f7b31e2c0970
eth.vm.forks.prague:PragueVM
    vm:NodeVM 44fcaeb4c8d847fd
eth.vm.forks.berlin.transactions:TypedTransaction.decode
    transactions:NodeTypedTransaction.decode d36b3f21cbdffc02
eth.vm.forks.berlin.transactions:TypedTransaction.hash
    transactions:NodeTypedTransaction.decode 9840f5695d751dd4
eth.vm.forks.berlin.transactions:TypedTransaction.get_intrinsic_gas
    transactions:NodeTypedTransaction.intrinsic_gas b2b9a0c693510c52
eth.vm.forks.london.transactions:DynamicFeeTransaction
    transactions:_decode_dynamic_fee dfd4df9c73186d31
eth.vm.forks.berlin.transactions:TypedTransaction.check_signature_validity
    transactions:recover_sender 29c4285fddf3b939
eth._utils.transactions:validate_transaction_signature
    transactions:recover_sender 5004247badfa5360
eth._utils.transactions:extract_transaction_sender
    transactions:recover_sender b6edf7f667ab6dc0
eth._utils.spoof:SpoofAttributes.__getattr__
    pyevm:_CallTransaction c75de8d240782c2c
eth._utils.spoof:SpoofAttributes.__init__
    pyevm:_CallTransaction 091d2bd0631e68db
eth.db.trie:make_trie_root_and_nodes
    trie:ordered_trie_root 8efef213793673e7
eth.vm.forks.berlin.receipts:TypedReceipt.encode
    trie:encode_receipt eac6dae4a383d6ab
eth_hash.main:Keccak256.__init__
    keccak:install e8a9ec45cba5b6e1
eth.vm.forks.prague.headers:create_prague_header_from_parent
    blocks:prague_child_header 00d1484405113b8f
eth.vm.forks.cancun.headers:create_cancun_header_from_parent
    blocks:prague_child_header c5297e808fce1b12
eth.vm.forks.shanghai.headers:create_shanghai_header_from_parent
    blocks:prague_child_header a4dc6725fd862c3a
eth.vm.forks.paris.headers:create_paris_header_from_parent
    blocks:prague_child_header 179d680e39111e64
eth.vm.forks.gray_glacier.headers:create_gray_glacier_header_from_parent
    blocks:prague_child_header 04450139efdeb4a8
eth.vm.forks.arrow_glacier.headers:create_arrow_glacier_header_from_parent
    blocks:prague_child_header 4046b9866df5d8d2
eth.vm.forks.london.headers:create_london_header_from_parent
    blocks:prague_child_header 163c2de243c852ce
eth._utils.headers:fill_header_params_from_parent
    blocks:prague_child_header 2dfbf49feaa92830
eth.vm.base:VM.finalize_block
    blocks:finish_block 10fe9ec51fbbf3db
eth.vm.forks.paris:ParisVM._assign_block_rewards
    blocks:finish_block b778c08c31cbce36
eth.vm.base:VM.block_preprocessing
    revm:SYSTEM_WRITTEN c9b2dae98f61ab97
eth.vm.forks.cancun:CancunVM.block_preprocessing
    revm:SYSTEM_WRITTEN d6d0b4a545e91902
eth.vm.forks.prague:PragueVM.block_preprocessing
    revm:SYSTEM_WRITTEN 5b5bc4e4c618954c
eth.vm.forks.prague.state:PragueTransactionExecutor.calc_data_floor_gas
    transactions:calldata_floor 3f10db538f63d70d
eth.vm.forks.prague.blocks:PragueBlockHeader.__init__
    blocks:prague_child_header d0f500c19d840fde
"""


def _parse(table: str) -> tuple[Pin, ...]:
    lines = [line.strip() for line in table.strip().splitlines()]
    return tuple(
        Pin(upstream, *ours.split()) for upstream, ours in zip(lines[::2], lines[1::2], strict=True)
    )


PINS = _parse(_TABLE)


def main() -> None:
    """Print the table of pins with the fingerprints of the installed upstream code."""
    for pin in PINS:
        print(f"{pin.upstream}\n    {pin.override} {fingerprint(resolve(pin.upstream))}")


if __name__ == "__main__":
    main()
